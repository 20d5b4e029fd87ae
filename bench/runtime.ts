/**
 * Runtime benchmarks (issue "Runtime"): per-access barrier cost, single-thread
 * k-means overhead, throughput scaling at 1/2/4 workers and against a global
 * lock. Every configuration runs in its own process; repetitions are
 * interleaved and the median is reported (the machine is noisy).
 */
import { median, round, runJson, runJsonLines, type BenchResult } from './util.ts';
import type { WorkloadConfig } from './workloads/threads.ts';

const TSX = ['--import', 'tsx'];

interface Micro {
  op: string;
  nsPerAccess: Record<string, number>;
}
interface Tput {
  txPerSec: number;
}
interface Kmeans {
  plainMs: number[];
  stmMs: number[];
  stmAddMs: number[];
  sameResult: boolean;
  cfg: Record<string, number>;
}

async function micro(quick: boolean): Promise<BenchResult[]> {
  const reps = quick ? 1 : 3;
  const ms = quick ? 80 : 500;
  const ops = ['plain', 'read', 'write', 'rmw'];
  const runs: Record<string, Micro[]> = { plain: [], read: [], write: [], rmw: [] };
  for (let r = 0; r < reps; r++) {
    if (quick) {
      // one process for all four: less start-up, same figures within the noise
      for (const m of await runJsonLines<Micro>([...TSX, 'bench/workloads/micro.ts', ops.join(','), String(ms)])) runs[m.op].push(m);
    } else {
      for (const op of ops) runs[op].push(await runJson<Micro>([...TSX, 'bench/workloads/micro.ts', op, String(ms)]));
    }
  }
  const at = (op: string, k: number) => median(runs[op].map((m) => m.nsPerAccess[k]));
  const plain = at('plain', 100);
  const table = (op: string) => [1, 10, 100].map((k) => `${k}: ${round(at(op, k), 1)} ns`).join(', ');
  const detail = (op: string, label = op) =>
    `added cost per ${label} in transactions of 100 accesses (random elements of a 64 Ki TArray<f64>) over the same loop on a plain ` +
    `Float64Array (${round(plain, 1)} ns/access); total per access in transactions of ${table(op)}; median of ${reps}`;
  return [
    { name: 'runtime.read_ns', value: round(at('read', 100) - plain, 1), unit: 'ns', better: 'lower', detail: detail('read') },
    { name: 'runtime.write_ns', value: round(at('write', 100) - plain, 1), unit: 'ns', better: 'lower', detail: detail('write') },
    { name: 'runtime.rmw_ns', value: round(at('rmw', 100) - plain, 1), unit: 'ns', better: 'lower', detail: detail('rmw', 'read-modify-write') },
    {
      name: 'runtime.tx_overhead_ns',
      value: round(at('read', 1) - plain, 1),
      unit: 'ns',
      better: 'lower',
      detail: 'a whole read-only transaction of one access (begin, clock read, commit), over the plain access',
    },
  ];
}

async function kmeans(quick: boolean): Promise<BenchResult[]> {
  const cfg = quick ? { n: 4096, d: 32, k: 40, iterations: 2, reps: 2 } : { n: 16384, d: 32, k: 40, iterations: 5, reps: 5 };
  const r = await runJson<Kmeans>([...TSX, 'bench/workloads/kmeans-overhead.ts', JSON.stringify(cfg)]);
  if (!r.sameResult) throw new Error('k-means: the STM versions computed different centres than the plain version');
  const plain = median(r.plainMs);
  const stm = median(r.stmMs);
  const add = median(r.stmAddMs);
  const params = `STAMP kmeans-low shape: ${cfg.n} points, ${cfg.d} attributes, ${cfg.k} clusters, ${cfg.iterations} iterations, one thread`;
  return [
    {
      name: 'runtime.kmeans_overhead_x',
      value: round(add / plain),
      unit: 'x',
      better: 'lower',
      detail: `${params}; STM (one transaction per point accumulating into shared sums with TArray.add) ${round(add, 1)} ms vs plain sequential TypeScript ${round(plain, 1)} ms; median of ${cfg.reps}`,
    },
    {
      name: 'runtime.kmeans_rmw_overhead_x',
      value: round(stm / plain),
      unit: 'x',
      better: 'lower',
      detail: `${params}; the literal port (read-modify-write of each sum, normal.c:168) ${round(stm, 1)} ms vs plain ${round(plain, 1)} ms`,
    },
  ];
}

