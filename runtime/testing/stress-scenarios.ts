/** Multi-worker stress scenarios for the runtime's correctness tests (stress.test.ts). */
import { atomic, currentHeap, defineStruct, getRoot, lastAbortInfo, ref, TArray, TCounter, TMap, TQueue, type StructView } from '../index.ts';
import { barrier, type ScenarioContext } from './workers.ts';

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return (n: number) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % n;
  };
}

// ---- opacity ---------------------------------------------------------------------

export const Pair = defineStruct('Pair', { a: 'i32', b: 'i32' });

/** Writers move amounts between a and b of random pairs; readers check a + b === 0 on every read, in every attempt. */
export function opacity(ctx: ScenarioContext<{ txs: number }>): { violations: number; attempts: number; txs: number } {
  const pairs = getRoot('pairs', TArray.of(Pair));
  const r = rng(ctx.index * 7919 + 1);
  let violations = 0;
  let attempts = 0;
  const writer = ctx.index % 2 === 0;
  barrier(ctx.control, 0, ctx.count);
  for (let t = 0; t < ctx.args.txs; t++) {
    if (writer) {
      atomic(() => {
        attempts++;
        for (let k = 0; k < 4; k++) {
          const p = pairs.get(r(pairs.length))!;
          const d = 1 + r(100);
          p.a += d;
          p.b -= d;
        }
      });
    } else {
      atomic(() => {
        attempts++;
        // read all a's first, then all b's: the widest window for an inconsistent snapshot
        const as: number[] = [];
        for (let i = 0; i < pairs.length; i++) as.push(pairs.get(i)!.a);
        for (let i = 0; i < pairs.length; i++) if (as[i] + pairs.get(i)!.b !== 0) violations++;
      });
    }
  }
  return { violations, attempts, txs: ctx.args.txs };
}

// ---- serializability -------------------------------------------------------------

export const Reg = defineStruct('Reg', { writer: 'f64' });

export interface TxLog {
  id: number;
  reads: Array<[reg: number, seen: number]>;
  writes: Array<[reg: number, prev: number]>;
}

/**
 * Each transaction reads some registers (logging the writer id it saw) and
 * read-modify-writes others (logging the id it overwrote, then storing its own).
 */
export function registers(ctx: ScenarioContext<{ txs: number }>): TxLog[] {
  const regs = getRoot('regs', TArray.of(Reg));
  const r = rng(ctx.index * 104729 + 3);
  const logs: TxLog[] = [];
  barrier(ctx.control, 0, ctx.count);
  for (let t = 0; t < ctx.args.txs; t++) {
    const id = (ctx.index + 1) * 1_000_000 + t + 1;
    const nReads = 1 + r(4);
    const nWrites = r(3);
    const readIdx = Array.from({ length: nReads }, () => r(regs.length));
    const writeIdx = Array.from({ length: nWrites }, () => r(regs.length));
    const log = atomic(() => {
      const l: TxLog = { id, reads: [], writes: [] };
      const mine = new Set<number>();
      for (const i of readIdx) if (!mine.has(i)) l.reads.push([i, regs.get(i)!.writer]);
      for (const i of writeIdx) {
        if (mine.has(i)) continue;
        const reg = regs.get(i)!;
        l.writes.push([i, reg.writer]);
        reg.writer = id;
        mine.add(i);
      }
      return l;
    });
    logs.push(log);
  }
  return logs;
}

// ---- sorted linked list ----------------------------------------------------------

export const ListNode = defineStruct('ListNode', { key: 'i32', next: ref('ListNode') });
type NodeView = StructView<{ key: 'i32'; next: ReturnType<typeof ref> }>;

/** Random inserts and deletes of keys in a sorted list; returns per-key net successful inserts. */
export function listOps(ctx: ScenarioContext<{ ops: number; keys: number }>): { net: number[]; checks: number } {
  const head = getRoot('listHead', ListNode) as unknown as NodeView;
  const r = rng(ctx.index * 31337 + 5);
  const net = new Array(ctx.args.keys).fill(0);
  let checks = 0;
  barrier(ctx.control, 0, ctx.count);
  for (let k = 0; k < ctx.args.ops; k++) {
    const key = r(ctx.args.keys);
    const insert = r(2) === 0;
    const delta = atomic(() => {
      let prev = head;
      let cur = prev.next as NodeView | null;
      while (cur !== null && cur.key < key) {
        prev = cur;
        cur = cur.next as NodeView | null;
      }
      const present = cur !== null && cur.key === key;
      if (insert && !present) {
        prev.next = ListNode.create({ key, next: cur as never }) as never;
        return 1;
      }
      if (!insert && present) {
        prev.next = cur!.next as never;
        return -1;
      }
      return 0;
    });
    net[key] += delta;
    if (k % 50 === 0) {
      // structural invariant inside a transaction: strictly increasing, no cycle
      atomic(() => {
        let last = -Infinity;
        let n = 0;
        for (let c = head.next as NodeView | null; c !== null; c = c.next as NodeView | null) {
          if (c.key <= last) throw new Error(`list not strictly sorted: ${c.key} after ${last}`);
          last = c.key;
          if (++n > ctx.args.keys) throw new Error('list longer than the key space: cycle?');
        }
      });
      checks++;
    }
  }
  return { net, checks };
}

