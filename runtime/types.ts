/**
 * Typed transactional data: structs, arrays, counters, per-thread locals (this
 * file), maps (map.ts) and queues (queue.ts), plus the shared type registry,
 * interned strings and named roots.
 *
 * A *type* is declared in JS (`defineStruct('Account', { balance: 'i32' })`) in
 * every thread that uses it, usually by importing one shared module; the first
 * use on a heap registers it in the heap's type registry by name, so all
 * threads agree on its id and the recorder can name its fields. Declaring the
 * same name with different fields is an error.
 *
 * A *view* is a small JS object `{ $h: heap, $a: address }` whose accessors run
 * the heap's barriers. Views are cheap and disposable; the object is the
 * address, so compare objects with `a.id === b.id` (or `sameObject`).
 */
import { Heap, currentHeap, installHeapHooks } from './heap.ts';
import { StmError } from './errors.ts';
import { K_BOOL, K_F64, K_I32, K_REF, K_U32, TR_FIELDS, TR_NAME, TR_NEXT, TR_SHAPE, W_ROOTS, W_STRING_INDEX, W_TYPE_HEAD } from './layout.ts';
import {
  STRING_TYPE_ID,
  TYPE_RECORD_TYPE_ID,
  describeField,
  isObjectHeader,
  readString,
  readType,
  stringEquals,
  stringHash,
  stringSlots,
  type TypeInfo,
} from './heap-reader.ts';
import { findOrInsertBy, lookupBy } from './index-table.ts';
import { ObjShape } from '../model/records.ts';

// ===========================================================================
// Field kinds
// ===========================================================================

/** Scalar field kinds. */
export type ScalarKind = 'i32' | 'u32' | 'f64' | 'bool';
/** A reference field: `'ref'` (any object) or `ref(Type)` / `ref('TypeName')` for a typed reference. */
export interface RefKind<T extends ObjectType = ObjectType> {
  readonly ref: T | string | null;
}
export type FieldKind = ScalarKind | 'ref' | RefKind;
export type FieldSpec = Record<string, FieldKind>;

/** A typed reference field kind; `target` may be a type or its name (for self references). */
export function ref<T extends ObjectType>(target: T | string): RefKind<T> {
  return { ref: target };
}

const KIND_CODES: Record<string, number> = { i32: K_I32, u32: K_U32, f64: K_F64, bool: K_BOOL, ref: K_REF };
const KIND_NAMES = ['i32', 'u32', 'f64', 'bool', 'ref'];

function kindCode(k: FieldKind, where: string): number {
  if (typeof k === 'string') {
    const c = KIND_CODES[k];
    if (c === undefined) throw new StmError(`${where}: unknown field kind ${JSON.stringify(k)} (use 'i32', 'u32', 'f64', 'bool', 'ref' or ref(Type))`);
    return c;
  }
  if (k && typeof k === 'object' && 'ref' in k) return K_REF;
  throw new StmError(`${where}: unknown field kind ${String(k)}`);
}

function refTargetName(k: FieldKind): string {
  if (typeof k === 'object' && k !== null && 'ref' in k && k.ref !== null) return typeof k.ref === 'string' ? k.ref : k.ref.name;
  return '';
}

/** JS value of a field kind. */
export type FieldValue<K> = K extends 'bool'
  ? boolean
  : K extends ScalarKind
    ? number
    : K extends RefKind<infer T>
      ? ViewOf<T> | null
      : K extends 'ref'
        ? ObjectView | null
        : never;

/**
 * Encodes a JS value for storage, with a clear error on a wrong type.
 * @internal
 */
export function encodeValue(kind: number, v: unknown, where: string, refType: string): number {
  switch (kind) {
    case K_I32:
      if (typeof v !== 'number' || (v | 0) !== v) throw new StmError(`${where} is i32: expected an integer from -2147483648 to 2147483647, got ${describe(v)}`);
      return v;
    case K_U32:
      if (typeof v !== 'number' || v >>> 0 !== v) throw new StmError(`${where} is u32: expected an integer from 0 to 4294967295, got ${describe(v)}`);
      return v;
    case K_F64:
      if (typeof v !== 'number') throw new StmError(`${where} is f64: expected a number, got ${describe(v)}`);
      return v;
    case K_BOOL:
      if (typeof v !== 'boolean') throw new StmError(`${where} is bool: expected true or false, got ${describe(v)}`);
      return v ? 1 : 0;
    case K_REF: {
      if (v === null || v === undefined) return 0;
      if (!(v instanceof ObjectView)) throw new StmError(`${where} is a reference: expected a transactional object or null, got ${describe(v)}`);
      if (refType !== '' && v.typeName !== refType) throw new StmError(`${where} references ${refType}: got a ${v.typeName}`);
      return v.$a;
    }
  }
  throw new StmError(`${where}: bad field kind ${kind}`);
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (v instanceof ObjectView) return `a ${v.typeName}`;
  if (typeof v === 'object') return v === null ? 'null' : 'an object';
  return `${typeof v} ${String(v)}`;
}

