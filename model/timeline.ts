/**
 * Timeline level-of-detail queries ({@link TimelineSource} of protocol.ts):
 * per-pixel lane summaries of any time window, the attempts, waits and
 * conflict arrows themselves when the window holds few enough, and the
 * occurrences of one conflict group.
 *
 * The rows (attempts, aborts, waits, blocked-by-inevitable waits) are cut, in
 * arrival order, into **segments** of at most `segmentRows` attempts. Each
 * complete segment is a leaf of a **summary tree** (ThreadScope's duration tree,
 * ../shared/reference/style.md "Level of detail"): every node holds, per lane,
 * a histogram of `bins` buckets over its own time span [minNs, maxNs]; a parent
 * merges `fanout` children.
 *
 * ```
 *  level 2            [ ················· node (bins over its span) ················· ]
 *  level 1  [ ···· node ···· ][ ···· node ···· ] …            (fanout children each)
 *  level 0  [seg][seg][seg][seg][seg][seg][seg][seg] … [open tail: rows only]
 *            rows 0..K  K..2K …                         (K = segmentRows attempts)
 * ```
 *
 * A query for [startNs, endNs) at `pixels` buckets walks the tree from its
 * roots: a node whose bucket width is at most one pixel is resampled into the
 * pixels ("if a tree node would represent less than one pixel on the display,
 * there is no point in descending the tree further", ThreadScope
 * `Events/EventTree.hs`); a leaf whose buckets are wider than a pixel is read
 * row by row, exactly. So a query reads about `pixels × fanout / bins`
 * histograms and at most `pixels / bins + 2` segments of rows, whatever the
 * session's size.
 *
 * Where rows live is the provider's business ({@link SegmentProvider}):
 * {@link StoreTimeline} reads them from an in-memory {@link EventStore} (the
 * dashboard's Web Worker, tests, small sessions); the server reads them back
 * from disk for sessions too large for memory (server/session/), with the same
 * query code. Node histograms go through a {@link HistogramStore}, so the
 * server can keep them on disk too.
 *
 * Figures per lane and bucket (docs/PROTOCOL.md):
 * - committedNs / abortedNs: ns of committed / aborted-or-failed attempts
 *   overlapping the bucket (waits inside the attempt included);
 * - waitingNs: ns of waits overlapping it (inside attempts or between them);
 * - inevitableNs: ns of attempts running inevitable (a part of the above);
 * - commits / aborts: attempts ending in it.
 * Resampled buckets spread a histogram bucket's ns proportionally over the one
 * or two pixels it overlaps and give its counts to the pixel holding its
 * middle, so totals are exact and per-pixel figures are off by at most one
 * histogram bucket (≤ one pixel) at their edges.
 *
 * Pure: no I/O, no Node or DOM API; nothing here allocates per event.
 */

import type {
  AttemptMark,
  AttemptOutcome,
  ConflictArrow,
  LaneSummary,
  Occurrence,
  TimelineSource,
  WaitMark,
  WindowQuery,
  WindowResult,
} from './protocol.ts';
import { DEFAULT_MAX_MARKS, MAX_PIXELS } from './protocol.ts';
import type { Definitions } from './defs.ts';
import type { EventStore } from './store.ts';
import { CONFLICT_KIND_NAMES, ConflictKind, GLOBAL_WORKER as GLOBAL, WAIT_REASON_NAMES } from './records.ts';

export type AttemptColumns = EventStore['attempts']['cols'];
export type AbortColumns = EventStore['aborts']['cols'];
export type WaitColumns = EventStore['waits']['cols'];
export type BlockedColumns = EventStore['blockedWaits']['cols'];

/**
 * The rows of one segment: for each table, the global row id of its first row
 * (`attempt0` …), the number of rows, and column views where index i is the
 * segment's row i. Global ids are the ids of the protocol (AttemptMark.id,
 * ConflictArrow.id); `attempts.abort` and `aborts.attempt` hold global ids.
 */
export interface SegmentRows {
  attempt0: number;
  attemptCount: number;
  attempts: AttemptColumns;
  abort0: number;
  abortCount: number;
  aborts: AbortColumns;
  wait0: number;
  waitCount: number;
  waits: WaitColumns;
  blocked0: number;
  blockedCount: number;
  blocked: BlockedColumns;
  /**
   * Optional, resolved when the rows were stored: per abort, the end of its
   * culprit's committed attempt (−1 unknown: looked up with `commitEnd`) and
   * the victim's attempt number; per blocked wait, the end of the blocker's
   * commit. With them, a conflict needs no attempt rows at all.
   */
  abortCulpritNs?: Float64Array;
  abortVictimAttempt?: Uint32Array;
  blockedBlockerNs?: Float64Array;
}

/** Where the rows of a timeline come from. */
export interface SegmentProvider {
  readonly defs: Definitions;
  /** Rows of complete segment `i` (0-based, in the order they were added). */
  segment(i: number): SegmentRows;
  /** Rows not yet in a complete segment (a live session's tail), or null. */
  tail(): SegmentRows | null;
  /**
   * End time of the committed attempt `(worker, txSeq)` (a culprit), searching
   * near `nearNs` (the victim's abort: the culprit committed shortly before);
   * −1 when unknown.
   */
  commitEnd(worker: number, txSeq: number, nearNs: number): number;
  /**
   * Optional: only the aborts and blocked waits of segment `i` (other tables
   * empty), with the resolved columns of {@link SegmentRows}: cheaper to
   * read when a wide window samples conflicts.
   */
  conflictSegment?(i: number): SegmentRows;
}

/** Keeps node histograms (in memory by default; the server spills them to disk). */
export interface HistogramStore {
  put(node: number, hist: Float32Array): void;
  get(node: number): Float32Array;
  /** Bytes held in memory. */
  readonly byteLength: number;
}

/** Histograms in an array. */
export class MemoryHistogramStore implements HistogramStore {
  private readonly hists: Float32Array[] = [];
  byteLength = 0;
  put(node: number, hist: Float32Array): void {
    this.hists[node] = hist;
    this.byteLength += hist.byteLength;
  }
  get(node: number): Float32Array {
    return this.hists[node];
  }
}

