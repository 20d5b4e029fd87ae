/**
 * Code-site registry: the bridge between instrumented user code and the runtime.
 *
 * A source transform (instrumentation/transform.ts) rewrites every member access
 * `obj.prop` in user code to `($c[0] = $b + k, obj).prop`, where `$c` is this
 * thread's site cell and `$b + k` the static site id of that access. The
 * transactional barriers read `cell[0]` when recording is on, so every read and
 * write carries its exact source location for the price of one integer store.
 * The store is placed so it is the last thing evaluated before the barrier runs:
 * after the value of `obj.prop = value` and after the arguments of
 * `obj.method(args)` when those run other instrumented code. Plain calls
 * `f(x)` get sites too, so `atomic(...)` call sites are known.
 *
 * The cell keeps the last site stored: a barrier reached through code that was
 * not transformed (node_modules, stmscope itself) reports the last user access
 * or call before it, usually the call that led there.
 *
 * The registry lives on `globalThis` under a well-known symbol rather than in a
 * module variable so that instrumented code never has to import stmscope (the
 * user's module may resolve a different copy of the package than the loader);
 * every copy in one thread shares it. Site ids are local to a thread: the
 * recorder emits their definitions per worker.
 *
 * Site 0 means "unknown" (code that was not transformed).
 */

/** Registration payload emitted by the transform for one module. */
export interface ModuleSites {
  /** URL of the instrumented (generated) module, as the loader saw it. */
  url: string;
  /**
   * Original source files referenced by `sites` (file paths when the URL is a
   * file: URL, else the URL), after source mapping (TypeScript files when the
   * input had a source map).
   */
  sources: string[];
  /** Function names and other strings referenced by index. */
  names: string[];
  /**
   * Flattened site table, SITE_STRIDE numbers per site, in site order:
   * `[sourceIndex, line, column, nameIndex, textIndex]`, line/column 1-based in
   * the original source; nameIndex/textIndex index `names` (-1 for none);
   * textIndex is the trimmed source line text.
   */
  sites: number[];
  /**
   * Source map (v3 JSON) from the instrumented code, as the transform emitted
   * it, back to the original sources (without `sourcesContent`), used to map V8
   * stack frames of this module. Optional (bundler plugins omit it: the bundle's
   * own map applies).
   */
  map?: string;
}
export const SITE_STRIDE = 5;

/** A V8 stack frame mapped to the original source; line/column 1-based. */
export interface MappedFrame {
  file: string;
  line: number;
  column: number;
  /** original function name if the source map has one, else '' */
  functionName: string;
}

/** One resolved site. */
export interface SiteInfo {
  file: string;
  line: number;
  column: number;
  functionName: string;
  text: string;
}

export interface SiteRegistry {
  /** cell[0] is the site of the member access executing now (0 = unknown). */
  readonly cell: Int32Array;
  /** Registers a module's sites; returns the base id: site k of the module is `base + k`. */
  register(info: ModuleSites): number;
  /** Resolves a site id registered in this thread, or undefined. */
  site(id: number): SiteInfo | undefined;
  /** Number of sites registered so far + 1 (ids are 1..count-1). */
  readonly count: number;
  /** Registered modules by URL (for stack-frame mapping). */
  module(url: string): ModuleSites | undefined;
  /** Listeners told about each new module (the recorder uses this). */
  onRegister(listener: (base: number, info: ModuleSites) => void): void;
  /**
   * Maps a V8 stack frame (CallSite file name or URL, line and column 1-based)
   * to the original source. Installed by instrumentation/ (installInstrumentation,
   * or attachFrameMapping from instrumentation/sourcemap-node.ts), which owns the
   * source-map code; undefined until then, and for frames no map covers.
   */
  mapFrame?(url: string, line: number, column: number): MappedFrame | undefined;
  /** Trimmed text of a source line (1-based) of a file path; installed like mapFrame. */
  lineText?(file: string, line: number): string | undefined;
}

const KEY = Symbol.for('stmscope.sites');

function createRegistry(): SiteRegistry {
  const cell = new Int32Array(1);
  const modules = new Map<string, { base: number; info: ModuleSites }>();
  // site id -> [module info, index within module]; ids are dense from 1.
  const siteModule: ModuleSites[] = [undefined as unknown as ModuleSites];
  const siteIndex: number[] = [0];
  const listeners: Array<(base: number, info: ModuleSites) => void> = [];
  return {
    cell,
    register(info) {
      const existing = modules.get(info.url);
      if (existing) return existing.base;
      const base = siteModule.length;
      const n = Math.floor(info.sites.length / SITE_STRIDE);
      for (let k = 0; k < n; k++) {
        siteModule.push(info);
        siteIndex.push(k);
      }
      modules.set(info.url, { base, info });
      for (const l of listeners) l(base, info);
      return base;
    },
    site(id) {
      const info = siteModule[id];
      if (!info) return undefined;
      const o = siteIndex[id] * SITE_STRIDE;
      const s = info.sites;
      return {
        file: info.sources[s[o]] ?? info.url,
        line: s[o + 1],
        column: s[o + 2],
        functionName: s[o + 3] >= 0 ? info.names[s[o + 3]] : '',
        text: s[o + 4] >= 0 ? info.names[s[o + 4]] : '',
      };
    },
    get count() {
      return siteModule.length;
    },
    module(url) {
      return modules.get(url)?.info;
    },
    onRegister(listener) {
      listeners.push(listener);
    },
  };
}

/** This thread's site registry (created on first use). */
export function siteRegistry(): SiteRegistry {
  const g = globalThis as unknown as Record<symbol, SiteRegistry | undefined>;
  let r = g[KEY];
  if (!r) {
    r = createRegistry();
    g[KEY] = r;
  }
  return r;
}

/**
 * The prologue the transform inserts into every instrumented module reads the
 * registry from `globalThis[Symbol.for(SITES_GLOBAL_KEY)]`. The `--import`
 * script of `stmscope record/run` and the pool's worker bootstrap create it
 * (by calling `siteRegistry()`) before any user module runs; if it is missing
 * anyway the prologue falls back to a throwaway cell, so the program still runs
 * with unknown sites.
 */
export const SITES_GLOBAL_KEY = 'stmscope.sites';
