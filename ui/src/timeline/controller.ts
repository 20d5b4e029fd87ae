/**
 * The timeline's engine, outside React: owns the canvas, asks the session for
 * level-of-detail windows (one request in flight, stale results drawn until
 * fresh ones arrive), turns pointer, wheel and keyboard input into viewport
 * changes, hit tests for tooltips and clicks, and draws in requestAnimationFrame.
 *
 * It reads view state from the zustand store through `subscribe` (never a
 * React render per frame) and session data from the hub's atoms.
 *
 * For tests and the benchmark the canvas carries `data-view`, `data-lanes`,
 * `data-mode` and `data-draws`, and `window.__stmscopeFrames` keeps the work
 * time of the last frames.
 */

import type { AttemptMark, ConflictArrow, WindowResult } from '../../../model/protocol.ts';
import type { Hub } from '../data/hub.ts';
import type { SessionData } from '../data/backend.ts';
import { offFrame } from '../data/busy.ts';
import { arrowPasses, filterGroups } from '../model/filters.ts';
import { HELD_ACTIONS, applyHeld, keyAction, stepKey, type KeyAction } from '../model/keys.ts';
import { canDraw, planWindow } from '../model/lod.ts';
import { hitArrowEnd, hitAttempt, hitBucket, prepareWindow, walkArrow, type PreparedWindow } from '../model/marks.ts';
import { centreOn, clamp, fit, fitRange, panNs, rangeOf, sameRange, span, xToTime, zoomAt, type TimeRange } from '../model/viewport.ts';
import { fmtInt, fmtNs, fmtPct } from '../model/figures.ts';
import { useView } from '../state/view.ts';
import { currentPalette, palette } from '../theme.ts';
import { GUTTER, LANE_H, laneAt, laneTop, layoutFor, type Layout } from './layout.ts';
import { drawTimeline, type DrawStats } from './renderer.ts';
import { droppedLabel, droppedRange } from '../model/retention.ts';

declare global {
  interface Window {
    /** work ms of recent timeline frames (tests, bench) */
    __stmscopeFrames?: number[];
  }
}

const FRAME_LOG = 5000;

