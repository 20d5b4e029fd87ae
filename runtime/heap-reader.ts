/**
 * Read-only decoding of heap metadata (strings, type records, object headers)
 * from raw typed-array views. Shared by the runtime and by the recorder thread,
 * which names objects (`Account#17.balance`, `orders["x42"]`) without taking part
 * in transactions: every word read here is immutable once published.
 */
import { HEADER_MARK, K_REF, TR_FIELDS, TR_NAME, TR_NEXT, TR_SHAPE } from './layout.ts';
import { ObjShape } from '../model/records.ts';

export interface HeapViews {
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  readonly u16: Uint16Array;
}

export function viewsOf(sab: SharedArrayBuffer): HeapViews {
  return { i32: new Int32Array(sab), f64: new Float64Array(sab), u16: new Uint16Array(sab) };
}

/**
 * String object layout:
 * ```
 *  slot a    header (type id STRING_TYPE_ID)
 *  slot a+1  words: [length in UTF-16 units, hash, 0, 0]
 *  slot a+2… UTF-16 code units, 8 per slot
 * ```
 */
export const STRING_TYPE_ID = -2;
/** Type id stored in headers of type records themselves. */
export const TYPE_RECORD_TYPE_ID = -3;
/** Type id of internal index tables (not user objects). */
export const INDEX_TYPE_ID = -4;

export function stringSlots(length: number): number {
  return 2 + ((length + 7) >> 3);
}

export function readString(v: HeapViews, addr: number): string {
  if (addr === 0) return '';
  const len = v.i32[4 * (addr + 1)];
  const start = (addr + 2) * 8;
  // String.fromCharCode on chunks: avoids one string concat per code unit
  let out = '';
  for (let i = 0; i < len; i += 4096) {
    out += String.fromCharCode.apply(null, Array.from(v.u16.subarray(start + i, start + Math.min(len, i + 4096))));
  }
  return out;
}

export function stringHash(s: string): number {
  // FNV-1a over UTF-16 code units
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

export function stringEquals(v: HeapViews, addr: number, s: string): boolean {
  if (v.i32[4 * (addr + 1)] !== s.length) return false;
  const start = (addr + 2) * 8;
  const u16 = v.u16;
  for (let i = 0; i < s.length; i++) if (u16[start + i] !== s.charCodeAt(i)) return false;
  return true;
}

/**
 * Type record layout (permanent object at `t`):
 * ```
 *  slot t     header (type id TYPE_RECORD_TYPE_ID)
 *  slot t+1   words: [next type record, name string, shape, field count]
 *  slot t+2   words: [serial counter, signature string, field base offset, element kind]
 *  slot t+3+i field i: [name string, kind, ref target type name string (0 = any), 0]
 * ```
 */
export interface TypeInfo {
  id: number;
  name: string;
  shape: ObjShape;
  /** slot offset of field 0 from the object header */
  fieldBase: number;
  /** element kind for arrays/maps/locals (K_*), -1 otherwise */
  elementKind: number;
  fields: Array<{ name: string; kind: number; refType: string }>;
}

export function readType(v: HeapViews, t: number): TypeInfo {
  const w = 4 * (t + 1);
  const n = v.i32[w + TR_FIELDS];
  const fields: TypeInfo['fields'] = [];
  for (let i = 0; i < n; i++) {
    const f = 4 * (t + 3 + i);
    fields.push({ name: readString(v, v.i32[f]), kind: v.i32[f + 1], refType: readString(v, v.i32[f + 2]) });
  }
  return {
    id: t,
    name: readString(v, v.i32[w + TR_NAME]),
    shape: v.i32[w + TR_SHAPE] as ObjShape,
    fieldBase: v.i32[4 * (t + 2) + 2],
    elementKind: v.i32[4 * (t + 2) + 3],
    fields,
  };
}

export function typeListHead(v: HeapViews, headWord: number): number {
  return Atomics.load(v.i32, headWord);
}

export function nextType(v: HeapViews, t: number): number {
  return v.i32[4 * (t + 1) + TR_NEXT];
}

export function isObjectHeader(v: HeapViews, addr: number): boolean {
  return addr > 0 && 4 * addr + 3 < v.i32.length && v.i32[4 * addr + 2] === HEADER_MARK && v.i32[4 * addr] > 0;
}

export function objectTypeId(v: HeapViews, addr: number): number {
  return v.i32[4 * addr];
}
export function objectLabel(v: HeapViews, addr: number): string {
  return readString(v, v.i32[4 * addr + 1]);
}
export function objectSerial(v: HeapViews, addr: number): number {
  return v.i32[4 * addr + 3];
}

/** Map entry layout (see types/map.ts): key at f64 slot e+1; map address word 4(e+2); key kind word 4(e+2)+1. */
export const ENTRY_KEY_SLOT = 1;
export const ENTRY_MAP_SLOT = 2;
export const KEY_INT = 1;
export const KEY_STRING = 2;

export interface EntryKey {
  map: number;
  keyKind: number;
  /** number key, or string address for string keys */
  key: number;
}
export function readEntryKey(v: HeapViews, e: number): EntryKey {
  return {
    map: v.i32[4 * (e + ENTRY_MAP_SLOT)],
    keyKind: v.i32[4 * (e + ENTRY_MAP_SLOT) + 1],
    key: v.f64[2 * (e + ENTRY_KEY_SLOT)],
  };
}

/** Human label of an object field as reports show it. */
export function describeField(v: HeapViews, type: TypeInfo, obj: number, field: number): string {
  const base = objectLabel(v, obj) || `${type.name}#${objectSerial(v, obj)}`;
  switch (type.shape) {
    case ObjShape.Struct:
      return type.fields[field] ? `${base}.${type.fields[field].name}` : `${base}.<field ${field}>`;
    case ObjShape.Array:
    case ObjShape.Local:
      return `${base}[${field}]`;
    case ObjShape.MapEntry: {
      const k = readEntryKey(v, obj);
      const m = objectLabel(v, k.map) || `Map#${objectSerial(v, k.map)}`;
      const key = k.keyKind === KEY_STRING ? JSON.stringify(readString(v, k.key)) : String(k.key);
      return `${m}[${key}]`;
    }
    default:
      return type.fields[field] ? `${base}.${type.fields[field].name}` : base;
  }
}

export const REF_KIND = K_REF;
