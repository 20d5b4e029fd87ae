/**
 * A disk-backed timeline for sessions of any size, in bounded memory.
 *
 * It is the {@link AttemptSink} of the session's ingest: rows (attempts,
 * aborts, waits, blocked waits) fill an in-memory tail of at most
 * `segmentRows` rows per table; a full tail becomes a segment: its summary
 * goes into the {@link SummaryTree} (model/timeline.ts) and its rows, column
 * by column, are appended to a detail file. Tree histograms go to the same
 * file. Memory holds only the tree's directory (≈200 bytes per segment and
 * node), the tail, and two LRU caches (segments read back, histograms).
 *
 * ```
 *  detail file:  [seg 0 columns][hist n0][seg 1 columns][hist n1] … [hist parent] …
 *  memory:       SummaryTree nodes (spans, lanes, counts) + offsets
 *                tail rows (≤ segmentRows per table)
 *                LRU: segments (rows + culprit lookup), histograms
 * ```
 *
 * Queries run the shared code of model/timeline.ts; a wide window reads a few
 * histograms, a narrow one a few segments (`pixels / bins + 2` at most).
 */
import { rmSync } from 'node:fs';
import { FileAppender } from './appender.ts';
import { ColumnTable, type TypedArray, type TypedArrayCtor } from '../../model/columns.ts';
import type { AttemptSink } from '../../model/assemble.ts';
import { Definitions } from '../../model/defs.ts';
import { STORE_SCHEMAS, addAbortRow, addAttemptRow, addBlockedRow, addWaitRow, type AbortTable, type AttemptTable, type BlockedTable, type WaitTable } from '../../model/store.ts';
import { SegmentedTimeline, type HistogramStore, type SegmentProvider, type SegmentRows } from '../../model/timeline.ts';

// The store's column schemas (same columns, same order).
const SCHEMAS = STORE_SCHEMAS;
type Schema = Record<string, TypedArrayCtor>;
const TABLES = ['attempts', 'aborts', 'waits', 'blocked'] as const;
type TableName = (typeof TABLES)[number];

const COMMITTED = 0;
const pad8 = (n: number) => (n + 7) & ~7;

/** Bytes of one table's columns for `n` rows (each column padded to 8). */
function tableBytes(schema: Schema, n: number): number {
  let b = 0;
  for (const k of Object.keys(schema)) b += pad8(n * schema[k].BYTES_PER_ELEMENT);
  return b;
}

/** Bytes of the resolved columns after a segment's tables (abortCulpritNs, abortVictimAttempt, blockedBlockerNs). */
function extrasBytes(aborts: number, blocked: number): number {
  return pad8(aborts * 8) + pad8(aborts * 4) + pad8(blocked * 8);
}

/** Views of the resolved columns stored at `at` in `buf`. */
function attachExtras(rows: SegmentRows, buf: ArrayBuffer, at: number, aborts: number, blocked: number): void {
  rows.abortCulpritNs = new Float64Array(buf, at, aborts);
  at += pad8(aborts * 8);
  rows.abortVictimAttempt = new Uint32Array(buf, at, aborts);
  at += pad8(aborts * 4);
  rows.blockedBlockerNs = new Float64Array(buf, at, blocked);
}

/** Rows of no table (a dropped segment). */
function emptyRows(starts: number[]): SegmentRows {
  const cols = (schema: Schema) => {
    const out: Record<string, TypedArray> = {};
    for (const k of Object.keys(schema)) out[k] = new schema[k](0);
    return out;
  };
  return {
    attempt0: starts[0],
    attemptCount: 0,
    attempts: cols(SCHEMAS.attempts as Schema) as unknown as SegmentRows['attempts'],
    abort0: starts[1],
    abortCount: 0,
    aborts: cols(SCHEMAS.aborts as Schema) as unknown as SegmentRows['aborts'],
    wait0: starts[2],
    waitCount: 0,
    waits: cols(SCHEMAS.waits as Schema) as unknown as SegmentRows['waits'],
    blocked0: starts[3],
    blockedCount: 0,
    blocked: cols(SCHEMAS.blocked as Schema) as unknown as SegmentRows['blocked'],
    abortCulpritNs: new Float64Array(0),
    abortVictimAttempt: new Uint32Array(0),
    blockedBlockerNs: new Float64Array(0),
  };
}

