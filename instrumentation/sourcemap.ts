/**
 * Source maps for the transform, on top of `@jridgewell/trace-mapping`
 * (decoding, encoding, lookup, index maps). What is written here is only what
 * that library does not know: the transform's insertion-only edit turned into
 * an edit map, its composition with the input map (remapping's trace, done
 * directly: see composeEdit), the `sourceMappingURL` comment, and line starts
 * counted the way V8 counts lines.
 *
 * Conventions (as in trace-mapping and the `source-map` package): generated
 * and original **lines are 1-based and columns 0-based** in
 * `SourceMap.originalPositionFor`; segments and the edit map are 0-based in
 * both. V8 stack frames are 1-based in both: convert at the call site (see
 * sourcemap-node.ts).
 *
 * Pure: no Node-only API, usable in a bundler plugin or a browser.
 */
import {
  AnyMap,
  decodedMappings,
  encodedMap,
  encodedMappings,
  originalPositionFor as traceOriginal,
  presortedDecodedMap,
  TraceMap,
  traceSegment,
  type SourceMapSegment,
} from '@jridgewell/trace-mapping';

export type { SourceMapSegment };

export interface RawSourceMap {
  version: number;
  file?: string;
  sourceRoot?: string;
  sources: Array<string | null>;
  sourcesContent?: Array<string | null>;
  names: string[];
  mappings: string;
}

/** An index map (`sections`), flattened by parseSourceMap. */
interface IndexMap {
  version: number;
  file?: string;
  sections: Array<{ offset: { line: number; column: number }; map: RawSourceMap | IndexMap }>;
}

/** Decoded mappings: one array of segments per generated line (trace-mapping's form). */
export type DecodedMappings = SourceMapSegment[][];

// ---- parsing ----------------------------------------------------------------------

/**
 * Parses a source map (JSON text, possibly with the `)]}'` XSSI prefix, or an
 * already parsed object). Index maps (`sections`) are flattened into one map
 * (trace-mapping's AnyMap). Throws a SyntaxError on what is not a v3 map.
 */
export function parseSourceMap(input: string | RawSourceMap | IndexMap): RawSourceMap {
  let obj: RawSourceMap | IndexMap;
  if (typeof input === 'string') {
    const text = input.startsWith(")]}'") ? input.slice(input.indexOf('\n') + 1) : input;
    obj = JSON.parse(text) as RawSourceMap | IndexMap;
  } else {
    obj = input;
  }
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw new SyntaxError('source map is not an object');
  if (obj.version !== 3) throw new SyntaxError(`unsupported source map version ${String(obj.version)}`);
  if ('sections' in obj && Array.isArray(obj.sections)) {
    const flat = encodedMap(new AnyMap(obj as never));
    return { ...flat, names: flat.names ?? [] } as RawSourceMap;
  }
  const m = obj as RawSourceMap;
  if (typeof m.mappings !== 'string' || !Array.isArray(m.sources)) throw new SyntaxError('source map lacks mappings or sources');
  return { ...m, names: Array.isArray(m.names) ? m.names : [] };
}

/** Where a `sourceMappingURL` comment sits in some code, and what it says. */
export interface SourceMappingComment {
  /** the URL as written (a `data:` URL or a path relative to the code's URL) */
  url: string;
  /** offset of the comment's `//` or `/*` */
  start: number;
  /** offset just after the comment */
  end: number;
}

