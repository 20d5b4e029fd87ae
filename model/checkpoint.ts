/**
 * Plain-JSON checkpoints of streaming state (the aggregator, the assembler),
 * so a session whose oldest detail was dropped (server/session/retention.ts)
 * keeps aggregates that count everything, also after it is read again from
 * what is left of its recording (the `TRIM` chunk, docs/FORMAT.md §2.3).
 *
 * Typed arrays are stored sparsely (most per-worker slots are 0) as
 * `{ "$": kind, "n": length, "i": [indexes], "v": [values] }`; numbers that
 * JSON cannot hold (±Infinity, NaN) are stored as strings. Pure: no Node API.
 */

/** A sparse typed array in JSON. */
export interface PackedArray {
  $: string;
  n: number;
  i: number[];
  v: Array<number | string>;
}

/** A JSON-safe number (±Infinity and NaN as strings). */
export type PackedNumber = number | string;

type NumArray = Float64Array | Float32Array | Uint32Array | Int32Array | Uint16Array | Int16Array | Uint8Array | Int8Array;

/** Thrown when a checkpoint does not fit the object it is loaded into. */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

export function packNumber(x: number): PackedNumber {
  return Number.isFinite(x) ? x : String(x);
}

export function unpackNumber(x: unknown, what: string): number {
  if (typeof x === 'number') return x;
  if (x === 'Infinity') return Infinity;
  if (x === '-Infinity') return -Infinity;
  if (x === 'NaN') return NaN;
  throw new CheckpointError(`checkpoint field ${what} is not a number (${JSON.stringify(x)})`);
}

/** The non-zero entries of a typed array. */
export function packArray(a: NumArray): PackedArray {
  const i: number[] = [];
  const v: Array<number | string> = [];
  for (let k = 0; k < a.length; k++) {
    const x = a[k];
    // Object.is keeps −0 (never produced by the counters, but exactness is free)
    if (x !== 0 || Object.is(x, -0)) {
      i.push(k);
      v.push(packNumber(x));
    }
  }
  return { $: a.constructor.name, n: a.length, i, v };
}

/** Loads a {@link packArray} result into `into` (same kind and length). */
export function unpackArray(p: unknown, into: NumArray, what: string): void {
  const o = p as PackedArray;
  if (!o || typeof o !== 'object' || o.$ !== into.constructor.name || o.n !== into.length || !Array.isArray(o.i) || !Array.isArray(o.v) || o.i.length !== o.v.length) {
    throw new CheckpointError(`checkpoint field ${what} is not a ${into.constructor.name}(${into.length})`);
  }
  into.fill(0);
  for (let k = 0; k < o.i.length; k++) {
    const idx = o.i[k];
    if (!Number.isInteger(idx) || idx < 0 || idx >= into.length) throw new CheckpointError(`checkpoint field ${what} has index ${idx} out of range`);
    into[idx] = unpackNumber(o.v[k], what);
  }
}

/** A plain number array (dense) of a checkpoint, checked. */
export function numbers(x: unknown, what: string): number[] {
  if (!Array.isArray(x)) throw new CheckpointError(`checkpoint field ${what} is not an array`);
  return x.map((v, k) => unpackNumber(v, `${what}[${k}]`));
}
