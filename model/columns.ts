/**
 * Growable columnar tables: one typed array per column, grown by doubling,
 * so a million rows cost a few typed arrays instead of a million objects
 * (the Firefox Profiler's "builders then typed arrays" habit, style.md §6).
 */

export type TypedArray =
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Float32Array
  | Float64Array;

export type TypedArrayCtor =
  | Uint8ArrayConstructor
  | Uint16ArrayConstructor
  | Uint32ArrayConstructor
  | Int8ArrayConstructor
  | Int16ArrayConstructor
  | Int32ArrayConstructor
  | Float32ArrayConstructor
  | Float64ArrayConstructor;

export type ColumnSchema = Record<string, TypedArrayCtor>;
export type Columns<S extends ColumnSchema> = { [K in keyof S]: InstanceType<S[K]> };

/**
 * A table of typed-array columns. `cols` is replaced when the table grows, so
 * read it after {@link add}, never cache it across adds.
 *
 * ```ts
 * const t = new ColumnTable({ start: Float64Array, worker: Uint8Array });
 * const r = t.add();
 * t.cols.start[r] = 100;
 * ```
 */
export class ColumnTable<S extends ColumnSchema> {
  /** Rows in use. */
  length = 0;
  cols: Columns<S>;
  private capacity: number;

  /** @param initialCapacity rows allocated up front (default 256) */
  constructor(
    readonly schema: S,
    initialCapacity = 256,
  ) {
    this.capacity = Math.max(1, initialCapacity);
    const cols = {} as Record<string, TypedArray>;
    for (const k of Object.keys(schema)) cols[k] = new schema[k](this.capacity);
    this.cols = cols as Columns<S>;
  }

  /** Appends a zero-filled row and returns its index. */
  add(): number {
    if (this.length === this.capacity) this.grow(this.capacity * 2);
    return this.length++;
  }

  /** Bytes held by the columns (capacity, not just length). */
  get byteLength(): number {
    let n = 0;
    for (const k of Object.keys(this.cols)) n += (this.cols[k] as TypedArray).byteLength;
    return n;
  }

  /** Views of the used part of every column (no copy). */
  view(): Columns<S> {
    const out = {} as Record<string, TypedArray>;
    for (const k of Object.keys(this.cols)) out[k] = (this.cols[k] as TypedArray).subarray(0, this.length);
    return out as Columns<S>;
  }

  private grow(cap: number): void {
    const cols = this.cols as Record<string, TypedArray>;
    for (const k of Object.keys(cols)) {
      const next = new this.schema[k](cap);
      next.set(cols[k] as never);
      cols[k] = next;
    }
    this.capacity = cap;
  }
}

/** A growable list of int32 values. */
export class IntList {
  length = 0;
  data: Int32Array;
  /** @param initialCapacity default 16 */
  constructor(initialCapacity = 16) {
    this.data = new Int32Array(initialCapacity);
  }
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Int32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
}
