/**
 * `TMap`: a transactional hash map whose conflict unit is one key.
 *
 * PyPy-STM users learned that a dict written under different keys conflicts as
 * a whole (stm.rst), and Haskell users that "`TVar Map` isn't great under
 * contention since writes will invalidate all transactions, even for unrelated
 * keys" (cachix #720). Here each key has its own permanent *entry* object,
 * created outside any transaction by the concurrent index (index-table.ts);
 * `get`/`set`/`delete` touch only that entry's transactional `present` and
 * `value` fields, so different keys never conflict.
 *
 * Two more fields serve whole-map operations without making keys conflict:
 * - `size` is a commutative counter (inserts and deletes add ±1 at commit);
 *   reading `size` conflicts with inserts/deletes, which is what it means.
 * - `membership` is *blind-written* by every insert and delete and read by
 *   iteration. Blind writes never conflict with each other in this STM, so
 *   inserts stay independent, while an iteration conflicts with any concurrent
 *   insert or delete (no phantoms).
 *
 * ```
 * map   slot m: header | m+1 words [index table, index lock, 0, 0]
 *       m+2 words [key kind, value kind, 0, 0] | m+3 membership (field 0) | m+4 size (field 1)
 * (word 2 of every non-field slot stays 0: it is where a field's version lives)
 * entry slot e: header | e+1 f64 key (number, or string address) | e+2 words [map, key kind]
 *       e+3 present (field 0) | e+4 value (field 1)
 * ```
 * Entries for keys that were only looked up stay allocated (as in PyPy-STM);
 * they cost 80 bytes each.
 */
import { Heap, currentHeap } from './heap.ts';
import { StmError } from './errors.ts';
import { W_ROOTS } from './layout.ts';
import { ENTRY_KEY_SLOT, ENTRY_MAP_SLOT, KEY_INT, KEY_STRING, readString, type TypeInfo } from './heap-reader.ts';
import { findOrInsertNumber, forEachValue, hashNumber } from './index-table.ts';
import { ObjShape } from '../model/records.ts';
import {
  ObjectType,
  ObjectView,
  allocObject,
  decodeValue,
  elementCode,
  elementName,
  encodeValue,
  intern,
  registerShapeFactory,
  declareType,
  elementFromRecord,
  setRootsFactory,
  viewOf,
  type CreateOptions,
  type ElementKind,
  type ElementValue,
  type ViewOf,
} from './types.ts';
import { K_F64 } from './layout.ts';

export type KeyKind = 'int' | 'string';
type KeyOf<K extends KeyKind> = K extends 'int' ? number : string;

const M_CTRL = 1;
const M_MEMBERSHIP = 3;
const M_SIZE = 4;
const E_PRESENT = 3;
const E_VALUE = 4;

class EntryType extends ObjectType {
  readonly name = 'MapEntry';
  readonly shape = ObjShape.MapEntry;
  readonly fieldBase = 3;
  readonly fields = [
    { name: 'present', kind: 3, refType: '' },
    { name: 'value', kind: K_F64, refType: '' },
  ];
  makeView(): ObjectView {
    throw new StmError('map entries are not user objects');
  }
}
const entryType = new EntryType();

class MapType extends ObjectType {
  readonly name: string;
  readonly shape = ObjShape.Map;
  readonly fieldBase = 3;
  readonly fields = [
    { name: 'membership', kind: K_F64, refType: '' },
    { name: 'size', kind: K_F64, refType: '' },
  ];
  override readonly elementKind: number;
  override readonly elementRef: string;
  constructor(
    readonly keyKind: KeyKind,
    readonly value: ElementKind | null,
    valueKind?: { kind: number; ref: string },
  ) {
    super();
    const c = valueKind ?? elementCode(value!, 'TMap value');
    this.elementKind = c.kind;
    this.elementRef = c.ref;
    this.name = `Map<${keyKind},${elementName(c.kind, c.ref)}>`;
  }
  makeView(heap: Heap, addr: number): TMap {
    return new TMap(heap, addr, this);
  }
}
const mapTypes = new Map<string, MapType>();
function mapType(key: KeyKind, value: ElementKind): MapType {
  const c = elementCode(value, 'TMap value');
  const k = `${key}|${c.kind}|${c.ref}`;
  let t = mapTypes.get(k);
  if (!t) {
    mapTypes.set(k, (t = new MapType(key, value, c)));
    declareType(t);
  }
  return t;
}