/** Thrown for a malformed query; the message names the problem. */
export class QueryError extends Error {
  override name = 'QueryError';
}

/** Options of the summary tree. */
export interface TimelineOptions {
  /** Attempts per segment (leaf). Default 8192. */
  segmentRows?: number;
  /** Histogram buckets per tree node. Default 512. */
  bins?: number;
  /** Children per inner node. Default 8. */
  fanout?: number;
  histograms?: HistogramStore;
}

/** Quantities per lane and bucket. */
const Q = 6;
const Q_COMMITTED = 0;
const Q_ABORTED = 1;
const Q_WAITING = 2;
const Q_INEVITABLE = 3;
const Q_COMMITS = 4;
const Q_ABORTS = 5;

// Local copies (imported bindings are getter calls under tsx).
const OUT_COMMITTED = 0;
const OUT_ABORTED = 1;
const OUT_FAILED = 2;
const FLAG_INEVITABLE = 1;
const KIND_INEVITABLE = ConflictKind.Inevitable;
const OUTCOME_CODES: AttemptOutcome[] = ['commit', 'abort', 'fail', 'unfinished'];
// Local copies: imported bindings are getter calls under tsx.
const KIND_NAMES: readonly string[] = [...CONFLICT_KIND_NAMES];
const GLOBAL_WORKER: number = GLOBAL;
const WAIT_NAMES: Record<number, string> = { ...WAIT_REASON_NAMES };

/** One raw conflict group of a segment: (kind, victim worker+site, culprit worker+site) and its count. */
export interface RawGroupCount {
  kind: number;
  vw: number;
  vs: number;
  cw: number;
  cs: number;
  count: number;
}

/** A node of the summary tree; level 0 nodes are segments. */
export interface TimelineNode {
  /** global node id (histogram key) */
  readonly id: number;
  readonly level: number;
  /** index within its level */
  readonly index: number;
  readonly minNs: number;
  readonly maxNs: number;
  /** histogram bucket width (ns) over [minNs, minNs + bins × binNs] */
  readonly binNs: number;
  /** workers present, ascending; histogram lane i is lanes[i] */
  readonly lanes: Uint8Array;
  /** attempts ending in the node (commits + aborts + fails + unfinished) */
  readonly attempts: number;
  readonly aborts: number;
  readonly waits: number;
}

/** A segment (leaf): its row ranges and raw conflict groups. */
export interface SegmentInfo extends TimelineNode {
  readonly attempt0: number;
  readonly attempt1: number;
  readonly abort0: number;
  readonly abort1: number;
  readonly wait0: number;
  readonly wait1: number;
  readonly blocked0: number;
  readonly blocked1: number;
  readonly groups: readonly RawGroupCount[];
}

/**
 * The conflict group key of the aggregator (`AggregateSnapshot.groups[].key`)
 * for an abort or a blocked-by-inevitable wait.
 */
export function groupKeyOf(defs: Definitions, kind: number, vw: number, vs: number, cw: number, cs: number): string {
  const vLoc = defs.siteLocation(vw, vs);
  const cLoc = cw < 0 ? -1 : defs.siteLocation(cw, cs);
  return `${kind}:${vLoc}:${cLoc}`;
}

/** Adds the overlap of [s, e] with each bucket of a grid (g0, gw, n) to acc[base + bucket], scaled by `k`. */
function addSpan(acc: Float64Array | Float32Array, base: number, n: number, g0: number, gw: number, s: number, e: number, k: number): void {
  if (e <= s) return;
  let p = Math.floor((s - g0) / gw);
  if (p < 0) p = 0;
  let pe = Math.floor((e - g0) / gw);
  if (pe >= n) pe = n - 1;
  for (; p <= pe; p++) {
    const a = g0 + p * gw;
    const b = a + gw;
    const ov = (e < b ? e : b) - (s > a ? s : a);
    if (ov > 0) acc[base + p] += ov * k;
  }
}

/** Bucket of time t on a grid, or −1 outside [g0, g0 + n·gw) (the last bucket also takes its end). */
function bucketOf(t: number, g0: number, gw: number, n: number): number {
  if (t < g0) return -1;
  let p = Math.floor((t - g0) / gw);
  if (p >= n) {
    if (t > g0 + n * gw) return -1;
    p = n - 1;
  }
  return p;
}

/**
 * Resamples histogram `src` (grid s0, sw, sn; lanes `srcLanes`) into `dst`
 * (grid d0, dw, dn; lane index by worker `dstLane`, −1 skip), restricted to
 * [clipS, clipE). Source buckets must not be wider than target buckets.
 */
function resampleInto(
  src: Float32Array,
  srcLanes: Uint8Array,
  s0: number,
  sw: number,
  sn: number,
  dst: Float64Array | Float32Array,
  dstLane: Int16Array,
  d0: number,
  dw: number,
  dn: number,
  clipS: number,
  clipE: number,
): void {
  let b0 = Math.floor((clipS - s0) / sw);
  if (b0 < 0) b0 = 0;
  let b1 = Math.ceil((clipE - s0) / sw);
  if (b1 > sn) b1 = sn;
  for (let li = 0; li < srcLanes.length; li++) {
    const tl = dstLane[srcLanes[li]];
    if (tl < 0) continue;
    for (let q = 0; q < Q; q++) {
      const sBase = (li * Q + q) * sn;
      const dBase = (tl * Q + q) * dn;
      const isCount = q >= Q_COMMITS;
      for (let b = b0; b < b1; b++) {
        const v = src[sBase + b];
        if (v === 0) continue;
        const bs = s0 + b * sw;
        if (isCount) {
          const mid = bs + sw / 2;
          if (mid < clipS || mid >= clipE) continue;
          const p = bucketOf(mid, d0, dw, dn);
          if (p >= 0) dst[dBase + p] += v;
        } else {
          const be = bs + sw;
          addSpan(dst, dBase, dn, d0, dw, bs > clipS ? bs : clipS, be < clipE ? be : clipE, v / sw);
        }
      }
    }
  }
}

