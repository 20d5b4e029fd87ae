/**
 * Throughput workloads for `npm run bench`: N worker threads run transactions
 * in a loop for a fixed time; prints one JSON line
 * `{ txPerSec, commits, seconds, workers, ... }`.
 *
 *   node --import tsx bench/workloads/threads.ts '{"workload":"disjoint","mode":"stm","workers":2,"seconds":1}'
 *
 * Workloads (each transaction = 10 operations on a 64 Ki-element array, with
 * ~`computeNs` of arithmetic per operation inside the transaction — the case
 * where an STM can beat a global lock, see node-costs.md):
 * - disjoint: each operation reads and writes a random element (low conflict)
 * - hotspot:  like disjoint, but 10% of the operations hit element 0
 * - bank:     a transfer between two of 1024 accounts, plus ~1 µs of work
 * - kmeans:   one STAMP k-means step: nearest of 16 centres (16 dims), then
 *             read-modify-write of that centre's 16 sums and its count
 * Modes: `stm` (transactions) or `gil` (the same bodies on plain typed arrays
 * under one global Atomics mutex: a "GIL").
 *
 * Steady state only: the workers start together and run for `warmupSeconds`
 * (JIT tiers up, caches fill) before the measured window of `seconds`; each
 * worker publishes its commit and attempt counts in shared memory every 64
 * transactions, and the main thread reads them at both ends of the window.
 * Start-up (spawn to ready) and the warm-up rate are reported apart.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { atomic, attachHeap, createHeap, TArray, type Heap } from '../../runtime/index.ts';
import { launchWorker } from '../../runtime/worker-launch.ts';
import { agentReady } from '../../runtime/agent-launch.ts';

export interface WorkloadConfig {
  workload: 'disjoint' | 'hotspot' | 'bank' | 'kmeans';
  mode: 'stm' | 'gil';
  workers: number;
  seconds: number;
  /** arithmetic per operation inside a transaction, ns (default 100) */
  computeNs?: number;
  /** run at least this long before the measured window, not counted (default 0.3 s) */
  warmupSeconds?: number;
  /**
   * and until every worker committed this many transactions (default 30000):
   * the JIT tiers up per thread by call counts, so 8 workers sharing 2 cores
   * need 4x the wall time of 2 to reach optimised code (capped at 10 s)
   */
  warmupTx?: number;
}

/** What one run prints (one JSON line). */
export interface WorkloadResult {
  /** committed transactions per second in the measured window */
  txPerSec: number;
  commits: number;
  /** attempts that aborted in the window (attempts - commits) */
  aborts: number;
  /** aborts / attempts in the window */
  abortRatio: number;
  seconds: number;
  workers: number;
  perWorker: number[];
  /** spawning the workers until all are ready, ms */
  startupMs: number;
  /** transactions per second during the warm-up (cold JIT) */
  warmupTxPerSec: number;
  /** how long the warm-up took, ms */
  warmupMs: number;
}

const N = 1 << 16;
const OPS = 10;
const KM_K = 16;
const KM_D = 16;
const CTL_START = 0;
const CTL_STOP = 1;
const CTL_READY = 2;
const CTL_LOCK = 3;
/** Int32 words from here: per worker [commits, attempts], published every 64 transactions */
const CTL_COUNTS = 16;
const PUBLISH_EVERY = 64;

interface Shared {
  config: WorkloadConfig;
  heap?: Heap['shared'];
  gil?: SharedArrayBuffer;
  control: SharedArrayBuffer;
  roots: { data: number; sums: number; counts: number };
}

/** ~1 ns per iteration on this machine class; returns a value so the loop is not removed. */
function compute(seed: number, iterations: number): number {
  let x = seed | 0;
  for (let i = 0; i < iterations; i++) x = (Math.imul(x, 1103515245) + 12345) | 0;
  return x & 1;
}

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
}

