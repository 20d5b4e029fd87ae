/**
 * On-disk cache of instrumented modules, so a program's second start does not
 * parse and transform its files again (the transform runs at ~10–15 MB/s,
 * dominated by acorn; a cache hit is a read and a hash).
 *
 * **Key**: SHA-256 of the transform version, the stmscope version, the kind of
 * work (`esm`/`cjs`, TypeScript compiled or not), the options, the module's URL
 * (site tables name files) and the source text. **Dependencies**: files the
 * transform read besides the source (original `.ts` files for site text, an
 * external map) are recorded with size and mtime and checked on every hit: a
 * changed original makes the entry a miss.
 *
 * **Entry** `<key>.stc`: one JSON header line (`{v, deps, skipped, n, sha}`),
 * then the output code. `n` is the code's length and `sha` its SHA-256: a
 * truncated or corrupted entry (crash while writing, disk full, someone
 * editing it) is a miss and is rewritten. Writers write `<key>.<pid>.<rand>.tmp`
 * and rename it into place, which is atomic on POSIX file systems: concurrent
 * writers (worker threads, parallel test runs) each rename a complete entry,
 * the last one wins, and a reader never sees a half-written file.
 *
 * **Where**: `STMSCOPE_CACHE_DIR`, else `$STMSCOPE_HOME/cache/transform`, else
 * `$XDG_CACHE_HOME/stmscope/transform`, else `~/.cache/stmscope/transform`;
 * created mode 0700 and refused if another user owns it (the entries are code
 * that will run). `STMSCOPE_CACHE=0` turns the cache off. Entries are never
 * evicted automatically: `rm -r` the directory to reclaim space.
 *
 * Every failure (unwritable directory, full disk) only turns caching off for
 * that module: the profiled program never fails because of the cache.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { ensurePrivateDir } from '../agent/paths.ts';
import { VERSION } from '../version.ts';
import { TRANSFORM_VERSION } from '../transform.ts';

/** Format of an entry; bump when the header changes. */
const ENTRY_FORMAT = 1;

/** The cache directory from the environment, or undefined when caching is off. */
export function cacheDirFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.STMSCOPE_CACHE === '0') return undefined;
  if (env.STMSCOPE_CACHE_DIR) return env.STMSCOPE_CACHE_DIR;
  if (env.STMSCOPE_HOME) return join(env.STMSCOPE_HOME, 'cache', 'transform');
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'stmscope', 'transform');
  return join(homedir(), '.cache', 'stmscope', 'transform');
}

/** A file the transform read, as it was then. */
interface Dep {
  path: string;
  size: number;
  mtimeMs: number;
}

interface Header {
  v: number;
  deps: Dep[];
  skipped?: string;
  /** output code length (UTF-16 units) */
  n: number;
  /** SHA-256 (hex) of the output code */
  sha: string;
  /** the output is the source unchanged (not stored again) */
  same?: boolean;
}

/** What a cached computation produces. */
export interface CachedOutput {
  /** the module's code to run (instrumented, or compiled only) */
  code: string;
  /** why it was not instrumented, if it was not */
  skipped?: string;
}

/** Counters, for the progress line and tests. */
export interface CacheStats {
  hits: number;
  misses: number;
  /** entries found but unusable (corrupt, truncated, stale dependencies) */
  invalid: number;
  /** entries that could not be written */
  writeErrors: number;
}

/**
 * A transform cache in one directory. Construct once per thread; `get` is
 * synchronous (the CommonJS path cannot await).
 */
export class TransformCache {
  readonly stats: CacheStats = { hits: 0, misses: 0, invalid: 0, writeErrors: 0 };
  private ready: boolean | undefined;

  /** @param dir the cache directory (created on the first write, mode 0700) */
  constructor(readonly dir: string) {}

  /** The key of one computation: hash of everything its output depends on. */
  static key(kind: string, url: string, options: unknown, source: string): string {
    return createHash('sha256')
      .update(`stmscope ${VERSION} transform ${TRANSFORM_VERSION} entry ${ENTRY_FORMAT}\0${kind}\0${url}\0${JSON.stringify(options ?? null)}\0`)
      .update(source)
      .digest('hex');
  }