/** The last commits of one worker (txSeq increasing), searched by bisection. */
class RecentCommits {
  static readonly SIZE = 16384;
  private readonly tx = new Uint32Array(RecentCommits.SIZE);
  private readonly end = new Float64Array(RecentCommits.SIZE);
  private n = 0;
  push(txSeq: number, endNs: number): void {
    const k = this.n % RecentCommits.SIZE;
    this.tx[k] = txSeq;
    this.end[k] = endNs;
    this.n++;
  }
  /** End of commit `txSeq` if it is among the last SIZE, else −1. */
  find(txSeq: number): number {
    const N = RecentCommits.SIZE;
    let lo = Math.max(0, this.n - N);
    let hi = this.n - 1;
    const want = txSeq >>> 0;
    while (lo <= hi) {
      const mid = Math.floor((lo + hi) / 2);
      const v = this.tx[mid % N];
      if (v === want) return this.end[mid % N];
      if (v < want) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }
}

/**
 * Where a timeline stands at a mark ({@link DiskTimeline.mark}): everything
 * before it is in complete segments and extents of its own, so a retention
 * policy can drop it whole ({@link DiskTimeline.dropBefore}).
 */
export interface TimelineMark {
  /** segments before the mark */
  segments: number;
  /** global ids of the first rows after the mark (attempts, aborts, waits, blocked) */
  rows: [number, number, number, number];
  /** the detail extent rows after the mark go to */
  extent: number;
  /** every row before the mark lies before this time (ns) */
  endNs: number;
}

/** Options of {@link DiskTimeline}. */
export interface DiskTimelineOptions {
  /** Rows per segment (per table). Default 32768. */
  segmentRows?: number;
  /** Histogram buckets per tree node. Default 2048. */
  bins?: number;
  fanout?: number;
  /** Memory for segments read back. Default 24 MiB. */
  segmentCacheBytes?: number;
  /** Memory for histograms. Default 16 MiB. */
  histCacheBytes?: number;
}

interface SegmentLoc {
  offset: number;
  bytes: number;
  counts: [number, number, number, number];
  starts: [number, number, number, number];
}

interface CachedSegment {
  rows: SegmentRows;
  bytes: number;
  commits?: CommitIndex;
}

/** A small LRU by bytes. */
class Lru<V> {
  private readonly map = new Map<number, { v: V; bytes: number }>();
  bytes = 0;
  constructor(private readonly budget: number) {}
  get(k: number): V | undefined {
    const e = this.map.get(k);
    if (!e) return undefined;
    this.map.delete(k);
    this.map.set(k, e);
    return e.v;
  }
  set(k: number, v: V, bytes: number): void {
    const old = this.map.get(k);
    if (old) {
      this.bytes -= old.bytes;
      this.map.delete(k);
    }
    this.map.set(k, { v, bytes });
    this.bytes += bytes;
    for (const [key, e] of this.map) {
      if (this.bytes <= this.budget || this.map.size <= 1) break;
      this.map.delete(key);
      this.bytes -= e.bytes;
    }
  }
  clear(): void {
    this.map.clear();
    this.bytes = 0;
  }
}

/** Histograms appended to the detail file, cached by LRU. */
class DiskHistograms implements HistogramStore {
  private readonly where: Array<[number, number]> = [];
  private readonly cache: Lru<Float32Array>;
  constructor(
    private readonly file: DetailFile,
    budget: number,
  ) {
    this.cache = new Lru(budget);
  }
  get byteLength(): number {
    return this.cache.bytes + this.where.length * 16;
  }
  put(node: number, hist: Float32Array): void {
    const off = this.file.append(new Uint8Array(hist.buffer, hist.byteOffset, hist.byteLength));
    this.where[node] = [off, hist.length];
    this.cache.set(node, hist, hist.byteLength);
  }
  get(node: number): Float32Array {
    const c = this.cache.get(node);
    if (c) return c;
    const [off, n] = this.where[node];
    const h = new Float32Array(n);
    // a dropped segment's histogram reads as empty: a parent built over it
    // later holds only what is left (queries never read such parents anyway)
    if (!this.file.has(off)) return h;
    this.file.read(new Uint8Array(h.buffer), off);
    this.cache.set(node, h, h.byteLength);
    return h;
  }
}

/**
 * The append-only detail file (written in the background, readable at once),
 * in extents: `path`, then `path.1`, `path.2`, … from each {@link roll} on, so
 * a retention policy can delete the oldest detail by deleting whole files.
 * Offsets run on across extents.
 */
class DetailFile {
  /** extents still on disk: first logical offset, appender (its offsets start at 0) */
  private readonly extents: Array<{ n: number; start: number; out: FileAppender }> = [];
  private next = 0;
  private end = 0;
  constructor(readonly path: string) {
    this.open();
  }
  private open(): void {
    const n = this.next++;
    this.extents.push({ n, start: this.end, out: new FileAppender(n === 0 ? this.path : `${this.path}.${n}`, 'w+') });
  }
  /** logical end: everything appended, dropped extents included */
  get size(): number {
    return this.end;
  }
  /** bytes of the extents still on disk */
  get diskBytes(): number {
    let b = 0;
    for (const e of this.extents) b += e.out.size;
    return b;
  }
  /** number of the extent appends go to now */
  get current(): number {
    return this.extents[this.extents.length - 1].n;
  }
  files(): string[] {
    return this.extents.map((e) => e.out.path);
  }
  append(b: Uint8Array): number {
    const e = this.extents[this.extents.length - 1];
    const at = this.end;
    e.out.append(b, pad8(b.length));
    this.end = e.start + e.out.size;
    return at;
  }
  /** Whether `offset` lies in an extent still on disk. */
  has(offset: number): boolean {
    return offset >= this.extents[0].start;
  }
  read(into: Uint8Array, offset: number): void {
    for (let i = this.extents.length - 1; i >= 0; i--) {
      const e = this.extents[i];
      if (offset >= e.start) return e.out.read(into, offset - e.start);
    }
    throw new Error(`${this.path}: offset ${offset} lies in dropped detail`);
  }
  /** Further appends go to a new extent (the current one is complete). */
  roll(): void {
    if (this.extents[this.extents.length - 1].out.size === 0) return;
    this.open();
  }
  /** Closes and deletes the extents numbered below `n`. */
  dropBelow(n: number): void {
    while (this.extents.length > 1 && this.extents[0].n < n) {
      const e = this.extents.shift()!;
      // unlinked now, while a background write may still be landing: its blocks are freed at the close right after
      e.out.close();
      rmSync(e.out.path, { force: true });
    }
  }
  flush(): void {
    for (const e of this.extents) e.out.flushSync();
  }
  close(): void {
    for (const e of this.extents) e.out.close();
  }
}

/**
 * The session's timeline: feed it as the assembler's sink, query it as a
 * {@link SegmentedTimeline}. {@link close} deletes nothing: the caller owns
 * the detail file.
 */
export class DiskTimeline extends SegmentedTimeline implements AttemptSink {
  private readonly file: DetailFile;
  private readonly K: number;
  private readonly tables: { attempts: AttemptTable; aborts: AbortTable; waits: WaitTable; blocked: BlockedTable };
  /** global id of the tail's first row, per table */
  private readonly base: [number, number, number, number] = [0, 0, 0, 0];
  private readonly locs: SegmentLoc[] = [];
  private readonly segCache: Lru<CachedSegment>;
  /** running max of segment maxNs: monotonic, for culprit search */
  private readonly prefixMax: number[] = [];
  private tailView: { key: number; rows: SegmentRows; commits?: CommitIndex } | undefined;
  /** the last commits per worker, to resolve culprits when a segment is sealed */
  private readonly recent: Array<RecentCommits | undefined> = [];

