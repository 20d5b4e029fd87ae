/**
 * Runtime benchmarks (issue "Runtime"): per-access barrier cost, single-thread
 * k-means overhead, throughput scaling at 1/2/4 workers and against a global
 * lock. Every configuration runs in its own process; repetitions are
 * interleaved and the median is reported (the machine is noisy).
 */
import { median, round, runJson, runJsonLines, type BenchResult } from './util.ts';
import type { WorkloadConfig, WorkloadResult } from './workloads/threads.ts';
import { CURVE_WORKERS, CURVE_WORKLOADS, writeScalingChart, type CurveSeries } from './chart.ts';

const TSX = ['--import', 'tsx'];

interface Micro {
  op: string;
  nsPerAccess: Record<string, number>;
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

async function throughput(cfg: WorkloadConfig): Promise<WorkloadResult> {
  return runJson<WorkloadResult>([...TSX, 'bench/workloads/threads.ts', JSON.stringify(cfg)]);
}

async function scaling(quick: boolean): Promise<{ results: BenchResult[]; curve: CurveSeries[] }> {
  // Quick and full mode measure the same warmed-up steady state (see
  // threads.ts: warm-up until every worker ran 30k transactions, then a
  // window); quick mode has a shorter window and one repetition.
  const seconds = quick ? 0.5 : 1.5;
  const reps = quick ? 1 : 3;
  // ~170 ns of arithmetic per operation: the compute-bearing case of node-costs.md
  const computeNs = 170;
  const configs: Array<[string, WorkloadConfig]> = [];
  for (const workload of CURVE_WORKLOADS) {
    for (const workers of CURVE_WORKERS) configs.push([`stm-${workload}-${workers}`, { workload, mode: 'stm', workers, seconds, computeNs }]);
  }
  for (const workload of ['disjoint', 'hotspot'] as const) {
    for (const workers of quick ? [2] : [1, 2, 4]) configs.push([`gil-${workload}-${workers}`, { workload, mode: 'gil', workers, seconds, computeNs }]);
  }
  // and the case where a global lock must win: transactions that only touch the heap
  configs.push(['stm-bare-2', { workload: 'disjoint', mode: 'stm', workers: 2, seconds, computeNs: 0 }]);
  configs.push(['gil-bare-2', { workload: 'disjoint', mode: 'gil', workers: 2, seconds, computeNs: 0 }]);
  const res = new Map<string, WorkloadResult[]>();
  for (let r = 0; r < reps; r++) {
    for (const [key, cfg] of configs) res.set(key, [...(res.get(key) ?? []), await throughput(cfg)]);
  }
  const all = (k: string) => res.get(k) ?? [];
  const m = (k: string) => median(all(k).map((x) => x.txPerSec));
  const range = (k: string) => {
    const v = all(k).map((x) => x.txPerSec);
    return v.length > 1 ? ` (range ${k1(Math.min(...v))}–${k1(Math.max(...v))})` : '';
  };
  const k1 = (x: number) => `${round(x / 1000, 1)}k`;
  const k = (x: number) => `${k1(x)} tx/s`;
  const ratio = (a: string, b: string) => {
    const ra = all(a).map((x) => x.txPerSec);
    const rb = all(b).map((x) => x.txPerSec);
    // per-repetition ratios (the runs of one repetition ran minutes apart at most)
    const rs = ra.map((x, i) => x / rb[i]).filter(Number.isFinite);
    return rs.length > 1 ? `; per-repetition ratios ${rs.map((x) => round(x)).join(', ')}` : '';
  };
  const body = `transactions of 10 read-modify-writes of random elements of a 64 Ki array with ~${computeNs} ns of arithmetic per operation inside the transaction`;
  const tbl = (w: string) => CURVE_WORKERS.map((n) => `${n}w ${k(m(`stm-${w}-${n}`))}${range(`stm-${w}-${n}`)}`).join(', ');
  const abortRatio = (key: string) => median(all(key).map((x) => x.abortRatio));
  const startup = (key: string) => round(median(all(key).map((x) => x.startupMs)));
  const warm = (key: string) => round(median(all(key).map((x) => x.warmupMs)));
  const window = `steady state: ${seconds} s window after a warm-up of ≥ 0.3 s and ≥ 30k transactions per worker; median of ${reps}`;
  const curve: CurveSeries[] = CURVE_WORKLOADS.map((workload) => ({
    workload,
    workers: CURVE_WORKERS,
    txPerSec: CURVE_WORKERS.map((n) => round(m(`stm-${workload}-${n}`))),
    abortRatio: CURVE_WORKERS.map((n) => round(abortRatio(`stm-${workload}-${n}`), 4)),
  }));
  const results: BenchResult[] = [
    {
      name: 'runtime.scaling_2w_x',
      value: round(m('stm-disjoint-2') / m('stm-disjoint-1')),
      unit: 'x',
      better: 'higher',
      detail: `low-conflict workload (${body}): ${tbl('disjoint')}; 2 cores; ${window}${ratio('stm-disjoint-2', 'stm-disjoint-1')}`,
    },
    {
      name: 'runtime.scaling_4w_x',
      value: round(m('stm-disjoint-4') / m('stm-disjoint-1')),
      unit: 'x',
      better: 'higher',
      detail: `same, 4 workers on the 2-core machine (goal ≥ 0.9 × scaling_2w_x: ${round((0.9 * m('stm-disjoint-2')) / m('stm-disjoint-1'))})`,
    },
    {
      name: 'runtime.scaling_8w_x',
      value: round(m('stm-disjoint-8') / m('stm-disjoint-1')),
      unit: 'x',
      better: 'higher',
      detail: `same, 8 workers on the 2-core machine (warm-up ${warm('stm-disjoint-8')} ms: each worker gets a quarter of a core)`,
    },
    {
      name: 'runtime.startup_ms',
      value: startup('stm-disjoint-2'),
      unit: 'ms',
      better: 'lower',
      detail: `spawning 2 workers until both attached to the heap and are ready (8 workers: ${startup('stm-disjoint-8')} ms); excluded from the throughput figures, which measure after the warm-up (2 workers: ${warm('stm-disjoint-2')} ms at ${k(median(all('stm-disjoint-2').map((x) => x.warmupTxPerSec)))})`,
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
      detail: `hot-spot workload (10% of the operations on one element, so ~65% of the transactions touch it): ${tbl('hotspot')}; GIL at 2 workers ${k(m('gil-hotspot-2'))}; ${window}`,
    },
    {
      name: 'runtime.hotspot_abort_ratio',
      value: round(abortRatio('stm-hotspot-2'), 3),
      unit: 'aborts/attempt',
      better: 'lower',
      detail: `aborted attempts / all attempts of the hot-spot workload at 2 workers (4w ${round(abortRatio('stm-hotspot-4'), 3)}, 8w ${round(abortRatio('stm-hotspot-8'), 3)})`,
    },
    {
      name: 'runtime.kmeans_scaling_2w_x',
      value: round(m('stm-kmeans-2') / m('stm-kmeans-1')),
      unit: 'x',
      better: 'higher',
      detail: `one STAMP k-means step per transaction (nearest of 16 centres in 16 dimensions, then read-modify-write of that centre's sums): ${tbl('kmeans')}; abort ratio at 2 workers ${round(abortRatio('stm-kmeans-2'), 3)}`,
    },
  ];
  return { results, curve };
}

/**
 * Runs the runtime benchmarks. With `opts.chart`, also writes the scaling
 * curve as an SVG chart to that path and its data beside it (`.json`).
 */
export async function benchRuntime(opts: { quick: boolean; chart?: string }): Promise<BenchResult[]> {
  const sc = await scaling(opts.quick);
  if (opts.chart) writeScalingChart(opts.chart, sc.curve, opts.quick);
  return [...(await micro(opts.quick)), ...(await kmeans(opts.quick)), ...sc.results];
}
