/**
 * HTTP store server throughput (fixtures/http-server): one process holds the
 * server, its pool of handler workers and the load generator (on the main
 * thread, next to the server: no extra process competing for the 2 cores).
 * Warms up first, then measures; prints one JSON line
 * `{ variant, workers, reqPerSec, p50, p99, aborts?, ... }`.
 *
 *   node --import tsx bench/workloads/http.ts '{"variant":"fixed","workers":2,"warmup":1000,"requests":3000}'
 *
 * Variants: `hot` (every handler bumps one struct field: the known conflict)
 * and `fixed` (a TCounter).
 */
import { performance } from 'node:perf_hooks';
import { startHttpApp } from '../../fixtures/http-server/app.ts';

export interface HttpConfig {
  variant: 'hot' | 'fixed';
  workers: number;
  /** requests before measuring (JIT, connections, pool warm) */
  warmup: number;
  /** measured requests */
  requests: number;
  /** requests in flight, default 8 */
  concurrency?: number;
}

const config = JSON.parse(process.argv[2] ?? '{}') as HttpConfig;
if (config.variant !== 'hot' && config.variant !== 'fixed') throw new Error(`variant must be "hot" or "fixed", got ${JSON.stringify(config.variant)}`);
const tasks = new URL(config.variant === 'hot' ? '../../fixtures/http-server/tasks.ts' : '../../fixtures/http-server-fixed/tasks.ts', import.meta.url);
const app = await startHttpApp({ tasks, workers: config.workers, concurrency: config.concurrency ?? 8 });
const warm = await app.load(config.warmup);
const cpu0 = process.cpuUsage();
const elu0 = performance.eventLoopUtilization();
const r = await app.load(config.requests);
const elu = performance.eventLoopUtilization(elu0);
const cpu = process.cpuUsage(cpu0);
const counted = app.counted();
await app.close();
const bad = warm.clientErrors + warm.serverErrors + warm.failed + r.clientErrors + r.serverErrors + r.failed;
if (bad > 0) throw new Error(`${bad} requests failed`);
if (counted !== warm.counting + r.counting) throw new Error(`counted ${counted} requests, expected ${warm.counting + r.counting}`);
console.log(
  JSON.stringify({
    ...config,
    reqPerSec: r.reqPerSec,
    ms: r.ms,
    p50: r.p50,
    p99: r.p99,
    bytes: r.bytes,
    // whole-process CPU (server + load generator + workers) per request, µs
    cpuUsPerReq: (cpu.user + cpu.system) / r.sent,
    // share of the time the main thread (server + load generator) was busy
    mainBusy: elu.utilization,
    mainUsPerReq: (elu.active * 1000) / r.sent,
  }),
);
