/**
 * Level of detail for the timeline: which window to ask the timeline source
 * for, and whether a result already in hand can draw the current view.
 *
 * Perfetto's slice tracks fetch ~3× the visible window at a resolution
 * quantised to a power of two, so the cache key stays stable while panning and
 * a small zoom does not refetch (ui/src/components/tracks/slice_track.ts,
 * buffered_bounds.ts; ../shared/reference/style.md §1):
 *
 * ```
 *   visible                 |======|
 *   fetched          |------|======|------|     3× span, start aligned to
 *                    ^ multiple of ALIGN buckets, bucketNs = 2^k ≥ ns per pixel
 * ```
 *
 * A result that carries the individual attempts (few enough in its window)
 * and was not truncated draws any zoom inside its range exactly, so zooming in
 * from there never refetches.
 */

import type { WindowQuery, WindowResult } from '../../../model/protocol.ts';
import { span, type TimeRange } from './viewport.ts';

/** Buckets per result at most (the protocol's limit). */
export const MAX_PIXELS = 8192;
/** Fetched windows start on multiples of this many buckets. */
const ALIGN = 256;

export interface WindowPlan extends WindowQuery {
  bucketNs: number;
  /** Stable key: same key ⇒ same query. */
  key: string;
}

/** The smallest power of two ≥ x (≥ 1). */
export function pow2ceil(x: number): number {
  if (!(x > 1)) return 1;
  return 2 ** Math.ceil(Math.log2(x));
}

/**
 * The query to send for `view` drawn `widthPx` pixels wide: about three view
 * widths around it (clipped to the data, widened for a bounded count), buckets
 * a power of two ns wide and at most one pixel each.
 */
export function planWindow(view: TimeRange, widthPx: number, bounds: TimeRange, opts: { workers?: number[]; maxMarks?: number } = {}): WindowPlan {
  const w = Math.max(1, Math.round(widthPx));
  const s = span(view);
  let bucketNs = pow2ceil(s / w);
  const grid = bucketNs * ALIGN;
  const lo = Math.floor(Math.max(view.startNs - s, Math.min(view.startNs, bounds.startNs)) / grid) * grid;
  let hi = Math.max(view.endNs, Math.min(view.endNs + s, bounds.endNs));
  let pixels = Math.ceil((hi - lo) / bucketNs / ALIGN) * ALIGN;
  while (pixels > MAX_PIXELS) {
    // Never happens for views under ~2700 px; keep the query legal anyway.
    bucketNs *= 2;
    pixels = Math.ceil((hi - lo) / bucketNs / ALIGN) * ALIGN;
  }
  pixels = Math.max(ALIGN, pixels);
  hi = lo + pixels * bucketNs;
  const workers = opts.workers;
  const maxMarks = opts.maxMarks ?? 5000;
  return {
    startNs: lo,
    endNs: hi,
    pixels,
    bucketNs,
    ...(workers ? { workers } : {}),
    maxMarks,
    key: `${lo}:${pixels}:${bucketNs}:${workers ? workers.join(',') : '*'}:${maxMarks}`,
  };
}

/** True when `r` covers `view`. */
export function covers(r: { startNs: number; endNs: number }, view: TimeRange): boolean {
  return r.startNs <= view.startNs && r.endNs >= view.endNs;
}

/**
 * Whether a result can draw `view` without asking again:
 * - exact: its individual attempts are all there (not truncated) and it covers the view;
 * - else it must cover the view at the planned resolution (same bucket size or one finer).
 */
export function canDraw(r: WindowResult, view: TimeRange, plan: WindowPlan): boolean {
  if (!covers(r, view)) return false;
  if (r.attempts && !r.truncated) return true;
  return r.bucketNs <= plan.bucketNs && r.bucketNs * 2 >= plan.bucketNs;
}
