/**
 * Definition tables: strings, sites, stacks (scoped per worker) and objects,
 * fields (global, GLOBAL_WORKER), filled from def_* records, plus the
 * resolvers every view needs: a site into {file, line, column, function, text,
 * frames}, an object+field into its label (records.ts label rule), a
 * `(worker, site)` pair into a global location id so the same code on two
 * workers compares equal.
 *
 * Everything resolves lazily: a definition may arrive after the event that uses
 * it, or never (dropped, cut off); unknown ids resolve to explicit
 * placeholders such as `obj@1234` or `(unknown site 7 of worker 2)`, never to a
 * throw.
 */

import { GLOBAL_WORKER, OBJ_SHAPE_NAMES, ObjShape } from './records.ts';
import { ColumnTable } from './columns.ts';

/** One resolved stack frame (a code site). Line and column are 1-based; 0 = unknown. */
export interface Frame {
  file: string;
  line: number;
  column: number;
  function: string;
  /** The source line text (trimmed) when the recorder knew it, else ''. */
  text: string;
}

/** A resolved object (+ field) for reports. */
export interface ObjectInfo {
  /** Label by the records.ts rule, e.g. `Account#17.balance`, `orders["x42"]`, `arr[5]`. */
  label: string;
  /** Type name ('' unknown). */
  type: string;
  /** Field name, array index or map key as text ('' when the whole object). */
  field: string;
  /** Shape name (records.ts OBJ_SHAPE_NAMES) or 'unknown'. */
  shape: string;
}

/** Location id 0: no site recorded (site id 0). */
export const LOC_NONE = 0;

const TWO32 = 4294967296;
const key = (worker: number, id: number) => worker * TWO32 + id;

const utf8 = new TextDecoder('utf-8', { fatal: false });

/**
 * All definitions of one recording. Fed by the {@link EventAssembler}; read by
 * the store, the aggregator and the reports.
 */
export class Definitions {
  /** Global interned strings; index 0 is ''. */
  readonly strings: string[] = [''];
  private readonly stringIndex = new Map<string, number>([['', 0]]);
  /** (worker, string id) → global string index */
  private readonly wstr = new Map<number, number>();

  /** Sites: raw ids as recorded (strings and stacks in the site's worker space). */
  readonly sites = new ColumnTable(
    {
      worker: Uint8Array,
      id: Uint32Array,
      file: Uint32Array,
      line: Uint32Array,
      column: Uint32Array,
      fn: Uint32Array,
      stack: Uint32Array,
      text: Uint32Array,
      /** resolved location id + 1 (0 = not resolved yet) */
      loc: Int32Array,
    },
    64,
  );
  private readonly siteRow = new Map<number, number>();
  /** (worker, stack id) → site ids, innermost first */
  private readonly stacks = new Map<number, Uint32Array>();

  /** Objects: raw ids (type/label/key strings in GLOBAL_WORKER space). */
  readonly objects = new ColumnTable(
    {
      id: Uint32Array,
      type: Uint32Array,
      label: Uint32Array,
      container: Uint32Array,
      keyKind: Uint8Array,
      key: Uint32Array,
      serial: Uint32Array,
      shape: Uint8Array,
    },
    64,
  );
  private readonly objectRow = new Map<number, number>();
  /** (type string id, field index) → [name string id, kind] */
  private readonly fieldNames = new Map<number, number>();
  private readonly fieldKinds = new Map<number, number>();

  /** Locations: interned (file, line, column). Index 0 = none. */
  readonly locations = new ColumnTable({ file: Uint32Array, line: Uint32Array, column: Uint32Array, unresolved: Uint8Array }, 64);
  private readonly locIndex = new Map<string, number>();

  constructor() {
    this.locations.add(); // LOC_NONE
  }

  /** Interns a string globally and returns its index. */
  intern(s: string): number {
    let i = this.stringIndex.get(s);
    if (i === undefined) {
      i = this.strings.length;
      this.strings.push(s);
      this.stringIndex.set(s, i);
    }
    return i;
  }

  // -- definitions (called by the assembler) --------------------------------

  defString(worker: number, id: number, bytes: Uint8Array): void {
    this.wstr.set(key(worker, id), this.intern(utf8.decode(bytes)));
  }

  defSite(worker: number, id: number, file: number, line: number, column: number, fn: number, stack: number, text: number): void {
    const k = key(worker, id);
    let r = this.siteRow.get(k);
    if (r === undefined) {
      r = this.sites.add();
      this.siteRow.set(k, r);
    }
    const c = this.sites.cols;
    c.worker[r] = worker;
    c.id[r] = id;
    c.file[r] = file;
    c.line[r] = line;
    c.column[r] = column;
    c.fn[r] = fn;
    c.stack[r] = stack;
    c.text[r] = text;
    c.loc[r] = 0;
  }