  constructor(
    readonly path: string,
    defs: Definitions,
    opts: DiskTimelineOptions = {},
  ) {
    const file = new DetailFile(path);
    const histograms = new DiskHistograms(file, opts.histCacheBytes ?? 16 << 20);
    const provider: SegmentProvider = {
      defs,
      segment: (i) => this.segment(i).rows,
      tail: () => this.tail().rows,
      commitEnd: (w, tx, near) => this.commitEnd(w, tx, near),
      conflictSegment: (i) => this.conflictSegment(i),
    };
    super(provider, { bins: opts.bins ?? 2048, fanout: opts.fanout ?? 8, histograms });
    this.file = file;
    this.K = opts.segmentRows ?? 32768;
    this.segCache = new Lru(opts.segmentCacheBytes ?? 24 << 20);
    this.tables = {
      attempts: new ColumnTable(SCHEMAS.attempts, this.K),
      aborts: new ColumnTable(SCHEMAS.aborts, this.K),
      waits: new ColumnTable(SCHEMAS.waits, this.K),
      blocked: new ColumnTable(SCHEMAS.blocked, this.K),
    };
  }

  /** Rows so far, per table. */
  get rowCounts(): { attempts: number; aborts: number; waits: number; blocked: number } {
    const t = this.tables;
    return {
      attempts: this.base[0] + t.attempts.length,
      aborts: this.base[1] + t.aborts.length,
      waits: this.base[2] + t.waits.length,
      blocked: this.base[3] + t.blocked.length,
    };
  }