interface MutableNode {
  id: number;
  level: number;
  index: number;
  minNs: number;
  maxNs: number;
  binNs: number;
  lanes: Uint8Array;
  attempts: number;
  aborts: number;
  waits: number;
}
interface MutableSegment extends MutableNode {
  attempt0: number;
  attempt1: number;
  abort0: number;
  abort1: number;
  wait0: number;
  wait1: number;
  blocked0: number;
  blocked1: number;
  groups: RawGroupCount[];
}

/** The time span and lanes of some rows. */
interface RowsExtent {
  minNs: number;
  maxNs: number;
  lanes: Uint8Array;
}

function extentOf(rows: SegmentRows): RowsExtent {
  let min = Infinity;
  let max = -Infinity;
  const seen = new Uint8Array(256);
  const a = rows.attempts;
  for (let i = 0; i < rows.attemptCount; i++) {
    const s = a.start[i];
    const e = a.end[i];
    if (s < min) min = s;
    if (e > max) max = e;
    seen[a.worker[i]] = 1;
  }
  const w = rows.waits;
  for (let i = 0; i < rows.waitCount; i++) {
    if (w.begin[i] < min) min = w.begin[i];
    if (w.end[i] > max) max = w.end[i];
    seen[w.worker[i]] = 1;
  }
  const b = rows.blocked;
  for (let i = 0; i < rows.blockedCount; i++) {
    if (b.time[i] < min) min = b.time[i];
    if (b.time[i] > max) max = b.time[i];
  }
  const ab = rows.aborts;
  for (let i = 0; i < rows.abortCount; i++) {
    if (ab.time[i] < min) min = ab.time[i];
    if (ab.time[i] > max) max = ab.time[i];
  }
  if (min === Infinity) {
    min = 0;
    max = 0;
  }
  let n = 0;
  for (let i = 0; i < GLOBAL_WORKER; i++) n += seen[i];
  const lanes = new Uint8Array(n);
  n = 0;
  for (let i = 0; i < GLOBAL_WORKER; i++) if (seen[i]) lanes[n++] = i;
  return { minNs: min, maxNs: max, lanes };
}

/**
 * Accumulates rows exactly into a grid (g0, gw, n) of Q quantities per lane
 * (lane index by worker `lane`, −1 skip), restricted to [clipS, clipE).
 * Returns attempts / aborts / waits counted (ending / happening in the clip).
 */
function accumulateRows(
  rows: SegmentRows,
  acc: Float64Array | Float32Array,
  lane: Int16Array,
  g0: number,
  gw: number,
  n: number,
  clipS: number,
  clipE: number,
): void {
  const a = rows.attempts;
  for (let i = 0; i < rows.attemptCount; i++) {
    const tl = lane[a.worker[i]];
    if (tl < 0) continue;
    const s = a.start[i];
    const e = a.end[i];
    if (e < clipS || s >= clipE) continue;
    const o = a.outcome[i];
    const cs = s > clipS ? s : clipS;
    const ce = e < clipE ? e : clipE;
    const base = tl * Q;
    if (o === OUT_COMMITTED) addSpan(acc, (base + Q_COMMITTED) * n, n, g0, gw, cs, ce, 1);
    else if (o === OUT_ABORTED || o === OUT_FAILED) addSpan(acc, (base + Q_ABORTED) * n, n, g0, gw, cs, ce, 1);
    const inev = a.inevitableNs[i];
    if (inev > 0) {
      const is = e - inev;
      addSpan(acc, (base + Q_INEVITABLE) * n, n, g0, gw, is > clipS ? is : clipS, ce, 1);
    }
    if (e >= clipS && e < clipE && (o === OUT_COMMITTED || o === OUT_ABORTED)) {
      const p = bucketOf(e, g0, gw, n);
      if (p >= 0) acc[(base + (o === OUT_COMMITTED ? Q_COMMITS : Q_ABORTS)) * n + p] += 1;
    }
  }
  const w = rows.waits;
  for (let i = 0; i < rows.waitCount; i++) {
    const tl = lane[w.worker[i]];
    if (tl < 0) continue;
    const s = w.begin[i];
    const e = w.end[i];
    if (e < clipS || s >= clipE) continue;
    addSpan(acc, (tl * Q + Q_WAITING) * n, n, g0, gw, s > clipS ? s : clipS, e < clipE ? e : clipE, 1);
  }
}

/** Raw conflict groups of some rows (aborts and blocked waits). */
function rawGroups(rows: SegmentRows): RawGroupCount[] {
  const m = new Map<string, RawGroupCount>();
  let last: RawGroupCount | undefined;
  const add = (kind: number, vw: number, vs: number, cw: number, cs: number) => {
    // consecutive conflicts are mostly of one group: compare before building a key
    if (last && last.kind === kind && last.vw === vw && last.vs === vs && last.cw === cw && last.cs === cs) {
      last.count++;
      return;
    }
    const k = `${kind}|${vw}|${vs}|${cw}|${cs}`;
    let g = m.get(k);
    if (g) g.count++;
    else m.set(k, (g = { kind, vw, vs, cw, cs, count: 1 }));
    last = g;
  };
  const ab = rows.aborts;
  for (let i = 0; i < rows.abortCount; i++) {
    const cw = ab.culpritWorker[i];
    add(ab.kind[i], ab.worker[i], ab.victimSite[i], cw, cw < 0 ? 0 : ab.culpritSite[i]);
  }
  const b = rows.blocked;
  for (let i = 0; i < rows.blockedCount; i++) {
    const cw = b.blockerWorker[i];
    add(KIND_INEVITABLE, b.worker[i], b.waiterSite[i], cw, cw < 0 ? 0 : b.blockerSite[i]);
  }
  return [...m.values()];
}

const LANE_SCRATCH = new Int16Array(256);

/** Lane index by worker for a node's own lanes. */
function laneIndexOf(lanes: Uint8Array, out: Int16Array = LANE_SCRATCH): Int16Array {
  out.fill(-1);
  for (let i = 0; i < lanes.length; i++) out[lanes[i]] = i;
  return out;
}

