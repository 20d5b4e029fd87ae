/**
 * Source map v3, written for stmscope (no dependency): base64 VLQ, parsing
 * (including inline `data:` URLs, `sourcesContent` and index maps with
 * `sections`), fast position lookup, encoding, and the composition the
 * transform needs: an input map followed by an insertion-only edit.
 *
 * Decoded mappings are kept column-wise in one Int32Array (five numbers per
 * segment) with a per-line index, so a map of a large bundle is a few typed
 * arrays rather than one object per segment, and a lookup is a binary search
 * within one generated line.
 *
 * Conventions (as in the `source-map` package and the spec): generated and
 * original **lines are 1-based and columns 0-based** in the public functions
 * of this file; internally every line is 0-based. V8 stack frames are 1-based
 * in both: convert at the call site (see sourcemap-node.ts).
 *
 * Pure: no Node-only API, usable in a bundler plugin or a browser.
 */

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

/** Numbers per decoded segment: generated column, source, original line, original column, name. */
export const SEG = 5;

/**
 * Decoded mappings. Segment `i` occupies `segs[i*SEG .. i*SEG+4]`:
 * `[generatedColumn, sourceIndex, originalLine0, originalColumn, nameIndex]`
 * with -1 for "absent" (a 1-field segment has sourceIndex -1). The segments of
 * generated line `l` (0-based) are `lineStart[l] .. lineStart[l+1]`, sorted by
 * generated column.
 */
export interface DecodedMappings {
  segs: Int32Array;
  lineStart: Int32Array;
}

// ---- base64 VLQ -----------------------------------------------------------------

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_VALUE[B64.charCodeAt(i)] = i;

/**
 * Decodes one VLQ number of `s` starting at `pos`. Returns the value; the
 * position after it is stored in `state[0]`.
 */
export function decodeVLQ(s: string, pos: number, state: Int32Array | number[]): number {
  let result = 0;
  let shift = 0;
  let digit: number;
  do {
    const c = s.charCodeAt(pos++);
    digit = c < 128 ? B64_VALUE[c] : -1;
    if (digit < 0) throw new SyntaxError(`invalid base64 VLQ character at ${pos - 1}`);
    if (shift > 30) throw new SyntaxError(`base64 VLQ value too large at ${pos - 1}`);
    result |= (digit & 31) << shift;
    shift += 5;
  } while (digit & 32);
  state[0] = pos;
  const neg = result & 1;
  result >>>= 1;
  return neg ? (result === 0 ? -0x80000000 : -result) : result;
}

/** Encodes one number as base64 VLQ. */
export function encodeVLQ(value: number): string {
  let v = value < 0 ? -value * 2 + 1 : value * 2;
  let out = '';
  do {
    let digit = v % 32;
    v = Math.floor(v / 32);
    if (v > 0) digit |= 32;
    out += B64[digit];
  } while (v > 0);
  return out;
}

// ---- mappings -------------------------------------------------------------------

class SegBuffer {
  segs = new Int32Array(1024);
  n = 0;
  push(g: number, s: number, l: number, c: number, name: number): void {
    if ((this.n + 1) * SEG > this.segs.length) {
      const bigger = new Int32Array(this.segs.length * 2);
      bigger.set(this.segs);
      this.segs = bigger;
    }
    const o = this.n++ * SEG;
    this.segs[o] = g;
    this.segs[o + 1] = s;
    this.segs[o + 2] = l;
    this.segs[o + 3] = c;
    this.segs[o + 4] = name;
  }
  finish(): Int32Array {
    return this.segs.slice(0, this.n * SEG);
  }
}

/** Decodes a `mappings` string. */
export function decodeMappings(mappings: string): DecodedMappings {
  const buf = new SegBuffer();
  const lineStart: number[] = [0];
  const st = [0];
  let src = 0;
  let oLine = 0;
  let oCol = 0;
  let name = 0;
  let gCol = 0;
  let lineFirst = 0;
  let sorted = true;
  const len = mappings.length;
  let pos = 0;
  const endLine = () => {
    if (!sorted) sortLine(buf.segs, lineFirst, buf.n);
    lineStart.push(buf.n);
    lineFirst = buf.n;
    sorted = true;
    gCol = 0;
  };
  while (pos < len) {
    const c = mappings.charCodeAt(pos);
    if (c === 59 /* ; */) {
      pos++;
      endLine();
      continue;
    }
    if (c === 44 /* , */) {
      pos++;
      continue;
    }
    const g = gCol + decodeVLQ(mappings, pos, st);
    pos = st[0];
    if (g < gCol) sorted = false;
    gCol = g;
    let s = -1;
    let l = -1;
    let col = -1;
    let nm = -1;
    if (pos < len && mappings.charCodeAt(pos) !== 44 && mappings.charCodeAt(pos) !== 59) {
      src += decodeVLQ(mappings, pos, st);
      oLine += decodeVLQ(mappings, st[0], st);
      oCol += decodeVLQ(mappings, st[0], st);
      pos = st[0];
      s = src;
      l = oLine;
      col = oCol;
      if (pos < len && mappings.charCodeAt(pos) !== 44 && mappings.charCodeAt(pos) !== 59) {
        name += decodeVLQ(mappings, pos, st);
        pos = st[0];
        nm = name;
      }
    }
    buf.push(g, s, l, col, nm);
  }
  endLine();
  return { segs: buf.finish(), lineStart: Int32Array.from(lineStart) };
}

