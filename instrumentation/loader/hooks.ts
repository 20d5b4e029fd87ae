/**
 * Node module customization hooks (`module.register`, Node 20.6+), loaded by
 * install.ts into the loader hooks thread. The `load` hook instruments the
 * source of every user module (see filter.ts) with transform.ts.
 *
 * Chain order matters. Hooks registered later run first and call the earlier
 * ones through `nextLoad`, so to see compiled JavaScript (and compose with
 * tsx's source map) our hook must be registered *after* a TypeScript loader.
 * install.ts arranges that: every time something else calls `module.register`
 * after us, it registers a new instance of this module on top (a new `?gen=N`
 * URL, so a separate module instance) and the older instances pass everything
 * through untouched. Should we still receive TypeScript source (a loader that
 * compiles after us), we compile it with esbuild ourselves; the loader outside
 * then recompiles JavaScript, which is harmless (source maps chain).
 *
 * Runs in the hooks thread: no access to the registry; instrumented modules
 * register their sites themselves when they run.
 */
import { readFile } from 'node:fs/promises';
import { threadId } from 'node:worker_threads';
import { instrument } from '../transform.ts';
import { findSourceMappingComment } from '../sourcemap.ts';
import { createFilter, filePathOf, isTypeScriptPath, type FilterData } from './filter.ts';
import { compileTypeScript } from './typescript.ts';
import { TransformCache, type CachedOutput } from './cache.ts';
import { TransformProgress } from './progress.ts';

export interface HooksData {
  /** generation of this instance within its owner thread; only the newest is active */
  gen: number;
  /** thread id of the thread that registered the hooks */
  owner: number;
  filter: FilterData;
  /** append an inline source map of the instrumented code (default true) */
  inlineMap?: boolean;
  /** log what is instrumented to stderr (STMSCOPE_INSTRUMENT_DEBUG=1) */
  debug?: boolean;
  /** transform cache directory (cache.ts), or undefined for none */
  cacheDir?: string;
  /** print the progress line (progress.ts; default true) */
  progress?: boolean;
}

interface Shared {
  newest: Map<number, number>;
}
// Shared by every instance of this module in the hooks thread.
const shared: Shared = ((globalThis as Record<symbol, Shared | undefined>)[Symbol.for('stmscope.hooks')] ??= { newest: new Map() });

let data: HooksData | undefined;
let accept: (url: string) => boolean = () => false;
let cache: TransformCache | undefined;
let progress: TransformProgress | undefined;

export function initialize(d: HooksData): void {
  data = d;
  cache = d.cacheDir ? new TransformCache(d.cacheDir) : undefined;
  progress = d.progress === false ? undefined : new TransformProgress(undefined, d.owner === 0 ? '' : ` (thread ${d.owner})`);
  accept = createFilter(d.filter);
  const cur = shared.newest.get(d.owner) ?? 0;
  if (d.gen > cur) shared.newest.set(d.owner, d.gen);
}

function active(): boolean {
  return data !== undefined && shared.newest.get(data.owner) === data.gen;
}

function debug(msg: string): void {
  if (data?.debug) process.stderr.write(`[stmscope hooks gen ${data.gen} thread ${threadId}] ${msg}\n`);
}

interface LoadContext {
  format?: string | null;
  conditions?: string[];
  importAttributes?: Record<string, string>;
}
interface LoadResult {
  format?: string | null;
  source?: string | ArrayBuffer | ArrayBufferView | null;
  shortCircuit?: boolean;
  responseURL?: string;
}
type NextLoad = (url: string, context?: LoadContext) => Promise<LoadResult>;

function sourceText(source: string | ArrayBuffer | ArrayBufferView): string {
  if (typeof source === 'string') return source;
  const bytes = ArrayBuffer.isView(source) ? new Uint8Array(source.buffer, source.byteOffset, source.byteLength) : new Uint8Array(source);
  return new TextDecoder().decode(bytes);
}

function hasInlineMap(code: string): boolean {
  return findSourceMappingComment(code)?.url.startsWith('data:') ?? false;
}

/** Instruments `code`, compiling TypeScript first when it is not compiled yet. Returns undefined when unchanged. */
function transformModule(url: string, code: string, format: string): string | undefined {
  const t0 = process.hrtime.bigint();
  const path = filePathOf(url)!;
  const inlineMap = data?.inlineMap ?? true;
  const sourceType = format === 'module' ? 'module' : format === 'commonjs' ? 'script' : 'unknown';
  // compiling TypeScript depends on the nearest tsconfig.json too: not cached
  const compile = isTypeScriptPath(path) && !hasInlineMap(code);
  const run = (readFile?: (p: string) => string | undefined): CachedOutput => {
    let js = code;
    if (compile) {
      js = compileTypeScript(code, path).code;
      debug(`compiled TypeScript ${url}`);
    }
    const out = instrument(js, url, { sourceType, inlineMap, readFile });
    if (out.skipped) return { code: js, skipped: out.skipped };
    debug(`instrumented ${url}: ${out.sites.sites.length / 5} sites`);
    return { code: out.code };
  };
  let out: CachedOutput;
  let fromCache = false;
  if (cache && !compile) {
    const hits = cache.stats.hits;
    out = cache.get('esm', url, { sourceType, inlineMap }, code, run);
    fromCache = cache.stats.hits > hits;
    if (fromCache) debug(`from cache ${url}${out.skipped ? ` (skipped: ${out.skipped})` : ''}`);
  } else {
    out = run();
  }
  if (out.skipped && !fromCache) debug(`skipped ${url}: ${out.skipped}`);
  progress?.record(Number(process.hrtime.bigint() - t0), code.length, fromCache);
  return out.code === code ? undefined : out.code;
}

const SELF = import.meta.url.split('?')[0];

export async function load(url: string, context: LoadContext, nextLoad: NextLoad): Promise<LoadResult> {
  if (!active() || !accept(url) || url.split('?')[0] === SELF) return nextLoad(url, context);
  let result: LoadResult;
  try {
    result = await nextLoad(url, context);
  } catch (error) {
    // A .ts module and no TypeScript loader (e.g. in a worker_thread, where
    // `--import tsx` does not apply): load it ourselves.
    if ((error as { code?: string }).code !== 'ERR_UNKNOWN_FILE_EXTENSION' || !isTypeScriptPath(url)) throw error;
    const path = filePathOf(url)!;
    const code = await readFile(path, 'utf8');
    const format = /\.cts$/.test(path) ? 'commonjs' : 'module';
    const out = transformModule(url, code, format) ?? compileTypeScript(code, path).code;
    return { format, source: out, shortCircuit: true };
  }
  const { format, source } = result;
  // CommonJS loaded by require() has no source here: install.ts's
  // Module.prototype._compile wrapper instruments it instead.
  if (source == null || (format !== 'module' && format !== 'commonjs')) return result;
  let out: string | undefined;
  try {
    out = transformModule(url, sourceText(source), format);
  } catch (error) {
    // never break the program because of the profiler
    debug(`transform failed for ${url}: ${(error as Error).stack ?? String(error)}`);
    return result;
  }
  return out === undefined ? result : { ...result, source: out };
}
