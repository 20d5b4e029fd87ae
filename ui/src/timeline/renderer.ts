/**
 * Draws the timeline on a Canvas 2D context from a prepared window result:
 * lanes, time axis, attempts coloured by outcome (or per-pixel summaries when
 * the window holds too many), waits, conflict arrows from the culprit's commit
 * to the victim's abort, the filter range, the drag selection and the
 * selected items. No allocation per mark: marks come through a reused
 * {@link MarkList}, fills are batched per colour.
 */

import type { ConflictArrow } from '../../../model/protocol.ts';
import { MarkKind, MarkList, bucketRange, laneMarks, laneWaits, summaryRuns, type PreparedWindow } from '../model/marks.ts';
import { span, tickStep, timeToX, type TimeRange } from '../model/viewport.ts';
import { fmtInt, fmtNs, fmtTick } from '../model/figures.ts';
import type { Palette } from '../theme.ts';
import { AXIS_H, GUTTER, LANE_GAP, LANE_H, laneMid, laneTop, type Layout } from './layout.ts';

export interface DrawInput {
  layout: Layout;
  view: TimeRange;
  prepared: PreparedWindow | undefined;
  palette: Palette;
  /** filter range (shaded outside) */
  range?: TimeRange;
  selection?: TimeRange;
  selectedAttempt?: { id: number; worker: number; startNs: number; endNs: number };
  selectedArrow?: ConflictArrow;
  /** arrows to draw (already filtered) */
  arrowFilter: (a: ConflictArrow) => boolean;
  hoverX?: number;
  loading: boolean;
  /** data end (live sessions grow) */
  bounds: TimeRange;
  message?: string;
  /** no "zoom in" note when marks were left out on purpose (overview strips) */
  summaryOnly?: boolean;
  /** detail before `beforeNs` was dropped by the server's retention policy: striped, labelled */
  dropped?: { beforeNs: number; label: string };
}

/** Draw statistics (tests and the bench read them from the canvas element). */
export interface DrawStats {
  marks: number;
  merged: number;
  arrows: number;
  summary: boolean;
  ms: number;
}

const MAX_ARROWS = 600;
const marks = new MarkList(4096);
const waitsBuf: number[] = [];

function kindColour(p: Palette, k: number): string {
  switch (k) {
    case MarkKind.Commit:
      return p.commit;
    case MarkKind.Abort:
      return p.abort;
    case MarkKind.Fail:
      return p.fail;
    case MarkKind.Unfinished:
      return p.unfinished;
    case MarkKind.Inevitable:
      return p.inevitable;
    case MarkKind.Merged:
      return p.merged;
    default:
      return p.mergedAbort;
  }
}