// ---- starvation --------------------------------------------------------------------

/** Index 0 runs one long read-all transaction; the others run short writers until it is done. */
export function starvation(ctx: ScenarioContext<{ size: number }>): { attempts: number; sum: number; writerTxs: number; inevitable: boolean } {
  const cells = getRoot('cells', TArray.of('i32'));
  const r = rng(ctx.index + 11);
  barrier(ctx.control, 0, ctx.count);
  if (ctx.index === 0) {
    let attempts = 0;
    let inevitable = false;
    const sum = atomic((tx) => {
      attempts++;
      inevitable = tx.isInevitable;
      let s = 0;
      for (let i = 0; i < cells.length; i++) {
        s += cells.get(i);
        // some work per element makes this transaction long
        for (let w = 0; w < 200; w++) s += Math.sin(w) * 0;
      }
      return s;
    });
    Atomics.store(ctx.control, 10, 1);
    return { attempts, sum, writerTxs: 0, inevitable };
  }
  let txs = 0;
  while (Atomics.load(ctx.control, 10) === 0) {
    atomic(() => {
      const i = r(cells.length);
      const j = r(cells.length);
      cells.set(i, cells.get(i) + 1);
      cells.set(j, cells.get(j) - 1);
    });
    txs++;
  }
  return { attempts: 0, sum: 0, writerTxs: txs, inevitable: false };
}

// ---- conflict-reducing primitives --------------------------------------------------

/** Every worker adds to one shared counter: adds never conflict. */
export function counterAdds(ctx: ScenarioContext<{ adds: number }>): { attempts: number } {
  const c = getRoot('counter', TCounter.type);
  let attempts = 0;
  barrier(ctx.control, 0, ctx.count);
  for (let k = 0; k < ctx.args.adds; k++) {
    atomic(() => {
      attempts++;
      (c as TCounter).add(1);
    });
  }
  return { attempts };
}

/** Every worker writes its own keys of one shared map: different keys never conflict. */
export function mapKeys(ctx: ScenarioContext<{ keys: number }>): { attempts: number; aborts: number } {
  const m = getRoot('map', TMap.of('string', 'i32'));
  let attempts = 0;
  barrier(ctx.control, 0, ctx.count);
  for (let k = 0; k < ctx.args.keys; k++) {
    atomic(() => {
      attempts++;
      const key = `w${ctx.index}-k${k}`;
      m.set(key, (m.get(key) ?? 0) + k);
    });
  }
  return { attempts, aborts: attempts - ctx.args.keys };
}

/** Workers 0..p-1 produce, the others consume until `total` items were taken. */
export function queueWork(ctx: ScenarioContext<{ producers: number; perProducer: number }>): { taken: number[]; aborts: number } {
  const q = getRoot('queue', TQueue.of('i32'));
  const done = getRoot('taken', TCounter.type) as TCounter;
  const total = ctx.args.producers * ctx.args.perProducer;
  const taken: number[] = [];
  let attempts = 0;
  let txs = 0;
  barrier(ctx.control, 0, ctx.count);
  if (ctx.index < ctx.args.producers) {
    for (let k = 0; k < ctx.args.perProducer; k++) {
      atomic(() => {
        attempts++;
        q.push(ctx.index * ctx.args.perProducer + k);
      });
      txs++;
    }
  } else {
    for (;;) {
      const v = atomic(() => {
        attempts++;
        const x = q.pop();
        if (x !== undefined) done.add(1);
        return x;
      });
      txs++;
      if (v !== undefined) taken.push(v);
      else if (atomic(() => done.get()) >= total) break;
    }
  }
  return { taken, aborts: attempts - txs };
}

/** Bank transfers that run across a clock renormalisation. */
export function transfersAcrossRenormalize(ctx: ScenarioContext<{ txs: number }>): { last: ReturnType<typeof lastAbortInfo>; clockWrapped: boolean } {
  const accts = getRoot('cells', TArray.of('i32'));
  const r = rng(ctx.index * 3 + 1);
  barrier(ctx.control, 0, ctx.count);
  const heap = currentHeap();
  const before = Atomics.load(heap.i32, 16);
  let wrapped = false;
  for (let t = 0; t < ctx.args.txs; t++) {
    atomic(() => {
      const i = r(accts.length);
      const j = r(accts.length);
      accts.set(i, accts.get(i) - 3);
      accts.set(j, accts.get(j) + 3);
    });
    if (Atomics.load(heap.i32, 16) < before) wrapped = true;
  }
  return { last: lastAbortInfo(), clockWrapped: wrapped };
}
