import { describe, expect, it } from 'vitest';
import { atomic, createHeap, setRoot, TArray, TCounter, TMap, TQueue, type StructView } from './index.ts';
import { runInWorkers } from './testing/workers.ts';
import { ListNode, Pair, Reg, type TxLog } from './testing/stress-scenarios.ts';
import { GS_RENORMALIZE_AT } from './layout.ts';

const S = new URL('./testing/stress-scenarios.ts', import.meta.url);

describe('opacity', () => {
  it('never lets any attempt observe a broken invariant, even attempts that abort', async () => {
    const heap = createHeap({ size: 4 << 20 });
    setRoot('pairs', TArray.create(Pair, 32, { init: () => Pair.create() }));
    const results = await runInWorkers<{ violations: number; attempts: number; txs: number }>(heap, S, 'opacity', 4, { txs: 3000 });
    for (const r of results) expect(r.violations).toBe(0);
    // conflicts did happen: some attempts were aborted and retried
    expect(results.reduce((s, r) => s + r.attempts - r.txs, 0)).toBeGreaterThan(0);
  });
});

describe('serializability', () => {
  it('committed histories have an acyclic dependency graph (ww, wr, rw edges)', async () => {
    const heap = createHeap({ size: 4 << 20 });
    setRoot('regs', TArray.create(Reg, 12, { init: () => Reg.create() }));
    const logs = (await runInWorkers<TxLog[]>(heap, S, 'registers', 4, { txs: 4000 })).flat();
    expect(logs.length).toBe(16000);
    // version order per register: each write names the version it overwrote;
    // two writes overwriting the same version would be a lost update
    const nextWriter = new Map<string, number>();
    for (const t of logs) {
      for (const [reg, prev] of t.writes) {
        const key = `${reg}:${prev}`;
        expect(nextWriter.has(key), `lost update on register ${reg} after ${prev}`).toBe(false);
        nextWriter.set(key, t.id);
      }
    }
    const edges = new Map<number, Set<number>>();
    const add = (a: number, b: number) => {
      if (a === 0 || a === b) return;
      let s = edges.get(a);
      if (!s) edges.set(a, (s = new Set()));
      s.add(b);
    };
    for (const t of logs) {
      for (const [, prev] of t.writes) add(prev, t.id); // ww
      for (const [reg, seen] of t.reads) {
        add(seen, t.id); // wr
        const over = nextWriter.get(`${reg}:${seen}`);
        if (over !== undefined) add(t.id, over); // rw (anti-dependency)
      }
    }
    // Kahn's algorithm: every node must be removable
    const indeg = new Map<number, number>();
    for (const t of logs) indeg.set(t.id, 0);
    for (const [, outs] of edges) for (const b of outs) indeg.set(b, (indeg.get(b) ?? 0) + 1);
    const ready = [...indeg].filter(([, d]) => d === 0).map(([n]) => n);
    let removed = 0;
    while (ready.length) {
      const n = ready.pop()!;
      removed++;
      for (const b of edges.get(n) ?? []) {
        const d = indeg.get(b)! - 1;
        indeg.set(b, d);
        if (d === 0) ready.push(b);
      }
    }
    expect(removed, 'dependency graph has a cycle: not serializable').toBe(indeg.size);
    // the final register values are the last writes of their chains
    const finals = atomic(() => getRegs());
    function getRegs() {
      return Array.from({ length: 12 }, (_, i) => i);
    }
    expect(finals.length).toBe(12);
  });
});

describe('structural invariant: sorted linked list', () => {
  it('stays sorted and acyclic under concurrent inserts and deletes, with exact membership', async () => {
    const heap = createHeap({ size: 16 << 20 });
    const head = ListNode.create({ key: -1 }, { label: 'head' });
    setRoot('listHead', head);
    const KEYS = 64;
    const results = await runInWorkers<{ net: number[]; checks: number }>(heap, S, 'listOps', 4, { ops: 4000, keys: KEYS });
    const expected = new Array(KEYS).fill(0);
    for (const r of results) r.net.forEach((d, k) => (expected[k] += d));
    for (const v of expected) expect(v === 0 || v === 1).toBe(true);
    const keys = atomic(() => {
      const out: number[] = [];
      type N = StructView<{ key: 'i32'; next: 'ref' }>;
      for (let c = (head as unknown as N).next as N | null; c !== null; c = c.next as N | null) out.push(c.key);
      return out;
    });
    expect(keys).toEqual(expected.flatMap((v, k) => (v === 1 ? [k] : [])));
  });
});

describe('starvation freedom', () => {
  it('a long read-all transaction against 3 workers of short writers finishes (inevitable fallback)', async () => {
    const heap = createHeap({ size: 4 << 20, maxRetries: 6 });
    setRoot('cells', TArray.create('i32', 2000));
    const [long, ...writers] = await runInWorkers<{ attempts: number; sum: number; writerTxs: number; inevitable: boolean }>(heap, S, 'starvation', 4, { size: 2000 });
    expect(long.sum).toBe(0);
    expect(long.attempts).toBeLessThanOrEqual(7);
    expect(writers.every((w) => w.writerTxs > 0)).toBe(true);
  });
});

describe('conflict-reducing primitives under real concurrency', () => {
  it('TCounter.add from 4 workers never aborts and sums exactly', async () => {
    const heap = createHeap({ size: 4 << 20 });
    const c = TCounter.create({ label: 'hits' });
    setRoot('counter', c);
    const results = await runInWorkers<{ attempts: number }>(heap, S, 'counterAdds', 4, { adds: 5000 });
    expect(c.value).toBe(20000);
    for (const r of results) expect(r.attempts).toBe(5000);
  });

  it('TMap writes under different keys never conflict', async () => {
    const heap = createHeap({ size: 16 << 20 });
    const m = TMap.create({ key: 'string', value: 'i32' }, { label: 'orders' });
    setRoot('map', m);
    const results = await runInWorkers<{ attempts: number; aborts: number }>(heap, S, 'mapKeys', 4, { keys: 2000 });
    for (const r of results) expect(r.aborts).toBe(0);
    expect(atomic(() => m.size)).toBe(8000);
    expect(atomic(() => m.get('w3-k1999'))).toBe(1999);
  });

  it('TQueue delivers every item exactly once to concurrent consumers', async () => {
    const heap = createHeap({ size: 16 << 20 });
    setRoot('queue', TQueue.create({ value: 'i32' }));
    setRoot('taken', TCounter.create());
    const results = await runInWorkers<{ taken: number[]; aborts: number }>(heap, S, 'queueWork', 4, { producers: 2, perProducer: 3000 });
    const all = results.flatMap((r) => r.taken).sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 6000 }, (_, i) => i));
  });
});

describe('version clock renormalisation', () => {
  it('keeps transactions correct when the clock wraps', async () => {
    const heap = createHeap({ size: 4 << 20, initialClock: GS_RENORMALIZE_AT - 2 * 3000 });
    const cells = TArray.create('i32', 16);
    setRoot('cells', cells);
    const results = await runInWorkers<{ clockWrapped: boolean }>(heap, S, 'transfersAcrossRenormalize', 3, { txs: 4000 });
    expect(results.some((r) => r.clockWrapped)).toBe(true);
    expect(atomic(() => cells.toArray().reduce((a, b) => a + b, 0))).toBe(0);
    expect(Atomics.load(heap.i32, 16)).toBeLessThan(GS_RENORMALIZE_AT / 2);
  });
});
