/**
 * Benchmark of `stmscope report`: events per second and peak memory on a
 * synthetic 10^7-event recording (10^6 with `quick`).
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

import type { BenchResult } from './util.ts';
export type { BenchResult };

const here = fileURLToPath(import.meta.url);
const repo = resolve(dirname(here), '..');

/** Runs the report benchmark. */
export async function benchReport(opts: { quick: boolean }): Promise<BenchResult[]> {
  const events = opts.quick ? 1_000_000 : 10_000_000;
  const dir = mkdtempSync(join(tmpdir(), 'stmscope-bench-report-'));
  const file = join(dir, 'synthetic.stm');
  try {
    const fd = openSync(file, 'w');
    let records = 0;
    try {
      records = writeSyntheticRecording((b) => writeSync(fd, b), { events, workers: 4 }).records;
    } finally {
      closeSync(fd);
    }
    const bytes = statSync(file).size;
    const child = await runChild(file);
    const perSec = records / (child.ms / 1000);
    const detail = `${records.toLocaleString('en-US')} events, ${(bytes / 1024 / 1024).toFixed(0)} MiB file, 4 workers, 20% aborts; json report`;
    return [
      { name: 'report.events_per_s', value: Math.round(perSec), unit: 'events/s', better: 'higher', detail: `${detail}; ${child.ms.toFixed(0)} ms` },
      { name: 'report.peak_mb', value: Math.round((child.maxRssKb / 1024) * 10) / 10, unit: 'MB', better: 'lower', detail: `peak RSS of the report process; ${detail}` },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function runChild(file: string): Promise<{ ms: number; maxRssKb: number }> {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, ['--import', 'tsx', here, '--child', file], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
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

/** Child mode: run the report, print {ms, maxRssKb}. */
async function child(file: string): Promise<void> {
  const sink = { write: () => true, isTTY: false };
  const t0 = performance.now();
  const code = await reportCommand([file, '--format', 'json', '--no-progress'], { stdout: sink, stderr: { write: (s: string) => process.stderr.write(s), isTTY: false } });
  const ms = performance.now() - t0;
  if (code !== 0) process.exit(code);
  process.stdout.write(JSON.stringify({ ms, maxRssKb: process.resourceUsage().maxRSS }) + '\n');
}

if (process.argv[1] && pathToFileURL(resolve(process.argv[1])).href === import.meta.url && process.argv[2] === '--child') {
  child(process.argv[3]).catch((e) => {
    process.stderr.write(String(e?.stack ?? e));
    process.exit(1);
  });
}
