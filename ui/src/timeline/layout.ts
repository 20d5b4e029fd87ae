/**
 * Geometry of the timeline canvas: a gutter of lane labels on the left, a
 * time axis on top, one lane per worker.
 *
 * ```
 *  ┌────────┬──────────────────────────────────────────┐ AXIS_H
 *  │        │ 0µs      10µs      20µs      30µs         │
 *  ├────────┼──────────────────────────────────────────┤
 *  │ w 1    │ ███ ██  ████ ██▒▒█                        │ LANE_H
 *  │ w 2    │  ██▓▓█ ██ ███                             │ (+ LANE_GAP)
 *  └────────┴──────────────────────────────────────────┘
 *    GUTTER            plot (x = 0 at the gutter's edge)
 * ```
 */

export const GUTTER = 86;
export const AXIS_H = 26;
export const LANE_H = 28;
export const LANE_GAP = 6;
export const BOTTOM_PAD = 10;

export interface Layout {
  /** CSS px of the whole canvas */
  width: number;
  height: number;
  /** plot width (canvas minus gutter) */
  plotW: number;
  lanes: number[];
}

export function layoutFor(width: number, lanes: number[]): Layout {
  return { width, height: AXIS_H + lanes.length * (LANE_H + LANE_GAP) + BOTTOM_PAD, plotW: Math.max(1, width - GUTTER), lanes };
}

/** Top y of lane `i`. */
export function laneTop(i: number): number {
  return AXIS_H + i * (LANE_H + LANE_GAP) + LANE_GAP / 2;
}

/** Lane index at y, or −1. */
export function laneAt(l: Layout, y: number): number {
  if (y < AXIS_H) return -1;
  const i = Math.floor((y - AXIS_H) / (LANE_H + LANE_GAP));
  return i >= 0 && i < l.lanes.length ? i : -1;
}

/** Vertical centre of lane `i`. */
export function laneMid(i: number): number {
  return laneTop(i) + LANE_H / 2;
}