export function drawTimeline(ctx: CanvasRenderingContext2D, d: DrawInput): DrawStats {
  const t0 = performance.now();
  const { layout, view, palette: p } = d;
  const W = layout.width;
  const H = layout.height;
  const plotW = layout.plotW;
  const stats: DrawStats = { marks: 0, merged: 0, arrows: 0, summary: false, ms: 0 };
  const X = (t: number) => GUTTER + timeToX(view, plotW, t);

  ctx.fillStyle = p.bg;
  ctx.fillRect(0, 0, W, H);

  // Lane backgrounds.
  for (let i = 0; i < layout.lanes.length; i++) {
    ctx.fillStyle = i % 2 ? p.laneAlt : p.laneBg;
    ctx.fillRect(GUTTER, laneTop(i) - LANE_GAP / 2, plotW, LANE_H + LANE_GAP);
  }

  // Data beyond the recording: hatched out so "nothing here" is not mistaken for idle.
  const dataEndX = X(d.bounds.endNs);
  if (dataEndX < W) {
    ctx.fillStyle = p.grid;
    ctx.globalAlpha = 0.5;
    ctx.fillRect(Math.max(GUTTER, dataEndX), AXIS_H, W - Math.max(GUTTER, dataEndX), H - AXIS_H);
    ctx.globalAlpha = 1;
  }

  // Dropped detail (retention): striped up to where detail starts, so the empty
  // lanes read as "gone", not as idle workers.
  if (d.dropped) {
    const x1 = Math.min(GUTTER + plotW, X(d.dropped.beforeNs));
    if (x1 > GUTTER) {
      ctx.save();
      ctx.beginPath();
      ctx.rect(GUTTER, AXIS_H, x1 - GUTTER, H - AXIS_H);
      ctx.clip();
      ctx.fillStyle = p.grid;
      ctx.globalAlpha = 0.45;
      ctx.fillRect(GUTTER, AXIS_H, x1 - GUTTER, H - AXIS_H);
      ctx.globalAlpha = 0.9;
      ctx.strokeStyle = p.grid;
      ctx.lineWidth = 1;
      ctx.beginPath();
      for (let x = GUTTER - H; x < x1; x += 10) {
        ctx.moveTo(x, H);
        ctx.lineTo(x + H - AXIS_H, AXIS_H);
      }
      ctx.stroke();
      ctx.restore();
      ctx.fillStyle = p.muted;
      ctx.fillRect(Math.round(x1), AXIS_H, 1, H - AXIS_H);
      ctx.font = '11px system-ui, sans-serif';
      ctx.textBaseline = 'middle';
      const tw = ctx.measureText(d.dropped.label).width;
      if (x1 - GUTTER > tw + 12) ctx.fillText(d.dropped.label, x1 - tw - 6, AXIS_H + 10);
    }
  }

  // Axis and grid.
  const step = tickStep(span(view), Math.max(2, plotW / 110));
  ctx.font = '11px system-ui, sans-serif';
  ctx.textBaseline = 'middle';
  ctx.strokeStyle = p.grid;
  ctx.lineWidth = 1;
  ctx.beginPath();
  const first = Math.ceil(view.startNs / step) * step;
  for (let t = first; t <= view.endNs; t += step) {
    const x = Math.round(X(t)) + 0.5;
    ctx.moveTo(x, AXIS_H - 6);
    ctx.lineTo(x, H);
  }
  ctx.stroke();
  ctx.fillStyle = p.muted;
  for (let t = first; t <= view.endNs; t += step) {
    const x = X(t);
    if (x < GUTTER + 2 || x > W - 20) continue;
    ctx.fillText(fmtTick(t, step), x + 3, AXIS_H / 2);
  }
  ctx.fillStyle = p.grid;
  ctx.fillRect(0, AXIS_H - 1, W, 1);

  const r = d.prepared?.result;
  ctx.save();
  ctx.beginPath();
  ctx.rect(GUTTER, AXIS_H, plotW, H - AXIS_H);
  ctx.clip();

  if (r && d.prepared) {
    const pr = d.prepared;
    if (r.attempts) {
      for (let li = 0; li < layout.lanes.length; li++) {
        const w = layout.lanes[li];
        const top = laneTop(li);
        laneMarks(pr, w, view, plotW, marks, 1);
        stats.marks += marks.n;
        // Batched by colour into one path each (7 passes over the marks at most), snapped to pixels.
        for (let k = 0; k <= MarkKind.MergedAbort; k++) {
          let any = false;
          const merged = k >= MarkKind.Merged;
          for (let i = 0; i < marks.n; i++) {
            if (marks.kind[i] !== k) continue;
            if (!any) {
              ctx.beginPath();
              any = true;
            }
            const x0 = Math.round(GUTTER + marks.x[i]);
            const x1 = Math.max(x0 + 1, Math.round(GUTTER + marks.x[i] + marks.w[i]));
            ctx.rect(x0, top + (merged ? 3 : 1), x1 - x0, LANE_H - (merged ? 6 : 2));
          }
          if (any) {
            ctx.fillStyle = kindColour(p, k);
            ctx.fill();
          }
        }
        // Merged counts (Tracy's "×N").
        ctx.fillStyle = p.bg;
        for (let i = 0; i < marks.n; i++) {
          if (marks.count[i] > 1) {
            stats.merged++;
            if (marks.w[i] >= 30) ctx.fillText(`×${marks.count[i]}`, GUTTER + marks.x[i] + 3, top + LANE_H / 2);
          }
        }
        // Separators between adjacent single marks wider than 4 px, so retries read as separate attempts.
        ctx.fillStyle = p.bg;
        ctx.beginPath();
        for (let i = 0; i < marks.n; i++) if (marks.count[i] === 1 && marks.w[i] > 4) ctx.rect(Math.round(GUTTER + marks.x[i]), top + 1, 1, LANE_H - 2);
        ctx.fill();
        // Waits: a band at the bottom of the lane.
        laneWaits(pr, w, view, plotW, waitsBuf);
        if (waitsBuf.length) {
          ctx.fillStyle = p.wait;
          ctx.beginPath();
          for (let i = 0; i < waitsBuf.length; i += 2) {
            const x0 = Math.round(GUTTER + waitsBuf[i]);
            ctx.rect(x0, top + LANE_H - 7, Math.max(1, Math.round(GUTTER + waitsBuf[i] + waitsBuf[i + 1]) - x0), 6);
          }
          ctx.fill();
        }
      }
    } else {
      stats.summary = true;
      const [i0, i1] = bucketRange(r, view);
      const pxPerNs = plotW / span(view);
        for (let li = 0; li < layout.lanes.length; li++) {
        const lane = pr.lanes.get(layout.lanes[li]);
        if (!lane) continue;
        const top = laneTop(li);
        const bottom = top + LANE_H - 1;
        const hMax = LANE_H - 2;
        // Stacked occupancy per bucket: committed (inevitable part in purple), aborted, waiting.
        const layers: Array<[number[], string]> = [
          [lane.committedNs, p.commit],
          [lane.abortedNs, p.abort],
          [lane.waitingNs, p.wait],
        ];
        // Columns snapped to whole pixels: one path per colour, no anti-aliased seams.
        const base = new Float32Array(Math.max(0, i1 - i0));
        const colX = (i: number) => Math.round(GUTTER + (r.startNs + i * r.bucketNs - view.startNs) * pxPerNs);
        for (const [series, colour] of layers) {
          ctx.beginPath();
          for (let i = i0; i < i1; i++) {
            const v = series[i];
            if (!(v > 0)) continue;
            const total = lane.committedNs[i] + lane.abortedNs[i] + lane.waitingNs[i];
            const norm = total > r.bucketNs ? r.bucketNs / total : 1;
            const h = Math.max(1, Math.round((v / r.bucketNs) * norm * hMax));
            const x = colX(i);
            const y0 = bottom - base[i - i0];
            ctx.rect(x, y0 - h, Math.max(1, colX(i + 1) - x), h);
            base[i - i0] += h;
          }
          ctx.fillStyle = colour;
          ctx.fill();
        }
        ctx.beginPath();
        for (let i = i0; i < i1; i++) {
          const v = lane.inevitableNs[i];
          if (!(v > 0)) continue;
          const total = lane.committedNs[i] + lane.abortedNs[i] + lane.waitingNs[i];
          const norm = total > r.bucketNs ? r.bucketNs / total : 1;
          const h = Math.max(1, Math.round((Math.min(v, lane.committedNs[i] || v) / r.bucketNs) * norm * hMax));
          const x = colX(i);
          ctx.rect(x, bottom - h, Math.max(1, colX(i + 1) - x), h);
        }
        ctx.fillStyle = p.inevitable;
        ctx.fill();
        // Aborts as ticks on top, so single aborts stay visible in a busy lane.
        ctx.beginPath();
        for (let i = i0; i < i1; i++) {
          if (lane.aborts[i] > 0) {
            const x = colX(i);
            ctx.rect(x, top, Math.max(1, colX(i + 1) - x), 3);
          }
        }
        ctx.fillStyle = p.abort;
        ctx.fill();
        // Merged counts per run of busy buckets (Tracy's "×N merged").
        for (const run of summaryRuns(pr, layout.lanes[li], view, plotW)) {
          stats.merged++;
          if (run.w >= 60 && run.count > 0) {
            const text = `×${fmtInt(run.count)} merged`;
            const tw = ctx.measureText(text).width;
            if (tw + 12 < run.w) {
              const x = GUTTER + Math.max(0, run.x) + 4;
              ctx.fillStyle = p.bg;
              ctx.globalAlpha = 0.8;
              ctx.fillRect(x - 2, top + LANE_H / 2 - 7, tw + 4, 14);
              ctx.globalAlpha = 1;
              ctx.fillStyle = p.label;
              ctx.fillText(text, x, top + LANE_H / 2);
            }
          }
        }
        stats.marks += i1 - i0;
      }
    }

    // Conflict arrows: culprit commit → victim abort.
    const laneIdx = new Map<number, number>();
    layout.lanes.forEach((w, i) => laneIdx.set(w, i));
    const order = pr.arrowOrder;
    let visible = 0;
    for (let k = 0; k < order.length; k++) {
      const a = r.arrows[order[k]];
      if (a.victimNs < view.startNs && (a.culpritNs < 0 || a.culpritNs < view.startNs)) continue;
      if ((a.culpritNs < 0 ? a.victimNs : Math.min(a.victimNs, a.culpritNs)) > view.endNs) continue;
      if (laneIdx.has(a.victimWorker) && d.arrowFilter(a)) visible++;
    }
    // Arrows stay readable up to about one per 8 px of plot; beyond, only the selected one is drawn.
    const drawAll = visible <= Math.min(MAX_ARROWS, Math.max(40, plotW / 8));
    ctx.lineWidth = 1.25;
    ctx.strokeStyle = p.arrow;
    ctx.fillStyle = p.arrow;
    for (let k = 0; k < order.length && drawAll; k++) {
      const a = r.arrows[order[k]];
      if (d.selectedArrow && a.id === d.selectedArrow.id) continue;
      if (!d.arrowFilter(a)) continue;
      if (drawArrow(ctx, a, laneIdx, X, view, false)) stats.arrows++;
    }
    // Beyond MAX_ARROWS, arrows are unreadable: the lanes' red abort ticks stand for them.
    if (r.truncated && !d.summaryOnly) {
      ctx.fillStyle = p.muted;
      ctx.fillText('some marks omitted: zoom in for every transaction', GUTTER + 6, laneTop(layout.lanes.length) + 2);
    }
  }

  // Selected attempt.
  const sa = d.selectedAttempt;
  if (sa) {
    const li = layout.lanes.indexOf(sa.worker);
    if (li >= 0) {
      const x0 = X(sa.startNs);
      const x1 = X(sa.endNs);
      ctx.strokeStyle = p.highlight;
      ctx.lineWidth = 2;
      ctx.strokeRect(x0 - 1, laneTop(li) - 1, Math.max(2, x1 - x0) + 2, LANE_H + 2);
    }
  }
  // Selected conflict, drawn last and thicker.
  if (d.selectedArrow) {
    const laneIdx = new Map<number, number>();
    layout.lanes.forEach((w, i) => laneIdx.set(w, i));
    ctx.strokeStyle = p.arrowSelected;
    ctx.fillStyle = p.arrowSelected;
    ctx.lineWidth = 2.5;
    if (drawArrow(ctx, d.selectedArrow, laneIdx, X, view, true)) stats.arrows++;
  }

  // Filter range: shade what is outside.
  if (d.range) {
    ctx.fillStyle = p.dark ? 'rgba(0,0,0,0.45)' : 'rgba(120,130,140,0.22)';
    const x0 = X(d.range.startNs);
    const x1 = X(d.range.endNs);
    if (x0 > GUTTER) ctx.fillRect(GUTTER, AXIS_H, x0 - GUTTER, H - AXIS_H);
    if (x1 < W) ctx.fillRect(Math.max(GUTTER, x1), AXIS_H, W - Math.max(GUTTER, x1), H - AXIS_H);
  }
  // Drag selection.
  if (d.selection) {
    const x0 = X(d.selection.startNs);
    const x1 = X(d.selection.endNs);
    ctx.fillStyle = p.selection;
    ctx.fillRect(x0, AXIS_H, x1 - x0, H - AXIS_H);
    ctx.fillStyle = p.selectionEdge;
    ctx.fillRect(Math.round(x0), AXIS_H, 1, H - AXIS_H);
    ctx.fillRect(Math.round(x1), AXIS_H, 1, H - AXIS_H);
    const label = fmtNs(d.selection.endNs - d.selection.startNs);
    const tw = ctx.measureText(label).width;
    ctx.fillStyle = p.bg;
    ctx.fillRect((x0 + x1) / 2 - tw / 2 - 4, AXIS_H + 2, tw + 8, 16);
    ctx.fillStyle = p.selectionEdge;
    ctx.fillText(label, (x0 + x1) / 2 - tw / 2, AXIS_H + 10);
  }
  // Hover line.
  if (d.hoverX !== undefined && d.hoverX >= GUTTER) {
    ctx.fillStyle = p.muted;
    ctx.globalAlpha = 0.5;
    ctx.fillRect(Math.round(d.hoverX), AXIS_H, 1, H - AXIS_H);
    ctx.globalAlpha = 1;
  }
  ctx.restore();

  // Gutter: lane labels.
  ctx.fillStyle = p.bg;
  ctx.fillRect(0, AXIS_H, GUTTER, H - AXIS_H);
  ctx.fillStyle = p.grid;
  ctx.fillRect(GUTTER - 1, 0, 1, H);
  ctx.font = '12px system-ui, sans-serif';
  for (let i = 0; i < layout.lanes.length; i++) {
    ctx.fillStyle = p.fg;
    const w = layout.lanes[i];
    ctx.fillText(w === 0 ? 'main (0)' : `worker ${w}`, 8, laneMid(i));
  }

  if (d.message || (d.loading && !r)) {
    ctx.font = '13px system-ui, sans-serif';
    ctx.fillStyle = p.muted;
    ctx.fillText(d.message ?? 'loading…', GUTTER + 12, AXIS_H + 16);
  }
  stats.ms = performance.now() - t0;
  return stats;
}