  /** Bytes this timeline holds in memory (tail capacity, caches, directory). */
  get memoryBytes(): number {
    let tail = 0;
    for (const t of TABLES) tail += this.tables[t].byteLength;
    return tail + this.segCache.bytes + this.tree.histograms.byteLength + this.tree.segments.length * 400;
  }

  /** Bytes of detail on disk (dropped extents excluded). */
  get detailBytes(): number {
    return this.file.diskBytes;
  }

  /** The detail files still on disk (the caller deletes them). */
  files(): string[] {
    return this.file.files();
  }

  // -- retention ------------------------------------------------------------------

  /**
   * Seals the tail and starts a new detail extent: what came before can later
   * be dropped whole. Called at the recording's part boundaries (retention.ts),
   * live and when a session is read again, so both cut the same segments.
   */
  mark(): TimelineMark {
    this.seal();
    this.file.roll();
    const n = this.tree.segments.length;
    return { segments: n, rows: [...this.base], extent: this.file.current, endNs: n > 0 ? this.prefixMax[n - 1] + 1 : 0 };
  }

  /**
   * Drops the detail before a mark: queries answer nothing before its time,
   * and its extents are deleted (once closed).
   * @param startNs the session's first time (bounds keep it)
   */
  dropBefore(m: TimelineMark, startNs: number, workers: number[]): void {
    const beforeNs = Math.max(m.endNs, this.cut?.beforeNs ?? 0);
    this.dropDetail({ firstSegment: m.segments, beforeNs, startNs, workers });
    this.segCache.clear();
    this.file.dropBelow(m.extent);
  }

  /**
   * Continues a trimmed timeline (a session read again after its detail was
   * dropped): row ids go on from `rows`, nothing before `beforeNs` is answered.
   * Only before the first row.
   */
  resumeAfterDrop(rows: [number, number, number, number], beforeNs: number, startNs: number, workers: number[]): void {
    const c = this.rowCounts;
    if (c.attempts + c.aborts + c.waits + c.blocked > 0) throw new Error('resumeAfterDrop: the timeline already has rows');
    for (let k = 0; k < 4; k++) this.base[k] = rows[k];
    this.dropDetail({ firstSegment: 0, beforeNs, startNs, workers });
  }

  /** Writes what the background writer still holds (the detail file is complete on disk after this). */
  flush(): void {
    this.file.flush();
  }

  close(): void {
    this.file.close();
    this.segCache.clear();
  }

  // -- AttemptSink ------------------------------------------------------------

  attempt(worker: number, txSeq: number, attempt: number, startNs: number, endNs: number, outcome: number, flags: number, name: number, site: number, waitNs: number, inevitableNs: number, reads: number, writes: number): void {
    if (this.tables.attempts.length >= this.K) this.seal();
    addAttemptRow(this.tables.attempts, worker, txSeq, attempt, startNs, endNs, outcome, flags, name, site, waitNs, inevitableNs, reads, writes);
    if (outcome === COMMITTED) (this.recent[worker] ??= new RecentCommits()).push(txSeq, endNs);
  }

  abort(worker: number, txSeq: number, timeNs: number, kind: number, object: number, field: number, victimSite: number, culpritWorker: number, culpritTxSeq: number, culpritSite: number, waitNs: number, timeLostNs: number): void {
    // No seal here: the aborted attempt was reported just before and must stay in
    // the same segment (an all-aborts tail grows past K instead).
    const at = this.tables.attempts;
    const a = at.length - 1;
    const r = addAbortRow(this.tables.aborts, this.base[0] + a, worker, txSeq, timeNs, kind, object, field, victimSite, culpritWorker, culpritTxSeq, culpritSite, waitNs, timeLostNs);
    if (a >= 0) at.cols.abort[a] = this.base[1] + r;
  }

