/**
 * Turns instrumentation on in the calling thread: the site registry, stack-frame
 * mapping, the ESM loader hook (hooks.ts, via `module.register`) and a
 * CommonJS `Module.prototype._compile` wrapper.
 *
 * Threads: on Node 20 hooks registered in one thread do not apply to modules
 * loaded by worker_threads (verified on 20.20: a hook registered at runtime in
 * the main thread never sees a worker's modules). `--import` modules, however,
 * run again in every worker (from the inherited execArgv or NODE_OPTIONS), so
 * `--import stmscope/register` instruments workers too; a worker started
 * without them must call installInstrumentation() itself before importing user
 * code (the pool's worker bootstrap does when STMSCOPE_INSTRUMENT=1).
 *
 * Hook order: our `load` hook must run outside (after) any TypeScript loader so
 * it instruments compiled JavaScript. `module.register` is wrapped so that when
 * anything registers hooks after us (tsx's `--import tsx`, tsx's CLI loader,
 * `tsx/esm/api`'s register() in an eval worker), a fresh instance of our hooks
 * is registered on top and the older ones go passive (hooks.ts).
 */
import Module, { type register } from 'node:module';
import { pathToFileURL } from 'node:url';
import { threadId } from 'node:worker_threads';
import { siteRegistry } from '../../runtime/sites.ts';
import { attachFrameMapping } from '../sourcemap-node.ts';
import { instrument } from '../transform.ts';
import { findSourceMappingComment } from '../sourcemap.ts';
import { createFilter, filterDataFromEnv, isTypeScriptPath, toFilterData, type FilterOptions } from './filter.ts';
import { compileTypeScript } from './typescript.ts';
import { cacheDirFromEnv, TransformCache, type CachedOutput } from './cache.ts';
import { TransformProgress } from './progress.ts';
import type { HooksData } from './hooks.ts';

export interface InstallOptions extends FilterOptions {
  /** instrument CommonJS modules loaded by require() (default true) */
  commonjs?: boolean;
  /** log decisions to stderr (default: STMSCOPE_INSTRUMENT_DEBUG=1) */
  debug?: boolean;
  /**
   * transform cache directory, or null for none (default: STMSCOPE_CACHE_DIR,
   * else the per-user cache directory; none with STMSCOPE_CACHE=0; see cache.ts)
   */
  cacheDir?: string | null;
  /** progress line on stderr when transforming takes over a second (default: unless STMSCOPE_INSTRUMENT_PROGRESS=0) */
  progress?: boolean;
}

interface InstallState {
  gen: number;
  data: HooksData;
}

const STATE = Symbol.for('stmscope.instrumentation');
// hooks.ts next to this file, whatever the extension (.ts in the repository, .js in dist/)
const HOOKS_URL = new URL(`./hooks${/\.[cm]?[jt]s$/.exec(new URL(import.meta.url).pathname)?.[0] ?? '.js'}`, import.meta.url).href;

/** Whether installInstrumentation() ran in this thread. */
export function instrumentationInstalled(): boolean {
  return (globalThis as Record<symbol, unknown>)[STATE] !== undefined;
}

/**
 * Installs instrumentation in this thread (idempotent). Include/exclude come
 * from STMSCOPE_INSTRUMENT_INCLUDE / STMSCOPE_INSTRUMENT_EXCLUDE unless given.
 */
export function installInstrumentation(options: InstallOptions = {}): void {
  const g = globalThis as Record<symbol, InstallState | undefined>;
  if (g[STATE]) return;
  const env = filterDataFromEnv();
  const filter = toFilterData({
    include: options.include ?? env.include,
    exclude: options.exclude ?? env.exclude,
    cwd: options.cwd ?? env.cwd,
    root: options.root ?? env.root,
  });
  const debug = options.debug ?? process.env.STMSCOPE_INSTRUMENT_DEBUG === '1';
  const cacheDir = options.cacheDir === null ? undefined : (options.cacheDir ?? cacheDirFromEnv());
  const progress = options.progress ?? process.env.STMSCOPE_INSTRUMENT_PROGRESS !== '0';
  const state: InstallState = { gen: 0, data: { gen: 0, owner: threadId, filter, debug, cacheDir, progress } };
  g[STATE] = state;

  const registry = siteRegistry();
  attachFrameMapping(registry);
  if (options.commonjs !== false) {
    const cache = cacheDir ? new TransformCache(cacheDir) : undefined;
    const meter = progress ? new TransformProgress(undefined, threadId === 0 ? ' (CommonJS)' : ` (CommonJS, thread ${threadId})`) : undefined;
    wrapCommonJs(createFilter(filter), debug, cache, meter);
  }

  const mod = Module as unknown as { register: typeof register };
  const original = mod.register;
  const registerOurs = () => {
    state.gen++;
    original(`${HOOKS_URL}?gen=${state.gen}`, { data: { ...state.data, gen: state.gen } });
  };
  // Keep our hook outermost: re-register on top of anything registered later.
  mod.register = function registerThenStayOutermost(this: unknown, ...args: Parameters<typeof register>) {
    const result = (original as (...a: unknown[]) => unknown).apply(this, args);
    if (!String(args[0]).startsWith(HOOKS_URL)) registerOurs();
    return result as ReturnType<typeof register>;
  } as typeof register;
  Module.syncBuiltinESMExports();
  registerOurs();
}

/**
 * CommonJS: require() does not go through `load` hooks on Node 20, so wrap
 * Module.prototype._compile (the one place every CommonJS source passes).
 */
function wrapCommonJs(accept: (path: string) => boolean, debug: boolean, cache: TransformCache | undefined, meter: TransformProgress | undefined): void {
  const proto = Module.prototype as unknown as { _compile: (content: string, filename: string, ...rest: unknown[]) => unknown };
  const original = proto._compile;
  proto._compile = function compileInstrumented(content: string, filename: string, ...rest: unknown[]) {
    let code = content;
    if (typeof content === 'string' && accept(filename) && !content.includes('__stm$')) {
      const t0 = process.hrtime.bigint();
      try {
        // compiling TypeScript depends on the nearest tsconfig.json too: not cached
        const compile = isTypeScriptPath(filename) && !findSourceMappingComment(content)?.url.startsWith('data:');
        const url = pathToFileURL(filename).href;
        const run = (readFile?: (p: string) => string | undefined): CachedOutput => {
          const js = compile ? compileTypeScript(content, filename).code : content;
          const out = instrument(js, url, { inlineMap: true, readFile });
          return out.skipped ? { code: js, skipped: out.skipped } : { code: out.code };
        };
        const hits = cache?.stats.hits ?? 0;
        const out = cache && !compile ? cache.get('cjs', url, { inlineMap: true }, content, run) : run();
        const fromCache = (cache?.stats.hits ?? 0) > hits;
        code = out.code;
        meter?.record(Number(process.hrtime.bigint() - t0), content.length, fromCache);
        if (debug) process.stderr.write(`[stmscope cjs thread ${threadId}] ${out.skipped ? `skipped (${out.skipped})` : 'instrumented'}${fromCache ? ' from cache' : ''} ${filename}\n`);
      } catch (error) {
        if (debug) process.stderr.write(`[stmscope cjs] transform failed for ${filename}: ${String(error)}\n`);
      }
    }
    return original.call(this, code, filename, ...rest);
  };
}