/**
 * The summary tree over segments. Add complete segments in order with
 * {@link addSegment}; parents are built as soon as `fanout` siblings exist.
 */
export class SummaryTree {
  readonly bins: number;
  readonly fanout: number;
  readonly histograms: HistogramStore;
  /** levels[0] = segments */
  readonly levels: MutableNode[][] = [[]];
  private nextId = 0;
  private readonly laneSeen = new Uint8Array(256);

  constructor(opts: TimelineOptions = {}) {
    this.bins = opts.bins ?? 512;
    this.fanout = opts.fanout ?? 8;
    if (!Number.isInteger(this.bins) || this.bins < 2) throw new RangeError(`bins must be an integer ≥ 2, got ${this.bins}`);
    if (!Number.isInteger(this.fanout) || this.fanout < 2) throw new RangeError(`fanout must be an integer ≥ 2, got ${this.fanout}`);
    this.histograms = opts.histograms ?? new MemoryHistogramStore();
  }

  get segments(): readonly SegmentInfo[] {
    return this.levels[0] as MutableSegment[];
  }

  /** Workers seen in complete segments. */
  lanes(): number[] {
    const out: number[] = [];
    for (let w = 0; w < GLOBAL_WORKER; w++) if (this.laneSeen[w]) out.push(w);
    return out;
  }

  /** Adds the next complete segment (its rows, with their global ranges). */
  addSegment(rows: SegmentRows): SegmentInfo {
    const ext = extentOf(rows);
    const bins = this.bins;
    const binNs = Math.max(ext.maxNs - ext.minNs, 1) / bins;
    const hist = new Float32Array(ext.lanes.length * Q * bins);
    const lane = laneIndexOf(ext.lanes);
    accumulateRows(rows, hist, lane, ext.minNs, binNs, bins, -Infinity, Infinity);
    const attempts = rows.attemptCount;
    const seg: MutableSegment = {
      id: this.nextId++,
      level: 0,
      index: this.levels[0].length,
      minNs: ext.minNs,
      maxNs: ext.maxNs,
      binNs,
      lanes: ext.lanes,
      attempts,
      aborts: rows.abortCount,
      waits: rows.waitCount,
      attempt0: rows.attempt0,
      attempt1: rows.attempt0 + rows.attemptCount,
      abort0: rows.abort0,
      abort1: rows.abort0 + rows.abortCount,
      wait0: rows.wait0,
      wait1: rows.wait0 + rows.waitCount,
      blocked0: rows.blocked0,
      blocked1: rows.blocked0 + rows.blockedCount,
      groups: rawGroups(rows),
    };
    for (const w of ext.lanes) this.laneSeen[w] = 1;
    this.histograms.put(seg.id, hist);
    this.levels[0].push(seg);
    this.propagate(0);
    return seg;
  }

  private propagate(level: number): void {
    const F = this.fanout;
    const nodes = this.levels[level];
    if (nodes.length % F !== 0) return;
    if (!this.levels[level + 1]) this.levels.push([]);
    const children = nodes.slice(nodes.length - F);
    let min = Infinity;
    let max = -Infinity;
    const seen = new Uint8Array(256);
    let attempts = 0;
    let aborts = 0;
    let waits = 0;
    for (const c of children) {
      if (c.minNs < min) min = c.minNs;
      if (c.maxNs > max) max = c.maxNs;
      for (const w of c.lanes) seen[w] = 1;
      attempts += c.attempts;
      aborts += c.aborts;
      waits += c.waits;
    }
    let n = 0;
    for (let i = 0; i < 256; i++) n += seen[i];
    const lanes = new Uint8Array(n);
    n = 0;
    for (let i = 0; i < 256; i++) if (seen[i]) lanes[n++] = i;
    const bins = this.bins;
    const binNs = Math.max(max - min, 1) / bins;
    const hist = new Float32Array(lanes.length * Q * bins);
    const lane = laneIndexOf(lanes, new Int16Array(256));
    for (const c of children) {
      resampleInto(this.histograms.get(c.id), c.lanes, c.minNs, c.binNs, bins, hist, lane, min, binNs, bins, -Infinity, Infinity);
    }
    const parent: MutableNode = { id: this.nextId++, level: level + 1, index: this.levels[level + 1].length, minNs: min, maxNs: max, binNs, lanes, attempts, aborts, waits };
    this.histograms.put(parent.id, hist);
    this.levels[level + 1].push(parent);
    this.propagate(level + 1);
  }

  /** Nodes without a parent, coarsest first: the query starts from these. */
  roots(): MutableNode[] {
    const out: MutableNode[] = [];
    for (let L = this.levels.length - 1; L >= 0; L--) {
      const covered = L + 1 < this.levels.length ? this.levels[L + 1].length * this.fanout : 0;
      const nodes = this.levels[L];
      for (let i = covered; i < nodes.length; i++) out.push(nodes[i]);
    }
    return out;
  }

  /** Children of an inner node. */
  children(node: TimelineNode): MutableNode[] {
    const below = this.levels[node.level - 1];
    return below.slice(node.index * this.fanout, (node.index + 1) * this.fanout);
  }
}

/**
 * Detail dropped from the start of a timeline by a retention policy
 * (server/session/retention.ts): the rows of the first segments are gone, the
 * aggregates still count them. Queries answer nothing before `beforeNs`.
 */
export interface DroppedDetail {
  /** segments [0, firstSegment) of the tree are gone (their rows and histograms are never read) */
  firstSegment: number;
  /** every dropped row lies before this time (ns); nothing before it is answered */
  beforeNs: number;
  /** the session's first time (bounds start), kept although its rows are gone */
  startNs: number;
  /** workers seen in the dropped detail: their lanes stay */
  workers: number[];
}

/** A normalised query. */
interface Plan {
  S: number;
  E: number;
  P: number;
  pw: number;
  maxMarks: number;
  lanes: number[];
  lane: Int16Array;
}

