import { describe, expect, it } from 'vitest';
import { Ingest, ingestBytes } from './ingest.ts';
import { bankSample, rec, us, writeSyntheticRecording } from './testing/index.ts';
import { QueryError, StoreTimeline, groupKeyOf, type TimelineOptions } from './timeline.ts';
import type { EventStore } from './store.ts';
import { concatBytes } from './format.ts';

function load(bytes: Uint8Array) {
  const { ingest } = ingestBytes(bytes, { store: true });
  return { store: ingest.store!, snap: ingest.aggregator!.snapshot(), ingest };
}

/** Brute force: the exact per-pixel figures of a window, straight from the store's rows. */
function bruteForce(store: EventStore, S: number, E: number, P: number, workers: number[]) {
  const pw = (E - S) / P;
  const lanes = new Map(workers.map((w) => [w, { committed: new Float64Array(P), aborted: new Float64Array(P), waiting: new Float64Array(P), inevitable: new Float64Array(P), commits: new Float64Array(P), aborts: new Float64Array(P) }]));
  const span = (arr: Float64Array, s: number, e: number) => {
    for (let p = 0; p < P; p++) {
      const a = S + p * pw;
      const b = a + pw;
      const ov = Math.min(e, b, E) - Math.max(s, a, S);
      if (ov > 0) arr[p] += ov;
    }
  };
  const a = store.attempts.cols;
  for (let i = 0; i < store.attempts.length; i++) {
    const l = lanes.get(a.worker[i]);
    if (!l) continue;
    const o = a.outcome[i];
    if (o === 0) span(l.committed, a.start[i], a.end[i]);
    if (o === 1 || o === 2) span(l.aborted, a.start[i], a.end[i]);
    if (a.inevitableNs[i] > 0) span(l.inevitable, a.end[i] - a.inevitableNs[i], a.end[i]);
    const e = a.end[i];
    if (e >= S && e < E) {
      const p = Math.min(P - 1, Math.floor((e - S) / pw));
      if (o === 0) l.commits[p]++;
      if (o === 1) l.aborts[p]++;
    }
  }
  const w = store.waits.cols;
  for (let i = 0; i < store.waits.length; i++) {
    const l = lanes.get(w.worker[i]);
    if (l) span(l.waiting, w.begin[i], w.end[i]);
  }
  return lanes;
}

const sum = (xs: number[]) => xs.reduce((x, y) => x + y, 0);