/** @internal Decodes a stored double to its JS value. */
export function decodeValue(heap: Heap, kind: number, raw: number): unknown {
  if (kind === K_BOOL) return raw !== 0;
  if (kind === K_REF) return raw === 0 ? null : viewOf(heap, raw);
  return raw;
}

// ===========================================================================
// Types and the registry
// ===========================================================================

interface FieldDesc {
  name: string;
  kind: number;
  refType: string;
}

/** Common part of every object type. */
export abstract class ObjectType {
  abstract readonly name: string;
  abstract readonly shape: ObjShape;
  /** slot offset of field 0 from the header */
  abstract readonly fieldBase: number;
  abstract readonly fields: readonly FieldDesc[];
  /** element kind (arrays, maps, queues, locals), -1 for structs */
  readonly elementKind: number = -1;
  readonly elementRef: string = '';
  private lastShared: SharedArrayBuffer | null = null;
  private lastId = 0;
  private ids = new WeakMap<SharedArrayBuffer, number>();

  /** Registry id of this type in `heap` (registers it on first use). @internal */
  idIn(heap: Heap): number {
    const sab = heap.shared.heap;
    if (sab === this.lastShared) return this.lastId;
    let id = this.ids.get(sab);
    if (id === undefined) {
      id = registerType(heap, this);
      this.ids.set(sab, id);
    }
    this.lastShared = sab;
    this.lastId = id;
    return id;
  }

  /** Signature compared across threads: declaring one name with two layouts is an error. */
  signature(): string {
    return `${this.shape}|${this.elementKind}:${this.elementRef}|` + this.fields.map((f) => `${f.name}:${KIND_NAMES[f.kind]}${f.refType ? `<${f.refType}>` : ''}`).join(',');
  }

  /** @internal builds a view of the object at `addr` */
  abstract makeView(heap: Heap, addr: number): ObjectView;
}

// Per-thread map of registered type ids to JS types, to build views from references.
const typesById = new Map<SharedArrayBuffer, Map<number, ObjectType>>();

function registerType(heap: Heap, type: ObjectType): number {
  const sig = type.signature();
  heap.lockRegistry();
  let id = 0;
  try {
    for (let t = Atomics.load(heap.i32, W_TYPE_HEAD); t !== 0; t = heap.i32[4 * (t + 1) + TR_NEXT]) {
      if (readString(heap, heap.i32[4 * (t + 1) + TR_NAME]) === type.name) {
        const existing = readString(heap, heap.i32[4 * (t + 2) + 1]);
        if (existing !== sig) {
          throw new StmError(`type ${type.name} is already declared on this heap with a different layout (${describeSig(existing)}); this declaration has (${describeSig(sig)})`);
        }
        id = t;
        break;
      }
    }
    if (id === 0) {
      const n = type.fields.length;
      const t = heap.allocMeta(3 + n);
      heap.initHeader(t, TYPE_RECORD_TYPE_ID, 0, 0);
      const w = 4 * (t + 1);
      heap.i32[w + TR_NAME] = internLocked(heap, type.name);
      heap.i32[w + TR_SHAPE] = type.shape;
      heap.i32[w + TR_FIELDS] = n;
      heap.i32[4 * (t + 2) + 1] = internLocked(heap, sig);
      heap.i32[4 * (t + 2) + 2] = type.fieldBase;
      heap.i32[4 * (t + 2) + 3] = type.elementKind;
      for (let i = 0; i < n; i++) {
        const f = type.fields[i];
        const fw = 4 * (t + 3 + i);
        heap.i32[fw] = internLocked(heap, f.name);
        heap.i32[fw + 1] = f.kind;
        heap.i32[fw + 2] = f.refType ? internLocked(heap, f.refType) : 0;
      }
      heap.i32[w + TR_NEXT] = Atomics.load(heap.i32, W_TYPE_HEAD);
      Atomics.store(heap.i32, W_TYPE_HEAD, t);
      id = t;
    }
  } finally {
    heap.unlockRegistry();
  }
  let m = typesById.get(heap.shared.heap);
  if (!m) typesById.set(heap.shared.heap, (m = new Map()));
  if (!m.has(id)) m.set(id, type);
  return id;
}