/**
 * The query engine over a {@link SummaryTree} and a {@link SegmentProvider}.
 * {@link StoreTimeline} and the server's disk-backed sessions extend it.
 */
export class SegmentedTimeline implements TimelineSource {
  readonly tree: SummaryTree;
  /** what a retention policy dropped, if anything ({@link dropDetail}) */
  protected cut: DroppedDetail | undefined;

  constructor(
    protected readonly provider: SegmentProvider,
    opts: TimelineOptions = {},
  ) {
    this.tree = new SummaryTree(opts);
  }

  /** Called before every query (a live source brings the tree up to date here). */
  protected sync(): void {}

  /** The detail dropped so far, if any. */
  get droppedDetail(): DroppedDetail | undefined {
    return this.cut;
  }

  /**
   * Forgets the detail before `d.beforeNs` (segments below `d.firstSegment`):
   * from now on no query reads those segments or any node histogram that
   * includes them, and nothing before `beforeNs` is answered. Only moves
   * forward. The provider may delete the rows afterwards.
   */
  dropDetail(d: DroppedDetail): void {
    const o = this.cut;
    if (o && (d.firstSegment < o.firstSegment || d.beforeNs < o.beforeNs)) throw new RangeError('dropped detail only moves forward');
    if (!Number.isInteger(d.firstSegment) || d.firstSegment < 0 || d.firstSegment > this.tree.segments.length) {
      throw new RangeError(`firstSegment must be an integer from 0 to ${this.tree.segments.length}, got ${d.firstSegment}`);
    }
    this.cut = { firstSegment: d.firstSegment, beforeNs: d.beforeNs, startNs: d.startNs, workers: [...d.workers] };
  }

  /** Segment indexes [first, last) below a node. */
  private segmentsOf(node: TimelineNode): [number, number] {
    const span = this.tree.fanout ** node.level;
    return [node.index * span, (node.index + 1) * span];
  }

  bounds(): { startNs: number; endNs: number } {
    this.sync();
    let min = Infinity;
    let max = -Infinity;
    for (const r of this.tree.roots()) {
      if (r.minNs < min) min = r.minNs;
      if (r.maxNs > max) max = r.maxNs;
    }
    const tail = this.provider.tail();
    if (tail && tail.attemptCount + tail.waitCount + tail.abortCount + tail.blockedCount > 0) {
      const ext = extentOf(tail);
      if (ext.minNs < min) min = ext.minNs;
      if (ext.maxNs > max) max = ext.maxNs;
    }
    const d = this.cut;
    if (d) return { startNs: d.startNs, endNs: max === -Infinity ? d.beforeNs : Math.max(max, d.beforeNs) };
    return min === Infinity ? { startNs: 0, endNs: 0 } : { startNs: min, endNs: max };
  }

  workers(): number[] {
    this.sync();
    const seen = new Set(this.tree.lanes());
    for (const w of this.cut?.workers ?? []) seen.add(w);
    const tail = this.provider.tail();
    if (tail) for (const w of extentOf(tail).lanes) seen.add(w);
    return [...seen].sort((a, b) => a - b);
  }

  query(q: WindowQuery): WindowResult {
    this.sync();
    const plan = this.plan(q);
    const { S, E, P, pw, lanes, lane } = plan;
    const acc = new Float64Array(lanes.length * Q * P);
    const tree = this.tree;
    const tail = this.provider.tail();
    // Dropped detail: nothing before its end is answered (the grid still spans [S, E)).
    const firstSeg = this.cut?.firstSegment ?? 0;
    const cS = this.cut && this.cut.beforeNs > S ? Math.min(this.cut.beforeNs, E) : S;

    // 1. per-pixel summaries
    const visit = (node: MutableNode) => {
      if (node.maxNs < cS || node.minNs >= E) return;
      const [first, last] = this.segmentsOf(node);
      if (last <= firstSeg) return;
      // a node that includes dropped segments: its histogram holds them, go down to what is left
      if (node.binNs <= pw && first >= firstSeg) {
        resampleInto(tree.histograms.get(node.id), node.lanes, node.minNs, node.binNs, tree.bins, acc, lane, S, pw, P, cS, E);
      } else if (node.level === 0) {
        accumulateRows(this.provider.segment(node.index), acc, lane, S, pw, P, cS, E);
      } else {
        for (const c of tree.children(node)) visit(c);
      }
    };
    if (cS < E) {
      for (const r of tree.roots()) visit(r);
      if (tail) accumulateRows(tail, acc, lane, S, pw, P, cS, E);
    }

    const laneOut: LaneSummary[] = lanes.map((worker, li) => {
      const q = (k: number) => Array.from(acc.subarray((li * Q + k) * P, (li * Q + k + 1) * P), Math.round);
      return {
        worker,
        committedNs: q(Q_COMMITTED),
        abortedNs: q(Q_ABORTED),
        waitingNs: q(Q_WAITING),
        inevitableNs: q(Q_INEVITABLE),
        commits: q(Q_COMMITS),
        aborts: q(Q_ABORTS),
      };
    });
    let ends = 0;
    let abortsIn = 0;
    for (let li = 0; li < lanes.length; li++) {
      for (let p = 0; p < P; p++) {
        ends += acc[(li * Q + Q_COMMITS) * P + p] + acc[(li * Q + Q_ABORTS) * P + p];
        abortsIn += acc[(li * Q + Q_ABORTS) * P + p];
      }
    }

    const result: WindowResult = { startNs: S, endNs: E, pixels: P, bucketNs: pw, lanes: laneOut, arrows: [], truncated: false };
    if (cS > S) result.droppedBeforeNs = this.cut!.beforeNs;
    if (cS >= E) {
      result.attempts = [];
      result.waits = [];
      return result;
    }

    // 2. marks, when few enough (the estimate misses attempts still running at E: collection checks exactly)
    const sources = this.overlapping(cS, E);
    const clipped: Plan = cS > S ? { ...plan, S: cS } : plan;
    if (ends <= plan.maxMarks * 1.25 + 16) {
      const marks = this.collectMarks(clipped, sources);
      if (marks) {
        result.attempts = marks.attempts;
        result.waits = marks.waits;
      } else result.truncated = true;
    } else result.truncated = true;

    // 3. arrows: every conflict in the window when few enough, else an even sample
    const arrows = this.collectArrows(clipped, sources, abortsIn <= plan.maxMarks * 1.25 + 16);
    result.arrows = arrows.items;
    if (arrows.truncated) result.truncated = true;
    return result;
  }