/** Draws one arrow; false when neither end is in a drawn lane or in view. */
function drawArrow(
  ctx: CanvasRenderingContext2D,
  a: ConflictArrow,
  laneIdx: Map<number, number>,
  X: (t: number) => number,
  view: TimeRange,
  selected: boolean,
): boolean {
  const vi = laneIdx.get(a.victimWorker);
  if (vi === undefined) return false;
  const vx = X(a.victimNs);
  const vy = laneMid(vi);
  const ci = a.culpritWorker >= 0 ? laneIdx.get(a.culpritWorker) : undefined;
  if (ci === undefined || a.culpritNs < 0) {
    // Unknown culprit (or its lane hidden): a short stub into the abort.
    if (a.victimNs < view.startNs || a.victimNs > view.endNs) return false;
    ctx.beginPath();
    ctx.moveTo(vx - 10, vy - 12);
    ctx.lineTo(vx, vy);
    ctx.stroke();
    head(ctx, vx - 10, vy - 12, vx, vy, selected ? 7 : 5);
    return true;
  }
  const cx = X(a.culpritNs);
  const cy = laneMid(ci);
  const dy = vy - cy;
  const bend = Math.max(12, Math.min(60, Math.abs(vx - cx) / 2));
  ctx.beginPath();
  ctx.moveTo(cx, cy);
  if (dy === 0) {
    ctx.bezierCurveTo(cx + bend / 2, cy - 16, vx - bend / 2, vy - 16, vx, vy);
    ctx.stroke();
    head(ctx, vx - bend / 2, vy - 16, vx, vy, selected ? 7 : 5);
  } else {
    const c1y = cy + dy * 0.5;
    ctx.bezierCurveTo(cx + bend * 0.3, c1y, vx - bend * 0.3, c1y, vx, vy);
    ctx.stroke();
    head(ctx, vx - bend * 0.3, c1y, vx, vy, selected ? 7 : 5);
  }
  ctx.beginPath();
  ctx.arc(cx, cy, selected ? 3.5 : 2, 0, Math.PI * 2);
  ctx.fill();
  return true;
}

function head(ctx: CanvasRenderingContext2D, fx: number, fy: number, tx: number, ty: number, size: number): void {
  const ang = Math.atan2(ty - fy, tx - fx);
  ctx.beginPath();
  ctx.moveTo(tx, ty);
  ctx.lineTo(tx - size * Math.cos(ang - 0.45), ty - size * Math.sin(ang - 0.45));
  ctx.lineTo(tx - size * Math.cos(ang + 0.45), ty - size * Math.sin(ang + 0.45));
  ctx.closePath();
  ctx.fill();
}
