/**
 * `TQueue`: a transactional queue whose producers and consumers rarely
 * conflict.
 *
 * A single linked list with head and tail pointers makes every producer
 * conflict with every other producer on the tail. Instead the queue has
 * `lanes` independent lists; a thread pushes onto lane `thread % lanes` and pops
 * starting from its own lane, stealing from the others when it is empty. So:
 * - producers on different lanes never conflict;
 * - a producer and a consumer of the same lane conflict only when the lane
 *   holds at most one element (they touch opposite ends otherwise);
 * - order is FIFO per lane (per producing thread), not global, like PyPy-STM's
 *   `pypystm.queue` ("unordered, put never delays").
 *
 * ```
 * queue slot q: header | q+1 words [lanes, value kind, 0, 0]
 *       q+2+2l head of lane l (field 2l) | q+3+2l tail of lane l (field 2l+1)
 * node  slot n: header | n+1 value (field 0) | n+2 next (field 1)
 * ```
 */
import { Heap, currentHeap } from './heap.ts';
import { StmError } from './errors.ts';
import { K_F64, K_REF } from './layout.ts';
import { ObjShape } from '../model/records.ts';
import {
  ObjectType,
  ObjectView,
  allocObject,
  decodeValue,
  elementCode,
  elementName,
  encodeValue,
  initSlot,
  registerShapeFactory,
  declareType,
  type CreateOptions,
  type ElementKind,
  type ElementValue,
} from './types.ts';
import type { TypeInfo } from './heap-reader.ts';

class NodeType extends ObjectType {
  readonly name = 'QueueNode';
  readonly shape = ObjShape.Struct;
  readonly fieldBase = 1;
  readonly fields = [
    { name: 'value', kind: K_F64, refType: '' },
    { name: 'next', kind: K_REF, refType: '' },
  ];
  makeView(): ObjectView {
    throw new StmError('queue nodes are not user objects');
  }
}
const nodeType = new NodeType();

class QueueType extends ObjectType {
  readonly name: string;
  readonly shape = ObjShape.Queue;
  readonly fieldBase = 2;
  readonly fields = [];
  override readonly elementKind: number;
  override readonly elementRef: string;
  constructor(c: { kind: number; ref: string }) {
    super();
    this.elementKind = c.kind;
    this.elementRef = c.ref;
    this.name = `Queue<${elementName(c.kind, c.ref)}>`;
  }
  makeView(heap: Heap, addr: number): TQueue {
    return new TQueue(heap, addr, this);
  }
}
const queueTypes = new Map<string, QueueType>();
function queueType(c: { kind: number; ref: string }): QueueType {
  const k = `${c.kind}|${c.ref}`;
  let t = queueTypes.get(k);
  if (!t) {
    queueTypes.set(k, (t = new QueueType(c)));
    declareType(t);
  }
  return t;
}

registerShapeFactory(ObjShape.Queue, (_heap, info: TypeInfo) => {
  const inner = info.name.slice('Queue<'.length, -1);
  return queueType({ kind: info.elementKind, ref: info.elementKind === K_REF && inner !== 'ref' ? inner : '' });
});

export class TQueue<V extends ElementKind = ElementKind> extends ObjectView {
  private readonly type: QueueType;
  readonly lanes: number;
  /** @internal */
  constructor(heap: Heap, addr: number, type: QueueType) {
    super(heap, addr);
    this.type = type;
    this.lanes = heap.i32[4 * (addr + 1)];
  }

  /**
   * @param spec.value element kind
   * @param spec.lanes independent lanes (default 8): more lanes, fewer producer conflicts
   */
  static create<V extends ElementKind>(spec: { value: V; lanes?: number }, options?: CreateOptions): TQueue<V> {
    const heap = currentHeap();
    const lanes = spec?.lanes ?? 8;
    if (!Number.isInteger(lanes) || lanes < 1 || lanes > 256) throw new StmError(`TQueue lanes must be an integer from 1 to 256, got ${lanes}`);
    const type = queueType(elementCode(spec.value, 'TQueue value'));
    const a = allocObject(heap, type, 1 + 2 * lanes, options);
    heap.i32[4 * (a + 1)] = lanes;
    heap.i32[4 * (a + 1) + 1] = type.elementKind;
    return new TQueue<V>(heap, a, type);
  }

  static of<V extends ElementKind>(value: V): ObjectType & { makeView(h: Heap, a: number): TQueue<V> } {
    return queueType(elementCode(value, 'TQueue value')) as unknown as ObjectType & { makeView(h: Heap, a: number): TQueue<V> };
  }

  /** Appends `value` to this thread's lane. */
  push(value: ElementValue<V>): void {
    const h = this.$h;
    const raw = encodeValue(this.type.elementKind, value, `${this.type.name} value`, this.type.elementRef);
    if (!h.inTx) throw new StmError('TQueue.push must run inside atomic()');
    const node = allocObject(h, nodeType, 2, undefined);
    initSlot(h, node + 1, raw);
    const lane = h.thread % this.lanes;
    const headSlot = this.$a + 2 + 2 * lane;
    const tailSlot = headSlot + 1;
    const tail = h.read(this.$a, tailSlot);
    if (tail === 0) h.write(this.$a, headSlot, node);
    else h.write(tail, tail + 2, node);
    h.write(this.$a, tailSlot, node);
  }

  /** Removes and returns the oldest element of the first non-empty lane (own lane first), or undefined. */
  pop(): ElementValue<V> | undefined {
    const h = this.$h;
    if (!h.inTx) throw new StmError('TQueue.pop must run inside atomic()');
    const start = h.thread % this.lanes;
    for (let i = 0; i < this.lanes; i++) {
      const lane = (start + i) % this.lanes;
      const headSlot = this.$a + 2 + 2 * lane;
      const node = h.read(this.$a, headSlot);
      if (node === 0) continue;
      const next = h.read(node, node + 2);
      h.write(this.$a, headSlot, next);
      if (next === 0) h.write(this.$a, headSlot + 1, 0);
      return decodeValue(h, this.type.elementKind, h.read(node, node + 1)) as ElementValue<V>;
    }
    return undefined;
  }

  /** True when every lane is empty (reads every lane head). */
  isEmpty(): boolean {
    const h = this.$h;
    for (let lane = 0; lane < this.lanes; lane++) if (h.read(this.$a, this.$a + 2 + 2 * lane) !== 0) return false;
    return true;
  }
}