  occurrences(groupKey: string, offset: number, limit: number): { total: number; items: Occurrence[] } {
    this.sync();
    if (typeof groupKey !== 'string' || groupKey === '') throw new QueryError('occurrences needs a groupKey (AggregateSnapshot.groups[].key)');
    if (!Number.isInteger(offset) || offset < 0) throw new QueryError(`offset must be an integer ≥ 0, got ${offset}`);
    if (!Number.isInteger(limit) || limit < 0 || limit > 10000) throw new QueryError(`limit must be an integer from 0 to 10000, got ${limit}`);
    const keyOf = this.groupKeyCache();
    const segs = this.tree.segments;
    const counts: number[] = [];
    let total = 0;
    const firstSeg = this.cut?.firstSegment ?? 0;
    for (const s of segs) {
      let n = 0;
      // dropped segments: their occurrences are gone (the snapshot's count still has them)
      if (s.index >= firstSeg) for (const g of s.groups) if (keyOf(g.kind, g.vw, g.vs, g.cw, g.cs) === groupKey) n += g.count;
      counts.push(n);
      total += n;
    }
    const tail = this.provider.tail();
    let tailCount = 0;
    if (tail) {
      for (const g of rawGroups(tail)) if (keyOf(g.kind, g.vw, g.vs, g.cw, g.cs) === groupKey) tailCount += g.count;
      total += tailCount;
    }
    const items: Occurrence[] = [];
    let skip = offset;
    const take = (rows: SegmentRows) => {
      for (const o of this.occurrencesIn(rows, groupKey, keyOf)) {
        if (skip > 0) {
          skip--;
          continue;
        }
        if (items.length < limit) items.push(o);
      }
    };
    for (let i = 0; i < segs.length && items.length < limit; i++) {
      if (counts[i] === 0) continue;
      if (skip >= counts[i]) {
        skip -= counts[i];
        continue;
      }
      take(this.provider.segment(i));
    }
    if (tail && tailCount > 0 && items.length < limit) take(tail);
    return { total, items };
  }

  // -- internals ------------------------------------------------------------

  private plan(q: WindowQuery): Plan {
    if (!q || typeof q !== 'object') throw new QueryError('a window query must be an object {startNs, endNs, pixels}');
    const { startNs: S, endNs: E, pixels: P } = q;
    if (typeof S !== 'number' || !Number.isFinite(S)) throw new QueryError(`startNs must be a finite number, got ${JSON.stringify(S)}`);
    if (typeof E !== 'number' || !Number.isFinite(E)) throw new QueryError(`endNs must be a finite number, got ${JSON.stringify(E)}`);
    if (!(E > S)) throw new QueryError(`endNs (${E}) must be greater than startNs (${S})`);
    if (!Number.isInteger(P) || P < 1 || P > MAX_PIXELS) throw new QueryError(`pixels must be an integer from 1 to ${MAX_PIXELS}, got ${JSON.stringify(P)}`);
    const maxMarks = q.maxMarks ?? DEFAULT_MAX_MARKS;
    if (!Number.isInteger(maxMarks) || maxMarks < 0 || maxMarks > 100_000) throw new QueryError(`maxMarks must be an integer from 0 to 100000, got ${JSON.stringify(maxMarks)}`);
    let lanes: number[];
    if (q.workers === undefined) lanes = this.workers();
    else {
      if (!Array.isArray(q.workers) || q.workers.some((w) => !Number.isInteger(w) || w < 0 || w > 254)) {
        throw new QueryError(`workers must be an array of worker indexes (0..254), got ${JSON.stringify(q.workers)}`);
      }
      lanes = [...new Set(q.workers)].sort((a, b) => a - b);
    }
    const lane = new Int16Array(256).fill(-1);
    lanes.forEach((w, i) => (lane[w] = i));
    return { S, E, P, pw: (E - S) / P, maxMarks, lanes, lane };
  }

  /** Segments (by index) and the tail whose rows may overlap [S, E), in order. */
  private overlapping(S: number, E: number): Array<number> {
    const out: number[] = [];
    const segs = this.tree.segments;
    for (let i = this.cut?.firstSegment ?? 0; i < segs.length; i++) if (!(segs[i].maxNs < S || segs[i].minNs >= E)) out.push(i);
    return out;
  }

  private rowsOf(src: number): SegmentRows | null {
    return src < 0 ? this.provider.tail() : this.provider.segment(src);
  }

  private collectMarks(plan: Plan, sources: number[]): { attempts: AttemptMark[]; waits: WaitMark[] } | null {
    const { S, E, lane, maxMarks } = plan;
    const defs = this.provider.defs;
    const attempts: AttemptMark[] = [];
    const waits: WaitMark[] = [];
    for (const src of [...sources, -1]) {
      const rows = this.rowsOf(src);
      if (!rows) continue;
      const a = rows.attempts;
      for (let i = 0; i < rows.attemptCount; i++) {
        const w = a.worker[i];
        if (lane[w] < 0) continue;
        const s = a.start[i];
        const e = a.end[i];
        if (e < S || s >= E) continue;
        if (attempts.length >= maxMarks) return null;
        const m: AttemptMark = {
          id: rows.attempt0 + i,
          worker: w,
          txSeq: a.txSeq[i],
          attempt: a.attempt[i],
          startNs: s,
          endNs: e,
          outcome: OUTCOME_CODES[a.outcome[i]] ?? 'unfinished',
          inevitable: (a.flags[i] & FLAG_INEVITABLE) !== 0,
          conflict: a.abort[i],
          waitNs: a.waitNs[i],
        };
        if (a.name[i] !== 0) {
          const name = defs.string(w, a.name[i]);
          if (name) m.name = name;
        }
        attempts.push(m);
      }
      const wt = rows.waits;
      for (let i = 0; i < rows.waitCount; i++) {
        const w = wt.worker[i];
        if (lane[w] < 0) continue;
        const s = wt.begin[i];
        const e = wt.end[i];
        if (e < S || s >= E) continue;
        if (waits.length >= maxMarks) return null;
        waits.push({ worker: w, startNs: s, endNs: e, reason: WAIT_NAMES[wt.reason[i]] ?? `reason-${wt.reason[i]}` });
      }
    }
    return { attempts, waits };
  }