  wait(worker: number, txSeq: number, beginNs: number, endNs: number, reason: number, blockerWorker: number, blockerTxSeq: number, site: number, inAttempt: boolean): void {
    if (this.tables.waits.length >= this.K) this.seal();
    addWaitRow(this.tables.waits, worker, txSeq, beginNs, endNs, reason, blockerWorker, blockerTxSeq, site, inAttempt);
  }

  blocked(worker: number, txSeq: number, timeNs: number, blockerWorker: number, blockerTxSeq: number, blockerSite: number, waitNs: number, waiterSite: number): void {
    if (this.tables.blocked.length >= this.K) this.seal();
    addBlockedRow(this.tables.blocked, worker, txSeq, timeNs, blockerWorker, blockerTxSeq, blockerSite, waitNs, waiterSite);
  }

  inevitable(): void {}
  fail(): void {}
  dropped(): void {}

  // -- segments -----------------------------------------------------------------

  /** Turns the tail into a segment: summary into the tree, rows to disk. */
  seal(): void {
    const counts = TABLES.map((t) => this.tables[t].length) as [number, number, number, number];
    if (counts[0] + counts[1] + counts[2] + counts[3] === 0) return;
    const rows = this.viewOf(this.tables, counts, this.base);
    this.tree.addSegment(rows);
    // resolved now, so a conflict never needs attempt rows later: culprit/blocker commit ends, victim attempt numbers
    const extras = this.resolveExtras(counts);
    // columns, table by table, each padded to 8 bytes, then the resolved columns
    let total = 0;
    for (let k = 0; k < 4; k++) total += tableBytes(SCHEMAS[TABLES[k]] as Schema, counts[k]);
    total += extrasBytes(counts[1], counts[3]);
    const block = new Uint8Array(total);
    let at = 0;
    const put = (col: TypedArray) => {
      block.set(new Uint8Array(col.buffer, col.byteOffset, col.byteLength), at);
      at += pad8(col.byteLength);
    };
    for (let k = 0; k < 4; k++) {
      const t = this.tables[TABLES[k]] as unknown as ColumnTable<Schema>;
      for (const name of Object.keys(t.schema)) put(t.cols[name].subarray(0, counts[k]));
    }
    put(extras.abortCulpritNs);
    put(extras.abortVictimAttempt);
    put(extras.blockedBlockerNs);
    const offset = this.file.append(block);
    this.locs.push({ offset, bytes: total, counts, starts: [...this.base] as [number, number, number, number] });
    const s = this.tree.segments[this.tree.segments.length - 1];
    this.prefixMax.push(Math.max(this.prefixMax.length ? this.prefixMax[this.prefixMax.length - 1] : -Infinity, s.maxNs));
    for (let k = 0; k < 4; k++) {
      this.base[k] += counts[k];
      this.tables[TABLES[k]].length = 0;
    }
    this.tailView = undefined;
  }

  private resolveExtras(counts: number[]): { abortCulpritNs: Float64Array; abortVictimAttempt: Uint32Array; blockedBlockerNs: Float64Array } {
    const ab = this.tables.aborts.cols;
    const at = this.tables.attempts.cols;
    const bl = this.tables.blocked.cols;
    const abortCulpritNs = new Float64Array(counts[1]);
    const abortVictimAttempt = new Uint32Array(counts[1]);
    const blockedBlockerNs = new Float64Array(counts[3]);
    for (let r = 0; r < counts[1]; r++) {
      const cw = ab.culpritWorker[r] as number;
      abortCulpritNs[r] = cw < 0 ? -1 : (this.recent[cw]?.find(ab.culpritTxSeq[r] as number) ?? -1);
      const a = (ab.attempt[r] as number) - this.base[0];
      abortVictimAttempt[r] = a >= 0 && a < counts[0] ? (at.attempt[a] as number) : 0;
    }
    for (let r = 0; r < counts[3]; r++) {
      const bw = bl.blockerWorker[r] as number;
      blockedBlockerNs[r] = bw < 0 ? -1 : (this.recent[bw]?.find(bl.blockerTxSeq[r] as number) ?? -1);
    }
    return { abortCulpritNs, abortVictimAttempt, blockedBlockerNs };
  }