// The last `//# sourceMappingURL=` (or legacy `//@`) comment in the code.
const MAPPING_COMMENT = /(?:\/\/[#@][ \t]*sourceMappingURL=([^\s'"`]+)[ \t]*$)|(?:\/\*[#@][ \t]*sourceMappingURL=([^\s*'"`]+)[ \t]*\*\/[ \t]*$)/gm;

/** Finds the last `sourceMappingURL` comment of `code` (only looks at the tail, where tools put it). */
export function findSourceMappingComment(code: string): SourceMappingComment | undefined {
  const idx = code.lastIndexOf('sourceMappingURL=');
  if (idx < 0) return undefined;
  // start matching from the line holding the last occurrence
  let from = idx;
  while (from > 0) {
    const c = code.charCodeAt(from - 1);
    if (c === 10 || c === 13) break;
    from--;
  }
  MAPPING_COMMENT.lastIndex = from;
  let found: SourceMappingComment | undefined;
  for (let m = MAPPING_COMMENT.exec(code); m; m = MAPPING_COMMENT.exec(code)) {
    found = { url: m[1] ?? m[2], start: m.index, end: m.index + m[0].length };
  }
  return found;
}

/** Decodes a `data:` URL holding a source map, or returns undefined if `url` is not one. */
export function decodeDataUrl(url: string): string | undefined {
  if (!url.startsWith('data:')) return undefined;
  const comma = url.indexOf(',');
  if (comma < 0) return undefined;
  const meta = url.slice(5, comma);
  const body = url.slice(comma + 1);
  if (/;base64$/i.test(meta)) return base64ToUtf8(body);
  return decodeURIComponent(body);
}

/** Reads the inline (`data:` URL) source map of `code`, if it has one. */
export function extractInlineSourceMap(code: string): { map: RawSourceMap; comment: SourceMappingComment } | undefined {
  const comment = findSourceMappingComment(code);
  if (!comment) return undefined;
  const text = decodeDataUrl(comment.url);
  if (text === undefined) return undefined;
  try {
    return { map: parseSourceMap(text), comment };
  } catch {
    return undefined;
  }
}

/** `//# sourceMappingURL=data:...` comment for `map`. */
export function inlineSourceMapComment(map: RawSourceMap | string): string {
  const json = typeof map === 'string' ? map : JSON.stringify(map);
  return `//# sourceMappingURL=data:application/json;charset=utf-8;base64,${utf8ToBase64(json)}`;
}

function base64ToUtf8(b64: string): string {
  const g = globalThis as { Buffer?: { from(s: string, enc: string): { toString(enc: string): string } } };
  if (g.Buffer) return g.Buffer.from(b64, 'base64').toString('utf8');
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new TextDecoder().decode(bytes);
}

function utf8ToBase64(s: string): string {
  const g = globalThis as { Buffer?: { from(s: string, enc: string): { toString(enc: string): string } } };
  if (g.Buffer) return g.Buffer.from(s, 'utf8').toString('base64');
  const bytes = new TextEncoder().encode(s);
  let bin = '';
  for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
  return btoa(bin);
}

// ---- lookup ------------------------------------------------------------------------

/** An original position; `source` is null when the generated position is not mapped. */
export interface OriginalPosition {
  /** resolved source (see SourceMap.resolvedSources), or null */
  source: string | null;
  sourceIndex: number;
  /** 1-based */
  line: number;
  /** 0-based */
  column: number;
  name: string | null;
}

/**
 * A parsed source map ready for lookups: a thin wrapper over trace-mapping's
 * TraceMap (decoded lazily, binary search within one generated line).
 *
 * `resolvedSources[i]` is source `i` with `sourceRoot` applied and resolved
 * against `mapUrl` (so `file:` URLs come out absolute).
 */
export class SourceMap {
  readonly raw: RawSourceMap;
  readonly trace: TraceMap;

  constructor(map: string | RawSourceMap, mapUrl?: string) {
    this.raw = parseSourceMap(map);
    this.trace = new TraceMap(this.raw as never, mapUrl && !mapUrl.startsWith('data:') ? mapUrl : null);
  }

  get resolvedSources(): string[] {
    return this.trace.resolvedSources;
  }

  /** Decoded segments, one array per generated line (0-based). */
  get lines(): Readonly<DecodedMappings> {
    return decodedMappings(this.trace) as DecodedMappings;
  }

  /**
   * The segment covering generated (line0, column0), both 0-based: the last
   * segment of that line starting at or before the column, or null.
   */
  segmentFor(line0: number, column0: number): Readonly<SourceMapSegment> | null {
    return line0 < 0 ? null : traceSegment(this.trace, line0, column0);
  }

  /**
   * The mapped segment (one with a source) covering (line0, column0), or else
   * the closest mapped one before it, also on earlier lines; null if none.
   */
  mappedSegmentAtOrBefore(line0: number, column0: number): Readonly<SourceMapSegment> | null {
    const lines = this.lines;
    if (line0 >= lines.length) {
      line0 = lines.length - 1;
      column0 = Number.MAX_SAFE_INTEGER;
    }
    for (let l = line0; l >= 0; l--) {
      const segs = lines[l];
      let i = segs.length - 1;
      if (l === line0) {
        // greatest lower bound of column0
        let lo = 0;
        let hi = segs.length - 1;
        i = -1;
        while (lo <= hi) {
          const mid = (lo + hi) >> 1;
          if (segs[mid][0] <= column0) {
            i = mid;
            lo = mid + 1;
          } else hi = mid - 1;
        }
      }
      for (; i >= 0; i--) if (segs[i].length >= 4) return segs[i];
    }
    return null;
  }

  /** Original position of generated (line 1-based, column 0-based). */
  originalPositionFor(line: number, column: number): OriginalPosition {
    if (line < 1) return { source: null, sourceIndex: -1, line: 0, column: 0, name: null };
    const seg = traceSegment(this.trace, line - 1, column);
    if (!seg || seg.length === 1) return { source: null, sourceIndex: -1, line: 0, column: 0, name: null };
    const p = traceOriginal(this.trace, { line, column });
    return { source: p.source, sourceIndex: seg[1], line: p.line ?? 0, column: p.column ?? 0, name: p.name };
  }

  /** `sourcesContent` of source `i`, if the map carries it. */
  sourceContent(i: number): string | undefined {
    return this.raw.sourcesContent?.[i] ?? undefined;
  }
}

/** Applies `sourceRoot` and resolves against `mapUrl` when both make a valid absolute URL. */
export function resolveSource(source: string, sourceRoot: string | undefined, mapUrl: string | undefined): string {
  let s = source;
  if (sourceRoot && !/^[a-z][a-z0-9+.-]*:/i.test(s) && !s.startsWith('/')) s = sourceRoot.replace(/\/?$/, '/') + s;
  if (mapUrl && /^[a-z][a-z0-9+.-]*:/i.test(mapUrl) && !mapUrl.startsWith('data:')) {
    try {
      return new URL(s, mapUrl).href;
    } catch {
      return s;
    }
  }
  return s;
}

// ---- line starts ------------------------------------------------------------------------

/**
 * Offsets at which each line of `code` starts, using the ECMAScript line
 * terminators (LF, CR, CRLF, U+2028, U+2029), as V8 counts lines.
 */
export function lineStarts(code: string): Int32Array {
  let out = new Int32Array(1024);
  let n = 1;
  const push = (v: number) => {
    if (n === out.length) {
      const bigger = new Int32Array(n * 2);
      bigger.set(out);
      out = bigger;
    }
    out[n++] = v;
  };
  // indexOf is a vectorised scan: far faster than a charCodeAt loop on long lines
  for (let i = code.indexOf('\n'); i >= 0; i = code.indexOf('\n', i + 1)) push(i + 1);
  if (code.indexOf('\r') < 0 && code.indexOf('\u2028') < 0 && code.indexOf('\u2029') < 0) return out.slice(0, n);
  // rare: CR, CRLF, U+2028/9 line terminators
  n = 1;
  for (let i = 0; i < code.length; i++) {
    const c = code.charCodeAt(i);
    if (c === 10 || c === 0x2028 || c === 0x2029) push(i + 1);
    else if (c === 13) {
      if (code.charCodeAt(i + 1) === 10) i++;
      push(i + 1);
    }
  }
  return out.slice(0, n);
}

/** 0-based line holding `offset` (binary search in `starts`). */
export function lineOf(starts: Int32Array, offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

// ---- the transform's edit map ----------------------------------------------------------

/**
 * One insertion of an insertion-only edit. Insertions never contain line
 * terminators, so lines keep their numbers and only columns move.
 */
export interface Insertion {
  /** offset in the input code where the text goes (before the character at that offset) */
  offset: number;
  /** length of the inserted text */
  length: number;
  /**
   * Offset (on the same line) that the input text resuming after this insertion
   * should map to; default `offset`. Lets `(s, f)(x)` map its `(` to `f`, where
   * V8 reports such a call.
   */
  mapTo?: number;
  /**
   * Mapping points inside the inserted text: pairs `[columnInText, inputOffset]`
   * (sorted by column). The instrumented twin of a function body is inserted
   * as one line; its points send each of its tokens back to the copied code.
   */
  points?: readonly number[];
}

/**
 * The edit map: mappings of `output = input with insertions` back to the
 * input (source 0), per output line, sorted.
 *
 * - Every input line starts with a segment, and every `anchor` (input offset:
 *   positions V8 reports in stack frames, and the input map's own segment
 *   columns, so composing keeps the input map's detail) gets one, moved right
 *   by the text inserted at or before it.
 * - Each insertion gets a segment at its start (mapping to its offset), at each
 *   of its `points`, and where the input resumes (mapping to `mapTo`).
 *
 * @param insertions sorted by offset; at most one per offset (merge texts first)
 * @param anchors input offsets, any order
 */
export function editMappings(inputLineStarts: Int32Array, insertions: readonly Insertion[], anchors: ArrayLike<number>): DecodedMappings {
  const sorted = Int32Array.from(anchors).sort();
  const lines = inputLineStarts.length;
  const out: DecodedMappings = new Array(lines);
  // one builder for all lines (a closure per line cost more than the segments)
  const b: LineBuilder = { segs: [], line: 0, lastCol: -1, lastTo: -1 };
  let ins = 0;
  let anc = 0;
  for (let l = 0; l < lines; l++) {
    const ls = inputLineStarts[l];
    const le = l + 1 < lines ? inputLineStarts[l + 1] : Number.MAX_SAFE_INTEGER;
    // merge, in input order, the line start, the anchors and the insertions;
    // `shift` is the text inserted so far on this line
    b.segs = [];
    b.line = l;
    b.lastCol = -1;
    b.lastTo = -1;
    let shift = 0;
    addEditSegment(b, 0, 0);
    while (anc < sorted.length && sorted[anc] < ls) anc++;
    for (;;) {
      const nextIns = ins < insertions.length && insertions[ins].offset < le ? insertions[ins].offset : Number.MAX_SAFE_INTEGER;
      const nextAnc = anc < sorted.length && sorted[anc] < le ? sorted[anc] : Number.MAX_SAFE_INTEGER;
      if (nextIns === Number.MAX_SAFE_INTEGER && nextAnc === Number.MAX_SAFE_INTEGER) break;
      if (nextAnc < nextIns) {
        // an anchor strictly before the next insertion
        const col = nextAnc - ls;
        addEditSegment(b, col + shift, col);
        anc++;
        continue;
      }
      const x = insertions[ins++];
      const col = x.offset - ls;
      addEditSegment(b, col + shift, col);
      const pts = x.points;
      if (pts) {
        for (let p = 0; p < pts.length; p += 2) {
          const toLine = lineOf(inputLineStarts, pts[p + 1]);
          b.segs.push([col + shift + pts[p], 0, toLine, pts[p + 1] - inputLineStarts[toLine]]);
          b.lastCol = col + shift + pts[p];
          b.lastTo = -1;
        }
      }
      shift += x.length;
      addEditSegment(b, col + shift, (x.mapTo ?? x.offset) - ls);
      // anchors at the insertion's offset are the input resuming: covered
      while (anc < sorted.length && sorted[anc] === x.offset) anc++;
    }
    out[l] = b.segs;
  }
  return out;
}

/** The output line editMappings is building: its segments and the last one's columns. */
interface LineBuilder {
  segs: SourceMapSegment[];
  line: number;
  lastCol: number;
  lastTo: number;
}

function addEditSegment(b: LineBuilder, outCol: number, toCol: number): void {
  if (outCol === b.lastCol) {
    // same output column: the later candidate (the input resuming after
    // an insertion, mapped to mapTo) wins over the insertion's start
    b.segs[b.segs.length - 1][3] = toCol;
  } else if (toCol !== b.lastTo) {
    // a segment mapping where the previous one does says nothing new
    b.segs.push([outCol, 0, b.line, toCol]);
    b.lastCol = outCol;
  }
  b.lastTo = toCol;
}

/** Encodes decoded mappings (sorted lines) as a `mappings` string. */
export function encodeDecoded(lines: DecodedMappings): string {
  return encodedMappings(presortedDecodedMap({ version: 3, sources: [''], names: [], mappings: lines }));
}

/**
 * The map of the edited code to the original sources: each edit-map segment
 * traced through the input's own map (trace-mapping's `traceSegment`, the
 * lookup remapping does), written straight into decoded lines. Sources come
 * out resolved against `url` (absolute `file:` URLs for files), indexed as in
 * the input map; names are the input map's.
 *
 * This is remapping's `traceMappings` for the one case the transform has (one
 * input map, one level), minus gen-mapping's re-interning of every source and
 * name: the same segments (a segment repeating the previous one's position is
 * dropped, as gen-mapping's `maybeAddSegment` does; a segment that traces to
 * nothing is left out), about 5x faster on the transform benchmark's corpus.
 * sourcemap.test.ts checks it against remapping on real compiler output.
 *
 * @param edit edit mappings from editMappings (source 0 is the input code)
 * @param url the edited module's URL (the input map's sources resolve against it)
 * @param input the input code's map (parsed or raw), or null: then the edit map itself, naming `url`
 * @param sourcesContent keep the input map's `sourcesContent` (default true)
 */
export function composeEdit(
  edit: DecodedMappings,
  url: string,
  input: SourceMap | RawSourceMap | null,
  file: string | undefined,
  sourcesContent = true,
): RawSourceMap {
  if (!input) return { version: 3, file, sources: [url], names: [], mappings: encodeDecoded(edit) };
  const base = input instanceof SourceMap ? input : new SourceMap(input, url);
  const out: DecodedMappings = new Array(edit.length);
  for (let l = 0; l < edit.length; l++) {
    const segs = edit[l];
    const line: SourceMapSegment[] = [];
    for (let j = 0; j < segs.length; j++) {
      const seg = segs[j];
      const traced = seg.length === 1 ? seg : base.segmentFor(seg[2], seg[3]);
      if (traced === null) continue; // before the line's first input segment: unmapped
      const prev = line.length > 0 ? line[line.length - 1] : undefined;
      if (traced.length === 1) {
        // sourceless: only worth a segment when it ends a mapped run
        if (prev !== undefined && prev.length !== 1) line.push([seg[0]]);
        continue;
      }
      const name = traced.length === 5 ? traced[4] : -1;
      if (prev !== undefined && prev.length !== 1 && prev[1] === traced[1] && prev[2] === traced[2] && prev[3] === traced[3] && (prev.length === 5 ? prev[4] : -1) === name) continue;
      line.push(name < 0 ? [seg[0], traced[1], traced[2], traced[3]] : [seg[0], traced[1], traced[2], traced[3], name]);
    }
    out[l] = line;
  }
  const raw: RawSourceMap = {
    version: 3,
    file,
    sources: base.resolvedSources.slice(),
    names: base.raw.names.slice(),
    mappings: encodeDecoded(out),
  };
  const content = base.raw.sourcesContent;
  if (sourcesContent && content?.some((c) => c != null)) raw.sourcesContent = base.resolvedSources.map((_, i) => content[i] ?? null);
  return raw;
}