registerShapeFactory(ObjShape.Map, (heap, info: TypeInfo) => {
  const m = /^Map<(int|string),/.exec(info.name);
  if (!m) throw new StmError(`unknown map type ${info.name}`);
  return mapType(m[1] as KeyKind, elementFromRecord(heap, info.elementKind, info.name));
});

/**
 * Transactional map with `int` (safe integer) or `string` keys. Each key is its
 * own conflict unit.
 */
export class TMap<K extends KeyKind = KeyKind, V extends ElementKind = ElementKind> extends ObjectView {
  private readonly type: MapType;
  private readonly owner: { ptrWord: number; lockWord: number };
  private readonly strKeys: boolean;
  /** @internal */
  constructor(heap: Heap, addr: number, type: MapType) {
    super(heap, addr);
    this.type = type;
    this.owner = { ptrWord: 4 * (addr + M_CTRL), lockWord: 4 * (addr + M_CTRL) + 1 };
    this.strKeys = type.keyKind === 'string';
  }

  /**
   * Creates a map.
   * @param spec.key 'int' or 'string'
   * @param spec.value element kind of values: 'i32' | 'u32' | 'f64' | 'bool' | 'ref' | a type
   */
  static create<K extends KeyKind, V extends ElementKind>(spec: { key: K; value: V }, options?: CreateOptions): TMap<K, V> {
    return TMap.createIn(currentHeap(), spec, options);
  }

  /** @internal */
  static createIn<K extends KeyKind, V extends ElementKind>(heap: Heap, spec: { key: K; value: V }, options?: CreateOptions, permanent = false): TMap<K, V> {
    if (spec?.key !== 'int' && spec?.key !== 'string') throw new StmError(`TMap key must be 'int' or 'string', got ${JSON.stringify(spec?.key)}`);
    const type = mapType(spec.key, spec.value);
    const a = allocObject(heap, type, 4, options, permanent);
    const w = 4 * (a + M_CTRL + 1);
    heap.i32[w] = spec.key === 'string' ? KEY_STRING : KEY_INT;
    heap.i32[w + 1] = type.elementKind;
    return new TMap<K, V>(heap, a, type);
  }

  /** The map type (to type a root: `heap.root('orders', TMap.of('string', Order))`). */
  static of<K extends KeyKind, V extends ElementKind>(key: K, value: V): ObjectType & { makeView(h: Heap, a: number): TMap<K, V> } {
    return mapType(key, value) as unknown as ObjectType & { makeView(h: Heap, a: number): TMap<K, V> };
  }

  /** The number a key is indexed by: the key itself, or the interned string's address. */
  private keyNumber(key: KeyOf<K>): number {
    if (this.strKeys) {
      if (typeof key !== 'string') throw new StmError(`${this.type.name} keys are strings, got ${typeof key}`);
      return intern(this.$h, key);
    }
    if (typeof key !== 'number' || !Number.isSafeInteger(key)) throw new StmError(`${this.type.name} keys are safe integers, got ${String(key)}`);
    return key;
  }

  /** The entry for `key`, created (permanently, outside the transaction) if needed. */
  private entry(key: KeyOf<K>): number {
    const heap = this.$h;
    const k = this.keyNumber(key);
    const map = this.$a;
    const kind = this.strKeys ? KEY_STRING : KEY_INT;
    return findOrInsertNumber(heap, this.owner, k, hashNumber(k), () => {
      const e = heap.allocPermanent(5);
      const entryId = entryType.idIn(heap);
      heap.initHeader(e, entryId, 0, Atomics.add(heap.i32, 4 * (entryId + 2), 1) + 1);
      heap.f64[2 * (e + ENTRY_KEY_SLOT)] = k;
      heap.i32[4 * (e + ENTRY_MAP_SLOT)] = map;
      heap.i32[4 * (e + ENTRY_MAP_SLOT) + 1] = kind;
      return e;
    });
  }

  get(key: KeyOf<K>): ElementValue<V> | undefined {
    const h = this.$h;
    const e = this.entry(key);
    if (h.read(e, e + E_PRESENT) === 0) return undefined;
    return decodeValue(h, this.type.elementKind, h.read(e, e + E_VALUE)) as ElementValue<V>;
  }

  has(key: KeyOf<K>): boolean {
    const e = this.entry(key);
    return this.$h.read(e, e + E_PRESENT) !== 0;
  }

