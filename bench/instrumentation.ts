/**
 * Benchmarks of the source transform (instrumentation/transform.ts):
 *
 * - `instrumentation.site_store_ns`: added cost per member access of the
 *   injected site store, `(cell[0]=base+k, p).x`, in a tight loop of plain
 *   property reads (the worst case: nothing else to hide it), against the same
 *   loop not instrumented.
 * - `instrumentation.site_store_chain_ns`: the same for chains and method-style
 *   accesses, where the store goes after the object through the temporary.
 * - `instrumentation.tx_read_overhead_pct`: slowdown of transactional struct
 *   field reads (the runtime's barriers, recording off), the realistic case.
 * - `instrumentation.loop_overhead_pct`: the first loop's slowdown in percent.
 * - `instrumentation.transform_mb_per_s`: uncached transform throughput
 *   (parse, walk, site table, composed source map) over real code: vendored
 *   libraries and stmscope's own TypeScript compiled by esbuild with inline
 *   source maps; JIT-warm steady state (median of passes after a first one,
 *   whose JIT-cold figure is in the detail).
 * - `instrumentation.transform_cached_mb_per_s`: the same corpus through the
 *   loader's on-disk transform cache (loader/cache.ts) once it is warm: read,
 *   hash check, dependency stats. What a program's second start pays.
 *
 * Run alone: `npx tsx bench/instrumentation.ts [--quick]`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { transformSync } from 'esbuild';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { instrument } from '../instrumentation/transform.ts';
import { parseProgram, parserName } from '../instrumentation/parse.ts';
import { TransformCache } from '../instrumentation/loader/cache.ts';
import { siteRegistry } from '../runtime/sites.ts';

import type { BenchResult } from './util.ts';
export type { BenchResult };

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const LOOP = `
function loop(points, n) {
  let s = 0;
  for (let i = 0; i < n; i++) {
    const p = points[i & 1023];
    s += p.x * p.y + p.z;
  }
  return s;
}
return loop;
`;
const LOOP_ACCESSES = 3;

const CHAIN = `
function chain(bank, n) {
  let s = 0;
  for (let i = 0; i < n; i++) {
    const a = bank.accounts[i & 1023];
    s += a.owner.balance + a.limit;
  }
  return s;
}
return chain;
`;
const CHAIN_ACCESSES = 4;

// transactional reads of a struct field (runtime barriers, recording off)
const TX = `
function tx(accts, n) {
  let s = 0;
  for (let t = 0; t < n; t += 10) {
    s += atomic(() => {
      let x = 0;
      for (let i = 0; i < 10; i++) x += accts[(t + i) & 63].balance;
      return x;
    });
  }
  return s;
}
return tx;
`;
const TX_ACCESSES = 1; // .balance per iteration (plus 0.1 atomic() call)

type Kernel = (data: unknown, n: number) => number;

function compile(body: string, instrumented: boolean, url: string, atomic?: unknown): Kernel {
  let code = body;
  if (instrumented) {
    const out = instrument(body, url, { sourceType: 'script' });
    if (out.skipped) throw new Error(`bench kernel not instrumented: ${out.skipped}`);
    code = out.code;
  }
  return new Function('atomic', code)(atomic) as Kernel;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/** Median ns per iteration of plain and instrumented kernels, runs interleaved. */
function compare(body: string, data: unknown, n: number, rounds: number, atomic?: unknown): { plain: number; inst: number } {
  siteRegistry(); // instrumented code stores into the real per-thread cell
  const plain = compile(body, false, '', atomic);
  const inst = compile(body, true, `file:///bench/${Math.random().toString(36).slice(2)}.js`, atomic);
  let sink = 0;
  for (let w = 0; w < 5; w++) sink += plain(data, n) + inst(data, n); // warm up, let TurboFan optimise both
  const tp: number[] = [];
  const ti: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    sink += plain(data, n);
    const t1 = process.hrtime.bigint();
    sink += inst(data, n);
    const t2 = process.hrtime.bigint();
    tp.push(Number(t1 - t0) / n);
    ti.push(Number(t2 - t1) / n);
  }
  if (sink === 42) console.log(''); // keep results alive
  return { plain: median(tp), inst: median(ti) };
}