describe('StoreTimeline on a small recording (rows only)', () => {
  const { store, snap } = load(bankSample().bytes());
  const tl = new StoreTimeline(store);

  it('knows its bounds and lanes', () => {
    const b = tl.bounds();
    expect(b.startNs).toBe(0);
    // the last attempt ends before the final drop marker (drops are not timeline rows)
    expect(b.endNs).toBe(Math.max(...store.attempts.view().end));
    expect(b.endNs).toBeLessThan(snap.lastNs);
    expect(tl.workers()).toEqual([1, 2, 3]);
  });

  it('summarises each lane per pixel exactly', () => {
    const { startNs, endNs } = tl.bounds();
    const r = tl.query({ startNs, endNs: endNs + 1, pixels: 200 });
    expect(r.lanes.map((l) => l.worker)).toEqual([1, 2, 3]);
    expect(r.bucketNs).toBeCloseTo((endNs + 1 - startNs) / 200);
    const exact = bruteForce(store, startNs, endNs + 1, 200, [1, 2, 3]);
    for (const lane of r.lanes) {
      const x = exact.get(lane.worker)!;
      expect(lane.committedNs).toEqual(Array.from(x.committed, Math.round));
      expect(lane.abortedNs).toEqual(Array.from(x.aborted, Math.round));
      expect(lane.waitingNs).toEqual(Array.from(x.waiting, Math.round));
      expect(lane.inevitableNs).toEqual(Array.from(x.inevitable, Math.round));
      expect(lane.commits).toEqual(Array.from(x.commits));
      expect(lane.aborts).toEqual(Array.from(x.aborts));
      const fig = snap.workers.find((w) => w.id === lane.worker)!;
      expect(sum(lane.commits)).toBe(fig.commits);
      expect(sum(lane.aborts)).toBe(fig.aborts);
    }
  });

  it('returns every attempt, wait and conflict of a small window', () => {
    const { endNs } = tl.bounds();
    const r = tl.query({ startNs: 0, endNs: endNs + 1, pixels: 100 });
    expect(r.truncated).toBe(false);
    expect(r.attempts).toHaveLength(store.attempts.length);
    expect(r.waits).toHaveLength(store.waits.length);
    // aborts + blocked-by-inevitable waits
    expect(r.arrows).toHaveLength(store.aborts.length + store.blockedWaits.length);
    const groupKeys = new Set(snap.groups.map((g) => g.key));
    for (const a of r.arrows) expect(groupKeys.has(a.groupKey)).toBe(true);
    const ww = r.arrows.find((a) => a.kind === 'write-write')!;
    expect(ww.object).toBe('Stats#1.count');
    expect(ww.victimWorker).toBe(2);
    expect(ww.culpritWorker).toBe(1);
    // the culprit is worker 1's transaction `round + 1`, which committed 20 µs into its round
    expect(ww.culpritNs).toBe((ww.culpritTxSeq - 1) * us(100) + us(20));
    const blocked = r.arrows.filter((a) => a.id < -1);
    expect(blocked).toHaveLength(2);
    expect(blocked[0].kind).toBe('inevitable');
    // a named attempt carries its name; an aborted one its conflict id
    const named = r.attempts!.find((a) => a.name === 'transfer');
    expect(named).toBeDefined();
    const aborted = r.attempts!.find((a) => a.outcome === 'abort')!;
    expect(aborted.conflict).toBeGreaterThanOrEqual(0);
    expect(r.arrows.some((a) => a.id === aborted.conflict)).toBe(true);
    expect(r.waits!.some((w) => w.reason === 'backoff')).toBe(true);
  });

  it('caps marks at maxMarks and says so', () => {
    const { endNs } = tl.bounds();
    const r = tl.query({ startNs: 0, endNs: endNs + 1, pixels: 100, maxMarks: 10 });
    expect(r.truncated).toBe(true);
    expect(r.attempts).toBeUndefined();
    expect(r.arrows.length).toBeLessThanOrEqual(10);
    expect(r.arrows.length).toBeGreaterThan(0);
  });

  it('keeps only the lanes asked for', () => {
    const { endNs } = tl.bounds();
    const r = tl.query({ startNs: 0, endNs: endNs + 1, pixels: 10, workers: [2] });
    expect(r.lanes.map((l) => l.worker)).toEqual([2]);
    expect(r.attempts!.every((a) => a.worker === 2)).toBe(true);
    expect(r.arrows.every((a) => a.victimWorker === 2)).toBe(true);
  });

  it('pages through the occurrences of a conflict group', () => {
    for (const g of snap.groups) {
      const all = tl.occurrences(g.key, 0, 1000);
      expect(all.total).toBe(g.count);
      expect(all.items).toHaveLength(g.count);
      expect(all.items.every((o) => o.groupKey === g.key)).toBe(true);
      for (let i = 1; i < all.items.length; i++) expect(all.items[i].victimNs).toBeGreaterThanOrEqual(all.items[i - 1].victimNs);
      const page = tl.occurrences(g.key, 1, 2);
      expect(page.total).toBe(g.count);
      expect(page.items.map((o) => o.id)).toEqual(all.items.slice(1, 3).map((o) => o.id));
    }
    const ww = snap.groups.find((g) => g.kind === 'write-write')!;
    const first = tl.occurrences(ww.key, 0, 1).items[0];
    expect(first.victimAttempt).toBe(1);
    expect(tl.occurrences('9:9:9', 0, 10)).toEqual({ total: 0, items: [] });
  });

  it('refuses malformed queries with a message naming the problem', () => {
    expect(() => tl.query({ startNs: 10, endNs: 10, pixels: 5 })).toThrow(QueryError);
    expect(() => tl.query({ startNs: 10, endNs: 10, pixels: 5 })).toThrow(/endNs \(10\) must be greater than startNs/);
    expect(() => tl.query({ startNs: 0, endNs: 10, pixels: 0 })).toThrow(/pixels must be an integer from 1 to 8192/);
    expect(() => tl.query({ startNs: 0, endNs: 10, pixels: 9000 })).toThrow(/pixels/);
    expect(() => tl.query({ startNs: Number.NaN, endNs: 10, pixels: 5 })).toThrow(/startNs must be a finite number/);
    expect(() => tl.query({ startNs: 0, endNs: 10, pixels: 5, workers: [300] })).toThrow(/workers must be/);
    expect(() => tl.query({ startNs: 0, endNs: 10, pixels: 5, maxMarks: -1 })).toThrow(/maxMarks/);
    expect(() => tl.occurrences('', 0, 1)).toThrow(/groupKey/);
    expect(() => tl.occurrences('0:1:1', -1, 1)).toThrow(/offset/);
  });
});