async function throughput(cfg: WorkloadConfig): Promise<number> {
  return (await runJson<Tput>([...TSX, 'bench/workloads/threads.ts', JSON.stringify(cfg)])).txPerSec;
}

async function scaling(quick: boolean): Promise<BenchResult[]> {
  const seconds = quick ? 0.25 : 1.5;
  const reps = quick ? 1 : 3;
  // ~170 ns of arithmetic per operation: the compute-bearing case of node-costs.md
  const computeNs = 170;
  const configs: Array<[string, WorkloadConfig]> = [];
  for (const workload of ['disjoint', 'hotspot'] as const) {
    for (const workers of [1, 2, 4]) configs.push([`stm-${workload}-${workers}`, { workload, mode: 'stm', workers, seconds, computeNs }]);
    for (const workers of quick ? [2] : [1, 2, 4]) configs.push([`gil-${workload}-${workers}`, { workload, mode: 'gil', workers, seconds, computeNs }]);
  }
  // and the case where a global lock must win: transactions that only touch the heap
  configs.push(['stm-bare-2', { workload: 'disjoint', mode: 'stm', workers: 2, seconds, computeNs: 0 }]);
  configs.push(['gil-bare-2', { workload: 'disjoint', mode: 'gil', workers: 2, seconds, computeNs: 0 }]);
  const res = new Map<string, number[]>();
  for (let r = 0; r < reps; r++) {
    for (const [key, cfg] of configs) {
      const v = await throughput(cfg);
      res.set(key, [...(res.get(key) ?? []), v]);
    }
  }
  const m = (k: string) => median(res.get(k) ?? [NaN]);
  const k = (x: number) => `${round(x / 1000, 1)}k tx/s`;
  const body = `transactions of 10 read-modify-writes of random elements of a 64 Ki array with ~${computeNs} ns of arithmetic per operation inside the transaction`;
  const tbl = (w: string) => [1, 2, 4].map((n) => `${n}w ${k(m(`stm-${w}-${n}`))}`).join(', ');
  return [
    {
      name: 'runtime.scaling_2w_x',
      value: round(m('stm-disjoint-2') / m('stm-disjoint-1')),
      unit: 'x',
      better: 'higher',
      detail: `low-conflict workload (${body}): ${tbl('disjoint')}; 2 cores; median of ${reps} × ${seconds} s`,
    },
    {
      name: 'runtime.scaling_4w_x',
      value: round(m('stm-disjoint-4') / m('stm-disjoint-1')),
      unit: 'x',
      better: 'higher',
      detail: `same, 4 workers on a 2-core machine (at most ~2x is possible)`,
    },
    {
      name: 'runtime.vs_gil_2w_x',
      value: round(m('stm-disjoint-2') / m('gil-disjoint-2')),
      unit: 'x',
      better: 'higher',
      detail: `low-conflict workload at 2 workers: STM ${k(m('stm-disjoint-2'))} vs the same bodies on plain typed arrays under one global Atomics mutex ${k(m('gil-disjoint-2'))}${quick ? '' : ` (GIL 1w ${k(m('gil-disjoint-1'))}, 4w ${k(m('gil-disjoint-4'))})`}`,
    },
    {
      name: 'runtime.vs_gil_2w_nocompute_x',
      value: round(m('stm-bare-2') / m('gil-bare-2')),
      unit: 'x',
      better: 'higher',
      detail: `the same transactions without the arithmetic (they only touch the heap), 2 workers: STM ${k(m('stm-bare-2'))} vs global lock ${k(m('gil-bare-2'))}; here a lock is expected to win (node-costs.md: 2.4-4x)`,
    },
    {
      name: 'runtime.hotspot_scaling_2w_x',
      value: round(m('stm-hotspot-2') / m('stm-hotspot-1')),
      unit: 'x',
      better: 'higher',
      detail: `hot-spot workload (10% of the operations on one element): ${tbl('hotspot')}; GIL at 2 workers ${k(m('gil-hotspot-2'))}`,
    },
  ];
}

/** Runs the runtime benchmarks. */
export async function benchRuntime(opts: { quick: boolean }): Promise<BenchResult[]> {
  return [...(await micro(opts.quick)), ...(await kmeans(opts.quick)), ...(await scaling(opts.quick))];
}