function describeSig(sig: string): string {
  return sig.split('|')[2] || 'no fields';
}

/** Serial number for a new object of type id `t` (Account#17). */
function nextSerial(heap: Heap, t: number): number {
  return Atomics.add(heap.i32, 4 * (t + 2), 1) + 1;
}

/**
 * The JS type for a registered type id. A type declared in this thread but not
 * used on this heap yet is found by name; a type declared only in other
 * threads is rebuilt from its type record (structs, arrays, maps, queues,
 * counters and locals all can be), so any thread can follow any reference.
 */
function typeForId(heap: Heap, id: number): ObjectType {
  let m = typesById.get(heap.shared.heap);
  if (!m) typesById.set(heap.shared.heap, (m = new Map()));
  let t = m.get(id);
  if (t) return t;
  const info = readType(heap, id);
  const declared = declaredTypes.get(info.name);
  t = declared && sameRegistration(declared, heap, id) ? declared : genericType(heap, info);
  m.set(id, t);
  return t;
}

function sameRegistration(t: ObjectType, heap: Heap, id: number): boolean {
  try {
    return t.idIn(heap) === id;
  } catch {
    // declared here with another layout: view the object through its record instead
    return false;
  }
}

/** Types constructed in this thread, by name (the last declaration wins). */
const declaredTypes = new Map<string, ObjectType>();
/** @internal */
export function declareType(t: ObjectType): void {
  declaredTypes.set(t.name, t);
}

/** JS element kind for a type record's element (kind + referenced type name). */
function elementOf(heap: Heap, kind: number, refName: string): ElementKind {
  if (kind !== K_REF) return KIND_NAMES[kind] as ScalarKind;
  if (refName === '' || refName === 'ref') return 'ref';
  const declared = declaredTypes.get(refName);
  if (declared) return declared;
  // find the referenced type's record by name
  for (let t = Atomics.load(heap.i32, W_TYPE_HEAD); t !== 0; t = heap.i32[4 * (t + 1) + TR_NEXT]) {
    if (readString(heap, heap.i32[4 * (t + 1) + TR_NAME]) === refName) return typeForId(heap, t);
  }
  return 'ref';
}

const shapeFactories = new Map<ObjShape, (heap: Heap, info: TypeInfo) => ObjectType>();
/** @internal map.ts and queue.ts register how to rebuild their types from a type record */
export function registerShapeFactory(shape: ObjShape, f: (heap: Heap, info: TypeInfo) => ObjectType): void {
  shapeFactories.set(shape, f);
}

function innerName(name: string): string {
  const i = name.lastIndexOf(',') >= 0 ? name.lastIndexOf(',') : name.indexOf('<');
  return name.slice(i + 1, -1);
}

function genericType(heap: Heap, info: TypeInfo): ObjectType {
  switch (info.shape) {
    case ObjShape.Struct: {
      const spec: FieldSpec = {};
      for (const f of info.fields) spec[f.name] = f.kind === K_REF ? (f.refType ? ref(f.refType) : 'ref') : (KIND_NAMES[f.kind] as ScalarKind);
      return new StructType(info.name, spec);
    }
    case ObjShape.Array:
      return arrayType(elementOf(heap, info.elementKind, innerName(info.name)));
    case ObjShape.Local:
      return localType(elementOf(heap, info.elementKind, innerName(info.name)));
    case ObjShape.Counter:
      return counterType;
    default: {
      const f = shapeFactories.get(info.shape);
      if (f) return f(heap, info);
      throw new StmError(`object of type ${info.name} cannot be viewed in this thread`);
    }
  }
}

/** @internal */
export function elementFromRecord(heap: Heap, kind: number, typeName: string): ElementKind {
  return elementOf(heap, kind, innerName(typeName));
}

/** A view of the object at `addr` (null for address 0). */
export function viewOf(heap: Heap, addr: number): ObjectView | null {
  if (addr === 0) return null;
  return typeForId(heap, heap.i32[4 * addr]).makeView(heap, addr);
}

// ===========================================================================
// Strings
// ===========================================================================

const STRING_OWNER = { ptrWord: W_STRING_INDEX, lockWord: 0 };

