import { describe, expect, it } from 'vitest';
import { ingestBytes } from '../../../model/ingest.ts';
import { bankSample } from '../../../model/testing/samples.ts';
import { StoreTimeline } from './timeline-fallback.ts';

const { ingest } = ingestBytes(bankSample().bytes({ end: { durationNs: 3_000_000 } }), { store: true });
const snap = ingest.aggregator!.snapshot();
const tl = new StoreTimeline(ingest.store!);

describe('StoreTimeline (temporary local timeline source)', () => {
  it('knows the bounds and lanes', () => {
    expect(tl.workers()).toEqual([1, 2, 3]);
    const b = tl.bounds();
    expect(b.startNs).toBe(0);
    expect(b.endNs).toBeGreaterThan(2_000_000);
  });

  it('summarises lanes per bucket and lists attempts and arrows', () => {
    const r = tl.query({ startNs: 0, endNs: 3_000_000, pixels: 300 });
    expect(r.lanes.map((l) => l.worker)).toEqual([1, 2, 3]);
    const commits = r.lanes.reduce((s, l) => s + l.commits.reduce((a, b) => a + b, 0), 0);
    const aborts = r.lanes.reduce((s, l) => s + l.aborts.reduce((a, b) => a + b, 0), 0);
    expect(commits).toBe(snap.summary.commits);
    expect(aborts).toBe(snap.summary.aborts);
    expect(r.attempts!.length).toBe(snap.summary.commits + snap.summary.aborts);
    expect(r.arrows.length).toBe(snap.summary.aborts);
    // Arrow groups match the snapshot's group keys.
    const keys = new Set(snap.groups.map((g) => g.key));
    for (const a of r.arrows) expect(keys.has(a.groupKey)).toBe(true);
    // The counter: worker 1 commits at t+20µs, worker 2 aborts at t+25µs.
    const counter = r.arrows.filter((a) => a.object === 'Stats#1.count');
    expect(counter.length).toBe(20);
    for (const a of counter) {
      expect([a.victimWorker, a.culpritWorker]).toEqual([2, 1]);
      expect(a.victimNs - a.culpritNs).toBe(5000);
    }
  });

  it('drops attempts beyond maxMarks but keeps summaries', () => {
    const r = tl.query({ startNs: 0, endNs: 3_000_000, pixels: 64, maxMarks: 10 });
    expect(r.attempts).toBeUndefined();
    expect(r.truncated).toBe(true);
    expect(r.arrows.length).toBe(10);
  });

  it('pages occurrences of a group', () => {
    const g = snap.groups.find((x) => x.objects[0]?.label === 'Stats#1.count')!;
    const p1 = tl.occurrences(g.key, 0, 15);
    expect(p1.total).toBe(20);
    expect(p1.items.length).toBe(15);
    expect(tl.occurrences(g.key, 15, 15).items.length).toBe(5);
    expect(p1.items[0].victimNs).toBeLessThan(p1.items[1].victimNs);
  });
});