  private viewOf(tables: { [T in TableName]: ColumnTable<Schema> } | Record<TableName, Record<string, TypedArray>>, counts: number[], starts: number[]): SegmentRows {
    const cols = (t: TableName, n: number) => {
      const src = tables[t] instanceof ColumnTable ? (tables[t] as ColumnTable<Schema>).cols : (tables[t] as Record<string, TypedArray>);
      const out: Record<string, TypedArray> = {};
      for (const k of Object.keys(src)) out[k] = src[k].subarray(0, n);
      return out;
    };
    return {
      attempt0: starts[0],
      attemptCount: counts[0],
      attempts: cols('attempts', counts[0]) as unknown as SegmentRows['attempts'],
      abort0: starts[1],
      abortCount: counts[1],
      aborts: cols('aborts', counts[1]) as unknown as SegmentRows['aborts'],
      wait0: starts[2],
      waitCount: counts[2],
      waits: cols('waits', counts[2]) as unknown as SegmentRows['waits'],
      blocked0: starts[3],
      blockedCount: counts[3],
      blocked: cols('blocked', counts[3]) as unknown as SegmentRows['blocked'],
    };
  }

  private segment(i: number): CachedSegment {
    // dropped (a culprit search may still look near the cut): nothing there any more
    if (i < (this.cut?.firstSegment ?? 0)) return { rows: emptyRows(this.locs[i]?.starts ?? [0, 0, 0, 0]), bytes: 0 };
    const hit = this.segCache.get(i);
    if (hit) return hit;
    const loc = this.locs[i];
    const buf = new ArrayBuffer(loc.bytes);
    this.file.read(new Uint8Array(buf), loc.offset);
    const tables = {} as Record<TableName, Record<string, TypedArray>>;
    let at = 0;
    for (let k = 0; k < 4; k++) {
      const schema = SCHEMAS[TABLES[k]] as Schema;
      const cols: Record<string, TypedArray> = {};
      for (const name of Object.keys(schema)) {
        const C = schema[name];
        cols[name] = new C(buf, at, loc.counts[k]);
        at += pad8(loc.counts[k] * C.BYTES_PER_ELEMENT);
      }
      tables[TABLES[k]] = cols;
    }
    const rows = this.viewOf(tables, loc.counts, loc.starts);
    attachExtras(rows, buf, at, loc.counts[1], loc.counts[3]);
    const seg: CachedSegment = { rows, bytes: loc.bytes };
    this.segCache.set(i, seg, loc.bytes);
    return seg;
  }

  /** Only the aborts and blocked waits of segment `i` (two small reads instead of the whole segment). */
  private conflictSegment(i: number): SegmentRows {
    if (i < (this.cut?.firstSegment ?? 0)) return emptyRows(this.locs[i]?.starts ?? [0, 0, 0, 0]);
    const whole = this.segCache.get(i);
    if (whole) return whole.rows;
    const key = -1 - i;
    const hit = this.segCache.get(key);
    if (hit) return hit.rows;
    const loc = this.locs[i];
    const [na, nb, nw, nk] = loc.counts;
    const attemptsBytes = tableBytes(SCHEMAS.attempts as Schema, na);
    const abortsBytes = tableBytes(SCHEMAS.aborts as Schema, nb);
    const waitsBytes = tableBytes(SCHEMAS.waits as Schema, nw);
    const tailBytes = tableBytes(SCHEMAS.blocked as Schema, nk) + extrasBytes(nb, nk);
    const abuf = new ArrayBuffer(abortsBytes);
    this.file.read(new Uint8Array(abuf), loc.offset + attemptsBytes);
    const tbuf = new ArrayBuffer(tailBytes);
    this.file.read(new Uint8Array(tbuf), loc.offset + attemptsBytes + abortsBytes + waitsBytes);
    const columns = (schema: Schema, buf: ArrayBuffer, n: number) => {
      const cols: Record<string, TypedArray> = {};
      let at = 0;
      for (const name of Object.keys(schema)) {
        const C = schema[name];
        cols[name] = new C(buf, at, n);
        at += pad8(n * C.BYTES_PER_ELEMENT);
      }
      return { cols, at };
    };
    const empty = (schema: Schema) => columns(schema, new ArrayBuffer(0), 0).cols;
    const blocked = columns(SCHEMAS.blocked as Schema, tbuf, nk);
    const rows = this.viewOf(
      { attempts: empty(SCHEMAS.attempts as Schema), aborts: columns(SCHEMAS.aborts as Schema, abuf, nb).cols, waits: empty(SCHEMAS.waits as Schema), blocked: blocked.cols },
      [0, nb, 0, nk],
      loc.starts,
    );
    attachExtras(rows, tbuf, blocked.at, nb, nk);
    this.segCache.set(key, { rows, bytes: abortsBytes + tailBytes }, abortsBytes + tailBytes);
    return rows;
  }

