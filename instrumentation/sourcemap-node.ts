/**
 * Node side of source mapping: maps V8 stack frames of instrumented (or
 * otherwise source-mapped) modules back to the user's sources, and reads
 * source line text, for the recorder. installInstrumentation() attaches both
 * to the thread's site registry as `mapFrame` / `lineText`.
 *
 * Where the map comes from, in order:
 * 1. Node's own source-map cache (`module.findSourceMap`), when source maps are
 *    enabled (`--enable-source-maps`, or tsx, which turns them on): it holds the
 *    map of the code V8 actually runs, even if a transform ran after ours.
 * 2. The map the transform registered with the module's sites (ModuleSites.map).
 */
import { findSourceMap } from 'node:module';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { siteRegistry, type MappedFrame, type ModuleSites, type SiteRegistry } from '../runtime/sites.ts';
import { lineStarts, SourceMap } from './sourcemap.ts';

const parsed = new WeakMap<ModuleSites, SourceMap | null>();

function registeredMap(info: ModuleSites): SourceMap | null {
  let m = parsed.get(info);
  if (m === undefined) {
    try {
      m = info.map ? new SourceMap(info.map, info.url) : null;
    } catch {
      m = null;
    }
    parsed.set(info, m);
  }
  return m;
}

function toFile(urlOrPath: string): string {
  if (urlOrPath.startsWith('file:')) {
    try {
      return fileURLToPath(urlOrPath.split('?')[0].split('#')[0]);
    } catch {
      return urlOrPath;
    }
  }
  return urlOrPath;
}

function moduleFor(registry: SiteRegistry, url: string): ModuleSites | undefined {
  const m = registry.module(url);
  if (m || url.startsWith('file:') || !url.startsWith('/')) return m;
  return registry.module(pathToFileURL(url).href); // CommonJS frames name paths
}

type NodeSourceMap = {
  findEntry(line: number, column: number): {
    originalSource?: string;
    originalLine?: number;
    originalColumn?: number;
    name?: string;
  };
};

function nodeMap(url: string): NodeSourceMap | undefined {
  try {
    return (findSourceMap(url) as NodeSourceMap | undefined) ?? undefined;
  } catch {
    return undefined;
  }
}

/**
 * Maps a V8 stack frame position (line and column **1-based**, as CallSite
 * reports them) of the module at `url` to its original source, or undefined
 * if no map covers it. The result is 1-based too; `file` is a path for `file:`
 * sources; `functionName` is the original name when the map has one, else ''.
 */
export function mapStackFrame(url: string, line: number, column: number, registry: SiteRegistry = siteRegistry()): MappedFrame | undefined {
  const nm = nodeMap(url);
  if (nm) {
    const e = nm.findEntry(line - 1, column - 1);
    if (e && e.originalSource !== undefined && e.originalLine !== undefined) {
      return { file: toFile(e.originalSource), line: e.originalLine + 1, column: (e.originalColumn ?? 0) + 1, functionName: e.name ?? '' };
    }
  }
  const info = moduleFor(registry, url);
  if (!info) return undefined;
  const map = registeredMap(info);
  if (!map) return undefined;
  const p = map.originalPositionFor(line, column - 1);
  if (p.source === null) return undefined;
  return { file: toFile(p.source), line: p.line, column: p.column + 1, functionName: p.name ?? '' };
}

const LINE_CACHE_FILES = 256;
const lineCache = new Map<string, { text: string; starts: Int32Array } | null>();

/** Trimmed text of line `line` (1-based) of `file` (a path or file: URL), or undefined. */
export function sourceLineText(file: string, line: number): string | undefined {
  const path = toFile(file);
  let src = lineCache.get(path);
  if (src === undefined) {
    try {
      const text = readFileSync(path, 'utf8');
      src = { text, starts: lineStarts(text) };
    } catch {
      src = null;
    }
    if (lineCache.size >= LINE_CACHE_FILES) lineCache.delete(lineCache.keys().next().value!);
    lineCache.set(path, src);
  }
  if (!src || line < 1 || line > src.starts.length) return undefined;
  const end = line < src.starts.length ? src.starts[line] : src.text.length;
  return src.text.slice(src.starts[line - 1], end).trim();
}

/** Installs `mapFrame` and `lineText` on the registry (idempotent). */
export function attachFrameMapping(registry: SiteRegistry = siteRegistry()): void {
  if (!registry.mapFrame) registry.mapFrame = (url, line, column) => mapStackFrame(url, line, column, registry);
  if (!registry.lineText) registry.lineText = (file, line) => sourceLineText(file, line);
}