if (isMainThread) {
  const config = JSON.parse(process.argv[2] ?? '{}') as WorkloadConfig;
  const tSpawn = performance.now();
  const control = new SharedArrayBuffer(4 * (CTL_COUNTS + 2 * config.workers));
  const ctl = new Int32Array(control);
  let shared: Shared;
  if (config.mode === 'stm') {
    const heap = createHeap({ size: 64 << 20 });
    const data = TArray.create('f64', N, { label: 'data' });
    const sums = TArray.create('f64', KM_K * KM_D, { label: 'sums' });
    const counts = TArray.create('f64', KM_K, { label: 'counts' });
    shared = { config, heap: heap.shared, control, roots: { data: data.id, sums: sums.id, counts: counts.id } };
  } else {
    shared = { config, gil: new SharedArrayBuffer((N + KM_K * KM_D + KM_K) * 8), control, roots: { data: 0, sums: 0, counts: 0 } };
  }
  const workers = Array.from({ length: config.workers }, (_, i) => launchWorker(new URL(import.meta.url), { workerData: { ...shared, index: i } }));
  const done = workers.map((w) => new Promise<number>((resolve, reject) => {
    w.on('message', resolve);
    w.on('error', reject);
  }));
  while (Atomics.load(ctl, CTL_READY) < config.workers) await new Promise((r) => setTimeout(r, 5));
  // the in-process agent (if any) has finished starting
  await agentReady();
  const startupMs = performance.now() - tSpawn;
  const counts = () => {
    let commits = 0;
    let attempts = 0;
    const per: number[] = [];
    for (let i = 0; i < config.workers; i++) {
      const c = Atomics.load(ctl, CTL_COUNTS + 2 * i);
      commits += c;
      attempts += Atomics.load(ctl, CTL_COUNTS + 2 * i + 1);
      per.push(c);
    }
    return { commits, attempts, per, at: performance.now() };
  };
  const sleep = (s: number) => new Promise((r) => setTimeout(r, s * 1000));
  Atomics.store(ctl, CTL_START, 1);
  Atomics.notify(ctl, CTL_START);
  const warmS = config.warmupSeconds ?? 0.3;
  const warmTx = config.warmupTx ?? 30_000;
  const w0 = counts();
  await sleep(warmS);
  let c0 = counts();
  while (Math.min(...c0.per) < warmTx && c0.at - w0.at < 10_000) {
    await sleep(0.02);
    c0 = counts();
  }
  await sleep(config.seconds);
  const c1 = counts();
  Atomics.store(ctl, CTL_STOP, 1);
  await Promise.all(done);
  for (const w of workers) await w.terminate();
  const seconds = (c1.at - c0.at) / 1000;
  const commits = c1.commits - c0.commits;
  const attempts = c1.attempts - c0.attempts;
  const result: WorkloadResult = {
    txPerSec: commits / seconds,
    commits,
    aborts: attempts - commits,
    abortRatio: attempts > 0 ? (attempts - commits) / attempts : 0,
    seconds,
    workers: config.workers,
    perWorker: c1.per.map((c, i) => c - c0.per[i]),
    startupMs,
    warmupTxPerSec: (c0.commits - w0.commits) / ((c0.at - w0.at) / 1000),
    warmupMs: c0.at - w0.at,
  };
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(0);
} else {
  const sh = workerData as Shared & { index: number };
  const { config } = sh;
  const ctl = new Int32Array(sh.control);
  const iters = Math.max(0, Math.round(config.computeNs ?? 100));
  const next = rng(sh.index * 7919 + 13);
  let body: () => void;
  let run: (fn: () => void) => void;
  if (config.mode === 'stm') {
    attachHeap(sh.heap!);
    const data = TArray.of('f64').makeView(currentHeapOf(), sh.roots.data);
    const sums = TArray.of('f64').makeView(currentHeapOf(), sh.roots.sums);
    const counts = TArray.of('f64').makeView(currentHeapOf(), sh.roots.counts);
    const get = (a: TArray<'f64'>, i: number) => a.get(i);
    const set = (a: TArray<'f64'>, i: number, v: number) => a.set(i, v);
    body = makeBody(config, iters, next, (i) => get(data, i), (i, v) => set(data, i, v), (i) => get(sums, i), (i, v) => set(sums, i, v), (i) => get(counts, i), (i, v) => set(counts, i, v));
    run = (fn) => atomic(fn);
  } else {
    const f = new Float64Array(sh.gil!);
    const S = N;
    const C = N + KM_K * KM_D;
    body = makeBody(config, iters, next, (i) => f[i], (i, v) => (f[i] = v), (i) => f[S + i], (i, v) => (f[S + i] = v), (i) => f[C + i], (i, v) => (f[C + i] = v));
    const lock = ctl;
    run = (fn) => {
      // a futex mutex: the global lock of a GIL
      while (Atomics.compareExchange(lock, CTL_LOCK, 0, 1) !== 0) Atomics.wait(lock, CTL_LOCK, 1, 1);
      try {
        fn();
      } finally {
        Atomics.store(lock, CTL_LOCK, 0);
        Atomics.notify(lock, CTL_LOCK, 1);
      }
    };
  }
  // every attempt runs the body once: attempts - commits = aborts
  let attempts = 0;
  const counted = () => {
    attempts++;
    body();
  };
  const commitsWord = CTL_COUNTS + 2 * sh.index;
  Atomics.add(ctl, CTL_READY, 1);
  while (Atomics.load(ctl, CTL_START) === 0) Atomics.wait(ctl, CTL_START, 0, 10);
  let n = 0;
  while (Atomics.load(ctl, CTL_STOP) === 0) {
    run(counted);
    if (++n % PUBLISH_EVERY === 0) {
      Atomics.store(ctl, commitsWord, n);
      Atomics.store(ctl, commitsWord + 1, attempts);
    }
  }
  parentPort!.postMessage(n);
}