describe('StoreTimeline level of detail (summary tree)', () => {
  const pieces: Uint8Array[] = [];
  writeSyntheticRecording((b) => pieces.push(b), { events: 200_000, workers: 3 });
  const { store, snap } = load(concatBytes(pieces));
  const opts: TimelineOptions = { segmentRows: 1000, bins: 64, fanout: 4 };
  const tl = new StoreTimeline(store, opts);
  const { startNs, endNs } = tl.bounds();

  it('builds a tree of segments with every row in exactly one place', () => {
    const segs = tl.tree.segments;
    expect(segs.length).toBe(Math.floor(store.attempts.length / 1000));
    expect(tl.tree.levels.length).toBeGreaterThanOrEqual(3);
    let attempts = 0;
    for (let i = 0; i < segs.length; i++) {
      attempts += segs[i].attempt1 - segs[i].attempt0;
      if (i > 0) expect(segs[i].attempt0).toBe(segs[i - 1].attempt1);
    }
    expect(attempts).toBe(segs.length * 1000);
  });

  it('keeps totals exact and pixels close at every zoom level', () => {
    for (const [s, e, P] of [
      [startNs, endNs + 1, 500],
      [startNs, endNs + 1, 37],
      [startNs + (endNs - startNs) * 0.3, startNs + (endNs - startNs) * 0.45, 800],
      [startNs + (endNs - startNs) * 0.5, startNs + (endNs - startNs) * 0.5 + 50_000, 100],
    ] as const) {
      const r = tl.query({ startNs: s, endNs: e, pixels: P, maxMarks: 100 });
      const exact = bruteForce(store, s, e, P, [0, 1, 2]);
      const pw = (e - s) / P;
      for (const lane of r.lanes) {
        const x = exact.get(lane.worker)!;
        const tot = (a: ArrayLike<number>) => Array.from(a).reduce((p, q) => p + q, 0);
        // totals: resampling moves ns between neighbouring pixels, never loses it (edge buckets aside)
        expect(Math.abs(tot(lane.committedNs) - tot(x.committed))).toBeLessThanOrEqual(tot(x.committed) * 0.01 + 2 * pw + P);
        expect(Math.abs(tot(lane.commits) - tot(x.commits))).toBeLessThanOrEqual(tot(x.commits) * 0.01 + 4);
        expect(Math.abs(tot(lane.waitingNs) - tot(x.waiting))).toBeLessThanOrEqual(tot(x.waiting) * 0.01 + 2 * pw + P);
        // per pixel: at most about one pixel's worth of work moved to a neighbour
        let err = 0;
        for (let p = 0; p < P; p++) err += Math.abs(lane.committedNs[p] - x.committed[p]);
        expect(err).toBeLessThanOrEqual(tot(x.committed) * 0.2 + P);
      }
    }
  });

  it('uses the tree (not the rows) for a whole-session view', () => {
    // all per-pixel results must agree with the rows even though segments are summarised
    const r = tl.query({ startNs, endNs: endNs + 1, pixels: 64, maxMarks: 10 });
    expect(r.truncated).toBe(true);
    expect(r.attempts).toBeUndefined();
    const commits = sum(r.lanes.map((l) => sum(l.commits)));
    expect(Math.abs(commits - snap.summary.commits)).toBeLessThanOrEqual(2);
    expect(r.arrows.length).toBe(10);
  });

  it('lists the same attempts as the rows in a narrow window', () => {
    const s = startNs + (endNs - startNs) * 0.61;
    const e = s + 20_000;
    const r = tl.query({ startNs: s, endNs: e, pixels: 100 });
    const a = store.attempts.cols;
    const want: number[] = [];
    for (let i = 0; i < store.attempts.length; i++) if (a.end[i] >= s && a.start[i] < e) want.push(i);
    expect(r.attempts!.map((m) => m.id).sort((x, y) => x - y)).toEqual(want);
    const ab = store.aborts.cols;
    const wantArrows: number[] = [];
    for (let i = 0; i < store.aborts.length; i++) if (ab.time[i] >= s && ab.time[i] < e) wantArrows.push(i);
    expect(r.arrows.map((x) => x.id).sort((x, y) => x - y)).toEqual(wantArrows);
  });

  it('counts occurrences per group across segments like the aggregator', () => {
    for (const g of snap.groups) {
      const o = tl.occurrences(g.key, g.count - 3, 10);
      expect(o.total).toBe(g.count);
      expect(o.items).toHaveLength(3);
      expect(o.items.every((x) => x.groupKey === g.key)).toBe(true);
    }
  });

  it('matches groupKeyOf with the aggregator keys', () => {
    const ab = store.aborts.cols;
    const keys = new Set<string>();
    for (let i = 0; i < store.aborts.length; i++) {
      keys.add(groupKeyOf(store.defs, ab.kind[i], ab.worker[i], ab.victimSite[i], ab.culpritWorker[i], ab.culpritSite[i]));
    }
    expect([...keys].sort()).toEqual(snap.groups.map((g) => g.key).sort());
  });
});