  defStack(worker: number, id: number, frames: Uint32Array): void {
    this.stacks.set(key(worker, id), frames.slice());
  }

  defObject(id: number, type: number, label: number, container: number, keyKind: number, keyValue: number, serial: number, shape: number): void {
    let r = this.objectRow.get(id);
    if (r === undefined) {
      r = this.objects.add();
      this.objectRow.set(id, r);
    }
    const c = this.objects.cols;
    c.id[r] = id;
    c.type[r] = type;
    c.label[r] = label;
    c.container[r] = container;
    c.keyKind[r] = keyKind;
    c.key[r] = keyValue;
    c.serial[r] = serial;
    c.shape[r] = shape;
  }

  defField(type: number, index: number, name: number, kind: number): void {
    this.fieldNames.set(key(type, index), name);
    this.fieldKinds.set(key(type, index), kind);
  }

  // -- resolvers ------------------------------------------------------------

  /** A string of worker `w`'s space, or undefined when not (yet) defined. Id 0 is ''. */
  string(worker: number, id: number): string | undefined {
    if (id === 0) return '';
    const i = this.wstr.get(key(worker, id));
    return i === undefined ? undefined : this.strings[i];
  }

  /** Row of a site definition, or -1. */
  siteRowOf(worker: number, id: number): number {
    return this.siteRow.get(key(worker, id)) ?? -1;
  }

  /** Number of site definitions. */
  get siteCount(): number {
    return this.sites.length;
  }

  /**
   * The frame of a site, or undefined when site id is 0 or not defined.
   * Missing strings resolve to '' (file to `(unknown file)`).
   */
  site(worker: number, id: number): Frame | undefined {
    if (id === 0) return undefined;
    const r = this.siteRowOf(worker, id);
    if (r < 0) return undefined;
    const c = this.sites.cols;
    return {
      file: this.string(worker, c.file[r]) || '(unknown file)',
      line: c.line[r],
      column: c.column[r],
      function: this.string(worker, c.fn[r]) ?? '',
      text: this.string(worker, c.text[r]) ?? '',
    };
  }

  /**
   * Everything about a site: its own frame plus its stack frames (innermost
   * first, the site itself included), or undefined when site id is 0 or not defined.
   */
  siteInfo(worker: number, id: number): (Frame & { frames: Frame[] }) | undefined {
    const f = this.site(worker, id);
    return f ? { ...f, frames: this.siteFrames(worker, id) } : undefined;
  }

  /**
   * The frames of a site: its representative stack (innermost first) when one
   * was defined, else just the site. The site itself is always frame 0.
   * Returns [] for site 0 or an undefined site.
   */
  siteFrames(worker: number, id: number): Frame[] {
    const top = this.site(worker, id);
    if (!top) return [];
    const r = this.siteRowOf(worker, id);
    const stack = this.stacks.get(key(worker, this.sites.cols.stack[r]));
    const frames: Frame[] = [top];
    if (!stack) return frames;
    for (let i = 0; i < stack.length; i++) {
      const s = stack[i];
      if (i === 0 && s === id) continue;
      const f = this.site(worker, s);
      if (f) frames.push(f);
      else if (s !== 0) frames.push({ file: `(unknown site ${s} of worker ${worker})`, line: 0, column: 0, function: '', text: '' });
    }
    return frames;
  }

  /**
   * Global location id of `(worker, site)`: equal ids ⇔ same file:line:column,
   * whatever the worker. 0 for site 0; a site that is not (yet) defined gets a
   * placeholder location of its own, `(unknown site N of worker W)`.
   */
  siteLocation(worker: number, id: number): number {
    if (id === 0) return LOC_NONE;
    const r = this.siteRowOf(worker, id);
    if (r < 0) return this.location(`(unknown site ${id} of worker ${worker})`, 0, 0, true);
    const c = this.sites.cols;
    if (c.loc[r] > 0) return c.loc[r] - 1;
    const file = this.string(worker, c.file[r]);
    if (file === undefined) return this.location(`(unknown file of site ${id}, worker ${worker})`, c.line[r], c.column[r], true);
    const loc = this.location(file, c.line[r], c.column[r], false);
    this.sites.cols.loc[r] = loc + 1;
    return loc;
  }

  private location(file: string, line: number, column: number, unresolved: boolean): number {
    const k = `${file}\u0000${line}\u0000${column}`;
    let l = this.locIndex.get(k);
    if (l === undefined) {
      l = this.locations.add();
      const c = this.locations.cols;
      c.file[l] = this.intern(file);
      c.line[l] = line;
      c.column[l] = column;
      c.unresolved[l] = unresolved ? 1 : 0;
      this.locIndex.set(k, l);
    }
    return l;
  }

