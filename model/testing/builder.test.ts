import { describe, expect, it } from 'vitest';
import { rec, us, ms } from './builder.ts';
import { writeSyntheticRecording } from './synthetic.ts';
import { ingestBytes } from '../ingest.ts';
import { concatBytes } from '../format.ts';

describe('test recording builder', () => {
  it('numbers transactions and retries per worker', () => {
    const r = rec();
    r.worker(1).start(0).abort(1, 'write-write').start(2).commit(3).start(4).commit(5);
    r.worker(2).start(0).commit(1);
    const store = ingestBytes(r.bytes(), { store: true }).ingest.store!;
    const a = store.attempts.view();
    expect(Array.from(a.txSeq)).toEqual([1, 1, 2, 1]);
    expect(Array.from(a.attempt)).toEqual([1, 2, 1, 1]);
  });

  it('defines sites lazily per worker with distinct ids, once', () => {
    const r = rec();
    const s = r.site('x.ts:3');
    expect(s.column).toBe(1);
    expect(r.siteIdOn(1, s)).toBe(101);
    expect(r.siteIdOn(2, s)).toBe(201);
    const n = r.recordCount;
    expect(r.siteIdOn(1, s)).toBe(101);
    expect(r.recordCount).toBe(n);
    expect(() => r.site('nope')).toThrow(/file:line/);
  });

  it('refuses unknown field names and raw records of the wrong size', () => {
    const r = rec();
    const o = r.object('T', { fields: ['a'] });
    expect(() => r.worker(1).start(0).abort(1, 'write-write', { obj: o, field: 'b' })).toThrow(/no field b/);
    expect(() => r.raw([1, 2, 3])).toThrow(/8 words/);
  });

  it('has readable time helpers', () => {
    expect([us(1.5), ms(2)]).toEqual([1500, 2_000_000]);
  });
});

describe('synthetic recording', () => {
  it('writes a complete recording with the requested number of events', () => {
    const pieces: Uint8Array[] = [];
    const { records } = writeSyntheticRecording((b) => pieces.push(b), { events: 10_000, chunkRecords: 1000 });
    const { ingest, status } = ingestBytes(concatBytes(pieces));
    expect(status.complete).toBe(true);
    expect(status.records).toBe(records);
    const s = ingest.aggregator!.snapshot();
    expect(s.summary.aborts).toBeGreaterThan(0);
    expect(s.groups.map((g) => g.victim.location).sort()).toEqual(['src/index.ts:31:7', 'src/stats.ts:8:3']);
  });
});
