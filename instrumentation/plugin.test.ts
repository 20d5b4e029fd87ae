import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { build as viteBuild } from 'vite';
import { stmscopeEsbuild, stmscopeVite } from './plugin.ts';
import { siteRegistry, type SiteInfo } from '../runtime/sites.ts';

let dir = '';
const APP = [
  "import { helper } from './lib.ts';",
  'type Acct = { balance: number };',
  'declare const __probe: (tag: string) => Acct;',
  'class Bank {',
  '  read(a: Acct): number {',
  '    return a.balance;',
  '  }',
  '}',
  'export function main(): number {',
  "  return new Bank().read(__probe('app')) + helper(__probe('lib'));",
  '}',
].join('\n');
const LIB = ['export interface HasBalance {', '  balance: number;', '}', 'export function helper(x: HasBalance): number {', '  return x.balance;', '}'].join('\n');

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'stmscope-plugin-'));
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'src/app.ts'), APP);
  writeFileSync(join(dir, 'src/lib.ts'), LIB);
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }');
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs a built bundle's main() with a probe recording the site of each getter call. */
async function runBundle(file: string): Promise<Record<string, SiteInfo | undefined>> {
  const reg = siteRegistry();
  const seen: Record<string, SiteInfo | undefined> = {};
  (globalThis as Record<string, unknown>).__probe = (tag: string) => ({
    get balance() {
      seen[tag] = reg.site(reg.cell[0]);
      return 1;
    },
  });
  const mod = (await import(`${pathToFileURL(file).href}?t=${Date.now()}`)) as { main(): number };
  expect(mod.main()).toBe(2);
  return seen;
}

function expectSites(seen: Record<string, SiteInfo | undefined>): void {
  expect(seen.app).toEqual({ file: join(dir, 'src/app.ts'), line: 6, column: 14, functionName: 'Bank.read', text: 'return a.balance;' });
  expect(seen.lib).toEqual({ file: join(dir, 'src/lib.ts'), line: 5, column: 12, functionName: 'helper', text: 'return x.balance;' });
}

describe('esbuild plugin', () => {
  it('instruments TypeScript before bundling; sites name the TypeScript lines', async () => {
    const outfile = join(dir, 'out/esbuild.mjs');
    await build({
      entryPoints: [join(dir, 'src/app.ts')],
      outfile,
      bundle: true,
      format: 'esm',
      platform: 'node',
      sourcemap: 'inline',
      logLevel: 'error',
      plugins: [stmscopeEsbuild({ include: [join(dir, 'src')] })],
    });
    expectSites(await runBundle(outfile));
  });

  it('leaves excluded files untouched', async () => {
    const outfile = join(dir, 'out/esbuild-excluded.mjs');
    await build({
      entryPoints: [join(dir, 'src/app.ts')],
      outfile,
      bundle: true,
      format: 'esm',
      platform: 'node',
      logLevel: 'error',
      plugins: [stmscopeEsbuild({ exclude: ['**/lib.ts'] })],
    });
    const seen = await runBundle(outfile);
    expect(seen.app?.file).toBe(join(dir, 'src/app.ts'));
    // lib.ts has no sites: its access reports the last user site, the call that led there
    expect(seen.lib).toMatchObject({ file: join(dir, 'src/app.ts'), line: 10, column: 44, functionName: 'main' });
  });
});

describe('Vite plugin', () => {
  it('transform hook after TypeScript compilation; combined source map gives TypeScript lines', async () => {
    await viteBuild({
      root: dir,
      logLevel: 'error',
      configFile: false,
      plugins: [stmscopeVite({ include: [join(dir, 'src')] })],
      build: {
        ssr: join(dir, 'src/app.ts'),
        outDir: join(dir, 'out/vite'),
        sourcemap: true,
        minify: false,
        rollupOptions: { output: { format: 'es', entryFileNames: 'vite.mjs' } },
      },
    });
    expectSites(await runBundle(join(dir, 'out/vite/vite.mjs')));
  });
});