/** Interns `s` in the heap's permanent string table and returns its address. */
export function intern(heap: Heap, s: string): number {
  const hash = stringHash(s);
  const found = lookupBy(heap, STRING_OWNER, hash, (a) => stringEquals(heap, a, s));
  if (found !== 0) return found;
  heap.lockRegistry();
  try {
    return internLocked(heap, s);
  } finally {
    heap.unlockRegistry();
  }
}

/** Intern while already holding the registry lock (which also guards the string table). */
function internLocked(heap: Heap, s: string): number {
  const hash = stringHash(s);
  // the registry lock is held: use a no-op lock word for the index itself
  return findOrInsertBy(heap, { ptrWord: W_STRING_INDEX, lockWord: STRING_TABLE_LOCK }, hash, (a) => stringEquals(heap, a, s), () => {
    const a = heap.allocMeta(stringSlots(s.length));
    heap.initHeader(a, STRING_TYPE_ID, 0, 0);
    heap.i32[4 * (a + 1)] = s.length;
    heap.i32[4 * (a + 1) + 1] = hash;
    const base = (a + 2) * 8;
    for (let i = 0; i < s.length; i++) heap.u16[base + i] = s.charCodeAt(i);
    return a;
  });
}
/** a control word used only as the string index's own lock (the registry lock is held around it) */
const STRING_TABLE_LOCK = 100;

// ===========================================================================
// Views
// ===========================================================================

/** Base class of all object views. */
export abstract class ObjectView {
  /** @internal the heap handle of the thread that made this view */
  readonly $h: Heap;
  /** @internal the object's address */
  readonly $a: number;
  constructor(heap: Heap, addr: number) {
    this.$h = heap;
    this.$a = addr;
  }
  /** Stable id of the object (its heap address). */
  get id(): number {
    return this.$a;
  }
  /** Registered type name. */
  get typeName(): string {
    return readString(this.$h, this.$h.i32[4 * (this.$h.i32[4 * this.$a] + 1) + TR_NAME]);
  }
  /** Label given at creation, or ''. */
  get label(): string {
    return readString(this.$h, this.$h.i32[4 * this.$a + 1]);
  }
  /** `Account#17` or the label */
  toString(): string {
    return this.label || `${this.typeName}#${this.$h.i32[4 * this.$a + 3]}`;
  }
}

/** True when two views denote the same object. */
export function sameObject(a: ObjectView | null, b: ObjectView | null): boolean {
  return a === b || (a !== null && b !== null && a.$a === b.$a && a.$h.shared === b.$h.shared);
}

export interface CreateOptions {
  /** Name shown in reports instead of `Type#serial`, e.g. 'alice' or 'accounts'. */
  label?: string;
}

function labelOf(heap: Heap, options: CreateOptions | undefined): number {
  const l = options?.label;
  if (l === undefined || l === '') return 0;
  if (typeof l !== 'string') throw new StmError('label must be a string');
  return intern(heap, l);
}

/** @internal allocate an object of `type` with `slots` slots after the header; returns its address. */
export function allocObject(heap: Heap, type: ObjectType, bodySlots: number, options: CreateOptions | undefined, permanent = false): number {
  const label = labelOf(heap, options);
  const id = type.idIn(heap);
  const a = permanent ? heap.allocPermanent(1 + bodySlots) : heap.alloc(1 + bodySlots);
  heap.initHeader(a, id, label, nextSerial(heap, id));
  return a;
}

/**
 * Initial stores into a fresh object. Inside a transaction the object is private
 * to the attempt, so plain stores are correct; outside a transaction nobody
 * can reach it yet.
 * @internal
 */
export function initSlot(heap: Heap, s: number, v: number): void {
  heap.f64[s << 1] = v;
}

// ===========================================================================
// Structs
// ===========================================================================

/** The view type of a struct: one accessor per declared field. */
export type StructView<F extends FieldSpec> = ObjectView & { -readonly [K in keyof F]: FieldValue<F[K]> } & StructMethods;
interface StructMethods {
  /** Reads a field by name (clear error for unknown names). */
  $get(field: string): unknown;
  /** Writes a field by name (clear error for unknown names or wrong value types). */
  $set(field: string, value: unknown): void;
}

export type ViewOf<T> = T extends StructType<infer F> ? StructView<F> : T extends { makeView(h: Heap, a: number): infer V } ? V : ObjectView;

type InitOf<F extends FieldSpec> = { [K in keyof F]?: FieldValue<F[K]> };

