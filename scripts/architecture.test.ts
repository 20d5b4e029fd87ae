/**
 * The import graph of the source tree: no module imports itself back through
 * others (type-only imports count: they still tie two files' contracts
 * together), and the folders keep the directions their READMEs state.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FOLDERS = ['runtime', 'instrumentation', 'model', 'server', 'ui/src', 'fixtures', 'bench', 'scripts'];

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (/\.(ts|tsx|mts)$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Relative specifiers of static imports and re-exports (`import … from`, `export … from`, side-effect imports). */
export function importSpecifiers(text: string): string[] {
  const specs: string[] = [];
  const re = /^\s*(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?['"](\.{1,2}\/[^'"]+)['"]/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) specs.push(m[1]);
  return specs;
}

/** Strongly connected components with more than one file (Tarjan). */
export function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) out.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

const files = FOLDERS.flatMap((f) => sources(join(root, f)));
const graph = new Map<string, string[]>();
for (const f of files) {
  const from = relative(root, f);
  graph.set(
    from,
    importSpecifiers(readFileSync(f, 'utf8')).map((s) => relative(root, resolve(dirname(f), s))),
  );
}

describe('import graph', () => {
  it('finds cycles when there are some (the checker itself)', () => {
    const g = new Map([
      ['a', ['b']],
      ['b', ['a', 'c']],
      ['c', []],
    ]);
    expect(cycles(g)).toEqual([['a', 'b']]);
    expect(importSpecifiers("import type { X } from './x.ts';\nexport { y } from '../y.ts';\nimport './z.ts';\nimport fs from 'node:fs';")).toEqual(['./x.ts', '../y.ts', './z.ts']);
  });

  it('has no import cycles', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(cycles(graph)).toEqual([]);
  });

  it('keeps runtime/ free of the profiler: it imports only runtime/ and model/records.ts, model/ring.ts', () => {
    const bad = [...graph].flatMap(([f, deps]) =>
      f.startsWith('runtime/') && !f.includes('.test.') && !f.startsWith('runtime/testing/')
        ? deps.filter((d) => !d.startsWith('runtime/') && d !== 'model/records.ts' && d !== 'model/ring.ts').map((d) => `${f} → ${d}`)
        : [],
    );
    expect(bad).toEqual([]);
  });

  it('lets nothing outside server/ (and its benchmarks) import server/', () => {
    const bad = [...graph].flatMap(([f, deps]) =>
      f.startsWith('server/') || f.startsWith('bench/') || f.startsWith('scripts/') || f.includes('.test.') ? [] : deps.filter((d) => d.startsWith('server/')).map((d) => `${f} → ${d}`),
    );
    expect(bad).toEqual([]);
  });
});