function sortLine(segs: Int32Array, from: number, to: number): void {
  const rows: number[][] = [];
  for (let i = from; i < to; i++) rows.push(Array.from(segs.subarray(i * SEG, i * SEG + SEG)));
  rows.sort((a, b) => a[0] - b[0]);
  for (let i = 0; i < rows.length; i++) segs.set(rows[i], (from + i) * SEG);
}

// VLQ strings of small numbers, the vast majority of deltas
const VLQ_CACHE_MIN = -1024;
const VLQ_CACHE = Array.from({ length: 2048 }, (_, i) => encodeVLQ(i + VLQ_CACHE_MIN));

function vlq(v: number): string {
  const i = v - VLQ_CACHE_MIN;
  return i >= 0 && i < 2048 ? VLQ_CACHE[i] : encodeVLQ(v);
}

/** Encodes decoded mappings back to a `mappings` string. */
export function encodeMappings(m: DecodedMappings): string {
  let out = '';
  let src = 0;
  let oLine = 0;
  let oCol = 0;
  let name = 0;
  const lines = m.lineStart.length - 1;
  const segs = m.segs;
  for (let l = 0; l < lines; l++) {
    if (l > 0) out += ';';
    let gCol = 0;
    const first = m.lineStart[l];
    const last = m.lineStart[l + 1];
    for (let i = first; i < last; i++) {
      const o = i * SEG;
      if (i > first) out += ',';
      out += vlq(segs[o] - gCol);
      gCol = segs[o];
      if (segs[o + 1] < 0) continue;
      out += vlq(segs[o + 1] - src) + vlq(segs[o + 2] - oLine) + vlq(segs[o + 3] - oCol);
      src = segs[o + 1];
      oLine = segs[o + 2];
      oCol = segs[o + 3];
      if (segs[o + 4] >= 0) {
        out += vlq(segs[o + 4] - name);
        name = segs[o + 4];
      }
    }
  }
  return out;
}

// ---- parsing ----------------------------------------------------------------------

/**
 * Parses a source map (JSON text, possibly with the `)]}'` XSSI prefix, or an
 * already parsed object). Index maps (`sections`) are flattened into one map.
 */
export function parseSourceMap(input: string | RawSourceMap | IndexMap): RawSourceMap {
  let obj: RawSourceMap | IndexMap;
  if (typeof input === 'string') {
    const text = input.startsWith(")]}'") ? input.slice(input.indexOf('\n') + 1) : input;
    obj = JSON.parse(text) as RawSourceMap | IndexMap;
  } else {
    obj = input;
  }
  if (!obj || typeof obj !== 'object') throw new SyntaxError('source map is not an object');
  if (obj.version !== 3) throw new SyntaxError(`unsupported source map version ${String(obj.version)}`);
  if ('sections' in obj && Array.isArray(obj.sections)) return flattenIndexMap(obj);
  const m = obj as RawSourceMap;
  if (typeof m.mappings !== 'string' || !Array.isArray(m.sources)) throw new SyntaxError('source map lacks mappings or sources');
  return { ...m, names: Array.isArray(m.names) ? m.names : [] };
}