/** A struct type: fixed named fields of scalar or reference kinds. */
export class StructType<F extends FieldSpec = FieldSpec> extends ObjectType {
  readonly shape = ObjShape.Struct;
  readonly fieldBase = 1;
  readonly fields: readonly FieldDesc[];
  private readonly index: Map<string, number>;
  private readonly View: new (heap: Heap, addr: number) => StructView<F>;

  constructor(
    readonly name: string,
    spec: F,
  ) {
    super();
    if (typeof name !== 'string' || !/^[A-Za-z_$][\w$.<>]*$/.test(name)) throw new StmError(`struct name must be an identifier, got ${JSON.stringify(name)}`);
    if (!spec || typeof spec !== 'object') throw new StmError(`defineStruct(${JSON.stringify(name)}): fields must be an object like { balance: 'i32' }`);
    const names = Object.keys(spec);
    this.fields = names.map((n) => ({ name: n, kind: kindCode(spec[n], `${name}.${n}`), refType: refTargetName(spec[n]) }));
    this.index = new Map(names.map((n, i) => [n, i]));
    this.View = makeStructViewClass(this);
    declareType(this);
  }

  /** Creates an object; fields not in `init` are 0 / false / null. */
  create(init: InitOf<F> = {}, options?: CreateOptions): StructView<F> {
    const heap = currentHeap();
    return this.createIn(heap, init, options);
  }

  /** Like `create` on an explicit heap. */
  createIn(heap: Heap, init: InitOf<F> = {}, options?: CreateOptions): StructView<F> {
    for (const k of Object.keys(init)) {
      if (!this.index.has(k)) throw new StmError(`${this.name} has no field ${JSON.stringify(k)} (fields: ${this.fields.map((f) => f.name).join(', ') || 'none'})`);
    }
    const vals = this.fields.map((f) => {
      const v = (init as Record<string, unknown>)[f.name];
      return v === undefined ? 0 : encodeValue(f.kind, v, `${this.name}.${f.name}`, f.refType);
    });
    const a = allocObject(heap, this, this.fields.length, options);
    for (let i = 0; i < vals.length; i++) initSlot(heap, a + 1 + i, vals[i]);
    return new this.View(heap, a);
  }

  /** A view of an existing object of this type (e.g. from an id sent between threads). */
  at(id: number, heap: Heap = currentHeap()): StructView<F> {
    if (!isObjectHeader(heap, id) || heap.i32[4 * id] !== this.idIn(heap)) throw new StmError(`${id} is not the id of a ${this.name}`);
    return new this.View(heap, id);
  }

  makeView(heap: Heap, addr: number): StructView<F> {
    return new this.View(heap, addr);
  }

  /** Field index by name, or -1. */
  fieldIndex(name: string): number {
    return this.index.get(name) ?? -1;
  }
}

/**
 * Declares a struct type. Call it with the same name and fields in every
 * thread (import one module); see the module doc.
 *
 * @example const Account = defineStruct('Account', { balance: 'i32', owner: ref('Person') })
 */
export function defineStruct<const F extends FieldSpec>(name: string, fields: F): StructType<F> {
  return new StructType(name, fields);
}

