/**
 * The loader in real `node` processes: plain ESM, TypeScript through tsx in
 * every hook order, tsx's CLI, TypeScript without tsx, CommonJS, worker_threads.
 *
 * Programs read the site of their own accesses from a getter (`cell[0]` at the
 * moment the getter runs) and print it as JSON lines.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const repo = resolve(fileURLToPath(import.meta.url), '../../..');
const tsxBin = join(repo, 'node_modules/.bin/tsx');
const sourceRegister = join(repo, 'instrumentation/loader/register.mjs');
const tsRegister = join(repo, 'instrumentation/loader/register.ts');
let dir = '';
let bundleDir = '';
let bundleRegister = '';

// The probe: a getter that records the site current when it runs.
const PROBE = `
const reg = globalThis[Symbol.for('stmscope.sites')];
const cell = reg ? reg.cell : new Int32Array(1);
export function probe(tag) {
  return { get balance() { const id = cell[0]; console.log(JSON.stringify({ tag, id, site: reg ? reg.site(id) ?? null : null })); return 1; } };
}
export function frameOf(error) {
  const prev = Error.prepareStackTrace;
  Error.prepareStackTrace = (_e, cs) => cs;
  const cs = error.stack[0];
  Error.prepareStackTrace = prev;
  const url = cs.getFileName(), line = cs.getLineNumber(), column = cs.getColumnNumber();
  return { url, line, column, mapped: reg && reg.mapFrame ? reg.mapFrame(url, line, column) ?? null : null };
}
`;

const FILES: Record<string, string> = {
  'package.json': '{ "type": "module" }',
  // probe.mjs is excluded from instrumentation by the tests (its own accesses would overwrite the cell)
  'probe.mjs': PROBE,
  'app.mjs': [
    "import { probe, frameOf } from './probe.mjs';",
    'function readIt(a) {',
    '  return a.balance;',
    '}',
    "readIt(probe('esm'));",
    'try { null.boom; } catch (e) { console.log(JSON.stringify({ tag: "frame", ...frameOf(e) })); }',
  ].join('\n'),
  'app.ts': [
    "import { probe, frameOf } from './probe.mjs';",
    "import { helper } from './lib.ts';",
    'interface Acct { balance: number }',
    'class Bank {',
    '  read(a: Acct): number {',
    '    return a.balance;',
    '  }',
    '}',
    "new Bank().read(probe('ts-app'));",
    "helper(probe('ts-lib'));",
    'function fail(o: any): number {',
    '  return o.missing.deep;',
    '}',
    'try { fail({}); } catch (e) { console.log(JSON.stringify({ tag: "frame", ...frameOf(e) })); }',
  ].join('\n'),
  'lib.ts': [
    'export type Money = number;',
    'export function helper(x: { balance: Money }): Money {',
    '  const y: Money = x.balance;',
    '  return y;',
    '}',
  ].join('\n'),
  'capp.cjs': [
    "const { helper } = require('./clib.cjs');",
    'const reg = globalThis[Symbol.for("stmscope.sites")];',
    'const cell = reg.cell;',
    'const probe = { get balance() { const id = cell[0]; console.log(JSON.stringify({ tag: "cjs", id, site: reg.site(id) ?? null })); return 1; } };',
    'helper(probe);',
  ].join('\n'),
  'clib.cjs': ['exports.helper = function helper(x) {', '  return x.balance;', '};'].join('\n'),
  'wchild.mjs': [
    "import { probe } from './probe.mjs';",
    "import { threadId } from 'node:worker_threads';",
    "const p = probe('worker-mjs');",
    'p.balance;',
  ].join('\n'),
  'wchild.ts': [
    "import { probe } from './probe.mjs';",
    "const p: { balance: number } = probe('worker-ts');",
    'p.balance;',
  ].join('\n'),
  'wmain.mjs': [
    "import { Worker } from 'node:worker_threads';",
    'const run = (w) => new Promise((res) => { w.on("error", (e) => console.log(JSON.stringify({ tag: "worker-error", message: e.message }))); w.on("exit", res); });',
    "await run(new Worker(new URL('./wchild.mjs', import.meta.url)));",
    "await run(new Worker(new URL('./wchild.mjs', import.meta.url), { execArgv: [] }));",
    "const api = import.meta.resolve('tsx/esm/api');",
    "await run(new Worker(`import { register } from ${JSON.stringify(api)}; register(); await import(${JSON.stringify(new URL('./wchild.ts', import.meta.url).href)});`, { eval: true }));",
    "await run(new Worker(new URL('./wchild.ts', import.meta.url)));",
  ].join('\n'),
  // registers at runtime (no --import): workers are not covered
  'late.mjs': [
    `const { installInstrumentation } = await import(${JSON.stringify(pathToFileURL(join(repo, 'instrumentation/loader/install.ts')).href)});`,
    'installInstrumentation();',
    "const { Worker } = await import('node:worker_threads');",
    "await import('./app.mjs');",
    "await new Promise((res) => new Worker(new URL('./wchild.mjs', import.meta.url)).on('exit', res));",
  ].join('\n'),
};

interface Line {
  tag: string;
  id?: number;
  site?: { file: string; line: number; column: number; functionName: string; text: string } | null;
  url?: string;
  line?: number;
  column?: number;
  mapped?: { file: string; line: number; column: number } | null;
  message?: string;
}

function run(args: string[], env: Record<string, string> = {}, bin = process.execPath): Promise<Line[]> {
  return new Promise((res, rej) => {
    execFile(
      bin,
      args,
      { cwd: dir, env: { ...process.env, NODE_OPTIONS: '', STMSCOPE_INSTRUMENT_EXCLUDE: '**/probe.mjs', ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        if (error) return rej(new Error(`${args.join(' ')} failed: ${error.message}\n${stderr}`));
        res(
          stdout
            .split('\n')
            .filter((l) => l.startsWith('{'))
            .map((l) => JSON.parse(l) as Line),
        );
      },
    );
  });
}

