/**
 * Recorder overhead (issue "Instrumentation"): throughput of k-means and bank
 * workloads (2 workers) with
 * - none: a copy of the runtime built with RECORDER = false (runtime/build-flags.ts):
 *         no recording code on the transaction path at all;
 * - off:  the normal runtime, its agent idle (nobody attached);
 * - on:   `stmscope record` (source transform + every event and stack recorded).
 * Losses are relative to `none`. Variants alternate within each repetition.
 */
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { median, repo, round, runJson, type BenchResult } from './util.ts';
import type { WorkloadConfig } from './workloads/threads.ts';

interface Tput {
  txPerSec: number;
}

/** A copy of runtime/ + model/ + bench/workloads/ + fixtures/ with every recording branch compiled out. */
function noRecorderTree(): string {
  const dir = join(repo, 'node_modules', '.cache', `stmscope-bench-none-${process.pid}`);
  for (const d of ['runtime', 'model', 'bench/workloads', 'fixtures/kmeans', 'instrumentation']) cpSync(join(repo, d), join(dir, d), { recursive: true });
  // inside node_modules no package.json of ours applies: say the copy is ES modules
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  let patched = 0;
  for (const f of readdirSync(join(dir, 'runtime'))) {
    if (!f.endsWith('.ts')) continue;
    const p = join(dir, 'runtime', f);
    const src = readFileSync(p, 'utf8');
    const out = src.replaceAll('RECORDER &&', 'false &&');
    if (out !== src) {
      patched += src.split('RECORDER &&').length - 1;
      writeFileSync(p, out);
    }
  }
  if (patched < 5) throw new Error(`no-recorder build: only ${patched} recording branches found to remove`);
  return dir;
}

export async function benchRecorder(opts: { quick: boolean }): Promise<BenchResult[]> {
  // quick mode: shorter windows, but more than one repetition: single 0.3 s
  // runs put off_loss anywhere between -3 % and +9 % (run-to-run noise of
  // 2 workers on 2 cores); the median of 5 interleaved runs is what is reported, with the ranges
  const seconds = opts.quick ? 0.5 : 2;
  const reps = opts.quick ? 5 : 7;
  const none = noRecorderTree();
  const tmp = mkdtempSync(join(tmpdir(), 'stmscope-bench-rec-'));
  const results: BenchResult[] = [];
  try {
    for (const workload of ['kmeans', 'bank'] as const) {
      const cfg: WorkloadConfig = { workload, mode: 'stm', workers: 2, seconds };
      const arg = JSON.stringify(cfg);
      const v: Record<string, number[]> = { none: [], off: [], on: [] };
      let bytes = 0;
      for (let r = 0; r < reps; r++) {
        v.none.push((await runJson<Tput>(['--import', 'tsx', join(none, 'bench/workloads/threads.ts'), arg])).txPerSec);
        v.off.push((await runJson<Tput>(['--import', 'tsx', 'bench/workloads/threads.ts', arg], { STMSCOPE_AGENT: '1' })).txPerSec);
        const file = join(tmp, `${workload}-${r}.stmrec`);
        v.on.push(
          (await runJson<Tput>(['--import', 'tsx', 'server/cli.ts', 'record', '-o', file, '--', process.execPath, '--import', 'tsx', 'bench/workloads/threads.ts', arg])).txPerSec,
        );
        bytes = statSync(file).size;
      }
      const n = median(v.none);
      const off = median(v.off);
      const on = median(v.on);
      const k = (x: number) => `${round(x / 1000, 1)}k tx/s`;
      const range = (xs: number[]) => `${round(Math.min(...xs) / 1000, 0)}–${round(Math.max(...xs) / 1000, 0)}k`;
      const common = `${workload} workload, 2 workers, ${seconds} s runs, median of ${reps} (ranges: none ${range(v.none)}, off ${range(v.off)}, on ${range(v.on)}): none ${k(n)}, off ${k(off)}, on ${k(on)}`;
      results.push({
        name: `recorder.off_loss_pct.${workload}`,
        value: round(((n - off) / n) * 100, 1),
        unit: '%',
        better: 'lower',
        detail: `${common}; off = recording compiled in, agent idle, vs a build with no recorder at all`,
      });
      results.push({
        name: `recorder.on_loss_pct.${workload}`,
        value: round(((n - on) / n) * 100, 1),
        unit: '%',
        better: 'lower',
        detail: `${common}; on = stmscope record (site transform, every event, stacks once per site); last recording ${round(bytes / 1048576, 1)} MiB`,
      });
    }
  } finally {
    rmSync(none, { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
  }
  // the headline figures: the worse of the two workloads
  const worst = (prefix: string) => results.filter((r) => r.name.startsWith(prefix)).reduce((a, b) => (b.value > a.value ? b : a));
  const off = worst('recorder.off_loss_pct.');
  const on = worst('recorder.on_loss_pct.');
  return [
    { ...off, name: 'recorder.off_loss_pct', detail: `worst of k-means and bank (${off.name.split('.').pop()}); ${off.detail}` },
    { ...on, name: 'recorder.on_loss_pct', detail: `worst of k-means and bank (${on.name.split('.').pop()}); ${on.detail}` },
    ...results,
  ];
}