  private tail(): { rows: SegmentRows; commits?: CommitIndex } {
    const t = this.tables;
    // rows are only ever added to the tail (sealing resets the view)
    const key = t.attempts.length + t.aborts.length * 65536 + t.waits.length * 4294967296 + t.blocked.length * 281474976710656;
    if (this.tailView?.key === key) return this.tailView;
    const counts = TABLES.map((n) => t[n].length);
    this.tailView = { key, rows: this.viewOf(this.tables, counts, this.base) };
    return this.tailView;
  }

  // -- culprit lookup -----------------------------------------------------------

  private commitEnd(worker: number, txSeq: number, nearNs: number): number {
    const t = this.tail();
    t.commits ??= new CommitIndex(t.rows);
    const inTail = t.commits.find(worker, txSeq);
    if (inTail >= 0) return inTail;
    // first segment that reaches nearNs; the culprit committed shortly before it
    const pm = this.prefixMax;
    let lo = 0;
    let hi = pm.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (pm[mid] < nearNs) lo = mid + 1;
      else hi = mid;
    }
    for (const i of [lo, lo - 1, lo + 1, lo - 2]) {
      if (i < 0 || i >= pm.length) continue;
      const seg = this.segment(i);
      seg.commits ??= new CommitIndex(seg.rows);
      const v = seg.commits.find(worker, txSeq);
      if (v >= 0) return v;
    }
    return -1;
  }
}

/**
 * Committed attempts of some rows by (worker, txSeq): per worker, txSeqs in
 * row order (increasing: per-worker order is preserved), searched by bisection.
 */
class CommitIndex {
  private readonly tx: Array<Uint32Array | undefined> = [];
  private readonly end: Array<Float64Array | undefined> = [];
  constructor(rows: SegmentRows) {
    const a = rows.attempts;
    const n = new Uint32Array(256);
    for (let i = 0; i < rows.attemptCount; i++) if (a.outcome[i] === COMMITTED) n[a.worker[i]]++;
    const at = new Uint32Array(256);
    for (let w = 0; w < 256; w++) {
      if (n[w]) {
        this.tx[w] = new Uint32Array(n[w]);
        this.end[w] = new Float64Array(n[w]);
      }
    }
    for (let i = 0; i < rows.attemptCount; i++) {
      if (a.outcome[i] !== COMMITTED) continue;
      const w = a.worker[i];
      const k = at[w]++;
      this.tx[w]![k] = a.txSeq[i];
      this.end[w]![k] = a.end[i];
    }
    // a worker whose txSeq went backwards (wrap-around, a restart): sort its pairs
    for (let w = 0; w < 256; w++) {
      const tx = this.tx[w];
      if (!tx) continue;
      let sorted = true;
      for (let k = 1; k < tx.length && sorted; k++) if (tx[k] < tx[k - 1]) sorted = false;
      if (sorted) continue;
      const idx = Array.from(tx.keys()).sort((x, y) => tx[x] - tx[y]);
      const e = this.end[w]!;
      this.tx[w] = Uint32Array.from(idx, (k) => tx[k]);
      this.end[w] = Float64Array.from(idx, (k) => e[k]);
    }
  }

  /** End time of the committed attempt (worker, txSeq), or −1. */
  find(worker: number, txSeq: number): number {
    const tx = this.tx[worker];
    if (!tx) return -1;
    const want = txSeq >>> 0;
    let lo = 0;
    let hi = tx.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = tx[mid];
      if (v === want) return this.end[worker]![mid];
      if (v < want) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }
}
