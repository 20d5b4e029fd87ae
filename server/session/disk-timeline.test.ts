import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Aggregator } from '../../model/aggregate.ts';
import { EventAssembler, TeeSink } from '../../model/assemble.ts';
import { Definitions } from '../../model/defs.ts';
import { RecordingDecoder, concatBytes } from '../../model/format.ts';
import { EventStore } from '../../model/store.ts';
import { StoreTimeline } from '../../model/timeline.ts';
import type { Occurrence } from '../../model/protocol.ts';
import { bankSample, writeSyntheticRecording } from '../../model/testing/index.ts';
import { DiskTimeline } from './disk-timeline.ts';

const dir = mkdtempSync(join(tmpdir(), 'stmscope-disktl-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Ingests `bytes` into a DiskTimeline and, alongside, an in-memory store (the reference). */
function both(bytes: Uint8Array, name: string, opts: ConstructorParameters<typeof DiskTimeline>[2]) {
  const defs = new Definitions();
  const disk = new DiskTimeline(join(dir, `${name}.tl`), defs, opts);
  const store = new EventStore(defs);
  const agg = new Aggregator(defs);
  const asm = new EventAssembler(defs, new TeeSink(new TeeSink(disk, store), agg));
  const dec = new RecordingDecoder({ records: (w, f, n) => asm.records(w, f, n) });
  // feed in uneven pieces, as a socket would
  for (let i = 0; i < bytes.length; i += 70_001) dec.feed(bytes.subarray(i, i + 70_001));
  dec.finish();
  asm.flush();
  return { disk, mem: new StoreTimeline(store, { segmentRows: 1 << 30 }), store, snap: agg.snapshot() };
}

describe('DiskTimeline', () => {
  const pieces: Uint8Array[] = [];
  writeSyntheticRecording((b) => pieces.push(b), { events: 150_000, workers: 3 });
  // tiny segments, bins and caches: most queries must read rows and histograms back from disk
  const { disk, mem, store, snap } = both(concatBytes(pieces), 'synthetic', { segmentRows: 700, bins: 32, fanout: 3, segmentCacheBytes: 64 * 1024, histCacheBytes: 4 * 1024 });
  const { startNs, endNs } = mem.bounds();

  it('writes segments and histograms to its detail file and keeps every row', () => {
    expect(disk.tree.segments.length).toBeGreaterThan(50);
    expect(disk.tree.levels.length).toBeGreaterThan(3);
    disk.flush();
    expect(statSync(disk.path).size).toBe(disk.detailBytes);
    expect(disk.rowCounts.attempts).toBe(store.attempts.length);
    expect(disk.rowCounts.aborts).toBe(store.aborts.length);
    expect(disk.rowCounts.waits).toBe(store.waits.length);
    expect(disk.bounds()).toEqual(mem.bounds());
    expect(disk.workers()).toEqual([0, 1, 2]);
    // what stays in memory is far smaller than the rows themselves
    expect(disk.memoryBytes).toBeLessThan(store.byteLength / 2);
  });

  it('answers narrow windows exactly like the in-memory timeline', () => {
    for (const f of [0.05, 0.37, 0.8, 0.999]) {
      const s = startNs + (endNs - startNs) * f;
      const q = { startNs: s, endNs: s + 40_000, pixels: 120 };
      const a = disk.query(q);
      const b = mem.query(q);
      expect(a.attempts?.length).toBeGreaterThan(0);
      expect(a.attempts!.map((x) => x.id).sort((x, y) => x - y)).toEqual(b.attempts!.map((x) => x.id).sort((x, y) => x - y));
      expect(new Set(a.attempts)).toEqual(new Set(b.attempts));
      expect(a.arrows).toEqual(b.arrows);
      expect(a.waits!.length).toBe(b.waits!.length);
      for (let l = 0; l < a.lanes.length; l++) {
        expect(a.lanes[l].commits).toEqual(b.lanes[l].commits);
        expect(a.lanes[l].aborts).toEqual(b.lanes[l].aborts);
        const err = a.lanes[l].committedNs.reduce((e, v, i) => e + Math.abs(v - b.lanes[l].committedNs[i]), 0);
        expect(err).toBeLessThanOrEqual(a.lanes[l].committedNs.length); // rounding only
      }
    }
  });

  it('finds the culprit commit of every arrow, like the store does', () => {
    const s = startNs + (endNs - startNs) * 0.5;
    const a = disk.query({ startNs: s, endNs: s + 200_000, pixels: 50 });
    expect(a.arrows.length).toBeGreaterThan(5);
    const known = a.arrows.filter((x) => x.culpritNs >= 0);
    expect(known.length).toBe(a.arrows.length);
    for (const arrow of a.arrows) {
      const row = store.committedAttempt(arrow.culpritWorker, arrow.culpritTxSeq);
      expect(arrow.culpritNs).toBe(store.attempts.cols.end[row]);
    }
  });

  it('summarises the whole session from the tree with exact totals', () => {
    const a = disk.query({ startNs, endNs: endNs + 1, pixels: 300, maxMarks: 50 });
    expect(a.truncated).toBe(true);
    expect(a.attempts).toBeUndefined();
    expect(a.arrows.length).toBeLessThanOrEqual(50);
    const commits = a.lanes.reduce((n, l) => n + l.commits.reduce((x, y) => x + y, 0), 0);
    expect(Math.abs(commits - snap.summary.commits)).toBeLessThanOrEqual(2);
  });

  it('samples the conflicts of a wide window from the aborts alone, with the same facts', () => {
    const a = disk.query({ startNs, endNs: endNs + 1, pixels: 100, maxMarks: 200 });
    expect(a.truncated).toBe(true);
    expect(a.arrows.length).toBe(200);
    const ab = store.aborts.cols;
    for (const arrow of a.arrows) {
      expect(arrow.id).toBeGreaterThanOrEqual(0);
      expect(arrow.victimNs).toBe(ab.time[arrow.id]);
      const row = store.committedAttempt(arrow.culpritWorker, arrow.culpritTxSeq);
      expect(arrow.culpritNs).toBe(row < 0 ? -1 : store.attempts.cols.end[row]);
      // arrows are occurrences: they carry the victim's attempt number too
      expect((arrow as Occurrence).victimAttempt).toBe(store.attempts.cols.attempt[ab.attempt[arrow.id]]);
    }
    // spread over the window, not bunched at its start
    expect(a.arrows[a.arrows.length - 1].victimNs - a.arrows[0].victimNs).toBeGreaterThan((endNs - startNs) / 2);
  });

  it('pages through occurrences like the aggregator counts them', () => {
    for (const g of snap.groups) {
      const o = disk.occurrences(g.key, Math.max(0, g.count - 5), 10);
      expect(o.total).toBe(g.count);
      expect(o.items.length).toBe(Math.min(5, g.count));
      expect(o.items).toEqual(mem.occurrences(g.key, Math.max(0, g.count - 5), 10).items);
    }
  });

  it('serves blocked-by-inevitable waits and names from a small recording', () => {
    const r = both(bankSample().bytes(), 'bank', { segmentRows: 4, bins: 8, fanout: 2 });
    const { endNs: e } = r.mem.bounds();
    const a = r.disk.query({ startNs: 0, endNs: e + 1, pixels: 64 });
    const b = r.mem.query({ startNs: 0, endNs: e + 1, pixels: 64 });
    expect(a.arrows).toEqual(b.arrows);
    expect(a.arrows.filter((x) => x.kind === 'inevitable')).toHaveLength(2);
    expect(new Set(a.attempts)).toEqual(new Set(b.attempts));
    r.disk.close();
  });
});