export class TimelineController {
  private readonly ctx: CanvasRenderingContext2D;
  private layout: Layout = layoutFor(800, []);
  private prepared: PreparedWindow | undefined;
  private preparedGen = '';
  private inflight: { key: string; gen: string } | undefined;
  private again = false;
  private error: string | undefined;
  private raf = 0;
  private readonly held = new Set<KeyAction>();
  private lastFrame = 0;
  private hover: { x: number; y: number } | undefined;
  private drag: { x0: number; t0: number; moved: boolean } | undefined;
  private readonly unsubs: Array<() => void> = [];
  private readonly resize: ResizeObserver;
  private draws = 0;
  private walking = false;
  private lastStats: DrawStats | undefined;
  private wheelHintShown = false;
  /** main-thread ms spent outside frames since the last frame (window results, input): counted in the next frame's time */
  private offFrameMs = 0;
  private destroyed = false;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly wrap: HTMLElement,
    private readonly tooltip: HTMLElement,
    private readonly hint: HTMLElement,
    private readonly hub: Hub,
  ) {
    this.ctx = canvas.getContext('2d', { alpha: false })!;
    window.__stmscopeFrames ??= [];
    this.resize = new ResizeObserver(() => this.relayout());
    this.resize.observe(wrap);
    this.unsubs.push(
      useView.subscribe((s, prev) => {
        if (s.filters !== prev.filters) {
          this.relayout();
          this.ensureData();
        }
        if (s.viewport !== prev.viewport) this.ensureData();
        if (
          s.viewport !== prev.viewport ||
          s.selection !== prev.selection ||
          s.attempt !== prev.attempt ||
          s.conflictArrow !== prev.conflictArrow ||
          s.group !== prev.group ||
          s.filters !== prev.filters
        )
          this.requestDraw();
      }),
      hub.data.subscribe((d, prev) => this.onData(d, prev)),
      palette.subscribe(() => this.requestDraw()),
    );
    const on = <K extends keyof HTMLElementEventMap>(el: HTMLElement | Window, type: K, fn: (e: HTMLElementEventMap[K]) => void, opts?: AddEventListenerOptions) => {
      el.addEventListener(type, fn as EventListener, opts);
      this.unsubs.push(() => el.removeEventListener(type, fn as EventListener, opts));
    };
    on(canvas, 'mousemove', (e) => this.onMove(e));
    on(canvas, 'mousedown', (e) => this.onDown(e));
    on(window, 'mouseup', (e) => this.onUp(e));
    on(canvas, 'mouseleave', () => {
      this.hover = undefined;
      this.tooltip.hidden = true;
      this.requestDraw();
    });
    on(canvas, 'wheel', (e) => this.onWheel(e), { passive: false });
    on(window, 'keydown', (e) => this.onKey(e, true));
    on(window, 'keyup', (e) => this.onKey(e, false));
    on(window, 'blur', () => this.held.clear());
    this.onData(hub.data.get(), null);
    this.relayout();
  }

  destroy(): void {
    this.destroyed = true;
    cancelAnimationFrame(this.raf);
    this.resize.disconnect();
    for (const u of this.unsubs) u();
    this.unsubs.length = 0;
  }

  // -- data -----------------------------------------------------------------

  private data(): SessionData | null {
    return this.hub.data.get();
  }

  private bounds(): TimeRange {
    const d = this.data();
    if (!d) return { startNs: 0, endNs: 1000 };
    return { startNs: Math.min(0, d.bounds.startNs), endNs: Math.max(d.bounds.endNs, d.bounds.startNs + 1000) };
  }

  /** The range the server's retention policy dropped, from the session's info (absent for local files). */
  private dropped(): { beforeNs: number; label: string } | undefined {
    const cur = this.hub.current.get();
    if (cur?.kind !== 'server') return undefined;
    const info = this.hub.sessionInfo(cur.id);
    const range = droppedRange(info);
    return range ? { beforeNs: range.beforeNs, label: droppedLabel(info!.retention) ?? '' } : undefined;
  }

  private lanes(): number[] {
    const d = this.data();
    if (!d) return [];
    const all = d.workers.filter((w) => w !== 255);
    const f = useView.getState().filters.workers;
    return f ? all.filter((w) => f.includes(w)) : all;
  }

  private view(): TimeRange {
    return useView.getState().viewport ?? fit(this.bounds());
  }

  private setView(v: TimeRange, byUser = true): void {
    const st = useView.getState();
    if (sameRange(st.viewport, v)) return;
    if (byUser && st.follow && this.data()?.live) st.setFollow(false);
    st.setViewport(v);
  }

  private onData(d: SessionData | null, prev: SessionData | null): void {
    if (!d) {
      this.prepared = undefined;
      this.requestDraw();
      return;
    }
    const st = useView.getState();
    if (!st.viewport) {
      st.setViewport(fit(this.bounds()));
    } else if (d.live && st.follow && prev && d.bounds.endNs > prev.bounds.endNs) {
      // Follow the live end, keeping the zoom.
      const v = st.viewport;
      const s = span(v);
      const end = d.bounds.endNs + s * 0.02;
      st.setViewport({ startNs: Math.round(end - s), endNs: Math.round(end) });
    }
    if (!prev || prev.workers.length !== d.workers.length) this.relayout();
    this.ensureData();
    this.requestDraw();
  }

  private gen(): string {
    const d = this.data();
    return `${d?.seq ?? 0}|${this.lanes().join(',')}`;
  }

  private ensureData(): void {
    const d = this.data();
    const backend = this.hub.current.get()?.backend;
    if (!d || !backend) return;
    const lanes = this.lanes();
    if (lanes.length === 0) return;
    const view = this.view();
    const all = d.workers.filter((w) => w !== 255);
    const plan = planWindow(view, this.layout.plotW, this.bounds(), { workers: lanes.length === all.length ? undefined : lanes, maxMarks: 5000 });
    const gen = this.gen();
    if (this.prepared && this.preparedGen === gen && canDraw(this.prepared.result, view, plan)) return;
    if (this.inflight) {
      if (!(this.inflight.key === plan.key && this.inflight.gen === gen)) this.again = true;
      return;
    }
    this.inflight = { key: plan.key, gen };
    const { key: _key, bucketNs: _b, ...query } = plan;
    backend.window(query).then(
      (res) => this.onWindow(res, gen),
      (e: unknown) => {
        this.inflight = undefined;
        this.error = e instanceof Error ? e.message : String(e);
        this.requestDraw();
      },
    );
  }

  private onWindow(res: WindowResult, gen: string): void {
    if (this.destroyed) return;
    const t0 = performance.now();
    this.inflight = undefined;
    this.error = undefined;
    this.prepared = prepareWindow(res);
    this.preparedGen = gen;
    // A conflict selected by id only (from the URL): find its arrow.
    const st = useView.getState();
    if (st.conflict !== undefined && !st.conflictArrow) {
      const i = this.prepared.arrowById.get(st.conflict);
      if (i !== undefined) st.selectConflict(res.arrows[i]);
    }
    this.requestDraw();
    if (this.again) {
      this.again = false;
      this.ensureData();
    }
    this.offFrameMs += performance.now() - t0;
  }

  // -- layout and drawing ---------------------------------------------------

  private relayout(): void {
    const width = Math.max(200, this.wrap.clientWidth);
    this.layout = layoutFor(width, this.lanes());
    const dpr = Math.min(2, window.devicePixelRatio || 1);
    const w = Math.round(width * dpr);
    const h = Math.round(this.layout.height * dpr);
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
    }
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${this.layout.height}px`;
    this.canvas.dataset.lanes = JSON.stringify(this.layout.lanes);
    this.ensureData();
    this.requestDraw();
  }

  requestDraw(): void {
    if (!this.raf && !this.destroyed) this.raf = requestAnimationFrame((t) => this.frame(t));
  }

  private frame(now: number): void {
    this.raf = 0;
    const t0 = performance.now();
    if (this.held.size) {
      const dt = this.lastFrame ? now - this.lastFrame : 16;
      this.lastFrame = now;
      const anchor = this.hover ? Math.min(1, Math.max(0, (this.hover.x - GUTTER) / this.layout.plotW)) : 0.5;
      this.setView(applyHeld(this.view(), this.held, dt, this.bounds(), anchor));
      this.requestDraw();
    } else {
      this.lastFrame = 0;
    }
    this.draw();
    const frames = window.__stmscopeFrames!;
    frames.push(performance.now() - t0 + this.offFrameMs + offFrame.ms);
    this.offFrameMs = 0;
    offFrame.ms = 0;
    if (frames.length > FRAME_LOG) frames.splice(0, frames.length - FRAME_LOG);
  }

  private draw(): void {
    const st = useView.getState();
    const d = this.data();
    const dpr = this.canvas.width / Math.max(1, this.layout.width);
    this.ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const view = this.view();
    const groupKeys = this.groupKeysForFilters();
    const f = st.filters;
    let message: string | undefined;
    if (this.error) message = `Could not load the timeline: ${this.error}`;
    else if (d && this.layout.lanes.length === 0) message = d.workers.length ? 'No lane matches the worker filter.' : 'No transactions recorded yet.';
    this.lastStats = drawTimeline(this.ctx, {
      layout: this.layout,
      view,
      prepared: this.prepared,
      palette: currentPalette(),
      range: f.range,
      selection: st.selection,
      selectedAttempt: st.attempt,
      selectedArrow: st.conflictArrow,
      arrowFilter: (a) => arrowPasses(a, { kinds: f.kinds }, groupKeys),
      hoverX: this.hover && !this.drag ? this.hover.x : undefined,
      loading: !!this.inflight,
      bounds: this.bounds(),
      message,
      dropped: this.dropped(),
    });
    this.draws++;
    const ds = this.canvas.dataset;
    ds.view = `${view.startNs}-${view.endNs}`;
    ds.mode = this.prepared ? (this.prepared.result.attempts ? 'exact' : 'summary') : 'none';
    ds.draws = String(this.draws);
    ds.dropped = String(this.dropped()?.beforeNs ?? '');
    ds.marks = String(this.lastStats.marks);
    ds.arrows = String(this.lastStats.arrows);
    ds.ready = this.prepared && this.preparedGen === this.gen() ? '1' : '0';
  }

  /** Group keys passing the search filter (arrows carry only their group key). */
  private groupKeysCache: { snap: unknown; search: string | undefined; keys: Set<string> | undefined } = { snap: null, search: undefined, keys: undefined };
  private groupKeysForFilters(): Set<string> | undefined {
    const search = useView.getState().filters.search;
    const snap = this.data()?.snapshot;
    if (!search || !snap) return undefined;
    const c = this.groupKeysCache;
    if (c.snap === snap && c.search === search) return c.keys;
    const keys = new Set(filterGroups(snap, { search }).map((g) => g.group.key));
    this.groupKeysCache = { snap, search, keys };
    return keys;
  }

  // -- pointer --------------------------------------------------------------

  private pos(e: MouseEvent): { x: number; y: number } {
    const r = this.canvas.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  }

  private timeAt(x: number): number {
    return xToTime(this.view(), this.layout.plotW, x - GUTTER);
  }

  private onMove(e: MouseEvent): void {
    const t0 = performance.now();
    try {
      this.move(e);
    } finally {
      this.offFrameMs += performance.now() - t0;
    }
  }

  private move(e: MouseEvent): void {
    const p = this.pos(e);
    this.hover = p;
    if (this.drag) {
      if (Math.abs(p.x - this.drag.x0) > 3) this.drag.moved = true;
      if (this.drag.moved) {
        const t = this.timeAt(Math.max(GUTTER, Math.min(this.layout.width, p.x)));
        useView.getState().setSelection(rangeOf(this.drag.t0, t));
      }
      this.tooltip.hidden = true;
      return;
    }
    const text = this.describeAt(p.x, p.y);
    if (text) {
      this.tooltip.textContent = text;
      this.tooltip.hidden = false;
      const tw = this.tooltip.offsetWidth;
      const left = e.clientX + 14 + tw > window.innerWidth ? e.clientX - tw - 10 : e.clientX + 14;
      this.tooltip.style.left = `${Math.max(4, left)}px`;
      this.tooltip.style.top = `${e.clientY + 14}px`;
      this.canvas.style.cursor = 'pointer';
    } else {
      this.tooltip.hidden = true;
      this.canvas.style.cursor = 'crosshair';
    }
    this.requestDraw();
  }

  private pickAt(x: number, y: number): { arrow?: ConflictArrow; attempt?: AttemptMark; lane: number; bucket?: number } | undefined {
    if (x < GUTTER) return undefined;
    const li = laneAt(this.layout, y);
    if (li < 0 || !this.prepared) return undefined;
    const w = this.layout.lanes[li];
    const t = this.timeAt(x);
    const nsPerPx = span(this.view()) / this.layout.plotW;
    const r = this.prepared.result;
    const st = useView.getState();
    const groupKeys = this.groupKeysForFilters();
    const ai = hitArrowEnd(this.prepared, w, t, nsPerPx * 4, (a) => arrowPasses(a, { kinds: st.filters.kinds }, groupKeys));
    if (ai >= 0) return { arrow: r.arrows[ai], lane: w };
    if (r.attempts) {
      const i = hitAttempt(this.prepared, w, t, nsPerPx * 2);
      if (i >= 0) return { attempt: r.attempts[i], lane: w };
      return undefined;
    }
    const b = hitBucket(r, t);
    return b >= 0 && y >= laneTop(li) && y <= laneTop(li) + LANE_H ? { bucket: b, lane: w } : undefined;
  }

  private describeAt(x: number, y: number): string | undefined {
    const hit = this.pickAt(x, y);
    if (!hit) return undefined;
    if (hit.arrow) return describeArrow(hit.arrow);
    if (hit.attempt) {
      const a = hit.attempt;
      const r = this.prepared!.result;
      let s = `${a.name ? `${a.name} · ` : ''}worker ${a.worker} · tx ${a.txSeq} attempt ${a.attempt}\n${a.outcome === 'commit' ? 'committed' : a.outcome === 'abort' ? 'aborted' : a.outcome === 'fail' ? 'failed (exception)' : 'unfinished'}${a.inevitable ? ' · inevitable' : ''} · ${fmtNs(a.endNs - a.startNs)}${a.waitNs ? ` (waited ${fmtNs(a.waitNs)})` : ''}\nat ${fmtNs(a.startNs)}`;
      if (a.conflict >= 0) {
        const ar = r.arrows.find((c) => c.id === a.conflict);
        if (ar) s += `\n${describeArrow(ar)}`;
      }
      return s;
    }
    if (hit.bucket !== undefined) {
      const r = this.prepared!.result;
      const lane = this.prepared!.lanes.get(hit.lane);
      if (!lane) return undefined;
      const i = hit.bucket;
      const t0 = r.startNs + i * r.bucketNs;
      return `worker ${hit.lane} · ${fmtNs(t0)} … ${fmtNs(t0 + r.bucketNs)}\n${fmtInt(lane.commits[i])} commits, ${fmtInt(lane.aborts[i])} aborts\ncommitted ${fmtPct(lane.committedNs[i], r.bucketNs)}, aborted ${fmtPct(lane.abortedNs[i], r.bucketNs)}, waiting ${fmtPct(lane.waitingNs[i], r.bucketNs)}${lane.inevitableNs[i] ? `, inevitable ${fmtPct(lane.inevitableNs[i], r.bucketNs)}` : ''}`;
    }
    return undefined;
  }

  private onDown(e: MouseEvent): void {
    if (e.button !== 0) return;
    const p = this.pos(e);
    if (p.x < GUTTER) return;
    this.wrap.focus({ preventScroll: true });
    this.drag = { x0: p.x, t0: this.timeAt(p.x), moved: false };
    e.preventDefault();
  }

  private onUp(e: MouseEvent): void {
    const drag = this.drag;
    if (!drag) return;
    this.drag = undefined;
    if (drag.moved) return;
    const p = this.pos(e);
    const st = useView.getState();
    const hit = this.pickAt(p.x, p.y);
    if (hit?.arrow) {
      st.selectConflict(hit.arrow);
      st.selectAttempt(undefined);
    } else if (hit?.attempt) {
      st.selectAttempt(hit.attempt);
      const c = hit.attempt.conflict;
      const ar = c >= 0 ? this.prepared?.result.arrows.find((a) => a.id === c) : undefined;
      st.selectConflict(ar);
    } else {
      st.selectAttempt(undefined);
      st.selectConflict(undefined);
      st.setSelection(undefined);
    }
  }

  private onWheel(e: WheelEvent): void {
    const t0 = performance.now();
    try {
      this.wheel(e);
    } finally {
      this.offFrameMs += performance.now() - t0;
    }
  }

  private wheel(e: WheelEvent): void {
    const p = this.pos(e);
    const unit = e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? this.layout.width : 1;
    const dx = e.deltaX * unit;
    const dy = e.deltaY * unit;
    if (e.ctrlKey || e.metaKey) {
      e.preventDefault();
      const anchor = Math.min(1, Math.max(0, (p.x - GUTTER) / this.layout.plotW));
      this.setView(zoomAt(this.view(), Math.exp(dy * 0.0025), anchor, this.bounds()));
      return;
    }
    // Vertical wheel scrolls the lanes when they overflow; otherwise it pans, like horizontal wheel.
    const overflow = this.wrap.scrollHeight > this.wrap.clientHeight + 1;
    const horizontal = Math.abs(dx) > Math.abs(dy) ? dx : e.shiftKey || !overflow ? dy : 0;
    if (!horizontal) return;
    e.preventDefault();
    const nsPerPx = span(this.view()) / this.layout.plotW;
    this.setView(panNs(this.view(), horizontal * nsPerPx, this.bounds()));
    if (!this.wheelHintShown && Math.abs(dy) > Math.abs(dx)) {
      // Firefox Profiler's one-time hint (src/components/shared/chart/Viewport.tsx).
      this.wheelHintShown = true;
      this.hint.hidden = false;
      setTimeout(() => (this.hint.hidden = true), 3500);
    }
  }

  // -- keyboard -------------------------------------------------------------

  private onKey(e: KeyboardEvent, down: boolean): void {
    const t = e.target as HTMLElement | null;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable)) return;
    const action = keyAction(e);
    if (!action) return;
    const st = useView.getState();
    if (st.help && action !== 'help' && action !== 'clear') return;
    if (HELD_ACTIONS.has(action)) {
      e.preventDefault();
      if (down) {
        if (!this.held.has(action)) {
          // A tap moves at least one step even if released before the next frame.
          const anchor = this.hover ? Math.min(1, Math.max(0, (this.hover.x - GUTTER) / this.layout.plotW)) : 0.5;
          this.setView(stepKey(this.view(), action, this.bounds(), anchor));
          this.held.add(action);
          this.lastFrame = 0;
          this.requestDraw();
        }
      } else {
        this.held.delete(action);
      }
      return;
    }
    if (!down || e.repeat) return;
    e.preventDefault();
    switch (action) {
      case 'fit': {
        const sel = st.selection;
        const arrow = st.conflictArrow;
        const att = st.attempt;
        if (sel) this.setView(fitRange(sel, this.bounds()));
        else if (arrow) this.setView(fitRange(rangeOf(arrow.culpritNs >= 0 ? arrow.culpritNs : arrow.victimNs, arrow.victimNs), this.bounds()));
        else if (att) this.setView(fitRange({ startNs: att.startNs, endNs: att.endNs }, this.bounds()));
        else this.setView(fit(this.bounds()));
        return;
      }
      case 'zoom-selection':
        if (st.selection) this.setView(clamp(st.selection, this.bounds()));
        return;
      case 'next-conflict':
      case 'prev-conflict':
        void this.walk(action === 'next-conflict' ? 1 : -1);
        return;
      case 'help':
        st.setHelp(!st.help);
        return;
      case 'clear':
        if (st.help) st.setHelp(false);
        else if (st.selection) st.setSelection(undefined);
        else {
          st.selectAttempt(undefined);
          st.selectConflict(undefined);
        }
        return;
    }
  }

  // -- conflict walk --------------------------------------------------------

  /** Selects the next/previous conflict passing the filters (and the open group, if any), searching beyond the loaded window. */
  async walk(dir: 1 | -1): Promise<void> {
    if (this.walking) return;
    const backend = this.hub.current.get()?.backend;
    const d = this.data();
    if (!backend || !d) return;
    this.walking = true;
    try {
      const st = useView.getState();
      const sel = st.conflictArrow;
      const t = sel ? sel.victimNs : (this.view().startNs + this.view().endNs) / 2;
      const afterId = sel ? sel.id : dir > 0 ? -1 : Number.MAX_SAFE_INTEGER;
      const groupKeys = this.groupKeysForFilters();
      const group = st.group;
      const f = st.filters;
      const accept = (a: ConflictArrow) => arrowPasses(a, f, groupKeys) && (!group || a.groupKey === group);
      let found: ConflictArrow | undefined;
      const p = this.prepared;
      if (p && !p.result.truncated) {
        const k = walkArrow(p, t, afterId, dir, accept);
        if (k >= 0) found = p.result.arrows[k];
      }
      if (!found) found = await this.searchArrow(t, afterId, dir, accept);
      if (!found) {
        useView.getState().toast('info', dir > 0 ? 'No later conflict matches the filters.' : 'No earlier conflict matches the filters.');
        return;
      }
      this.jumpTo(found);
    } finally {
      this.walking = false;
    }
  }

  private async searchArrow(t: number, afterId: number, dir: 1 | -1, accept: (a: ConflictArrow) => boolean): Promise<ConflictArrow | undefined> {
    const backend = this.hub.current.get()?.backend;
    const b = this.bounds();
    if (!backend) return undefined;
    let w = Math.max(1000, span(this.view()));
    for (let i = 0; i < 40; i++) {
      const q = dir > 0 ? { startNs: Math.floor(t), endNs: Math.ceil(t + w) } : { startNs: Math.floor(t - w), endNs: Math.ceil(t) + 1 };
      const res = await backend.window({ ...q, pixels: 16, maxMarks: 2000 });
      const p = prepareWindow(res);
      const k = walkArrow(p, t, afterId, dir, accept);
      if (k >= 0 && !(res.truncated && dir < 0)) return res.arrows[k];
      if (k >= 0 && res.truncated && dir < 0) {
        // Capped from the start: look closer to t.
        w = Math.max(1, w / 4);
        continue;
      }
      if ((dir > 0 && q.endNs >= b.endNs) || (dir < 0 && q.startNs <= b.startNs)) return undefined;
      w *= 4;
    }
    return undefined;
  }

  /** Centres a conflict (zooming in when it would be too small to see) and selects it. */
  jumpTo(a: ConflictArrow): void {
    const st = useView.getState();
    st.selectConflict(a);
    st.selectAttempt(undefined);
    this.setView(viewForConflict(this.view(), a, this.bounds()));
  }
}

/** A view that shows conflict `a`: centred, zoomed in when the current zoom would make it sub-pixel. */
export function viewForConflict(view: TimeRange, a: ConflictArrow, bounds: TimeRange): TimeRange {
  const c0 = a.culpritNs >= 0 ? Math.min(a.culpritNs, a.victimNs) : a.victimNs;
  const c1 = a.victimNs;
  const extent = Math.max(2000, c1 - c0, a.timeLostNs);
  if (span(view) > extent * 60) return fitRange({ startNs: c0 - extent * 4, endNs: c1 + extent * 4 }, bounds);
  return centreOn(view, (c0 + c1) / 2, bounds);
}

export function describeArrow(a: ConflictArrow): string {
  const culprit = a.culpritWorker >= 0 ? `worker ${a.culpritWorker} tx ${a.culpritTxSeq}${a.culpritNs >= 0 ? ` (commit at ${fmtNs(a.culpritNs)})` : ''}` : 'unknown culprit';
  return `${a.kind} conflict on ${a.object}\nvictim: worker ${a.victimWorker} tx ${a.victimTxSeq}, aborted at ${fmtNs(a.victimNs)}, lost ${fmtNs(a.timeLostNs)}\nculprit: ${culprit}`;
}