  set(key: KeyOf<K>, value: ElementValue<V>): this {
    const h = this.$h;
    const raw = encodeValue(this.type.elementKind, value, `${this.type.name} value`, this.type.elementRef);
    const e = this.entry(key);
    if (h.read(e, e + E_PRESENT) === 0) {
      h.write(e, e + E_PRESENT, 1);
      h.addCommutative(this.$a, this.$a + M_SIZE, 1);
      h.write(this.$a, this.$a + M_MEMBERSHIP, e);
    }
    h.write(e, e + E_VALUE, raw);
    return this;
  }

  /** Removes `key`; returns whether it was present. */
  delete(key: KeyOf<K>): boolean {
    const h = this.$h;
    const e = this.entry(key);
    if (h.read(e, e + E_PRESENT) === 0) return false;
    h.write(e, e + E_PRESENT, 0);
    h.write(e, e + E_VALUE, 0);
    h.addCommutative(this.$a, this.$a + M_SIZE, -1);
    h.write(this.$a, this.$a + M_MEMBERSHIP, e);
    return true;
  }

  /** Number of keys (conflicts with concurrent inserts and deletes). */
  get size(): number {
    const h = this.$h;
    return h.read(this.$a, this.$a + M_SIZE);
  }

  /** Calls `fn(value, key)` for every key (conflicts with concurrent inserts and deletes). */
  forEach(fn: (value: ElementValue<V>, key: KeyOf<K>) => void): void {
    const h = this.$h;
    h.read(this.$a, this.$a + M_MEMBERSHIP);
    const entries: number[] = [];
    forEachValue(h, this.owner, (e) => entries.push(e));
    for (const e of entries) {
      if (h.read(e, e + E_PRESENT) === 0) continue;
      const k = h.f64[2 * (e + ENTRY_KEY_SLOT)];
      fn(decodeValue(h, this.type.elementKind, h.read(e, e + E_VALUE)) as ElementValue<V>, (this.strKeys ? readString(h, k) : k) as KeyOf<K>);
    }
  }

  keys(): KeyOf<K>[] {
    const out: KeyOf<K>[] = [];
    this.forEach((_v, k) => out.push(k));
    return out;
  }

  entries(): Array<[KeyOf<K>, ElementValue<V>]> {
    const out: Array<[KeyOf<K>, ElementValue<V>]> = [];
    this.forEach((v, k) => out.push([k, v]));
    return out;
  }
}

// ---- named roots -------------------------------------------------------------------

setRootsFactory((heap) => TMap.createIn(heap, { key: 'string', value: 'ref' }, { label: 'roots' }, true).$a);

function rootsOf(heap: Heap): TMap<'string', 'ref'> {
  const a = Atomics.load(heap.i32, W_ROOTS);
  if (a === 0) throw new StmError('this heap has no root map');
  return new TMap(heap, a, mapType('string', 'ref')) as TMap<'string', 'ref'>;
}

/**
 * Publishes `obj` under `name` so every thread can find it with `getRoot`.
 * Runs in (or joins) a transaction.
 */
export function setRoot(name: string, obj: ObjectView | null, heap: Heap = currentHeap()): void {
  if (typeof name !== 'string' || name === '') throw new StmError('root names must be non-empty strings');
  heap.atomic(() => {
    if (obj === null) rootsOf(heap).delete(name);
    else rootsOf(heap).set(name, obj);
  });
}

/**
 * The object published under `name`, viewed as `type` when given (clear error
 * if it is something else); throws when there is no such root.
 */
export function getRoot<T extends ObjectType>(name: string, type?: T, heap: Heap = currentHeap()): ViewOf<T> {
  const addr = heap.atomic(() => {
    const v = rootsOf(heap).get(name);
    return v ? v.$a : 0;
  });
  if (addr === 0) {
    const known = heap.atomic(() => rootsOf(heap).keys());
    throw new StmError(`no root named ${JSON.stringify(name)} (roots: ${known.map((k) => JSON.stringify(k)).join(', ') || 'none'}); publish it with setRoot()`);
  }
  if (type) {
    if (heap.i32[4 * addr] !== type.idIn(heap)) {
      throw new StmError(`root ${JSON.stringify(name)} is a ${viewOf(heap, addr)!.typeName}, not a ${type.name}`);
    }
    return type.makeView(heap, addr) as ViewOf<T>;
  }
  return viewOf(heap, addr) as ViewOf<T>;
}