function makeStructViewClass<F extends FieldSpec>(type: StructType<F>): new (heap: Heap, addr: number) => StructView<F> {
  class View extends ObjectView {
    constructor(heap: Heap, addr: number) {
      super(heap, addr);
      // unknown field names then fail loudly instead of creating JS properties
      Object.preventExtensions(this);
    }
    $get(field: string): unknown {
      const i = type.fieldIndex(field);
      if (i < 0) throw new StmError(`${type.name} has no field ${JSON.stringify(field)} (fields: ${type.fields.map((f) => f.name).join(', ')})`);
      const f = type.fields[i];
      return decodeValue(this.$h, f.kind, this.$h.read(this.$a, this.$a + 1 + i));
    }
    $set(field: string, value: unknown): void {
      const i = type.fieldIndex(field);
      if (i < 0) throw new StmError(`${type.name} has no field ${JSON.stringify(field)} (fields: ${type.fields.map((f) => f.name).join(', ')})`);
      const f = type.fields[i];
      this.$h.write(this.$a, this.$a + 1 + i, encodeValue(f.kind, value, `${type.name}.${f.name}`, f.refType));
    }
  }
  type.fields.forEach((f, i) => {
    const off = 1 + i;
    const where = `${type.name}.${f.name}`;
    let get: (this: View) => unknown;
    let set: (this: View, v: unknown) => void;
    switch (f.kind) {
      case K_I32:
        get = function () {
          return this.$h.read(this.$a, this.$a + off);
        };
        set = function (v) {
          if (typeof v !== 'number' || (v | 0) !== v) encodeValue(K_I32, v, where, '');
          this.$h.write(this.$a, this.$a + off, v as number);
        };
        break;
      case K_U32:
        get = function () {
          return this.$h.read(this.$a, this.$a + off);
        };
        set = function (v) {
          if (typeof v !== 'number' || (v as number) >>> 0 !== v) encodeValue(K_U32, v, where, '');
          this.$h.write(this.$a, this.$a + off, v as number);
        };
        break;
      case K_F64:
        get = function () {
          return this.$h.read(this.$a, this.$a + off);
        };
        set = function (v) {
          if (typeof v !== 'number') encodeValue(K_F64, v, where, '');
          this.$h.write(this.$a, this.$a + off, v as number);
        };
        break;
      case K_BOOL:
        get = function () {
          return this.$h.read(this.$a, this.$a + off) !== 0;
        };
        set = function (v) {
          this.$h.write(this.$a, this.$a + off, encodeValue(K_BOOL, v, where, ''));
        };
        break;
      default:
        get = function () {
          const a = this.$h.read(this.$a, this.$a + off);
          return a === 0 ? null : viewOf(this.$h, a);
        };
        set = function (v) {
          this.$h.write(this.$a, this.$a + off, encodeValue(K_REF, v, where, f.refType));
        };
    }
    Object.defineProperty(View.prototype, f.name, { get, set, enumerable: true, configurable: false });
  });
  Object.defineProperty(View, 'name', { value: `${type.name}View` });
  return View as unknown as new (heap: Heap, addr: number) => StructView<F>;
}

// ===========================================================================
// Arrays
// ===========================================================================

/** Element kinds of arrays, maps, queues and locals: a scalar kind, 'ref', or an object type (typed references). */
export type ElementKind = ScalarKind | 'ref' | ObjectType;
export type ElementValue<E> = E extends 'bool' ? boolean : E extends ScalarKind ? number : E extends ObjectType ? ViewOf<E> | null : ObjectView | null;

/** @internal */
export function elementCode(e: ElementKind, where: string): { kind: number; ref: string } {
  if (e instanceof ObjectType) return { kind: K_REF, ref: e.name };
  return { kind: kindCode(e, where), ref: '' };
}
/** @internal */
export function elementName(kind: number, ref: string): string {
  return kind === K_REF ? ref || 'ref' : KIND_NAMES[kind];
}

/**
 * Fixed-length transactional array. Each element is its own conflict unit:
 * transactions touching different indexes never conflict.
 *
 * ```
 * slot a    header
 * slot a+1  words [length, element kind, 0, 0]
 * slot a+2+i element i
 * ```
 */
export class TArrayType<E extends ElementKind = ElementKind> extends ObjectType {
  readonly shape = ObjShape.Array;
  readonly fieldBase = 2;
  readonly fields: readonly FieldDesc[] = [];
  readonly name: string;
  override readonly elementKind: number;
  override readonly elementRef: string;
  constructor(readonly element: E) {
    super();
    const c = elementCode(element, 'TArray element');
    this.elementKind = c.kind;
    this.elementRef = c.ref;
    this.name = `Array<${elementName(c.kind, c.ref)}>`;
  }
  makeView(heap: Heap, addr: number): TArray<E> {
    return new TArray<E>(heap, addr, this);
  }
}

const arrayTypes = new Map<unknown, TArrayType>();
function arrayType<E extends ElementKind>(e: E): TArrayType<E> {
  let t = arrayTypes.get(e);
  if (!t) {
    arrayTypes.set(e, (t = new TArrayType(e)));
    declareType(t);
  }
  return t as TArrayType<E>;
}

export class TArray<E extends ElementKind = ElementKind> extends ObjectView {
  /** Number of elements (immutable). */
  readonly length: number;
  private readonly kind: number;
  private readonly type: TArrayType<E>;
  /** @internal */
  constructor(heap: Heap, addr: number, type: TArrayType<E>) {
    super(heap, addr);
    this.type = type;
    this.length = heap.i32[4 * (addr + 1)];
    this.kind = type.elementKind;
  }

