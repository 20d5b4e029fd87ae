/**
 * Names the objects that take part in conflicts, by reading their headers and
 * type records from the shared heap (all immutable once published), and turns
 * the runtime's slot offsets into field indexes.
 *
 * Emits definitions under the GLOBAL_WORKER id: strings, `def_field` once per
 * type, `def_object` once per object, each before the first record that
 * references the object.
 */
import { Ev, GLOBAL_WORKER, ObjShape, header } from '../../model/records.ts';
import {
  KEY_STRING,
  isObjectHeader,
  objectLabel,
  objectSerial,
  readEntryKey,
  readString,
  readType,
  type HeapViews,
  type TypeInfo,
} from '../../runtime/heap-reader.ts';

const encoder = new TextEncoder();

export class ObjectNamer {
  private readonly views: HeapViews;
  private types = new Map<number, TypeInfo>();
  private typesDefined = new Set<number>();
  private objects = new Set<number>();
  private strings = new Map<string, number>();
  private nextString = 1;

  constructor(views: HeapViews) {
    this.views = views;
  }

  /** Forgets what was defined (a new stream starts). */
  reset(): void {
    this.typesDefined.clear();
    this.objects.clear();
    this.strings.clear();
    this.nextString = 1;
  }

  private type(id: number): TypeInfo | undefined {
    let t = this.types.get(id);
    if (t === undefined) {
      try {
        t = readType(this.views, id);
      } catch {
        return undefined;
      }
      this.types.set(id, t);
    }
    return t;
  }

  /**
   * Converts the slot offset of an abort record to a field index (-1 when the
   * object cannot be read) and appends the definitions the record needs to `out`.
   */
  fieldIndex(obj: number, slotOffset: number, out: number[]): number {
    if (obj === 0 || !isObjectHeader(this.views, obj)) return -1;
    const type = this.type(this.views.i32[4 * obj]);
    if (!type) return -1;
    this.define(obj, type, out);
    return slotOffset - type.fieldBase;
  }

  private define(obj: number, type: TypeInfo, out: number[]): void {
    if (this.objects.has(obj)) return;
    const v = this.views;
    let container = 0;
    let keyKind = 0;
    let key = 0;
    if (type.shape === ObjShape.MapEntry) {
      const k = readEntryKey(v, obj);
      container = k.map;
      keyKind = k.keyKind;
      key = keyKind === KEY_STRING ? this.str(readString(v, k.key), out) : k.key;
      if (container !== 0 && isObjectHeader(v, container)) {
        const mt = this.type(v.i32[4 * container]);
        if (mt) this.define(container, mt, out);
      }
    }
    const typeName = this.str(type.name, out);
    if (!this.typesDefined.has(type.id)) {
      this.typesDefined.add(type.id);
      type.fields.forEach((f, i) => {
        const name = this.str(f.name, out);
        out.push(header(Ev.DefField, GLOBAL_WORKER, 1), 0, 0, 0, typeName, i, name, f.kind);
      });
    }
    const label = objectLabel(v, obj);
    const labelId = label ? this.str(label, out) : 0;
    this.objects.add(obj);
    out.push(header(Ev.DefObject, GLOBAL_WORKER, 2), 0, 0, 0, obj, typeName, labelId, container);
    out.push(keyKind, key | 0, objectSerial(v, obj), type.shape, 0, 0, 0, 0);
  }

  private str(s: string, out: number[]): number {
    let id = this.strings.get(s);
    if (id !== undefined) return id;
    id = this.nextString++;
    this.strings.set(s, id);
    const bytes = encoder.encode(s);
    const body = Math.ceil(bytes.length / 32);
    out.push(header(Ev.DefString, GLOBAL_WORKER, 1 + body), 0, 0, 0, id, bytes.length, 0, 0);
    const padded = new Uint8Array(body * 32);
    padded.set(bytes);
    const words = new Int32Array(padded.buffer);
    for (let i = 0; i < words.length; i++) out.push(words[i]);
    return id;
  }
}