describe('StoreTimeline on a live session', () => {
  it('sees rows added after it was created', () => {
    const r = rec();
    const site = r.site('src/a.ts:3:1');
    for (let i = 0; i < 50; i++) r.worker(i % 2).start(i * 1000, { site }).commit(i * 1000 + 800);
    const bytes = r.bytes({ chunkRecords: 10 });
    const ing = new Ingest({ store: true });
    // the header holds a ~4 KiB description; 3/4 of the bytes hold part of the events
    const cut = Math.floor(bytes.length * 0.75);
    ing.feed(bytes.subarray(0, cut));
    const tl = new StoreTimeline(ing.store!, { segmentRows: 8 });
    const before = tl.query({ startNs: 0, endNs: 50_000, pixels: 50 });
    const n0 = before.attempts!.length;
    expect(n0).toBeGreaterThan(0);
    expect(n0).toBeLessThan(50);
    ing.feed(bytes.subarray(cut));
    ing.finish();
    const after = tl.query({ startNs: 0, endNs: 50_000, pixels: 50 });
    expect(after.attempts).toHaveLength(50);
    expect(sum(after.lanes.map((l) => sum(l.commits)))).toBe(50);
    expect(tl.tree.segments.length).toBe(6);
    expect(tl.workers()).toEqual([0, 1]);
  });

  it('answers an empty session', () => {
    const ing = new Ingest({ store: true });
    const tl = new StoreTimeline(ing.store!);
    expect(tl.bounds()).toEqual({ startNs: 0, endNs: 0 });
    expect(tl.workers()).toEqual([]);
    const r = tl.query({ startNs: 0, endNs: 1000, pixels: 10 });
    expect(r.lanes).toEqual([]);
    expect(r.attempts).toEqual([]);
    expect(r.arrows).toEqual([]);
  });
});
