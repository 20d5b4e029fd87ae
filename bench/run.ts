/**
 * `npm run bench [-- --quick] [-- --only PREFIX] [-- --chart docs/scaling.svg]`: runs every benchmark and writes
 * bench-results.json: `[{ name, value, unit, better, detail }]`. `--quick`
 * measures the same figures with smaller inputs (under a minute on 2 cores).
 * Figures and the commands that produced them are recorded in docs/BENCHMARKS.md.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repo, type BenchResult } from './util.ts';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? args[onlyAt + 1] : undefined;
const chartAt = args.indexOf('--chart');
/** `--chart FILE.svg`: the runtime suite draws its scaling curve there (and FILE.json) */
const chart = chartAt >= 0 ? args[chartAt + 1] : undefined;
const outAt = args.indexOf('-o');
const out = outAt >= 0 ? args[outAt + 1] : join(repo, 'bench-results.json');

/** Suites: module, exported function. Modules another part of the tree has not written yet are skipped (and said so). */
const suites: Array<[string, string, string]> = [
  ['runtime', './runtime.ts', 'benchRuntime'],
  ['runtime.http', './http.ts', 'benchHttp'],
  ['recorder', './recorder.ts', 'benchRecorder'],
  ['instrumentation', './instrumentation.ts', 'benchInstrumentation'],
  ['report', './report.ts', 'benchReport'],
  ['server', './server.ts', 'benchServer'],
  ['ui', './ui.ts', 'benchUi'],
];

const results: BenchResult[] = [];
const t0 = Date.now();
for (const [name, mod, fn] of suites) {
  if (only && !name.startsWith(only)) continue;
  const url = new URL(mod, import.meta.url);
  if (!existsSync(url)) {
    process.stderr.write(`bench: ${name}: ${mod} not present, skipped\n`);
    continue;
  }
  const s0 = Date.now();
  process.stderr.write(`bench: ${name}…\n`);
  try {
    const m = (await import(url.href)) as Record<string, (o: { quick: boolean; chart?: string }) => Promise<BenchResult[]>>;
    const r = await m[fn]({ quick, chart });
    results.push(...r);
    for (const x of r) process.stderr.write(`  ${x.name.padEnd(36)} ${String(x.value).padStart(12)} ${x.unit}\n`);
  } catch (e) {
    process.stderr.write(`bench: ${name} failed: ${(e as Error).message}\n`);
    process.exitCode = 1;
  }
  process.stderr.write(`bench: ${name} took ${((Date.now() - s0) / 1000).toFixed(1)} s\n`);
}
writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
process.stderr.write(`bench: ${results.length} figures in ${((Date.now() - t0) / 1000).toFixed(1)} s → ${out}\n`);