  /**
   * Creates an array of `length` elements of `element` kind, all 0/false/null,
   * or filled from `init` (an array or a function of the index).
   */
  static create<E extends ElementKind>(element: E, length: number, options?: CreateOptions & { init?: ArrayLike<ElementValue<E>> | ((i: number) => ElementValue<E>) }): TArray<E> {
    const heap = currentHeap();
    const type = arrayType(element);
    if (!Number.isInteger(length) || length < 0 || length > 0x0fffffff) throw new StmError(`TArray length must be a non-negative integer, got ${length}`);
    const init = options?.init;
    const vals = new Float64Array(length);
    if (init !== undefined) {
      for (let i = 0; i < length; i++) {
        const v = typeof init === 'function' ? init(i) : init[i];
        vals[i] = encodeValue(type.elementKind, v, `${type.name}[${i}]`, type.elementRef);
      }
    }
    const a = allocObject(heap, type, 1 + length, options);
    heap.i32[4 * (a + 1)] = length;
    heap.i32[4 * (a + 1) + 1] = type.elementKind;
    if (init !== undefined) for (let i = 0; i < length; i++) initSlot(heap, a + 2 + i, vals[i]);
    return new TArray<E>(heap, a, type);
  }

  /** The array type for `element` (to type a root: `heap.root('xs', TArray.of('f64'))`). */
  static of<E extends ElementKind>(element: E): TArrayType<E> {
    return arrayType(element);
  }

  private outOfRange(i: number): never {
    throw new StmError(`index ${i} out of range for ${this.type.name} of length ${this.length}`);
  }

  get(i: number): ElementValue<E> {
    if (!((i >>> 0) === i && i < this.length)) this.outOfRange(i);
    const raw = this.$h.read(this.$a, this.$a + 2 + i);
    const k = this.kind;
    // numeric kinds (i32 = 0, u32 = 1, f64 = 2) are stored as themselves
    if (k <= 2) return raw as ElementValue<E>;
    return decodeValue(this.$h, k, raw) as ElementValue<E>;
  }

  set(i: number, v: ElementValue<E>): void {
    if (!((i >>> 0) === i && i < this.length)) this.outOfRange(i);
    const k = this.kind;
    let raw: number;
    // fast paths (literal kind codes: i32 = 0, f64 = 2) without building an error context string
    if (k === 0 && typeof v === 'number' && (v | 0) === v) raw = v;
    else if (k === 2 && typeof v === 'number') raw = v;
    else raw = encodeValue(k, v, `${this.type.name}[${i}]`, this.type.elementRef);
    this.$h.write(this.$a, this.$a + 2 + i, raw);
  }

  /**
   * Adds `delta` to numeric element `i` at commit, without reading it: adds to
   * one element from many transactions never conflict with each other (like
   * TCounter). For i32/u32 arrays the sum must stay within the element range.
   */
  add(i: number, delta: number): void {
    // one combined test on the fast path: index in range, numeric array, finite number
    if (!((i >>> 0) === i && i < this.length && this.kind <= 2 && delta - delta === 0)) this.badAdd(i, delta);
    this.$h.addCommutative(this.$a, this.$a + 2 + i, delta);
  }

  private badAdd(i: number, delta: unknown): never {
    if (!((i >>> 0) === i && i < this.length)) this.outOfRange(i);
    if (this.kind > 2) throw new StmError(`${this.type.name}.add: only numeric arrays (i32, u32, f64) support commutative adds`);
    throw new StmError(`${this.type.name}.add expects a finite number, got ${describe(delta)}`);
  }

  /** Copies the elements into a JS array (reads every element). */
  toArray(): ElementValue<E>[] {
    const out: ElementValue<E>[] = [];
    for (let i = 0; i < this.length; i++) out.push(this.get(i));
    return out;
  }
}

// ===========================================================================
// Counter
// ===========================================================================

const counterType = new (class CounterType extends ObjectType {
  readonly name = 'Counter';
  readonly shape = ObjShape.Counter;
  readonly fieldBase = 1;
  readonly fields = [{ name: 'value', kind: K_F64, refType: '' }];
  makeView(heap: Heap, addr: number): TCounter {
    return new TCounter(heap, addr);
  }
})();

/**
 * A counter whose `add` never conflicts: adds are applied at commit, so any
 * number of transactions can count concurrently (PyPy-STM users had to invent
 * this for the shared-counter hot spot). Reading the value inside a
 * transaction is an ordinary read and does conflict with concurrent adds.
 */
