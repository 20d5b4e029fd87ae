/**
 * Compiling TypeScript ourselves, for the cases where the instrumenting hook
 * receives TypeScript source: a TypeScript loader registered *before* ours is
 * outer and calls us first (normally install.ts keeps our hook outermost, so
 * this is a fallback), a worker that has no TypeScript loader at all, or a
 * bundler plugin loading `.ts` files.
 *
 * esbuild (a dependency already) with an inline source map; the nearest
 * tsconfig.json's compilerOptions are passed along so decorators, class-field
 * semantics and JSX settings match what tsx would do.
 */
import type { Loader, transformSync as TransformSync } from 'esbuild';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';

let esbuildTransform: typeof TransformSync | undefined;

/**
 * esbuild, loaded on first use (it is only a devDependency of stmscope): from
 * stmscope's own dependencies, else the copy tsx depends on, else the program's.
 */
function esbuild(): typeof TransformSync {
  if (esbuildTransform) return esbuildTransform;
  const bases = [import.meta.url, `${process.cwd()}/`];
  for (const base of bases) {
    const req = createRequire(base);
    for (const from of [undefined, 'tsx/package.json']) {
      try {
        const id = from ? createRequire(req.resolve(from))('esbuild') : req('esbuild');
        esbuildTransform = (id as { transformSync: typeof TransformSync }).transformSync;
        return esbuildTransform;
      } catch {
        // try the next place
      }
    }
  }
  throw new Error('stmscope: compiling TypeScript needs esbuild (npm i -D esbuild), or run the program with tsx');
}

export interface CompiledTypeScript {
  /** JavaScript with an inline source map back to the TypeScript */
  code: string;
}

const tsconfigCache = new Map<string, Record<string, unknown> | null>();

/** JSON with comments and trailing commas (tsconfig.json). */
export function parseJsonc(text: string): unknown {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const start = i;
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      out += text.slice(start, i + 1);
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else if (c === '/' && text[i + 1] === '*') {
      i = text.indexOf('*/', i + 2);
      if (i < 0) break;
      i++;
    } else out += c;
  }
  return JSON.parse(out.replace(/,(\s*[}\]])/g, '$1'));
}

function readTsconfig(file: string, depth = 0): Record<string, unknown> {
  const json = parseJsonc(readFileSync(file, 'utf8')) as { extends?: string | string[]; compilerOptions?: Record<string, unknown> };
  let options: Record<string, unknown> = {};
  const bases = json.extends === undefined ? [] : Array.isArray(json.extends) ? json.extends : [json.extends];
  for (const b of bases) {
    if (depth > 8 || !b.startsWith('.')) continue; // package-provided bases are not followed
    const p = resolve(dirname(file), b.endsWith('.json') ? b : `${b}.json`);
    if (existsSync(p)) options = { ...options, ...readTsconfig(p, depth + 1) };
  }
  return { ...options, ...(json.compilerOptions ?? {}) };
}

/** compilerOptions of the nearest tsconfig.json above `file` (cached per directory), or null. */
export function compilerOptionsFor(file: string): Record<string, unknown> | null {
  const dir = dirname(file);
  if (tsconfigCache.has(dir)) return tsconfigCache.get(dir)!;
  let found: Record<string, unknown> | null = null;
  const candidate = join(dir, 'tsconfig.json');
  if (existsSync(candidate)) {
    try {
      found = readTsconfig(candidate);
    } catch {
      found = null;
    }
  } else if (dirname(dir) !== dir) {
    found = compilerOptionsFor(dir);
  }
  tsconfigCache.set(dir, found);
  return found;
}

/**
 * Compiles TypeScript (or JSX: `.jsx`, `.tsx`) to JavaScript with an inline
 * source map, module syntax kept as written.
 */
export function compileTypeScript(code: string, file: string): CompiledTypeScript {
  const loader: Loader = /\.tsx$/.test(file) ? 'tsx' : /\.jsx$/.test(file) ? 'jsx' : 'ts';
  const compilerOptions = compilerOptionsFor(file);
  const r = esbuild()(code, {
    loader,
    sourcefile: file,
    sourcemap: 'inline',
    sourcesContent: true,
    target: 'node20',
    tsconfigRaw: compilerOptions ? { compilerOptions: compilerOptions as never } : undefined,
  });
  return { code: r.code };
}
