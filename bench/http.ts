/**
 * HTTP benchmark (issue #10, the seeds' second demo): requests/s of the
 * fixtures/http-server store server with a pool of 2 handler workers vs 1, for
 * the fixed variant (TCounter: the figure) and the variant with the known
 * conflict (detail). Every configuration is a fresh process that warms up
 * (JIT, keep-alive connections, pool) before it measures; repetitions are
 * interleaved and the median is reported. `--quick` measures the same steady
 * state (same warm-up and request counts), with fewer repetitions.
 */
import { median, round, runJson, type BenchResult } from './util.ts';
import type { HttpConfig } from './workloads/http.ts';

interface HttpRun extends HttpConfig {
  reqPerSec: number;
  p50: number;
  p99: number;
  cpuUsPerReq: number;
  mainUsPerReq: number;
}

/** Runs the HTTP benchmark. */
export async function benchHttp(opts: { quick: boolean }): Promise<BenchResult[]> {
  const reps = opts.quick ? 2 : 5;
  const base = { warmup: 400, requests: 1500, concurrency: 8 };
  const configs: Array<[string, HttpConfig]> = [];
  for (const variant of ['fixed', 'hot'] as const) for (const workers of [1, 2]) configs.push([`${variant}-${workers}`, { variant, workers, ...base }]);
  const runs = new Map<string, HttpRun[]>();
  for (let r = 0; r < reps; r++) {
    for (const [key, cfg] of configs) runs.set(key, [...(runs.get(key) ?? []), await runJson<HttpRun>(['--import', 'tsx', 'bench/workloads/http.ts', JSON.stringify(cfg)], { HTTP_ROWS: '800' })]);
  }
  // once: the same server with almost no rendering (HTTP_ROWS=1), to show what
  // the main thread's HTTP work (server, load generator, pool messages) costs per request
  const bare = await runJson<HttpRun>(['--import', 'tsx', 'bench/workloads/http.ts', JSON.stringify({ variant: 'fixed', workers: 1, ...base, requests: 3000 })], { HTTP_ROWS: '1' });
  const m = (key: string, f: (x: HttpRun) => number) => median((runs.get(key) ?? []).map(f));
  const rps = (key: string) => m(key, (x) => x.reqPerSec);
  const line = (key: string) =>
    `${round(rps(key), 0)} req/s (p50 ${round(m(key, (x) => x.p50), 1)} ms, p99 ${round(m(key, (x) => x.p99), 1)} ms, ${round(m(key, (x) => x.cpuUsPerReq), 0)} µs CPU/req, main thread ${round(m(key, (x) => x.mainUsPerReq), 0)} µs/req)`;
  return [
    {
      name: 'runtime.http_req_per_s_2w_x',
      value: round(rps('fixed-2') / rps('fixed-1')),
      unit: 'x',
      better: 'higher',
      detail:
        `fixtures/http-server-fixed (node:http on 127.0.0.1, each request's handler a transaction on a TransactionPool: store reads/cart updates in TMaps, ` +
        `a ~80 KB HTML page of 800 rows rendered and hashed, request counter a TCounter): 2 workers ${line('fixed-2')} vs 1 worker ${line('fixed-1')}; ` +
        `with the known conflict (every handler bumps one struct field, fixtures/http-server): 2w ${line('hot-2')}, 1w ${line('hot-1')}, 2w/1w ${round(rps('hot-2') / rps('hot-1'))}x. ` +
        `Load: closed loop, ${base.concurrency} keep-alive connections, on the server's main thread in the same process (it shares the 2 cores with the workers; ` +
        `"main thread" is the server + load generator's event-loop time; with a 1-row page it is ${round(bare.mainUsPerReq, 0)} µs/req at ${round(bare.reqPerSec, 0)} req/s, 1 worker); ${base.warmup} warm-up requests, then ${base.requests} measured; median of ${reps} interleaved runs, one fresh process each`,
    },
  ];
}