/** 1-based line and column of `needle` in file `name`. */
function where(name: string, needle: string): { line: number; column: number } {
  const lines = FILES[name].split('\n');
  const line = lines.findIndex((l) => l.includes(needle));
  return { line: line + 1, column: lines[line].indexOf(needle) + 1 };
}

function expectSite(lines: Line[], tag: string, file: string, needle: string, fn: string): void {
  const l = lines.find((x) => x.tag === tag);
  expect(l, `no output for ${tag}`).toBeDefined();
  const w = where(file, needle);
  expect(l!.site).toEqual({
    file: join(dir, file),
    line: w.line,
    column: w.column + needle.indexOf('balance'),
    functionName: fn,
    text: FILES[file].split('\n')[w.line - 1].trim(),
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stmscope-loader-'));
  for (const [name, text] of Object.entries(FILES)) writeFileSync(join(dir, name), text);
  symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'), 'dir');
  // a JavaScript build of the loader (what dist/ ships): runs with no TypeScript loader at all
  bundleDir = join(repo, 'node_modules/.cache', `stmscope-loader-test-${process.pid}`);
  mkdirSync(bundleDir, { recursive: true });
  await build({
    entryPoints: { register: tsRegister, hooks: join(repo, 'instrumentation/loader/hooks.ts') },
    outdir: bundleDir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outExtension: { '.js': '.mjs' },
    external: ['acorn', 'meriyah', 'esbuild'],
    logLevel: 'error',
  });
  bundleRegister = join(bundleDir, 'register.mjs');
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
});

describe('ESM JavaScript', () => {
  it('node --import <built register> app.mjs', async () => {
    const out = await run(['--import', bundleRegister, 'app.mjs']);
    expectSite(out, 'esm', 'app.mjs', 'a.balance', 'readIt');
    const frame = out.find((l) => l.tag === 'frame')!;
    const w = where('app.mjs', 'null.boom');
    expect(frame.mapped).toEqual({ file: join(dir, 'app.mjs'), line: w.line, column: w.column + 5, functionName: '' });
  });

  it('node --import <source register.mjs> app.mjs', async () => {
    const out = await run(['--import', sourceRegister, 'app.mjs']);
    expectSite(out, 'esm', 'app.mjs', 'a.balance', 'readIt');
  });

  it('leaves excluded files alone (STMSCOPE_INSTRUMENT_EXCLUDE)', async () => {
    const out = await run(['--import', bundleRegister, 'app.mjs'], { STMSCOPE_INSTRUMENT_EXCLUDE: '**/probe.mjs,**/app.mjs' });
    expect(out.find((l) => l.tag === 'esm')).toMatchObject({ id: 0, site: null });
  });
});

describe('TypeScript', () => {
  const checkTs = (out: Line[]) => {
    expectSite(out, 'ts-app', 'app.ts', 'a.balance', 'Bank.read');
    expectSite(out, 'ts-lib', 'lib.ts', 'x.balance', 'helper');
    const frame = out.find((l) => l.tag === 'frame')!;
    expect(frame.mapped).toMatchObject({ file: join(dir, 'app.ts'), line: where('app.ts', 'o.missing.deep').line });
  };

  it('node --import tsx --import register.ts (tsx first: our hook sees tsx output)', async () => {
    checkTs(await run(['--import', 'tsx', '--import', tsRegister, 'app.ts']));
  });

  it('node --import <register> --import tsx (ours first: re-registered on top of tsx)', async () => {
    checkTs(await run(['--import', bundleRegister, '--import', 'tsx', 'app.ts']));
  });

  it('tsx CLI with the register in NODE_OPTIONS', async () => {
    checkTs(await run(['app.ts'], { NODE_OPTIONS: `--import ${bundleRegister}` }, tsxBin));
  });

  it('without tsx: the hook compiles TypeScript itself', async () => {
    const out = await run(['--import', bundleRegister, 'app.ts']);
    expectSite(out, 'ts-app', 'app.ts', 'a.balance', 'Bank.read');
    expectSite(out, 'ts-lib', 'lib.ts', 'x.balance', 'helper');
    // no source maps enabled in Node: the registered map maps the frame
    const frame = out.find((l) => l.tag === 'frame')!;
    expect(frame.mapped).toMatchObject({ file: join(dir, 'app.ts'), line: where('app.ts', 'o.missing.deep').line });
  });
});

describe('CommonJS', () => {
  it('instruments require()d modules through Module.prototype._compile', async () => {
    const out = await run(['--import', bundleRegister, 'capp.cjs']);
    expectSite(out, 'cjs', 'clib.cjs', 'x.balance', 'helper');
  });
});

describe('transform cache', () => {
  it('the second run of ESM, TypeScript and CommonJS programs reads the cache and finds the same sites', async () => {
    const cacheDir = join(dir, 'transform-cache');
    const env = { STMSCOPE_CACHE_DIR: cacheDir };
    const entries = () => (existsSync(cacheDir) ? readdirSync(cacheDir, { recursive: true }).filter((f) => String(f).endsWith('.stc')).length : 0);
    for (let pass = 0; pass < 2; pass++) {
      expectSite(await run(['--import', sourceRegister, 'app.mjs'], env), 'esm', 'app.mjs', 'a.balance', 'readIt');
      expectSite(await run(['--import', 'tsx', '--import', tsRegister, 'app.ts'], env), 'ts-lib', 'lib.ts', 'x.balance', 'helper');
      expectSite(await run(['--import', sourceRegister, 'capp.cjs'], env), 'cjs', 'clib.cjs', 'x.balance', 'helper');
      if (pass === 0) expect(entries()).toBeGreaterThanOrEqual(4); // app.mjs, app.ts, lib.ts, capp.cjs, clib.cjs
    }
    const before = entries();
    // a cached entry is what runs: corrupting every entry must not change the results (misses, rewritten)
    for (const f of readdirSync(cacheDir, { recursive: true })) if (String(f).endsWith('.stc')) writeFileSync(join(cacheDir, String(f)), '{"v":1}\ngarbage');
    expectSite(await run(['--import', sourceRegister, 'app.mjs'], env), 'esm', 'app.mjs', 'a.balance', 'readIt');
    expect(entries()).toBe(before);
  });
});

describe('worker_threads', () => {
  it('--import runs again in workers that inherit execArgv; eval workers with tsx; .ts workers without tsx', async () => {
    const out = await run(['--import', sourceRegister, 'wmain.mjs']);
    const mjs = out.filter((l) => l.tag === 'worker-mjs');
    expect(out.filter((l) => l.tag === 'worker-error')).toEqual([]);
    expect(mjs).toHaveLength(2);
    expect(mjs[0].site).toMatchObject({ file: join(dir, 'wchild.mjs'), line: 4, column: 3 });
    // execArgv: [] drops --import: nothing installs instrumentation in that worker
    expect(mjs[1]).toMatchObject({ id: 0, site: null });
    const ts = out.filter((l) => l.tag === 'worker-ts');
    expect(ts).toHaveLength(2);
    for (const l of ts) expect(l.site).toMatchObject({ file: join(dir, 'wchild.ts'), line: 3, column: 3 });
  });

  it('NODE_OPTIONS reaches workers even with execArgv: []', async () => {
    const out = await run(['wmain.mjs'], { NODE_OPTIONS: `--import ${bundleRegister}` });
    const mjs = out.filter((l) => l.tag === 'worker-mjs');
    expect(mjs).toHaveLength(2);
    for (const l of mjs) expect(l.site).toMatchObject({ file: join(dir, 'wchild.mjs'), line: 4 });
  });

  it('hooks registered at runtime in the main thread do not apply to workers (Node 20)', async () => {
    const out = await run(['--import', 'tsx', 'late.mjs']);
    expectSite(out, 'esm', 'app.mjs', 'a.balance', 'readIt');
    expect(out.find((l) => l.tag === 'worker-mjs')).toMatchObject({ id: 0, site: null });
  });
});
