/**
 * TEMPORARY: a TimelineSource over an in-memory EventStore, used by the
 * dashboard's Web Worker until the server's model/timeline.ts lands (the
 * shared implementation both sides are meant to use). It answers the same
 * protocol (model/protocol.ts) with a linear scan per lane of the attempts in
 * the window (rows of one worker are in time order), which is fast enough for
 * 10^6 transactions.
 */

import type { EventStore } from '../../../model/store.ts';
import type { AttemptMark, ConflictArrow, LaneSummary, Occurrence, TimelineSource, WaitMark, WindowQuery, WindowResult } from '../../../model/protocol.ts';
import { CONFLICT_KIND_NAMES, WAIT_REASON_NAMES } from '../../../model/records.ts';

const OUTCOMES = ['commit', 'abort', 'fail', 'unfinished'] as const;
const INEVITABLE_FLAG = 1;

class LaneIndex {
  rows: Int32Array = new Int32Array(16);
  n = 0;
  push(r: number): void {
    if (this.n === this.rows.length) {
      const b = new Int32Array(this.rows.length * 2);
      b.set(this.rows);
      this.rows = b;
    }
    this.rows[this.n++] = r;
  }
}

export class StoreTimeline implements TimelineSource {
  private attemptsSeen = 0;
  private waitsSeen = 0;
  private abortsSeen = 0;
  private readonly lanes = new Map<number, LaneIndex>();
  private readonly waitLanes = new Map<number, LaneIndex>();
  /** abort rows in time order (arrival order is per-worker ordered only) */
  private abortOrder = new Int32Array(0);
  private groupKeyCache = new Map<number, string>();
  private byGroup: Map<string, number[]> | undefined;
  private startNs = Infinity;
  private endNs = 0;

  constructor(private readonly store: EventStore) {}

  private refresh(): void {
    const a = this.store.attempts;
    if (a.length !== this.attemptsSeen) {
      const c = a.cols;
      for (let r = this.attemptsSeen; r < a.length; r++) {
        let l = this.lanes.get(c.worker[r]);
        if (!l) this.lanes.set(c.worker[r], (l = new LaneIndex()));
        l.push(r);
        if (c.start[r] < this.startNs) this.startNs = c.start[r];
        if (c.end[r] > this.endNs) this.endNs = c.end[r];
      }
      this.attemptsSeen = a.length;
    }
    const w = this.store.waits;
    if (w.length !== this.waitsSeen) {
      const c = w.cols;
      for (let r = this.waitsSeen; r < w.length; r++) {
        let l = this.waitLanes.get(c.worker[r]);
        if (!l) this.waitLanes.set(c.worker[r], (l = new LaneIndex()));
        l.push(r);
        if (c.end[r] > this.endNs) this.endNs = c.end[r];
      }
      this.waitsSeen = w.length;
    }
    const ab = this.store.aborts;
    if (ab.length !== this.abortsSeen) {
      const t = ab.cols.time;
      const order = new Int32Array(ab.length);
      for (let i = 0; i < order.length; i++) order[i] = i;
      order.sort((x, y) => t[x] - t[y] || x - y);
      this.abortOrder = order;
      this.abortsSeen = ab.length;
      this.byGroup = undefined;
    }
  }

  bounds(): { startNs: number; endNs: number } {
    this.refresh();
    return Number.isFinite(this.startNs) ? { startNs: this.startNs, endNs: this.endNs } : { startNs: 0, endNs: 0 };
  }

  workers(): number[] {
    this.refresh();
    return [...this.lanes.keys()].sort((a, b) => a - b);
  }

  groupKey(abortRow: number): string {
    let k = this.groupKeyCache.get(abortRow);
    if (k !== undefined) return k;
    const c = this.store.aborts.cols;
    const defs = this.store.defs;
    const vLoc = defs.siteLocation(c.worker[abortRow], c.victimSite[abortRow]);
    const cw = c.culpritWorker[abortRow];
    const cLoc = cw < 0 ? -1 : defs.siteLocation(cw, c.culpritSite[abortRow]);
    k = `${c.kind[abortRow]}:${vLoc}:${cLoc}`;
    this.groupKeyCache.set(abortRow, k);
    return k;
  }

  private arrow(r: number): ConflictArrow {
    const c = this.store.aborts.cols;
    const cw = c.culpritWorker[r];
    const cRow = cw < 0 ? -1 : this.store.culpritAttempt(r);
    return {
      id: r,
      kind: CONFLICT_KIND_NAMES[c.kind[r]] ?? `kind-${c.kind[r]}`,
      groupKey: this.groupKey(r),
      victimWorker: c.worker[r],
      victimTxSeq: c.txSeq[r],
      victimNs: c.time[r],
      culpritWorker: cw,
      culpritTxSeq: c.culpritTxSeq[r],
      culpritNs: cRow >= 0 ? this.store.attempts.cols.end[cRow] : -1,
      object: this.store.abortObject(r).label,
      timeLostNs: c.timeLostNs[r],
    };
  }