export class TCounter extends ObjectView {
  static create(options?: CreateOptions & { initial?: number }): TCounter {
    const heap = currentHeap();
    const a = allocObject(heap, counterType, 1, options);
    if (options?.initial !== undefined) initSlot(heap, a + 1, encodeValue(K_F64, options.initial, 'TCounter initial', ''));
    return new TCounter(heap, a);
  }
  static readonly type: ObjectType = counterType;
  /** Adds `n` at commit. Never conflicts with other adds. */
  add(n = 1): void {
    if (typeof n !== 'number' || !Number.isFinite(n)) throw new StmError(`TCounter.add expects a finite number, got ${describe(n)}`);
    this.$h.addCommutative(this.$a, this.$a + 1, n);
  }
  /** Current value including this transaction's own pending adds (a transactional read). */
  get(): number {
    return this.$h.read(this.$a, this.$a + 1);
  }
  /** Same as get() */
  get value(): number {
    return this.get();
  }
}

// ===========================================================================
// Per-thread local slots
// ===========================================================================

class LocalType extends ObjectType {
  readonly name: string;
  readonly shape = ObjShape.Local;
  readonly fieldBase = 2;
  readonly fields: readonly FieldDesc[] = [];
  override readonly elementKind: number;
  override readonly elementRef: string;
  constructor(readonly element: ElementKind) {
    super();
    const c = elementCode(element, 'TLocal element');
    this.elementKind = c.kind;
    this.elementRef = c.ref;
    this.name = `Local<${elementName(c.kind, c.ref)}>`;
  }
  makeView(heap: Heap, addr: number): TLocal {
    return new TLocal(heap, addr, this);
  }
}
const localTypes = new Map<unknown, LocalType>();
function localType(e: ElementKind): LocalType {
  let t = localTypes.get(e);
  if (!t) {
    localTypes.set(e, (t = new LocalType(e)));
    declareType(t);
  }
  return t;
}

/**
 * One slot per thread (like PyPy-STM's `threadlocalproperty`): scratch state
 * and caches that would otherwise be a conflict hot spot. Each thread sees its
 * own value; `all()` reads every thread's slot (e.g. to sum partial results).
 */
export class TLocal<E extends ElementKind = ElementKind> extends ObjectView {
  private readonly type: LocalType;
  /** @internal */
  constructor(heap: Heap, addr: number, type: LocalType) {
    super(heap, addr);
    this.type = type;
  }
  static create<E extends ElementKind>(element: E, options?: CreateOptions): TLocal<E> {
    const heap = currentHeap();
    const type = localType(element);
    const n = heap.maxThreads;
    const a = allocObject(heap, type, 1 + n, options);
    heap.i32[4 * (a + 1)] = n;
    heap.i32[4 * (a + 1) + 1] = type.elementKind;
    return new TLocal<E>(heap, a, type);
  }
  /** This thread's value. */
  get(): ElementValue<E> {
    return decodeValue(this.$h, this.type.elementKind, this.$h.read(this.$a, this.$a + 2 + this.$h.thread)) as ElementValue<E>;
  }
  set(v: ElementValue<E>): void {
    this.$h.write(this.$a, this.$a + 2 + this.$h.thread, encodeValue(this.type.elementKind, v, this.type.name, this.type.elementRef));
  }
  /** Every thread's value, indexed by thread. */
  all(): ElementValue<E>[] {
    const n = this.$h.i32[4 * (this.$a + 1)];
    const out: ElementValue<E>[] = [];
    for (let t = 0; t < n; t++) out.push(decodeValue(this.$h, this.type.elementKind, this.$h.read(this.$a, this.$a + 2 + t)) as ElementValue<E>);
    return out;
  }
}

// ===========================================================================
// Heap hooks: registry init, abort descriptions, roots
// ===========================================================================

let rootsInit: ((heap: Heap) => number) | null = null;
/** @internal map.ts installs the root map factory */
export function setRootsFactory(f: (heap: Heap) => number): void {
  rootsInit = f;
}

installHeapHooks(
  (heap) => {
    if (rootsInit) Atomics.store(heap.i32, W_ROOTS, rootsInit(heap));
  },
  (heap, obj, slot) => {
    if (obj === 0 || !isObjectHeader(heap, obj)) return { type: '', field: '', label: '' };
    const info = readType(heap, heap.i32[4 * obj]);
    const fieldIdx = slot - obj - info.fieldBase;
    const label = describeField(heap, info, obj, fieldIdx);
    const field = info.shape === ObjShape.Struct ? (info.fields[fieldIdx]?.name ?? String(fieldIdx)) : info.shape === ObjShape.MapEntry ? label.slice(label.indexOf('[')) : String(fieldIdx);
    return { type: info.name, field, label };
  },
);
