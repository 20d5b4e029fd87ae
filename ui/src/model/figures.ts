/**
 * Figures the dashboard derives from a snapshot (the ones the report does not
 * already carry) and display formatting. Definitions:
 *
 * - time lost = Σ group time lost = aborted run time + time blocked by
 *   inevitable transactions (docs/REPORT.md);
 * - effective parallelism = committed run time / wall time: how many workers'
 *   worth of useful work ran on average (a perfect run of N busy workers
 *   reaches N; conflicts, waits and idle time pull it down).
 */

import type { AggregateSnapshot, WorkerFigures } from '../../../model/aggregate.ts';
import { fmtInt, fmtNs, fmtPct } from '../../../model/report/util.ts';

export { fmtInt, fmtNs, fmtPct };

export interface Totals {
  commits: number;
  aborts: number;
  fails: number;
  abortRatio: number;
  timeLostNs: number;
  waitingNs: number;
  committedNs: number;
  durationNs: number;
  effectiveParallelism: number;
  workers: number;
  droppedEvents: number;
  commitsPerSec: number;
}

export function totals(snap: AggregateSnapshot): Totals {
  const s = snap.summary;
  const wall = Math.max(snap.durationNs, snap.lastNs);
  return {
    commits: s.commits,
    aborts: s.aborts,
    fails: s.fails,
    abortRatio: s.abortRatio,
    timeLostNs: s.abortedNs + s.blockedNs,
    waitingNs: s.waitingNs,
    committedNs: s.committedNs,
    durationNs: wall,
    effectiveParallelism: wall > 0 ? s.committedNs / wall : 0,
    workers: s.workers,
    droppedEvents: s.droppedEvents,
    commitsPerSec: s.commitsPerSec,
  };
}

/** Totals of a subset of workers (the worker filter), from the per-worker figures. */
export function workerTotals(snap: AggregateSnapshot, workers: readonly number[]): Totals {
  const ws = snap.workers.filter((w) => workers.includes(w.id));
  const sum = (f: (w: WorkerFigures) => number) => ws.reduce((a, w) => a + f(w), 0);
  const commits = sum((w) => w.commits);
  const aborts = sum((w) => w.aborts);
  const fails = sum((w) => w.fails);
  const committedNs = sum((w) => w.committedNs);
  const wall = Math.max(snap.durationNs, snap.lastNs);
  const n = commits + aborts + fails;
  return {
    commits,
    aborts,
    fails,
    abortRatio: n ? aborts / n : 0,
    timeLostNs: sum((w) => w.abortedNs + w.blockedNs),
    waitingNs: sum((w) => w.waitingNs),
    committedNs,
    durationNs: wall,
    effectiveParallelism: wall > 0 ? committedNs / wall : 0,
    workers: ws.filter((w) => w.id !== 255).length,
    droppedEvents: sum((w) => w.droppedEvents),
    commitsPerSec: wall > 0 ? commits / (wall / 1e9) : 0,
  };
}

/** `1.23×` */
export function fmtX(x: number): string {
  return `${x.toFixed(x >= 10 ? 1 : 2)}×`;
}

/** Per second rate from a count per bucket. */
export function perSecond(count: number, bucketNs: number): number {
  return bucketNs > 0 ? count / (bucketNs / 1e9) : 0;
}

/** A time on the axis (ns since the epoch) for tick labels: adapts its unit to the step. */
export function fmtTick(t: number, stepNs: number): string {
  if (stepNs >= 1e9) return `${(t / 1e9).toFixed(stepNs >= 1e10 ? 0 : 1)}s`;
  if (stepNs >= 1e6) return `${(t / 1e6).toFixed(Math.max(0, 3 - Math.floor(Math.log10(stepNs / 1e3))))}ms`;
  if (stepNs >= 1e3) return `${(t / 1e3).toFixed(Math.max(0, 3 - Math.floor(Math.log10(stepNs))))}µs`;
  return `${Math.round(t)}ns`;
}

/** Bytes for humans. */
export function fmtBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}

/** `file:line` of a `file:line:column` location ('' stays ''). */
export function shortLocation(loc: string): string {
  const m = /^(.*):(\d+):(\d+)$/.exec(loc);
  return m ? `${m[1]}:${m[2]}` : loc;
}

/** Splits a `file:line:column` location. */
export function parseLocation(loc: string): { file: string; line: number; column: number } | undefined {
  const m = /^(.*):(\d+):(\d+)$/.exec(loc);
  return m ? { file: m[1], line: Number(m[2]), column: Number(m[3]) } : undefined;
}

/**
 * A path as the user thinks of it: relative to the program's working
 * directory when below it (`/home/u/app/src/x.ts` → `src/x.ts`). Locations
 * (`file:line:col`) work too.
 */
export function displayPath(path: string, cwd: string | undefined): string {
  if (!cwd || !path.startsWith('/')) return path;
  const base = cwd.endsWith('/') ? cwd : `${cwd}/`;
  return path.startsWith(base) ? path.slice(base.length) : path;
}

/** The last path segments of a file, for narrow places. */
export function baseName(file: string): string {
  const parts = file.split(/[\\/]/);
  return parts.slice(-2).join('/');
}