  query(q: WindowQuery): WindowResult {
    this.refresh();
    const pixels = Math.max(1, Math.min(8192, Math.floor(q.pixels)));
    const s = q.startNs;
    const e = Math.max(q.endNs, s + pixels);
    const bucketNs = (e - s) / pixels;
    const maxMarks = q.maxMarks ?? 5000;
    const workers = (q.workers ?? this.workers()).filter((w) => this.lanes.has(w));
    const ac = this.store.attempts.cols;
    const lanes: LaneSummary[] = [];
    const attempts: AttemptMark[] = [];
    let marks = 0;
    const spread = (arr: number[], t0: number, t1: number) => {
      const a = Math.max(t0, s);
      const b = Math.min(t1, e);
      if (b <= a) return;
      let i = Math.floor((a - s) / bucketNs);
      const last = Math.min(pixels - 1, Math.floor((b - s) / bucketNs));
      for (; i <= last; i++) {
        const bs = s + i * bucketNs;
        const o = Math.min(b, bs + bucketNs) - Math.max(a, bs);
        if (o > 0) arr[i] += o;
      }
    };
    for (const w of workers) {
      const L: LaneSummary = {
        worker: w,
        committedNs: new Array(pixels).fill(0),
        abortedNs: new Array(pixels).fill(0),
        waitingNs: new Array(pixels).fill(0),
        inevitableNs: new Array(pixels).fill(0),
        commits: new Array(pixels).fill(0),
        aborts: new Array(pixels).fill(0),
      };
      lanes.push(L);
      const li = this.lanes.get(w)!;
      const rows = li.rows;
      // First row whose end may reach s: rows of a worker do not overlap, so ends are ordered like starts.
      let lo = 0;
      let hi = li.n;
      while (lo < hi) {
        const m = (lo + hi) >>> 1;
        if (ac.end[rows[m]] < s) lo = m + 1;
        else hi = m;
      }
      for (let k = lo; k < li.n; k++) {
        const r = rows[k];
        const st = ac.start[r];
        if (st > e) break;
        const en = ac.end[r];
        const out = ac.outcome[r];
        spread(out === 0 ? L.committedNs : out === 3 ? L.committedNs : L.abortedNs, st, en);
        if (ac.inevitableNs[r] > 0) spread(L.inevitableNs, Math.max(st, en - ac.inevitableNs[r]), en);
        if (en >= s && en < e) {
          const b = Math.min(pixels - 1, Math.floor((en - s) / bucketNs));
          if (out === 0) L.commits[b]++;
          else if (out === 1 || out === 2) L.aborts[b]++;
        }
        marks++;
        if (marks <= maxMarks) {
          attempts.push({
            id: r,
            worker: w,
            txSeq: ac.txSeq[r],
            attempt: ac.attempt[r],
            startNs: st,
            endNs: en,
            outcome: OUTCOMES[out] ?? 'unfinished',
            inevitable: (ac.flags[r] & INEVITABLE_FLAG) !== 0 || ac.inevitableNs[r] > 0,
            ...(ac.name[r] ? { name: this.store.attemptName(r) } : {}),
            conflict: ac.abort[r],
            waitNs: ac.waitNs[r],
          });
        }
      }
    }
    // Waits.
    const wc = this.store.waits.cols;
    const waits: WaitMark[] = [];
    for (const L of lanes) {
      const li = this.waitLanes.get(L.worker);
      if (!li) continue;
      let wlo = 0;
      let whi = li.n;
      while (wlo < whi) {
        const m = (wlo + whi) >>> 1;
        if (wc.end[li.rows[m]] < s) wlo = m + 1;
        else whi = m;
      }
      for (let k = wlo; k < li.n; k++) {
        const r = li.rows[k];
        if (wc.end[r] < s) continue;
        if (wc.begin[r] > e) break;
        spread(L.waitingNs, wc.begin[r], wc.end[r]);
        if (marks <= maxMarks) waits.push({ worker: L.worker, startNs: wc.begin[r], endNs: wc.end[r], reason: WAIT_REASON_NAMES[wc.reason[r]] ?? 'wait' });
      }
    }
    // Arrows: aborts in the window, by time.
    const arrows: ConflictArrow[] = [];
    const at = this.store.aborts.cols.time;
    const vw = this.store.aborts.cols.worker;
    const order = this.abortOrder;
    let lo = 0;
    let hi = order.length;
    while (lo < hi) {
      const m = (lo + hi) >>> 1;
      if (at[order[m]] < s) lo = m + 1;
      else hi = m;
    }
    const laneSet = new Set(workers);
    let truncated = marks > maxMarks;
    for (let k = lo; k < order.length; k++) {
      const r = order[k];
      if (at[r] > e) break;
      if (!laneSet.has(vw[r])) continue;
      if (arrows.length >= maxMarks) {
        truncated = true;
        break;
      }
      arrows.push(this.arrow(r));
    }
    const res: WindowResult = { startNs: s, endNs: e, pixels, bucketNs, lanes, arrows, truncated };
    if (marks <= maxMarks) {
      res.attempts = attempts;
      res.waits = waits;
    }
    return res;
  }

  occurrences(groupKey: string, offset: number, limit: number): { total: number; items: Occurrence[] } {
    this.refresh();
    if (!this.byGroup) {
      const m = new Map<string, number[]>();
      for (let k = 0; k < this.abortOrder.length; k++) {
        const r = this.abortOrder[k];
        const g = this.groupKey(r);
        let l = m.get(g);
        if (!l) m.set(g, (l = []));
        l.push(r);
      }
      this.byGroup = m;
    }
    const rows = this.byGroup.get(groupKey) ?? [];
    const items = rows.slice(Math.max(0, offset), Math.max(0, offset) + Math.max(0, limit)).map((r) => {
      const a = this.arrow(r);
      const row = this.store.aborts.cols.attempt[r];
      return { ...a, victimAttempt: row >= 0 ? this.store.attempts.cols.attempt[row] : 0 };
    });
    return { total: rows.length, items };
  }
}
