/**
 * From a timeline window result to what the canvas draws, without one object
 * per mark: per-lane sorted index arrays (built once per result), merged
 * sub-pixel marks written into reusable typed arrays (built per frame), hit
 * tests and the conflict walk.
 *
 * Merging follows Tracy: a mark narrower than a pixel joins its neighbours
 * into one block at least a pixel wide that carries the merged count
 * (rendered "×N"), coloured red when any merged attempt aborted
 * (../shared/reference/style.md §1, "Minimum width").
 *
 * ```
 *   attempts   ▮ ▮▮▯▮ ▮▮         ▮▮▮▮▮▮▮▮▮▮▮▮▮▮▮▮▮▮        (sub-pixel)
 *   drawn      ███████ ×7          ██████████████ ×18
 * ```
 */

import type { AttemptMark, ConflictArrow, LaneSummary, WaitMark, WindowResult } from '../../../model/protocol.ts';
import { span, type TimeRange } from './viewport.ts';

/** What a drawn block is. */
export const MarkKind = {
  Commit: 0,
  Abort: 1,
  Fail: 2,
  Unfinished: 3,
  Inevitable: 4,
  /** several sub-pixel attempts, none aborted */
  Merged: 5,
  /** several sub-pixel attempts, some aborted */
  MergedAbort: 6,
} as const;
export type MarkKindCode = (typeof MarkKind)[keyof typeof MarkKind];

export function attemptKind(a: AttemptMark): MarkKindCode {
  if (a.outcome === 'abort') return MarkKind.Abort;
  if (a.outcome === 'fail') return MarkKind.Fail;
  if (a.outcome === 'unfinished') return MarkKind.Unfinished;
  return a.inevitable ? MarkKind.Inevitable : MarkKind.Commit;
}

/** A window result with the indexes drawing and hit testing need. */
export interface PreparedWindow {
  result: WindowResult;
  lanes: Map<number, LaneSummary>;
  /** attempt indexes per worker, by start time */
  attemptsByLane: Map<number, Int32Array>;
  /** longest attempt per worker (bounds the backward search of a hit test) */
  maxDurByLane: Map<number, number>;
  waitsByLane: Map<number, Int32Array>;
  maxWaitByLane: Map<number, number>;
  /** arrow indexes by victim time */
  arrowOrder: Int32Array;
  attemptById: Map<number, number>;
  arrowById: Map<number, number>;
}

function sortedIndex<T>(items: readonly T[], lane: (x: T) => number, start: (x: T) => number, dur: (x: T) => number) {
  const groups = new Map<number, number[]>();
  const maxDur = new Map<number, number>();
  for (let i = 0; i < items.length; i++) {
    const w = lane(items[i]);
    let g = groups.get(w);
    if (!g) groups.set(w, (g = []));
    g.push(i);
    const d = dur(items[i]);
    if (d > (maxDur.get(w) ?? 0)) maxDur.set(w, d);
  }
  const out = new Map<number, Int32Array>();
  for (const [w, g] of groups) {
    const a = Int32Array.from(g);
    // Usually already in order: check before sorting.
    let sorted = true;
    for (let i = 1; i < a.length && sorted; i++) if (start(items[a[i]]) < start(items[a[i - 1]])) sorted = false;
    if (!sorted) a.sort((x, y) => start(items[x]) - start(items[y]));
    out.set(w, a);
  }
  return { out, maxDur };
}

export function prepareWindow(result: WindowResult): PreparedWindow {
  const lanes = new Map<number, LaneSummary>();
  for (const l of result.lanes) lanes.set(l.worker, l);
  const attempts = result.attempts ?? [];
  const a = sortedIndex(attempts, (x: AttemptMark) => x.worker, (x) => x.startNs, (x) => x.endNs - x.startNs);
  const waits = result.waits ?? [];
  const wv = sortedIndex(waits, (x: WaitMark) => x.worker, (x) => x.startNs, (x) => x.endNs - x.startNs);
  const arrowOrder = Int32Array.from(result.arrows.keys());
  arrowOrder.sort((x, y) => result.arrows[x].victimNs - result.arrows[y].victimNs || result.arrows[x].id - result.arrows[y].id);
  const attemptById = new Map<number, number>();
  attempts.forEach((m, i) => attemptById.set(m.id, i));
  const arrowById = new Map<number, number>();
  result.arrows.forEach((m, i) => arrowById.set(m.id, i));
  return {
    result,
    lanes,
    attemptsByLane: a.out,
    maxDurByLane: a.maxDur,
    waitsByLane: wv.out,
    maxWaitByLane: wv.maxDur,
    arrowOrder,
    attemptById,
    arrowById,
  };
}