  /** `file:line:column` of a location ('' for LOC_NONE; the placeholder text for unresolved ones). */
  locationLabel(loc: number): string {
    if (loc === LOC_NONE) return '';
    const c = this.locations.cols;
    const file = this.strings[c.file[loc]];
    if (c.unresolved[loc] && c.line[loc] === 0) return file;
    return `${file}:${c.line[loc]}:${c.column[loc]}`;
  }

  /** {file, line, column} of a location. */
  locationParts(loc: number): { file: string; line: number; column: number } {
    const c = this.locations.cols;
    return { file: this.strings[c.file[loc]], line: c.line[loc], column: c.column[loc] };
  }

  /** True when the object was defined. */
  hasObject(id: number): boolean {
    return this.objectRow.has(id);
  }

  /** Shape code of an object, or -1 when unknown. */
  objectShape(id: number): number {
    const r = this.objectRow.get(id);
    return r === undefined ? -1 : this.objects.cols.shape[r];
  }

  /** Type name of an object ('' when unknown). */
  objectType(id: number): string {
    const r = this.objectRow.get(id);
    return r === undefined ? '' : (this.string(GLOBAL_WORKER, this.objects.cols.type[r]) ?? '');
  }

  /** Name of field `index` of an object's type, or undefined. */
  fieldName(objectId: number, index: number): string | undefined {
    const r = this.objectRow.get(objectId);
    if (r === undefined || index < 0) return undefined;
    const n = this.fieldNames.get(key(this.objects.cols.type[r], index));
    return n === undefined ? undefined : this.string(GLOBAL_WORKER, n);
  }

  /** `label`, or `Type#serial`, or `obj@id` for an object without definition. */
  objectBase(id: number, depth = 0): string {
    const r = this.objectRow.get(id);
    if (r === undefined) return `obj@${id}`;
    const c = this.objects.cols;
    if (c.shape[r] === ObjShape.MapEntry && depth < 4) return this.mapEntryLabel(r, depth);
    const label = c.label[r] ? this.string(GLOBAL_WORKER, c.label[r]) : undefined;
    if (label) return label;
    const type = this.string(GLOBAL_WORKER, c.type[r]) || 'obj';
    return `${type}#${c.serial[r]}`;
  }

  private mapEntryLabel(r: number, depth: number): string {
    const c = this.objects.cols;
    const map = c.container[r] ? this.objectBase(c.container[r], depth + 1) : 'map';
    return `${map}[${this.keyText(r, true)}]`;
  }

  private keyText(r: number, quoted: boolean): string {
    const c = this.objects.cols;
    if (c.keyKind[r] === 1) return String(c.key[r] | 0);
    if (c.keyKind[r] === 2) {
      const s = this.string(GLOBAL_WORKER, c.key[r]) ?? `string#${c.key[r]}`;
      return quoted ? JSON.stringify(s) : s;
    }
    return '?';
  }

  /**
   * The conflict unit label by the records.ts rule:
   * - map entry: `<map label>[<key>]`, string keys JSON-quoted: `orders["x42"]`
   * - struct field: `<label or Type#serial>.<field name>`: `Account#17.balance`
   * - array element: `<label or Type#serial>[<index>]`: `arr[5]`
   * - other shapes: the base label, plus `.field` when the field is named
   * Unknown pieces: `obj@1234` for an undefined object, `.#3` for an unnamed field.
   */
  objectLabel(objectId: number, field: number): string {
    return this.objectInfo(objectId, field).label;
  }

  /** Label, type, field text and shape of an object + field. */
  objectInfo(objectId: number, field: number): ObjectInfo {
    if (objectId === 0) return { label: '(unknown object)', type: '', field: field >= 0 ? String(field) : '', shape: 'unknown' };
    const r = this.objectRow.get(objectId);
    const base = this.objectBase(objectId);
    if (r === undefined) {
      return { label: field >= 0 ? `${base}.#${field}` : base, type: '', field: field >= 0 ? String(field) : '', shape: 'unknown' };
    }
    const c = this.objects.cols;
    const shape = c.shape[r];
    const type = this.string(GLOBAL_WORKER, c.type[r]) ?? '';
    const shapeName = OBJ_SHAPE_NAMES[shape] ?? 'unknown';
    if (shape === ObjShape.MapEntry) return { label: base, type, field: this.keyText(r, false), shape: shapeName };
    if (shape === ObjShape.Array) {
      return { label: field >= 0 ? `${base}[${field}]` : base, type, field: field >= 0 ? String(field) : '', shape: shapeName };
    }
    if (field < 0) return { label: base, type, field: '', shape: shapeName };
    const name = this.fieldName(objectId, field);
    if (name === undefined && shape !== ObjShape.Struct) return { label: base, type, field: String(field), shape: shapeName };
    return { label: `${base}.${name ?? `#${field}`}`, type, field: name ?? String(field), shape: shapeName };
  }
}