function corpus(quick: boolean): Array<{ name: string; code: string }> {
  const files: Array<{ name: string; code: string }> = [];
  const vendor = ['node_modules/acorn/dist/acorn.js', 'node_modules/d3-array/dist/d3-array.js', 'node_modules/d3-scale/dist/d3-scale.js'];
  if (!quick) vendor.push('node_modules/d3/dist/d3.js');
  for (const f of vendor) {
    try {
      files.push({ name: f, code: readFileSync(join(repo, f), 'utf8') });
    } catch {
      // not installed: skip
    }
  }
  // stmscope's own TypeScript, compiled like tsx does (inline map, input to compose)
  for (const dir of ['runtime', 'model']) {
    for (const f of readdirSync(join(repo, dir))) {
      if (!f.endsWith('.ts') || f.endsWith('.test.ts')) continue;
      const path = join(repo, dir, f);
      const ts = readFileSync(path, 'utf8');
      const js = transformSync(ts, { loader: 'ts', sourcemap: 'inline', sourcefile: path, minifyWhitespace: true }).code;
      files.push({ name: `${dir}/${f}`, code: js });
    }
  }
  return files;
}

/** Runs the instrumentation benchmarks. */
export async function benchInstrumentation(opts: { quick: boolean }): Promise<BenchResult[]> {
  const rounds = opts.quick ? 9 : 21;
  const n = opts.quick ? 2_000_000 : 10_000_000;
  const points = Array.from({ length: 1024 }, (_, i) => ({ x: i, y: i & 7, z: 1 }));
  const bank = { accounts: Array.from({ length: 1024 }, (_, i) => ({ owner: { balance: i }, limit: 3 })) };

  const loop = compare(LOOP, points, n, rounds);
  const chain = compare(CHAIN, bank, n, rounds);
  const storeNs = (loop.inst - loop.plain) / LOOP_ACCESSES;
  const chainNs = (chain.inst - chain.plain) / CHAIN_ACCESSES;

  const { createHeap, defineStruct, atomic } = await import('../runtime/index.ts');
  createHeap({ size: 8 << 20 });
  const Account = defineStruct('BenchAccount', { balance: 'i32' });
  const accts = atomic(() => Array.from({ length: 64 }, (_, i) => Account.create({ balance: i })));
  const txn = opts.quick ? 500_000 : 2_000_000;
  const tx = compare(TX, accts, txn, rounds, atomic);

  const files = corpus(opts.quick);
  const bytes = files.reduce((s, f) => s + f.code.length, 0);
  // quick and full time the same JIT-warm state: the same warm-up, fewer timed passes
  const reps = opts.quick ? 5 : 9;
  const WARM_PASSES = 4;
  // the first pass runs mostly unoptimised code, as a loader does at program start
  const c0 = process.hrtime.bigint();
  for (const f of files) instrument(f.code, pathToFileURL(join(repo, f.name)).href);
  const coldS = Number(process.hrtime.bigint() - c0) / 1e9;
  for (let w = 1; w < WARM_PASSES; w++) for (const f of files) instrument(f.code, pathToFileURL(join(repo, f.name)).href);
  const times: number[] = [];
  const parseTimes: number[] = [];
  const cut = files.map((f) => f.code.replace(/\/\/# sourceMappingURL=\S*\s*$/, ''));
  const codeBytes = cut.reduce((s, c) => s + c.length, 0);
  let sites = 0;
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    sites = 0;
    for (const f of files) sites += instrument(f.code, pathToFileURL(join(repo, f.name)).href).sites.sites.length / 5;
    const t1 = process.hrtime.bigint();
    // what the transform parses: the code without its trailing inline map
    for (const c of cut) parseProgram(c, 'unknown');
    const t2 = process.hrtime.bigint();
    times.push(Number(t1 - t0) / 1e9);
    parseTimes.push(Number(t2 - t1) / 1e9);
  }
  const mbps = bytes / 1e6 / median(times);

  // through the transform cache: fill it once, then time warm passes
  const cacheDir = mkdtempSync(join(tmpdir(), 'stmscope-bench-cache-'));
  let cachedMbps = 0;
  try {
    const cache = new TransformCache(join(cacheDir, 'c'));
    const viaCache = () => {
      for (const f of files) {
        const url = pathToFileURL(join(repo, f.name)).href;
        cache.get('esm', url, null, f.code, (readFile) => {
          const out = instrument(f.code, url, { readFile });
          return out.skipped ? { code: f.code, skipped: out.skipped } : { code: out.code };
        });
      }
    };
    viaCache();
    const cachedTimes: number[] = [];
    for (let r = 0; r < reps; r++) {
      const t0 = process.hrtime.bigint();
      viaCache();
      cachedTimes.push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
    if (cache.stats.misses !== files.length) throw new Error(`transform cache missed ${cache.stats.misses - files.length} warm lookups`);
    cachedMbps = bytes / 1e6 / median(cachedTimes);
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
  const parseMbps = codeBytes / 1e6 / median(parseTimes);
  const parseShare = median(parseTimes) / median(times);

  return [
    {
      name: 'instrumentation.site_store_ns',
      value: round(storeNs, 2),
      unit: 'ns',
      better: 'lower',
      detail: `added ns per member access, loop of 3 plain property reads (p.x * p.y + p.z): ${round(loop.plain, 2)} ns/iter plain vs ${round(loop.inst, 2)} instrumented; median of ${rounds} interleaved rounds of ${n} iterations`,
    },
    {
      name: 'instrumentation.site_store_chain_ns',
      value: round(chainNs, 2),
      unit: 'ns',
      better: 'lower',
      detail: `added ns per access, loop with a chain (a.owner.balance: store after the object via the temporary) and member reads: ${round(chain.plain, 2)} ns/iter plain vs ${round(chain.inst, 2)} instrumented`,
    },
    {
      name: 'instrumentation.tx_read_overhead_pct',
      value: round(((tx.inst - tx.plain) / tx.plain) * 100, 1),
      unit: '%',
      better: 'lower',
      detail: `transactional struct-field reads (10 per atomic(), recording off): ${round(tx.plain, 2)} ns/read plain vs ${round(tx.inst, 2)} instrumented (${round((tx.inst - tx.plain) / TX_ACCESSES, 2)} ns added per read, the atomic() call site store included)`,
    },
    {
      name: 'instrumentation.loop_overhead_pct',
      value: round(((loop.inst - loop.plain) / loop.plain) * 100, 1),
      unit: '%',
      better: 'lower',
      detail: 'slowdown of the plain-read loop (worst case: nothing but property reads)',
    },
    {
      name: 'instrumentation.transform_mb_per_s',
      value: round(mbps, 2),
      unit: 'MB/s',
      better: 'higher',
      detail: `uncached, JIT-warm steady state (after ${WARM_PASSES} passes): ${files.length} files, ${round(bytes / 1e6, 2)} MB (vendored libraries + stmscope's TypeScript compiled by esbuild with inline maps), ${sites} sites, median of ${reps}; first (cold) pass ${round(bytes / 1e6 / coldS, 2)} MB/s; parse alone (${parserName()}, the ${round(codeBytes / 1e6, 2)} MB of code without the inline maps, as the transform parses it) ${round(parseMbps, 2)} MB/s of code = ${round(parseShare * 100, 0)} % of the transform's time`,
    },
    {
      name: 'instrumentation.transform_cached_mb_per_s',
      value: round(cachedMbps, 2),
      unit: 'MB/s',
      better: 'higher',
      detail: `same corpus through the warm on-disk transform cache (read, SHA-256 check, dependency stats), median of ${reps}`,
    },
  ];
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const results = await benchInstrumentation({ quick: process.argv.includes('--quick') });
  console.log(JSON.stringify(results, null, 2));
}
