import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RecordingEncoder, concatBytes, decodeRecording, encodeChunk, fourCC } from '../../model/format.ts';
import { Ingest } from '../../model/ingest.ts';
import { writeSyntheticRecording } from '../../model/testing/index.ts';
import type { WindowQuery } from '../../model/protocol.ts';
import { Session, newInfo } from './session.ts';
import {
  DEFAULT_MAX_AGE_MS,
  DEFAULT_MAX_DATA_BYTES,
  DEFAULT_MAX_SESSION_BYTES,
  headPath,
  parseAge,
  parseRetain,
  parseSize,
  partPath,
  policyFromOptions,
  readRecording,
  readHeadTrim,
  recordingFiles,
  removeRecording,
  removeStaleParts,
  sweepPlan,
} from './retention.ts';

const dir = mkdtempSync(join(tmpdir(), 'stmscope-retention-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const MiB = 1 << 20;
// small segments, bins and caches: queries read rows and histograms back from disk, across many segments
const TIMELINE = { segmentRows: 700, bins: 32, fanout: 3, segmentCacheBytes: 64 * 1024, histCacheBytes: 4 * 1024 };

function liveSession(id: string, retention?: { maxBytes: number; maxAgeMs?: number; partBytes?: number }): Session {
  const info = newInfo(id, 'run', 'test');
  info.live = true;
  const s = new Session(info, { recording: join(dir, `${id}.stm`), detail: join(dir, `${id}.tl`) }, { retention, timeline: TIMELINE });
  s.openForWriting();
  return s;
}

/** Ingest's turns: the pump runs on setImmediate. */
const turns = async (n = 3) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

/** Bytes of every file of a session in `dir` (recording parts, head, timeline extents). */
function filesOf(id: string): string[] {
  return readdirSync(dir).filter((f) => f === `${id}.stm` || f === `${id}.tl` || f.startsWith(`${id}.stm.`) || f.startsWith(`${id}.tl.`));
}
const bytesOf = (id: string) => filesOf(id).reduce((n, f) => n + statSync(join(dir, f)).size, 0);

describe('retention options', () => {
  it('parse sizes, ages and --retain, with clear errors', () => {
    expect(parseSize('256')).toBe(256 * MiB);
    expect(parseSize('512k')).toBe(512 * 1024);
    expect(parseSize('2GiB')).toBe(2048 * MiB);
    expect(parseSize('1.5GB')).toBe(1.5e9);
    expect(() => parseSize('lots', '--x')).toThrow(/--x: "lots" is not a size/);
    expect(parseAge('7d')).toBe(7 * 86400_000);
    expect(parseAge('90min')).toBe(90 * 60_000);
    expect(() => parseAge('7')).toThrow(/not an age/);
    expect(parseRetain('7d')).toEqual({ maxAgeMs: 7 * 86400_000 });
    expect(parseRetain('500MiB')).toEqual({ maxDataBytes: 500 * MiB });
    expect(parseRetain('2g')).toEqual({ maxDataBytes: 2048 * MiB });
    expect(() => parseRetain('500m')).toThrow(/ambiguous: write 500min \(minutes\) or 500mib/);
    expect(parseRetain('7d,2GiB')).toEqual({ maxAgeMs: 7 * 86400_000, maxDataBytes: 2048 * MiB });
    expect(parseRetain('off')).toEqual({ maxAgeMs: 0, maxDataBytes: 0 });
    expect(() => parseRetain('7d,8d')).toThrow(/two ages/);
    expect(() => parseRetain('3x')).toThrow(/neither an age .* nor a size/);
    expect(policyFromOptions(undefined, undefined)).toEqual({ maxSessionBytes: DEFAULT_MAX_SESSION_BYTES, maxDataBytes: DEFAULT_MAX_DATA_BYTES, maxAgeMs: DEFAULT_MAX_AGE_MS });
    expect(policyFromOptions('1', '7d')).toEqual({ maxSessionBytes: MiB, maxDataBytes: DEFAULT_MAX_DATA_BYTES, maxAgeMs: 7 * 86400_000 });
    expect(policyFromOptions('0', undefined).maxSessionBytes).toBe(0);
    expect(() => policyFromOptions('0.01', undefined)).toThrow(/at least 0.25/);
    expect(() => policyFromOptions('-3', undefined)).toThrow(/MiB ≥ 0/);
  });

  it('plan the data directory: old sessions first, then the oldest past the size, never live ones or the newest', () => {
    const now = 1e12;
    const day = 86400_000;
    const policy = { maxSessionBytes: 0, maxDataBytes: 100, maxAgeMs: 10 * day };
    const plan = sweepPlan(
      [
        { id: 'ancient', live: false, endMs: now - 11 * day, bytes: 10 },
        { id: 'live-old', live: true, endMs: now - 20 * day, bytes: 60 },
        { id: 'a', live: false, endMs: now - 3 * day, bytes: 30 },
        { id: 'b', live: false, endMs: now - 2 * day, bytes: 30 },
        { id: 'newest', live: false, endMs: now - day, bytes: 30 },
      ],
      policy,
      now,
    );
    // 60 + 30 + 30 + 30 = 150 > 100 after the age cut: a (→ 120), b (→ 90)
    expect(plan.map((p) => p.id)).toEqual(['ancient', 'a', 'b']);
    expect(plan[0].why).toMatch(/no data for more than 10 days/);
    expect(plan[1].why).toMatch(/over its .* cap/);
    // one session larger than the whole cap stays (it is the newest)
    expect(sweepPlan([{ id: 'big', live: false, endMs: now, bytes: 1000 }], policy, now)).toEqual([]);
    expect(sweepPlan([{ id: 'x', live: false, endMs: 0, bytes: 1e12 }], { maxSessionBytes: 0, maxDataBytes: 0, maxAgeMs: 0 }, now)).toEqual([]);
  });
});

describe('a live session past its cap', () => {
  const CAP = 1 * MiB;
  const PART = 64 * 1024;
  const pieces: Uint8Array[] = [];
  writeSyntheticRecording((b) => pieces.push(b), { events: 300_000, workers: 4, chunkRecords: 1024 });
  const total = concatBytes(pieces).length;
  let capped: Session;
  let whole: Session;
  let peak = 0;

  it('stays under its cap + one part while it streams, and drops the oldest detail first', async () => {
    capped = liveSession('capped', { maxBytes: CAP, partBytes: PART });
    whole = liveSession('whole');
    let changes = 0;
    capped.onRetention = () => changes++;
    for (const p of pieces) {
      capped.receive(p);
      whole.receive(p);
      await turns();
      peak = Math.max(peak, bytesOf('capped'));
    }
    capped.endInput();
    whole.endInput();
    await Promise.all([capped.whenFinished(), whole.whenFinished()]);
    expect(total).toBeGreaterThan(8 * CAP);
    expect(peak).toBeLessThanOrEqual(CAP + PART);
    expect(bytesOf('capped')).toBeLessThanOrEqual(CAP + PART);
    const r = capped.info.retention!;
    expect(r).toMatchObject({ maxBytes: CAP, reason: 'size' });
    expect(r.droppedBeforeNs).toBeGreaterThan(0);
    expect(r.droppedBytes).toBeGreaterThan(total - 2 * CAP);
    expect(changes).toBeGreaterThan(10);
    // the recording is a head and the newest parts; part 0 is gone
    expect(existsSync(join(dir, 'capped.stm'))).toBe(false);
    const files = recordingFiles(join(dir, 'capped.stm'));
    expect(files[0]).toBe(headPath(join(dir, 'capped.stm')));
    expect(files.length).toBeGreaterThan(2);
    expect(capped.info.sizeBytes).toBe(files.reduce((n, f) => n + statSync(f).size, 0));
    expect(whole.info.retention).toBeUndefined();
  });

  it('keeps aggregates that count everything', () => {
    expect(capped.snapshot()).toEqual(whole.snapshot());
    expect(capped.info.totals).toEqual(whole.info.totals);
    expect(capped.info.durationNs).toBe(whole.info.durationNs);
  });

  it('answers nothing before the dropped time, and what is left exactly', () => {
    const floor = capped.info.retention!.droppedBeforeNs!;
    const end = whole.timeline.bounds().endNs;
    expect(capped.timeline.bounds()).toEqual(whole.timeline.bounds());
    expect(capped.timeline.workers()).toEqual(whole.timeline.workers());
    // a window inside the dropped range: a marker, zeros, no marks
    const before = capped.timeline.query({ startNs: 0, endNs: floor / 2, pixels: 64 });
    expect(before.droppedBeforeNs).toBe(floor);
    expect(before.lanes.length).toBe(4);
    for (const l of before.lanes) for (const k of ['committedNs', 'abortedNs', 'waitingNs', 'commits', 'aborts'] as const) expect(l[k].every((v) => v === 0)).toBe(true);
    expect(before.attempts).toEqual([]);
    expect(before.arrows).toEqual([]);
    // the whole session: zeros before the floor, the same figures after it (wide: histograms, both trees)
    const wide = capped.timeline.query({ startNs: 0, endNs: end, pixels: 256 });
    const ref = whole.timeline.query({ startNs: 0, endNs: end, pixels: 256 });
    expect(wide.droppedBeforeNs).toBe(floor);
    expect(ref.droppedBeforeNs).toBeUndefined();
    const pFloor = Math.ceil(floor / wide.bucketNs);
    let commitsAfter = 0;
    let refAfter = 0;
    let densest = 0;
    for (let p = 0; p < 256; p++) {
      let here = 0;
      for (let li = 0; li < wide.lanes.length; li++) {
        if (p < pFloor - 1) expect(wide.lanes[li].commits[p]).toBe(0);
        if (p < pFloor - 1) expect(wide.lanes[li].committedNs[p]).toBe(0);
        if (p > pFloor) {
          commitsAfter += wide.lanes[li].commits[p];
          refAfter += ref.lanes[li].commits[p];
          here += ref.lanes[li].commits[p];
        }
      }
      densest = Math.max(densest, here);
    }
    expect(commitsAfter).toBeGreaterThan(1000);
    // two trees cut differently: a count may move to the neighbouring pixel at either end of the range
    expect(Math.abs(commitsAfter - refAfter)).toBeLessThanOrEqual(2 * densest);
    // narrow windows after the floor: rows, exactly as without retention
    for (const f of [0.1, 0.5, 0.9]) {
      const s0 = floor + (end - floor) * f;
      // pixels narrower than any histogram bucket: answered from rows
      const q: WindowQuery = { startNs: s0, endNs: s0 + 300_000, pixels: 4000 };
      const a = capped.timeline.query(q);
      const b = whole.timeline.query(q);
      expect(a.attempts!.length).toBeGreaterThan(10);
      expect(a).toEqual(b);
    }
  });

  it('lists only the occurrences that are left', () => {
    const g = whole.snapshot().groups[0];
    const all = whole.timeline.occurrences(g.key, 0, 10);
    const left = capped.timeline.occurrences(g.key, 0, 10);
    expect(all.total).toBe(g.count);
    expect(left.total).toBeGreaterThan(0);
    expect(left.total).toBeLessThan(g.count / 4);
    expect(left.items.length).toBe(10);
    expect(capped.timeline.occurrences(g.key, left.total - 3, 10).items.length).toBe(3);
  });

  it('reads again after a restart: same aggregates, same dropped range, same detail', async () => {
    const info = newInfo('capped', 'run', 'test');
    const again = new Session(info, { recording: join(dir, 'capped.stm'), detail: join(dir, 'capped-again.tl') }, { timeline: TIMELINE });
    await again.ingestRecording(join(dir, 'capped.stm'));
    again.finish();
    expect(again.info.problem).toBeUndefined();
    expect(again.snapshot()).toEqual(whole.snapshot());
    expect(again.info.totals).toEqual(whole.info.totals);
    expect(again.info.retention).toMatchObject({ maxBytes: CAP, droppedBeforeNs: capped.info.retention!.droppedBeforeNs, droppedBytes: capped.info.retention!.droppedBytes, reason: 'size' });
    expect(again.timeline.bounds()).toEqual(capped.timeline.bounds());
    expect(again.timeline.workers()).toEqual(capped.timeline.workers());
    const floor = capped.info.retention!.droppedBeforeNs!;
    const end = capped.timeline.bounds().endNs;
    for (const q of [
      { startNs: 0, endNs: floor / 2, pixels: 64 },
      { startNs: floor - 100_000, endNs: floor + 200_000, pixels: 50 },
      { startNs: floor + (end - floor) / 3, endNs: floor + (end - floor) / 3 + 500_000, pixels: 80 },
    ]) {
      // row ids included: they go on from the cut
      expect(again.timeline.query(q)).toEqual(capped.timeline.query(q));
    }
    const g = whole.snapshot().groups[0];
    expect(again.timeline.occurrences(g.key, 0, 50)).toEqual(capped.timeline.occurrences(g.key, 0, 50));
    again.close();
  });

  it('downloads as one valid recording whose aggregates count everything', async () => {
    const chunks: Uint8Array[] = [];
    for await (const c of readRecording(join(dir, 'capped.stm'))) chunks.push(c);
    const bytes = concatBytes(chunks);
    expect(bytes.length).toBe(capped.info.sizeBytes);
    const ing = new Ingest();
    ing.feed(bytes);
    const st = ing.finish();
    expect(st.problem).toBeUndefined();
    expect(st.complete).toBe(true);
    expect(st.message ?? '').not.toMatch(/unknown|TRIM/);
    ing.assembler.flush();
    expect(ing.aggregator!.snapshot().summary).toEqual(whole.snapshot().summary);
    // a reader that ignores TRIM still reads every retained chunk
    expect(decodeRecording(bytes, { records() {} }).problem).toBeUndefined();
  });

  it('deletes every file when the session is removed', () => {
    capped.close();
    whole.close();
    removeRecording(join(dir, 'capped.stm'));
    expect(filesOf('capped').filter((f) => f.startsWith('capped.stm'))).toEqual([]);
  });
});

describe('a retained recording', () => {
  it('cuts a stream that stops mid-chunk at its last good chunk, parts and all', async () => {
    const big: Uint8Array[] = [];
    writeSyntheticRecording((b) => big.push(b), { events: 120_000, workers: 2, chunkRecords: 512 });
    const full = concatBytes(big);
    const cut = full.length - 5000;
    const s = liveSession('cut', { maxBytes: 512 * 1024, partBytes: 64 * 1024 });
    for (let i = 0; i < cut; i += 40_000) {
      s.receive(full.slice(i, Math.min(cut, i + 40_000)));
      await turns();
    }
    s.endInput('the program stopped streaming');
    await s.whenFinished();
    expect(s.info.problem).toMatch(/truncated/);
    expect(s.info.retention?.droppedBeforeNs).toBeGreaterThan(0);
    s.close();
    await turns(5);
    const again = new Session(newInfo('cut', 'run', 't'), { recording: join(dir, 'cut.stm'), detail: join(dir, 'cut-again.tl') });
    await again.ingestRecording(join(dir, 'cut.stm'));
    again.finish();
    // what was kept reads without a problem (only without END) and counts what the live session counted
    expect(again.status?.problem).toBeUndefined();
    expect(again.info.totals).toEqual(s.info.totals);
    again.close();
  });

  it('drops parts older than its age cap although it is under its size cap', async () => {
    const pieces: Uint8Array[] = [];
    writeSyntheticRecording((b) => pieces.push(b), { events: 40_000, workers: 2, chunkRecords: 512 });
    const s = liveSession('aged', { maxBytes: 0, maxAgeMs: 60_000, partBytes: 64 * 1024 });
    for (const p of pieces) s.receive(p);
    await turns(20);
    expect(s.info.retention?.droppedBeforeNs).toBeUndefined();
    // an hour later (the store's sweep calls this every minute)
    const retained = (s as unknown as { retained: { enforce(now: number): void } }).retained;
    retained.enforce(Date.now() + 3600_000);
    s.refreshInfo();
    expect(s.info.retention).toMatchObject({ reason: 'age', maxAgeMs: 60_000 });
    s.finish();
    s.close();
  });

  it('keeps receiving when it cannot write its head (a full disk), and drops detail once it can', async () => {
    const pieces: Uint8Array[] = [];
    writeSyntheticRecording((b) => pieces.push(b), { events: 60_000, workers: 2, chunkRecords: 512 });
    const rec = join(dir, 'stuck.stm');
    const s = liveSession('stuck', { maxBytes: 512 * 1024, partBytes: 64 * 1024 });
    // the head's temporary file cannot be written while a directory sits there
    mkdirSync(`${headPath(rec)}.tmp`);
    for (const p of pieces) {
      expect(s.receive(p)).toBeUndefined();
      await turns();
    }
    const retained = (s as unknown as { retained: { failure?: string; enforce(now?: number): void } }).retained;
    expect(retained.failure).toMatch(/could not drop the oldest detail/);
    expect(s.info.retention?.droppedBeforeNs).toBeUndefined();
    rmSync(`${headPath(rec)}.tmp`, { recursive: true });
    retained.enforce(Date.now() + 10_000);
    expect(retained.failure).toBeUndefined();
    s.refreshInfo();
    expect(s.info.retention?.droppedBeforeNs).toBeGreaterThan(0);
    s.endInput();
    await s.whenFinished();
    expect(s.info.problem).toBeUndefined();
    s.close();
  });

  it('lists its files in order and removes parts a crash left behind', () => {
    const rec = join(dir, 'crash.stm');
    for (const n of [0, 1, 2, 3]) writeFileSync(partPath(rec, n), `part ${n}`);
    expect(recordingFiles(rec)).toEqual([0, 1, 2, 3].map((n) => partPath(rec, n)));
    // a head that starts at part 2 (as a trim writes it), the crash came before parts 0 and 1 were deleted
    const pieces: Uint8Array[] = [];
    const enc = new RecordingEncoder((b: Uint8Array) => pieces.push(b));
    enc.meta({ argv: ['x'] });
    pieces.push(encodeChunk(fourCC('TRIM'), new TextEncoder().encode(JSON.stringify({ v: 1, firstPart: 2, droppedBeforeNs: 5, droppedBytes: 10, rows: [0, 0, 0, 0], startNs: 0 }))));
    writeFileSync(headPath(rec), concatBytes(pieces));
    writeFileSync(`${headPath(rec)}.tmp`, 'half a head');
    expect(readHeadTrim(headPath(rec))).toMatchObject({ firstPart: 2 });
    expect(recordingFiles(rec)).toEqual([headPath(rec), partPath(rec, 2), partPath(rec, 3)]);
    removeStaleParts(rec);
    expect(existsSync(partPath(rec, 0)) || existsSync(partPath(rec, 1)) || existsSync(`${headPath(rec)}.tmp`)).toBe(false);
    expect(existsSync(partPath(rec, 2))).toBe(true);
    removeRecording(rec);
    expect(readdirSync(dir).filter((f) => f.startsWith('crash.'))).toEqual([]);
  });
});
