/**
 * Which modules get instrumented: user code only.
 *
 * Always skipped: non-`file:` URLs (`node:`, `data:`, …), files that are not
 * JavaScript or TypeScript, anything under `node_modules/`, and stmscope's own
 * folders (`runtime/ instrumentation/ model/ server/ ui/ dist/` of the
 * stmscope package). Then `exclude` patterns remove files and, when given,
 * `include` patterns keep only matching files.
 *
 * A pattern is a RegExp (tested against the absolute path), a glob (`*`, `**`,
 * `?`; relative globs are resolved against `cwd`, `**`-prefixed ones match
 * anywhere) or a plain path (a file, or a directory prefix; relative to `cwd`).
 * From the environment: `STMSCOPE_INSTRUMENT_INCLUDE` and
 * `STMSCOPE_INSTRUMENT_EXCLUDE`, comma-separated.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Pattern = string | RegExp;

export interface FilterOptions {
  include?: readonly Pattern[];
  exclude?: readonly Pattern[];
  /** base of relative patterns (default process.cwd()) */
  cwd?: string;
  /** stmscope's package root, whose own folders are skipped (default: found from this file) */
  root?: string;
}

/** Serializable form of FilterOptions (RegExps as `/source/flags` strings), for the hooks thread. */
export interface FilterData {
  include: string[];
  exclude: string[];
  cwd: string;
  root: string;
}

const CODE_EXTENSIONS = /\.(?:[cm]?[jt]s|[jt]sx)$/;
const TS_EXTENSIONS = /\.(?:[cm]?ts|tsx)$/;
const OWN_FOLDERS = ['runtime', 'instrumentation', 'model', 'server', 'ui', 'dist'];

export function isTypeScriptPath(pathOrUrl: string): boolean {
  return TS_EXTENSIONS.test(pathOrUrl.split('?')[0].split('#')[0]);
}

/**
 * The stmscope package root: the nearest ancestor of this file with a
 * package.json named "stmscope" ('' if there is none, e.g. a bundled copy).
 */
export function stmscopeRoot(from: string = fileURLToPath(import.meta.url)): string {
  let dir = dirname(from);
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'stmscope') return dir;
      } catch {
        // unreadable package.json: keep looking
      }
    }
    const up = dirname(dir);
    if (up === dir) return '';
    dir = up;
  }
}

/** Comma-separated list from an environment variable. */
export function patternsFromEnv(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Filter options from STMSCOPE_INSTRUMENT_INCLUDE / _EXCLUDE, serializable. */
export function filterDataFromEnv(env: NodeJS.ProcessEnv = process.env): FilterData {
  return {
    include: patternsFromEnv(env.STMSCOPE_INSTRUMENT_INCLUDE),
    exclude: patternsFromEnv(env.STMSCOPE_INSTRUMENT_EXCLUDE),
    cwd: process.cwd(),
    root: stmscopeRoot(),
  };
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') {
      if (glob[i + 1] === '*') {
        i++;
        if (glob[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function parsePattern(p: Pattern, cwd: string): (path: string) => boolean {
  if (p instanceof RegExp) return (path) => p.test(path);
  const re = /^\/(.+)\/([a-z]*)$/.exec(p);
  if (re && !existsSync(p)) {
    const r = new RegExp(re[1], re[2]);
    return (path) => r.test(path);
  }
  const norm = p.split(sep).join('/');
  if (/[*?]/.test(norm)) {
    const abs = norm.startsWith('**') || isAbsolute(norm) ? norm : `${resolve(cwd).split(sep).join('/')}/${norm.replace(/^\.\//, '')}`;
    const r = globToRegExp(abs);
    return (path) => r.test(path.split(sep).join('/'));
  }
  const abs = resolve(cwd, p);
  return (path) => path === abs || path.startsWith(abs.endsWith(sep) ? abs : abs + sep);
}

/** Path of a `file:` URL (query and hash dropped), or undefined for other URLs. */
export function filePathOf(urlOrPath: string): string | undefined {
  if (urlOrPath.startsWith('file:')) {
    try {
      return fileURLToPath(urlOrPath.split('?')[0].split('#')[0]);
    } catch {
      return undefined;
    }
  }
  if (/^[a-z][a-z0-9+.-]+:/i.test(urlOrPath)) return undefined; // node:, data:, http: …
  return isAbsolute(urlOrPath) ? urlOrPath : undefined;
}

/**
 * A predicate on module URLs (or absolute paths, for CommonJS): whether to
 * instrument it.
 */
export function createFilter(opts: FilterOptions | FilterData = {}): (urlOrPath: string) => boolean {
  const cwd = opts.cwd ?? process.cwd();
  const root = opts.root ?? stmscopeRoot();
  const own = root ? OWN_FOLDERS.map((f) => join(root, f) + sep) : [];
  const include = (opts.include ?? []).map((p) => parsePattern(p, cwd));
  const exclude = (opts.exclude ?? []).map((p) => parsePattern(p, cwd));
  return (urlOrPath) => {
    const path = filePathOf(urlOrPath);
    if (path === undefined || !CODE_EXTENSIONS.test(path)) return false;
    if (path.includes(`${sep}node_modules${sep}`)) return false;
    for (const d of own) if (path.startsWith(d)) return false;
    for (const x of exclude) if (x(path)) return false;
    if (include.length > 0) return include.some((x) => x(path));
    return true;
  };
}

/** FilterOptions → FilterData (RegExps become `/source/flags` strings). */
export function toFilterData(opts: FilterOptions = {}): FilterData {
  const s = (p: Pattern) => (p instanceof RegExp ? `/${p.source}/${p.flags}` : p);
  return {
    include: (opts.include ?? []).map(s),
    exclude: (opts.exclude ?? []).map(s),
    cwd: opts.cwd ?? process.cwd(),
    root: opts.root ?? stmscopeRoot(),
  };
}