function flattenIndexMap(index: IndexMap): RawSourceMap {
  const sources: Array<string | null> = [];
  const sourcesContent: Array<string | null> = [];
  const names: string[] = [];
  const lines: number[][][] = [];
  let anyContent = false;
  for (const section of index.sections) {
    const sub = parseSourceMap(section.map);
    const root = sub.sourceRoot ? sub.sourceRoot.replace(/\/?$/, '/') : '';
    const srcBase = sources.length;
    const nameBase = names.length;
    sub.sources.forEach((s, i) => {
      sources.push(s === null ? null : root + s);
      const content = sub.sourcesContent?.[i] ?? null;
      if (content !== null) anyContent = true;
      sourcesContent.push(content);
    });
    names.push(...sub.names);
    const d = decodeMappings(sub.mappings);
    const { line: offLine, column: offCol } = section.offset;
    for (let l = 0; l + 1 < d.lineStart.length; l++) {
      const gl = l + offLine;
      while (lines.length <= gl) lines.push([]);
      for (let i = d.lineStart[l]; i < d.lineStart[l + 1]; i++) {
        const o = i * SEG;
        const g = d.segs[o] + (l === 0 ? offCol : 0);
        lines[gl].push(
          d.segs[o + 1] < 0
            ? [g, -1, -1, -1, -1]
            : [g, d.segs[o + 1] + srcBase, d.segs[o + 2], d.segs[o + 3], d.segs[o + 4] < 0 ? -1 : d.segs[o + 4] + nameBase],
        );
      }
    }
  }
  const buf = new SegBuffer();
  const lineStart = [0];
  for (const row of lines) {
    row.sort((a, b) => a[0] - b[0]);
    for (const s of row) buf.push(s[0], s[1], s[2], s[3], s[4]);
    lineStart.push(buf.n);
  }
  const mappings = encodeMappings({ segs: buf.finish(), lineStart: Int32Array.from(lineStart) });
  return { version: 3, file: index.file, sources, names, mappings, ...(anyContent ? { sourcesContent } : {}) };
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
 * A parsed, decoded source map ready for lookups.
 *
 * `resolvedSources[i]` is source `i` with `sourceRoot` applied and resolved
 * against `mapUrl` when that is an absolute URL (so `file:` URLs come out
 * absolute); otherwise as written.
 */
export class SourceMap {
  readonly raw: RawSourceMap;
  readonly decoded: DecodedMappings;
  readonly resolvedSources: string[];

  constructor(map: string | RawSourceMap, mapUrl?: string) {
    this.raw = parseSourceMap(map);
    this.decoded = decodeMappings(this.raw.mappings);
    this.resolvedSources = this.raw.sources.map((s) => resolveSource(s ?? '', this.raw.sourceRoot, mapUrl));
  }

  /**
   * Index of the segment covering generated (line0, column0): the last segment
   * of that line starting at or before the column (greatest lower bound), or
   * -1. Allocation-free.
   */
  segmentFor(line0: number, column0: number): number {
    const { lineStart, segs } = this.decoded;
    if (line0 < 0 || line0 + 1 >= lineStart.length) return -1;
    let lo = lineStart[line0];
    let hi = lineStart[line0 + 1] - 1;
    if (hi < lo || segs[lo * SEG] > column0) return -1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (segs[mid * SEG] <= column0) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Original position of generated (line 1-based, column 0-based). */
  originalPositionFor(line: number, column: number): OriginalPosition {
    const i = this.segmentFor(line - 1, column);
    const o = i * SEG;
    if (i < 0 || this.decoded.segs[o + 1] < 0) return { source: null, sourceIndex: -1, line: 0, column: 0, name: null };
    const s = this.decoded.segs;
    return {
      source: this.resolvedSources[s[o + 1]] ?? null,
      sourceIndex: s[o + 1],
      line: s[o + 2] + 1,
      column: s[o + 3],
      name: s[o + 4] >= 0 ? (this.raw.names[s[o + 4]] ?? null) : null,
    };
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
  const out: number[] = [0];
  for (let i = 0; i < code.length; i++) {
    const c = code.charCodeAt(i);
    if (c === 10 || c === 0x2028 || c === 0x2029) out.push(i + 1);
    else if (c === 13) {
      if (code.charCodeAt(i + 1) === 10) i++;
      out.push(i + 1);
    }
  }
  return Int32Array.from(out);
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

// ---- composition with an insertion-only edit --------------------------------------------

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
}

/**
 * Mappings for `output = input with insertions`, composed with the input's own
 * map (`base`, mapping the input to the original sources), or, without `base`,
 * mapping to the input itself as source 0.
 *
 * - Each base segment moves right by the text inserted at or before its column.
 * - Each insertion gets a segment at its start (mapping to where the input
 *   offset maps) and one where the input resumes (mapping to `mapTo`).
 * - Without a base map, `anchors` (input offsets) get identity segments too, so
 *   positions V8 reports (calls, property names) map to exact columns.
 *
 * @param insertions sorted by offset; at most one per offset (merge texts first)
 */
export function composeInsertionMappings(
  inputLineStarts: Int32Array,
  insertions: readonly Insertion[],
  base: SourceMap | null,
  anchors: readonly number[] = [],
): DecodedMappings {
  const buf = new SegBuffer();
  const lineStart: number[] = [0];
  const lines = inputLineStarts.length;
  const bsegs = base?.decoded.segs;
  const blines = base?.decoded.lineStart;
  const sortedAnchors = Int32Array.from(anchors).sort();
  let ins = 0;
  let anc = 0;
  // per-line scratch rows of ROW numbers: newCol, priority, src, line, col, name
  const ROW = 6;
  let rows = new Int32Array(64 * ROW);
  let n = 0;
  const add = (col: number, prio: number, s: number, l: number, c: number, nm: number) => {
    if ((n + 1) * ROW > rows.length) {
      const bigger = new Int32Array(rows.length * 2);
      bigger.set(rows);
      rows = bigger;
    }
    const o = n++ * ROW;
    rows[o] = col;
    rows[o + 1] = prio;
    rows[o + 2] = s;
    rows[o + 3] = l;
    rows[o + 4] = c;
    rows[o + 5] = nm;
  };
  // where input (line, col) maps: identity, or the base map's covering segment
  const addTarget = (newCol: number, prio: number, line: number, col: number) => {
    if (!base) {
      add(newCol, prio, 0, line, col, -1);
      return;
    }
    const i = base.segmentFor(line, col);
    if (i < 0 || bsegs![i * SEG + 1] < 0) return;
    const o = i * SEG;
    add(newCol, prio, bsegs![o + 1], bsegs![o + 2], bsegs![o + 3], bsegs![o + 4]);
  };
  let order = new Uint32Array(64);

  for (let l = 0; l < lines; l++) {
    const ls = inputLineStarts[l];
    const le = l + 1 < lines ? inputLineStarts[l + 1] : Number.MAX_SAFE_INTEGER;
    const i0 = ins;
    while (ins < insertions.length && insertions[ins].offset < le) ins++;
    const i1 = ins;
    n = 0;
    if (base) {
      // base segments move right by the text inserted at or before their column
      if (l + 1 < blines!.length) {
        let k = i0;
        let shift = 0;
        for (let i = blines![l]; i < blines![l + 1]; i++) {
          const o = i * SEG;
          const g = bsegs![o];
          while (k < i1 && insertions[k].offset - ls <= g) shift += insertions[k++].length;
          add(g + shift, 1, bsegs![o + 1], bsegs![o + 2], bsegs![o + 3], bsegs![o + 4]);
        }
      }
    } else {
      add(0, 0, 0, l, 0, -1);
    }
    // each insertion: its text maps to its offset; the input resuming after it to mapTo
    let before = 0;
    for (let k = i0; k < i1; k++) {
      const x = insertions[k];
      const col = x.offset - ls;
      addTarget(col + before, 0, l, col);
      before += x.length;
      const to = (x.mapTo ?? x.offset) - ls;
      addTarget(col + before, to !== col ? 2 : 0, l, to);
    }
    if (!base) {
      let k = i0;
      let shift = 0;
      while (anc < sortedAnchors.length && sortedAnchors[anc] < le) {
        const col = sortedAnchors[anc++] - ls;
        if (col < 0) continue;
        while (k < i1 && insertions[k].offset - ls <= col) shift += insertions[k++].length;
        add(col + shift, 1, 0, l, col, -1);
      }
    }
    // sort rows by column, highest priority first at equal columns; keep the first per column
    if (order.length < n) order = new Uint32Array(n * 2);
    for (let i = 0; i < n; i++) order[i] = i;
    const ord = order.subarray(0, n);
    ord.sort((a, b) => rows[a * ROW] - rows[b * ROW] || rows[b * ROW + 1] - rows[a * ROW + 1]);
    let lastCol = -1;
    let prev = -1;
    for (let j = 0; j < n; j++) {
      const o = ord[j] * ROW;
      if (rows[o] === lastCol) continue;
      lastCol = rows[o];
      // without a base map, drop a segment that says nothing new
      if (!base && prev >= 0 && rows[prev + 3] === rows[o + 3] && rows[prev + 4] === rows[o + 4]) continue;
      buf.push(rows[o], rows[o + 2], rows[o + 3], rows[o + 4], rows[o + 5]);
      prev = o;
    }
    lineStart.push(buf.n);
  }
  return { segs: buf.finish(), lineStart: Int32Array.from(lineStart) };
}