/** First position in `idx` whose item may end after `t` (start ≥ t − maxDur). */
function lowerBound(idx: Int32Array, startOf: (i: number) => number, t: number): number {
  let lo = 0;
  let hi = idx.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (startOf(idx[mid]) < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Reusable output of {@link laneMarks}. */
export class MarkList {
  n = 0;
  x: Float32Array;
  w: Float32Array;
  kind: Uint8Array;
  count: Uint32Array;
  /** attempt index of a single mark, −1 for merged blocks */
  first: Int32Array;
  constructor(capacity = 1024) {
    this.x = new Float32Array(capacity);
    this.w = new Float32Array(capacity);
    this.kind = new Uint8Array(capacity);
    this.count = new Uint32Array(capacity);
    this.first = new Int32Array(capacity);
  }
  push(x: number, w: number, kind: number, count: number, first: number): void {
    if (this.n === this.x.length) this.grow();
    const i = this.n++;
    this.x[i] = x;
    this.w[i] = w;
    this.kind[i] = kind;
    this.count[i] = count;
    this.first[i] = first;
  }
  private grow(): void {
    const c = this.x.length * 2;
    const g = <T extends Float32Array | Uint8Array | Uint32Array | Int32Array>(a: T, ctor: new (n: number) => T): T => {
      const b = new ctor(c);
      b.set(a);
      return b;
    };
    this.x = g(this.x, Float32Array);
    this.w = g(this.w, Float32Array);
    this.kind = g(this.kind, Uint8Array);
    this.count = g(this.count, Uint32Array);
    this.first = g(this.first, Int32Array);
  }
}

/**
 * The blocks to draw for one lane's individual attempts in `view` drawn
 * `width` px wide: marks ≥ `minPx` wide as they are, narrower ones merged
 * with neighbours closer than `minPx` (a single narrow mark is widened to
 * `minPx`). Writes into `out` (cleared first).
 */
export function laneMarks(p: PreparedWindow, worker: number, view: TimeRange, width: number, out: MarkList, minPx = 1): MarkList {
  out.n = 0;
  const idx = p.attemptsByLane.get(worker);
  const attempts = p.result.attempts;
  if (!idx || !attempts) return out;
  const pxPerNs = width / span(view);
  const maxDur = p.maxDurByLane.get(worker) ?? 0;
  let k = lowerBound(idx, (i) => attempts[i].startNs, view.startNs - maxDur);
  let mx0 = 0;
  let mx1 = -Infinity;
  let mCount = 0;
  let mAborts = 0;
  let mFirst = -1;
  const flush = () => {
    if (mCount === 0) return;
    if (mCount === 1) out.push(mx0, Math.max(minPx, mx1 - mx0), attemptKind(attempts[mFirst]), 1, mFirst);
    else out.push(mx0, Math.max(minPx, mx1 - mx0), mAborts > 0 ? MarkKind.MergedAbort : MarkKind.Merged, mCount, -1);
    mCount = 0;
    mAborts = 0;
  };
  for (; k < idx.length; k++) {
    const i = idx[k];
    const m = attempts[i];
    if (m.startNs > view.endNs) break;
    if (m.endNs < view.startNs) continue;
    const x0 = (m.startNs - view.startNs) * pxPerNs;
    const x1 = (m.endNs - view.startNs) * pxPerNs;
    if (x1 - x0 >= minPx) {
      flush();
      out.push(x0, x1 - x0, attemptKind(m), 1, i);
      continue;
    }
    if (mCount > 0 && x0 - mx1 < minPx) {
      mCount++;
      if (x1 > mx1) mx1 = x1;
      if (m.outcome === 'abort') mAborts++;
    } else {
      flush();
      mx0 = x0;
      mx1 = x1;
      mCount = 1;
      mFirst = i;
      mAborts = m.outcome === 'abort' ? 1 : 0;
    }
  }
  flush();
  return out;
}

/** Waits of one lane in view as [x, w] pairs (px), appended to `out` (cleared first). */
export function laneWaits(p: PreparedWindow, worker: number, view: TimeRange, width: number, out: number[]): number[] {
  out.length = 0;
  const idx = p.waitsByLane.get(worker);
  const waits = p.result.waits;
  if (!idx || !waits) return out;
  const pxPerNs = width / span(view);
  let k = lowerBound(idx, (i) => waits[i].startNs, view.startNs - (p.maxWaitByLane.get(worker) ?? 0));
  for (; k < idx.length; k++) {
    const m = waits[idx[k]];
    if (m.startNs > view.endNs) break;
    if (m.endNs < view.startNs) continue;
    const x0 = (m.startNs - view.startNs) * pxPerNs;
    out.push(x0, Math.max(1, (m.endNs - m.startNs) * pxPerNs));
  }
  return out;
}

/** Index range [i0, i1) of the result's buckets that overlap `view`. */
export function bucketRange(r: WindowResult, view: TimeRange): [number, number] {
  const i0 = Math.max(0, Math.floor((view.startNs - r.startNs) / r.bucketNs));
  const i1 = Math.min(r.pixels, Math.ceil((view.endNs - r.startNs) / r.bucketNs));
  return [i0, Math.max(i0, i1)];
}

/** A run of consecutive busy buckets (a merged block in summary mode). */
export interface SummaryRun {
  x: number;
  w: number;
  /** attempts ending in the run */
  count: number;
  aborts: number;
}

/** Runs of consecutive buckets with any activity on one lane, in px of `view`. */
export function summaryRuns(p: PreparedWindow, worker: number, view: TimeRange, width: number): SummaryRun[] {
  const lane = p.lanes.get(worker);
  const r = p.result;
  const runs: SummaryRun[] = [];
  if (!lane) return runs;
  const [i0, i1] = bucketRange(r, view);
  const pxPerNs = width / span(view);
  let cur: SummaryRun | undefined;
  for (let i = i0; i < i1; i++) {
    const busy = lane.committedNs[i] + lane.abortedNs[i] + lane.waitingNs[i] + lane.inevitableNs[i] > 0 || lane.commits[i] + lane.aborts[i] > 0;
    if (!busy) {
      cur = undefined;
      continue;
    }
    const x0 = (r.startNs + i * r.bucketNs - view.startNs) * pxPerNs;
    const x1 = x0 + r.bucketNs * pxPerNs;
    if (!cur) runs.push((cur = { x: x0, w: x1 - x0, count: 0, aborts: 0 }));
    cur.w = x1 - cur.x;
    cur.count += lane.commits[i] + lane.aborts[i];
    cur.aborts += lane.aborts[i];
  }
  return runs;
}

/** The attempt of `worker` under time `t` (± `tolNs`), nearest first; −1 if none. */
export function hitAttempt(p: PreparedWindow, worker: number, t: number, tolNs: number): number {
  const idx = p.attemptsByLane.get(worker);
  const attempts = p.result.attempts;
  if (!idx || !attempts) return -1;
  const maxDur = p.maxDurByLane.get(worker) ?? 0;
  let best = -1;
  let bestD = Infinity;
  for (let k = lowerBound(idx, (i) => attempts[i].startNs, t - tolNs - maxDur); k < idx.length; k++) {
    const m = attempts[idx[k]];
    if (m.startNs > t + tolNs) break;
    const d = t < m.startNs ? m.startNs - t : t > m.endNs ? t - m.endNs : 0;
    if (d <= tolNs && d < bestD) {
      bestD = d;
      best = idx[k];
      if (d === 0) break;
    }
  }
  return best;
}

/** Bucket index under time `t`, or −1 outside the result. */
export function hitBucket(r: WindowResult, t: number): number {
  const i = Math.floor((t - r.startNs) / r.bucketNs);
  return i >= 0 && i < r.pixels ? i : -1;
}

/** The arrow whose victim (or culprit) end is nearest to (t, worker) within `tolNs`; −1 if none. */
export function hitArrowEnd(p: PreparedWindow, worker: number, t: number, tolNs: number, accept: (a: ConflictArrow) => boolean = () => true): number {
  let best = -1;
  let bestD = Infinity;
  const arrows = p.result.arrows;
  for (let k = 0; k < arrows.length; k++) {
    const a = arrows[k];
    if (!accept(a)) continue;
    if (a.victimWorker === worker) {
      const d = Math.abs(a.victimNs - t);
      if (d <= tolNs && d < bestD) {
        bestD = d;
        best = k;
      }
    }
    if (a.culpritWorker === worker && a.culpritNs >= 0) {
      const d = Math.abs(a.culpritNs - t);
      if (d <= tolNs && d < bestD) {
        bestD = d;
        best = k;
      }
    }
  }
  return best;
}

/**
 * The next (`dir` = 1) or previous (−1) arrow after/before time `t` (ties
 * broken by id against `afterId`), among arrows accepted by `accept`; −1 if
 * none in this result.
 */
export function walkArrow(p: PreparedWindow, t: number, afterId: number, dir: 1 | -1, accept: (a: ConflictArrow) => boolean = () => true): number {
  const arrows = p.result.arrows;
  const order = p.arrowOrder;
  if (dir > 0) {
    for (let k = 0; k < order.length; k++) {
      const a = arrows[order[k]];
      if ((a.victimNs > t || (a.victimNs === t && a.id > afterId)) && accept(a)) return order[k];
    }
  } else {
    for (let k = order.length - 1; k >= 0; k--) {
      const a = arrows[order[k]];
      if ((a.victimNs < t || (a.victimNs === t && a.id < afterId)) && accept(a)) return order[k];
    }
  }
  return -1;
}