  private collectArrows(plan: Plan, sources: number[], all: boolean): { items: ConflictArrow[]; truncated: boolean } {
    const { S, E, lane, maxMarks } = plan;
    let pick = [...sources, -1];
    let truncated = false;
    if (!all) {
      // Too many to list: read a few segments spread over the window and thin them out evenly.
      truncated = true;
      const budget = 4;
      if (sources.length > budget) {
        const step = sources.length / budget;
        pick = [];
        for (let k = 0; k < budget; k++) pick.push(sources[Math.floor(k * step + step / 2)]);
      }
    }
    // First the candidates as plain numbers (source, row, time), then objects for the ones kept.
    const srcs: SegmentRows[] = [];
    const refSrc: number[] = [];
    const refRow: number[] = [];
    const refTime: number[] = [];
    const sample = !all && this.provider.conflictSegment !== undefined;
    for (const src of pick) {
      const rows = sample && src >= 0 ? this.provider.conflictSegment!(src) : this.rowsOf(src);
      if (!rows) continue;
      const si = srcs.push(rows) - 1;
      const ab = rows.aborts;
      for (let i = 0; i < rows.abortCount; i++) {
        const t = ab.time[i];
        if (t < S || t >= E || lane[ab.worker[i]] < 0) continue;
        refSrc.push(si);
        refRow.push(i);
        refTime.push(t);
      }
      const b = rows.blocked;
      for (let i = 0; i < rows.blockedCount; i++) {
        const t = b.time[i];
        if (t < S || t >= E || lane[b.worker[i]] < 0) continue;
        refSrc.push(si);
        refRow.push(-1 - i);
        refTime.push(t);
      }
    }
    let order = Array.from(refTime.keys());
    order.sort((x, y) => refTime[x] - refTime[y] || refSrc[x] - refSrc[y] || refRow[x] - refRow[y]);
    if (order.length > maxMarks) {
      truncated = true;
      const step = order.length / maxMarks;
      const thin: number[] = [];
      for (let k = 0; k < maxMarks; k++) thin.push(order[Math.floor(k * step)]);
      order = thin;
    }
    const keyOf = this.groupKeyCache();
    const items = order.map((k) => this.conflictAt(srcs[refSrc[k]], refRow[k], keyOf));
    return { items, truncated };
  }

  /** Resolves raw (kind, victim, culprit) tuples to group keys, caching per call. */
  private groupKeyCache(): (kind: number, vw: number, vs: number, cw: number, cs: number) => string {
    const defs = this.provider.defs;
    const cache = new Map<string, string>();
    return (kind, vw, vs, cw, cs) => {
      const raw = `${kind}|${vw}|${vs}|${cw}|${cs}`;
      let k = cache.get(raw);
      if (k === undefined) cache.set(raw, (k = groupKeyOf(defs, kind, vw, vs, cw, cs)));
      return k;
    };
  }

  /** A culprit's commit time, −1 when it lies in dropped detail (so the answer does not depend on what memory still holds). */
  private kept(culpritNs: number): number {
    return this.cut && culpritNs < this.cut.beforeNs ? -1 : culpritNs;
  }

  /** The conflict of abort row `row` (≥ 0) or blocked row `−1 − row` of `rows`. */
  private conflictAt(rows: SegmentRows, row: number, keyOf: (kind: number, vw: number, vs: number, cw: number, cs: number) => string): Occurrence {
    const defs = this.provider.defs;
    if (row >= 0) {
      const ab = rows.aborts;
      const t = ab.time[row];
      const vw = ab.worker[row];
      const cw = ab.culpritWorker[row];
      const cs = cw < 0 ? 0 : ab.culpritSite[row];
      const kind = ab.kind[row];
      const ai = ab.attempt[row] - rows.attempt0;
      const known = rows.abortCulpritNs ? rows.abortCulpritNs[row] : -1;
      return {
        id: rows.abort0 + row,
        kind: KIND_NAMES[kind] ?? `kind-${kind}`,
        groupKey: keyOf(kind, vw, ab.victimSite[row], cw, cs),
        victimWorker: vw,
        victimTxSeq: ab.txSeq[row],
        victimNs: t,
        victimAttempt: rows.abortVictimAttempt ? rows.abortVictimAttempt[row] : ai >= 0 && ai < rows.attemptCount ? rows.attempts.attempt[ai] : 0,
        culpritWorker: cw,
        culpritTxSeq: cw < 0 ? 0 : ab.culpritTxSeq[row],
        culpritNs: this.kept(cw < 0 ? -1 : known >= 0 ? known : this.provider.commitEnd(cw, ab.culpritTxSeq[row], t)),
        object: defs.objectLabel(ab.object[row], ab.field[row]),
        timeLostNs: ab.timeLostNs[row],
      };
    }
    const i = -1 - row;
    const b = rows.blocked;
    const t = b.time[i];
    const vw = b.worker[i];
    const cw = b.blockerWorker[i];
    const cs = cw < 0 ? 0 : b.blockerSite[i];
    return {
      // ids below −1 name blocked-by-inevitable waits: −2 − row
      id: -2 - (rows.blocked0 + i),
      kind: KIND_NAMES[KIND_INEVITABLE],
      groupKey: keyOf(KIND_INEVITABLE, vw, b.waiterSite[i], cw, cs),
      victimWorker: vw,
      victimTxSeq: b.txSeq[i],
      victimNs: t,
      victimAttempt: 0,
      culpritWorker: cw,
      culpritTxSeq: cw < 0 ? 0 : b.blockerTxSeq[i],
      culpritNs: this.kept(cw < 0 ? -1 : rows.blockedBlockerNs && rows.blockedBlockerNs[i] >= 0 ? rows.blockedBlockerNs[i] : this.provider.commitEnd(cw, b.blockerTxSeq[i], t)),
      object: '',
      timeLostNs: b.waitNs[i],
    };
  }