function currentHeapOf(): Heap {
  return (globalThis as unknown as { __benchHeap?: Heap }).__benchHeap ?? attachedHeap();
}
import { currentHeap } from '../../runtime/index.ts';
function attachedHeap(): Heap {
  return currentHeap();
}

function makeBody(
  config: WorkloadConfig,
  iters: number,
  next: () => number,
  get: (i: number) => number,
  set: (i: number, v: number) => void,
  getSum: (i: number) => number,
  setSum: (i: number, v: number) => void,
  getCount: (i: number) => number,
  setCount: (i: number, v: number) => void,
): () => void {
  switch (config.workload) {
    case 'disjoint':
    case 'hotspot': {
      const hot = config.workload === 'hotspot';
      return () => {
        for (let k = 0; k < OPS; k++) {
          const r = next();
          const i = hot && r % 10 === 0 ? 0 : (r >>> 8) & (N - 1);
          set(i, get(i) + compute(r, iters));
        }
      };
    }
    case 'bank':
      return () => {
        const r = next();
        const from = r & 1023;
        const to = (r >>> 10) & 1023;
        const amount = 1 + compute(r, 1000);
        set(from, get(from) - amount);
        set(to, get(to) + amount);
      };
    case 'kmeans': {
      const point = new Float64Array(KM_D);
      const centres = new Float64Array(KM_K * KM_D);
      for (let i = 0; i < centres.length; i++) centres[i] = (i * 37) % 101;
      return () => {
        const r = next();
        for (let j = 0; j < KM_D; j++) point[j] = ((r >>> j) & 127) * 0.8;
        let best = 0;
        let bestDist = Infinity;
        for (let c = 0; c < KM_K; c++) {
          let d = 0;
          for (let j = 0; j < KM_D; j++) {
            const diff = point[j] - centres[c * KM_D + j];
            d += diff * diff;
          }
          if (d < bestDist) {
            bestDist = d;
            best = c;
          }
        }
        for (let j = 0; j < KM_D; j++) setSum(best * KM_D + j, getSum(best * KM_D + j) + point[j]);
        setCount(best, getCount(best) + 1);
      };
    }
  }
}
