/**
 * The timeline's visible time range and the navigation that moves it: zoom at
 * an anchor, pan by a fraction of the view, fit. Pure functions over plain
 * `{startNs, endNs}` values, so the keyboard, the wheel, the minimap and the
 * tests share one behaviour.
 *
 * ```
 *   bounds  |--------------------------------------------------|
 *   view             |=============|        (startNs, endNs)
 *   zoom in at x=¼   ···|=======|···        anchor keeps its time under the cursor
 * ```
 *
 * Times are integer nanoseconds; a view never gets narrower than
 * {@link MIN_SPAN_NS} and never wider than the bounds plus a margin.
 */

export interface TimeRange {
  startNs: number;
  endNs: number;
}

/** Narrowest view: 200 ns across the canvas (attempts are ≥ a few hundred ns). */
export const MIN_SPAN_NS = 200;

/** Margin allowed beyond the data on each side, as a fraction of the data span. */
const MARGIN = 0.05;

/** Width of a range in ns (≥ 1). */
export function span(r: TimeRange): number {
  return Math.max(1, r.endNs - r.startNs);
}

/** Fits the whole of `bounds` (plus a small margin) in the view. */
export function fit(bounds: TimeRange): TimeRange {
  const s = span(bounds);
  const m = Math.max(1, Math.round(s * 0.01));
  return { startNs: bounds.startNs - m, endNs: bounds.endNs + m };
}

/** Centres then fits `r` (Perfetto's F): the range fills the view with 5% air on each side. */
export function fitRange(r: TimeRange, bounds: TimeRange): TimeRange {
  const s = Math.max(MIN_SPAN_NS, span(r));
  const mid = (r.startNs + r.endNs) / 2;
  const half = (s * 1.1) / 2;
  return clamp({ startNs: Math.round(mid - half), endNs: Math.round(mid + half) }, bounds);
}

/** Centres `t` keeping the current zoom (or at least `minSpanNs` wide). */
export function centreOn(view: TimeRange, t: number, bounds: TimeRange, minSpanNs = 0): TimeRange {
  const s = Math.max(span(view), minSpanNs);
  return clamp({ startNs: Math.round(t - s / 2), endNs: Math.round(t + s / 2) }, bounds);
}

/**
 * Zooms by `factor` (< 1 zooms in) keeping the time at `anchor` (0 = left
 * edge, 1 = right edge of the view) where it is.
 */
export function zoomAt(view: TimeRange, factor: number, anchor: number, bounds: TimeRange): TimeRange {
  const s = span(view);
  const a = Math.min(1, Math.max(0, anchor));
  const t = view.startNs + s * a;
  const maxSpan = span(bounds) * (1 + 2 * MARGIN) + MIN_SPAN_NS;
  const ns = Math.min(maxSpan, Math.max(MIN_SPAN_NS, s * factor));
  const start = t - ns * a;
  return clamp({ startNs: Math.round(start), endNs: Math.round(start + ns) }, bounds);
}

/** Pans by `fraction` of the view width (positive = later). */
export function pan(view: TimeRange, fraction: number, bounds: TimeRange): TimeRange {
  const d = Math.round(span(view) * fraction);
  return clamp({ startNs: view.startNs + d, endNs: view.endNs + d }, bounds);
}

/** Pans by a number of ns. */
export function panNs(view: TimeRange, ns: number, bounds: TimeRange): TimeRange {
  return clamp({ startNs: view.startNs + Math.round(ns), endNs: view.endNs + Math.round(ns) }, bounds);
}

/**
 * Keeps a view inside the data (plus margin) without changing its width when
 * it fits; a view wider than the allowed area is centred on the data.
 */
export function clamp(view: TimeRange, bounds: TimeRange): TimeRange {
  const ds = span(bounds);
  const m = Math.round(ds * MARGIN);
  const lo = bounds.startNs - m;
  const hi = bounds.endNs + m;
  let s = Math.max(MIN_SPAN_NS, span(view));
  if (s > hi - lo) {
    if (hi - lo >= MIN_SPAN_NS) return { startNs: lo, endNs: hi };
    const mid = (lo + hi) / 2;
    s = MIN_SPAN_NS;
    return { startNs: Math.round(mid - s / 2), endNs: Math.round(mid + s / 2) };
  }
  let start = view.startNs;
  if (start < lo) start = lo;
  if (start + s > hi) start = hi - s;
  return { startNs: Math.round(start), endNs: Math.round(start + s) };
}

/** x in CSS pixels of time `t` in a view `width` pixels wide. */
export function timeToX(view: TimeRange, width: number, t: number): number {
  return ((t - view.startNs) / span(view)) * width;
}

/** Time at x (CSS pixels) in a view `width` pixels wide. */
export function xToTime(view: TimeRange, width: number, x: number): number {
  return view.startNs + (x / Math.max(1, width)) * span(view);
}

/** True when two ranges are equal. */
export function sameRange(a: TimeRange | undefined, b: TimeRange | undefined): boolean {
  return a === b || (!!a && !!b && a.startNs === b.startNs && a.endNs === b.endNs);
}

/** The intersection of two ranges, or undefined when they do not overlap. */
export function intersect(a: TimeRange, b: TimeRange): TimeRange | undefined {
  const s = Math.max(a.startNs, b.startNs);
  const e = Math.min(a.endNs, b.endNs);
  return e > s ? { startNs: s, endNs: e } : undefined;
}

/** A range from two times in any order. */
export function rangeOf(t0: number, t1: number): TimeRange {
  return t0 <= t1 ? { startNs: Math.round(t0), endNs: Math.round(t1) } : { startNs: Math.round(t1), endNs: Math.round(t0) };
}

/** Nice tick step (1, 2, 5 × 10^k ns) for about `target` ticks over `spanNs`. */
export function tickStep(spanNs: number, target: number): number {
  const raw = spanNs / Math.max(1, target);
  const p = 10 ** Math.floor(Math.log10(Math.max(raw, 1e-9)));
  const m = raw / p;
  const nice = m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10;
  return Math.max(1, nice * p);
}