  /** Every conflict of `rows` whose raw group resolves to `groupKey`, in time order. */
  private occurrencesIn(rows: SegmentRows, groupKey: string, keyOf: (kind: number, vw: number, vs: number, cw: number, cs: number) => string): Occurrence[] {
    const out: Occurrence[] = [];
    const ab = rows.aborts;
    for (let i = 0; i < rows.abortCount; i++) {
      const cw = ab.culpritWorker[i];
      if (keyOf(ab.kind[i], ab.worker[i], ab.victimSite[i], cw, cw < 0 ? 0 : ab.culpritSite[i]) === groupKey) out.push(this.conflictAt(rows, i, keyOf));
    }
    const b = rows.blocked;
    for (let i = 0; i < rows.blockedCount; i++) {
      const cw = b.blockerWorker[i];
      if (keyOf(KIND_INEVITABLE, b.worker[i], b.waiterSite[i], cw, cw < 0 ? 0 : b.blockerSite[i]) === groupKey) out.push(this.conflictAt(rows, -1 - i, keyOf));
    }
    return out.sort((a, b2) => a.victimNs - b2.victimNs || a.id - b2.id);
  }
}

// ---------------------------------------------------------------------------
// In-memory: over an EventStore

type Cols = Record<string, { subarray(a: number, b: number): unknown }>;
function sliceCols<C>(cols: C, a: number, b: number): C {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(cols as object)) out[k] = (cols as Cols)[k].subarray(a, b);
  return out as C;
}

/**
 * A {@link TimelineSource} over an in-memory {@link EventStore}, live or
 * complete: every query first indexes the rows added since the last one.
 *
 * ```ts
 * const ing = new Ingest({ store: true });
 * ing.feed(bytes); // as often as needed
 * const tl = new StoreTimeline(ing.store!);
 * tl.query({ startNs: 0, endNs: tl.bounds().endNs, pixels: 1024 });
 * ```
 */
export class StoreTimeline extends SegmentedTimeline {
  private readonly store: EventStore;
  private readonly segmentRows: number;
  private a = 0;
  private b = 0;
  private w = 0;
  private k = 0;
  private tailCache: { lens: string; rows: SegmentRows } | undefined;

  constructor(store: EventStore, opts: TimelineOptions = {}) {
    const provider: SegmentProvider = {
      defs: store.defs,
      segment: (i) => this.segmentRowsOf(i),
      tail: () => this.tailRows(),
      commitEnd: (w, tx) => {
        const r = store.committedAttempt(w, tx);
        return r < 0 ? -1 : store.attempts.cols.end[r];
      },
    };
    super(provider, opts);
    this.store = store;
    this.segmentRows = opts.segmentRows ?? 8192;
    if (!Number.isInteger(this.segmentRows) || this.segmentRows < 1) throw new RangeError(`segmentRows must be a positive integer, got ${this.segmentRows}`);
  }

  /** Cuts complete segments from the rows added since the last call. */
  protected override sync(): void {
    const st = this.store;
    const K = this.segmentRows;
    while (st.attempts.length - this.a >= K) {
      const a1 = this.a + K;
      const ac = st.attempts.cols;
      let maxEnd = -Infinity;
      for (let i = this.a; i < a1; i++) if (ac.end[i] > maxEnd) maxEnd = ac.end[i];
      // aborts follow their attempt; waits and blocked waits go with the attempts they precede in time
      const bc = st.aborts.cols;
      let b1 = this.b;
      while (b1 < st.aborts.length && bc.attempt[b1] < a1) b1++;
      const wc = st.waits.cols;
      let w1 = this.w;
      while (w1 < st.waits.length && wc.end[w1] <= maxEnd) w1++;
      const kc = st.blockedWaits.cols;
      let k1 = this.k;
      while (k1 < st.blockedWaits.length && kc.time[k1] <= maxEnd) k1++;
      this.tree.addSegment(this.rows(this.a, a1, this.b, b1, this.w, w1, this.k, k1));
      this.a = a1;
      this.b = b1;
      this.w = w1;
      this.k = k1;
    }
  }

  private rows(a0: number, a1: number, b0: number, b1: number, w0: number, w1: number, k0: number, k1: number): SegmentRows {
    const st = this.store;
    return {
      attempt0: a0,
      attemptCount: a1 - a0,
      attempts: sliceCols(st.attempts.cols, a0, a1),
      abort0: b0,
      abortCount: b1 - b0,
      aborts: sliceCols(st.aborts.cols, b0, b1),
      wait0: w0,
      waitCount: w1 - w0,
      waits: sliceCols(st.waits.cols, w0, w1),
      blocked0: k0,
      blockedCount: k1 - k0,
      blocked: sliceCols(st.blockedWaits.cols, k0, k1),
    };
  }

  private segmentRowsOf(i: number): SegmentRows {
    const s = this.tree.segments[i];
    return this.rows(s.attempt0, s.attempt1, s.abort0, s.abort1, s.wait0, s.wait1, s.blocked0, s.blocked1);
  }

  private tailRows(): SegmentRows | null {
    const st = this.store;
    const lens = `${st.attempts.length}|${st.aborts.length}|${st.waits.length}|${st.blockedWaits.length}|${this.a}`;
    if (this.tailCache?.lens === lens) return this.tailCache.rows;
    const rows = this.rows(this.a, st.attempts.length, this.b, st.aborts.length, this.w, st.waits.length, this.k, st.blockedWaits.length);
    this.tailCache = { lens, rows };
    return rows;
  }
}