  private path(key: string): string {
    return join(this.dir, `${key.slice(0, 2)}`, `${key}.stc`);
  }

  private ensureDir(sub: string): boolean {
    if (this.ready === false) return false;
    try {
      if (this.ready === undefined) ensurePrivateDir(this.dir);
      this.ready = true;
      ensurePrivateDir(join(this.dir, sub));
      return true;
    } catch {
      this.ready = false; // not ours, or not writable: no cache in this thread
      return false;
    }
  }

  /** The cached output for `key`, or undefined (absent, corrupt, stale). */
  read(key: string): CachedOutput | undefined {
    let text: string;
    try {
      text = readFileSync(this.path(key), 'utf8');
    } catch {
      return undefined;
    }
    const nl = text.indexOf('\n');
    let header: Header;
    try {
      header = JSON.parse(text.slice(0, nl)) as Header;
    } catch {
      this.stats.invalid++;
      return undefined;
    }
    const code = text.slice(nl + 1);
    if (nl < 0 || header.v !== ENTRY_FORMAT || code.length !== header.n || !Array.isArray(header.deps)) {
      this.stats.invalid++;
      return undefined;
    }
    for (const d of header.deps) {
      // size -1: the file did not exist then, and must not now
      const st = statSync(d.path, { throwIfNoEntry: false });
      if (st ? st.size !== d.size || st.mtimeMs !== d.mtimeMs : d.size !== -1) {
        this.stats.invalid++;
        return undefined;
      }
    }
    if (createHash('sha256').update(code).digest('hex') !== header.sha) {
      this.stats.invalid++;
      return undefined;
    }
    const out: CachedOutput & { same?: boolean } = { code };
    if (header.skipped !== undefined) out.skipped = header.skipped;
    if (header.same) out.same = true;
    return out;
  }

  /** Stores `out` for `key` (temp file + rename); false if it could not. */
  write(key: string, out: CachedOutput, deps: readonly string[], same = false): boolean {
    if (!this.ensureDir(key.slice(0, 2))) return false;
    const file = this.path(key);
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      const depStats: Dep[] = [];
      for (const path of deps) {
        const st = statSync(path, { throwIfNoEntry: false });
        depStats.push({ path, size: st ? st.size : -1, mtimeMs: st ? st.mtimeMs : 0 });
      }
      const code = same ? '' : out.code;
      const header: Header = { v: ENTRY_FORMAT, deps: depStats, n: code.length, sha: createHash('sha256').update(code).digest('hex') };
      if (out.skipped !== undefined) header.skipped = out.skipped;
      if (same) header.same = true;
      writeFileSync(tmp, `${JSON.stringify(header)}\n${code}`, { mode: 0o600 });
      renameSync(tmp, file);
      return true;
    } catch {
      this.stats.writeErrors++;
      try {
        unlinkSync(tmp);
      } catch {
        // never written
      }
      return false;
    }
  }

  /**
   * The output for (`kind`, `url`, `options`, `source`): from the cache, else
   * computed by `compute` (which reports the files it read through `read`) and
   * stored.
   */
  get(kind: string, url: string, options: unknown, source: string, compute: (read: (path: string) => string | undefined) => CachedOutput): CachedOutput {
    const key = TransformCache.key(kind, url, options, source);
    const hit = this.read(key) as (CachedOutput & { same?: boolean }) | undefined;
    if (hit) {
      this.stats.hits++;
      if (hit.same) return hit.skipped === undefined ? { code: source } : { code: source, skipped: hit.skipped };
      return hit;
    }
    this.stats.misses++;
    const deps: string[] = [];
    const read = (path: string): string | undefined => {
      if (!isAbsolute(path)) return undefined;
      deps.push(path);
      try {
        return readFileSync(path, 'utf8');
      } catch {
        return undefined;
      }
    };
    const out = compute(read);
    this.write(key, out, deps, out.code === source);
    return out;
  }
}
