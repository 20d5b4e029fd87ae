/**
 * Benchmark of `stmscope report`: events per second and peak memory on a
 * synthetic 10^7-event recording (10^6 with `quick`).
 *
 * Both modes measure the same steady state: the child first reports a small
 * warm-up recording (3·10^5 events: the JIT tiers up), then times the main
 * one; the median of 3 child processes is reported (and the range). The cold
 * first run of a fresh process is reported apart in the detail.
 *
 * The report runs in a child process (`node --import tsx bench/report.ts
 * --child FILE`) so its peak RSS (`process.resourceUsage().maxRSS`) is the
 * report's alone, not the generator's. The child times only the command
 * itself (no process start-up, no tsx compile).
 */

import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { writeSyntheticRecording } from '../model/testing/synthetic.ts';
import { reportCommand } from '../server/commands/report.ts';

import { median, type BenchResult } from './util.ts';
export type { BenchResult };

const here = fileURLToPath(import.meta.url);
const repo = resolve(dirname(here), '..');

/** Runs the report benchmark. */
export async function benchReport(opts: { quick: boolean }): Promise<BenchResult[]> {
  const events = opts.quick ? 1_000_000 : 10_000_000;
  const dir = mkdtempSync(join(tmpdir(), 'stmscope-bench-report-'));
  const file = join(dir, 'synthetic.stm');
  const warm = join(dir, 'warmup.stm');
  try {
    const write = (path: string, n: number) => {
      const fd = openSync(path, 'w');
      try {
        return writeSyntheticRecording((b) => writeSync(fd, b), { events: n, workers: 4 }).records;
      } finally {
        closeSync(fd);
      }
    };
    const records = write(file, events);
    write(warm, 300_000);
    const bytes = statSync(file).size;
    const runs: Array<{ ms: number; coldMs: number; maxRssKb: number }> = [];
    for (let i = 0; i < 3; i++) runs.push(await runChild(file, warm));
    const ms = median(runs.map((r) => r.ms));
    const perSec = records / (ms / 1000);
    const rates = runs.map((r) => records / (r.ms / 1000) / 1e6);
    const detail = `${records.toLocaleString('en-US')} events, ${(bytes / 1024 / 1024).toFixed(0)} MiB file, 4 workers, 20% aborts; json report`;
    const steady = `${ms.toFixed(0)} ms after a 3·10^5-event warm-up in the same process; median of 3 processes (${Math.min(...rates).toFixed(1)}–${Math.max(...rates).toFixed(1)} M/s); the warm-up file itself, cold (first report of a fresh process): ${(records / (median(runs.map((r) => r.coldMs)) / 1000) / 1e6).toFixed(1)} M/s`;
    return [
      { name: 'report.events_per_s', value: Math.round(perSec), unit: 'events/s', better: 'higher', detail: `${detail}; ${steady}` },
      { name: 'report.peak_mb', value: Math.round((Math.max(...runs.map((r) => r.maxRssKb)) / 1024) * 10) / 10, unit: 'MB', better: 'lower', detail: `peak RSS of the report process (warm-up included, worst of 3); ${detail}` },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function runChild(file: string, warm: string): Promise<{ ms: number; coldMs: number; maxRssKb: number }> {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, ['--import', 'tsx', here, '--child', file, warm], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', rej);
    p.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      try {
        if (code !== 0) throw new Error(`exit ${code}`);
        res(JSON.parse(line));
      } catch (e) {
        rej(new Error(`report benchmark child failed (${(e as Error).message}): ${err.trim() || out.trim()}`));
      }
    });
  });
}

/** Child mode: report the warm-up file (timed as the cold figure), then the main one; print {ms, coldMs, maxRssKb}. */
async function child(file: string, warm: string): Promise<void> {
  const sink = { write: () => true, isTTY: false };
  const report = async (path: string) => {
    const t0 = performance.now();
    const code = await reportCommand([path, '--format', 'json', '--no-progress'], { stdout: sink, stderr: { write: (s: string) => process.stderr.write(s), isTTY: false } });
    if (code !== 0) process.exit(code);
    return performance.now() - t0;
  };
  // cold rate, scaled to the main file's size below by the parent: events of the warm-up file per ms
  const coldWarmMs = await report(warm);
  const ms = await report(file);
  const coldMs = (coldWarmMs * statSync(file).size) / statSync(warm).size;
  process.stdout.write(JSON.stringify({ ms, coldMs, maxRssKb: process.resourceUsage().maxRSS }) + '\n');
}

if (process.argv[1] && pathToFileURL(resolve(process.argv[1])).href === import.meta.url && process.argv[2] === '--child') {
  child(process.argv[3], process.argv[4]).catch((e) => {
    process.stderr.write(String(e?.stack ?? e));
    process.exit(1);
  });
}
