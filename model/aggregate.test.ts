import { describe, expect, it } from 'vitest';
import { Ingest, ingestBytes } from './ingest.ts';
import { rec, us } from './testing/builder.ts';
import { Aggregator } from './aggregate.ts';
import { resample, TimeAxis } from './histogram.ts';

const snap = (bytes: Uint8Array) => ingestBytes(bytes).ingest.aggregator!.snapshot();

/** Two workers incrementing one counter at the same line; worker 1 loses twice. */
function counterRace() {
  const r = rec({ meta: { argv: ['node', 'count.js'] } });
  const main = r.site('src/main.ts:40:3', { fn: 'main' });
  const inc = r.site('src/count.ts:7:5', { fn: 'bump', text: 'stats.count += 1;', callers: [main] });
  const stats = r.object('Stats', { fields: ['count'] });
  r.worker(2).start(0).commit(us(10));
  r.worker(1)
    .start(0)
    .abort(us(20), 'write-write', { obj: stats, field: 'count', site: inc, culprit: [2, 1, inc], waitNs: us(2) })
    .wait(us(20), us(25), 'backoff')
    .start(us(25))
    .abort(us(35), 'write-write', { obj: stats, field: 'count', site: inc, culprit: [2, 2, inc] })
    .start(us(40))
    .commit(us(50));
  r.worker(2).start(us(12)).commit(us(30));
  return r;
}

describe('Aggregator', () => {
  it('computes summary figures by the documented definitions', () => {
    const s = snap(counterRace().bytes({ end: { durationNs: us(100) } }));
    expect(s.durationNs).toBe(us(100));
    expect(s.summary).toMatchObject({
      workers: 2,
      commits: 3,
      aborts: 2,
      fails: 0,
      abortRatio: 2 / 5,
      // committed run time: w2 10 + 18, w1 10
      committedNs: us(38),
      // aborted run time: (20 − 2 waited) + 10
      abortedNs: us(28),
      waitingNs: us(5),
      commitsPerSec: 3 / 1e-4,
    });
    expect(s.workers.map((w) => [w.id, w.commits, w.aborts])).toEqual([
      [1, 1, 2],
      [2, 2, 0],
    ]);
  });

  it('groups by resolved locations across workers and keeps both stacks', () => {
    const s = snap(counterRace().bytes());
    expect(s.groups.length).toBe(1);
    const g = s.groups[0];
    expect(g).toMatchObject({ kind: 'write-write', count: 2, timeLostNs: us(28) });
    // waits inside the attempts (2 µs recorded) + the backoff that followed (5 µs)
    expect(g.waitNs).toBe(us(7));
    expect(g.victim.location).toBe('src/count.ts:7:5');
    expect(g.culprit?.location).toBe('src/count.ts:7:5');
    expect(g.victim.workers).toEqual([1]);
    expect(g.culprit?.workers).toEqual([2]);
    expect(g.victim.stacks[0].frames.map((f) => f.function)).toEqual(['bump', 'main']);
    expect(g.culprit?.stacks[0].frames[0].text).toBe('stats.count += 1;');
    expect(g.objects).toMatchObject([{ label: 'Stats#1.count', type: 'Stats', field: 'count', count: 2 }]);
    expect(g.histogram.reduce((a, b) => a + b, 0)).toBe(2);
    expect(g.advice?.rule).toBe('shared-counter');
    expect(s.hotObjects).toMatchObject([{ label: 'Stats#1.count', conflicts: 2, timeLostNs: us(28) }]);
  });

  it('merges the same code on different workers, separates different culprits', () => {
    const r = rec();
    const a = r.site('a.ts:1:1');
    const b = r.site('b.ts:2:2');
    const o = r.object('T', { fields: ['x'] });
    for (const w of [1, 2, 3]) {
      r.worker(w).start(0).abort(10, 'write-read', { obj: o, field: 'x', site: a, culprit: [4, 1, b] });
    }
    r.worker(1).start(20).abort(30, 'write-read', { obj: o, field: 'x', site: a, culprit: [4, 1, a] });
    r.worker(1).start(40).abort(50, 'user-abort', { site: a });
    const s = snap(r.bytes());
    expect(s.groups.map((g) => [g.kind, g.victim.location, g.culprit?.location ?? null, g.count])).toEqual([
      ['write-read', 'a.ts:1:1', 'b.ts:2:2', 3],
      ['write-read', 'a.ts:1:1', 'a.ts:1:1', 1],
      ['user-abort', 'a.ts:1:1', null, 1],
    ]);
    expect(s.groups[0].victim.workers).toEqual([1, 2, 3]);
  });

  it('turns blocked-by-inevitable waits into inevitable groups', () => {
    const r = rec();
    const io = r.site('src/log.ts:3:5', { fn: 'audit', text: "fs.appendFileSync('audit.log', line);" });
    const commitAt = r.site('src/app.ts:20:1', { fn: 'commit' });
    r.worker(1).start(0).inevitable(us(1), { site: io }).commit(us(100));
    r.worker(2).start(us(2)).blocked(us(5), us(95), [1, 1, io], { site: commitAt }).commit(us(96));
    r.worker(3).start(us(2)).blocked(us(10), us(99), [1, 1, io], { site: commitAt }).commit(us(99));
    const s = snap(r.bytes());
    expect(s.summary.blockedNs).toBe(us(90 + 89));
    expect(s.summary.inevitableNs).toBe(us(99));
    expect(s.summary.inevitableSwitches).toBe(1);
    const g = s.groups[0];
    expect(g).toMatchObject({ kind: 'inevitable', count: 2, timeLostNs: us(179), blockedNs: us(179) });
    expect(g.victim.location).toBe('src/app.ts:20:1');
    expect(g.culprit?.location).toBe('src/log.ts:3:5');
    expect(g.advice?.rule).toBe('inevitable-io');
    expect(g.advice?.text).toMatch(/tx\.onCommit/);
  });

  it('resolves definitions that arrive after their events', () => {
    // Worker 1 uses site id 5 before defining it (hand-written records).
    const r = rec();
    r.worker(1).start(0).abort(10, 'write-write', { culprit: [2, 1] });
    const early = ingestBytes(r.bytes()).ingest.aggregator!.snapshot();
    expect(early.groups[0].victim.location).toBe('');
    expect(early.groups[0].culprit).toEqual({ location: '', workers: [2], stacks: [] });
  });

  it('keeps a bounded number of objects per group and counts the rest', () => {
    const r = rec();
    const s = r.site('m.ts:1:1');
    const arr = r.object('Array', { label: 'cells', shape: 'array' });
    r.worker(1);
    for (let i = 0; i < 20; i++) r.start(i * 10).abort(i * 10 + 5, 'write-write', { obj: arr, field: i, site: s, culprit: [2, 1, s] });
    const { ingest } = ingestBytes(r.bytes(), { aggregate: { maxObjectsPerGroup: 8 } });
    const g = ingest.aggregator!.snapshot({ objectsPerGroup: 3 }).groups[0];
    expect(g.objects.map((o) => o.label)).toEqual(['cells[0]', 'cells[1]', 'cells[2]']);
    expect(g.distinctObjects).toBe(9);
    expect(g.untrackedObjectConflicts).toBe(12);
  });

  it('streams: snapshots while feeding match the final one', () => {
    const bytes = counterRace().bytes({ chunkRecords: 3 });
    const agg = ingestBytes(bytes).ingest.aggregator!.snapshot();
    const ing = new Ingest();
    for (let i = 0; i < bytes.length; i += 50) {
      ing.feed(bytes.subarray(i, i + 50));
      ing.aggregator!.snapshot();
    }
    ing.finish();
    expect(ing.aggregator!.snapshot()).toEqual(agg);
  });

  it('works standalone on records and spans long recordings with a folding axis', () => {
    const r = rec();
    r.worker(1).start(0).commit(10).start(5e9).commit(5e9 + 10);
    const agg = new Aggregator();
    agg.addRecords(r.records());
    agg.finish();
    const s = agg.snapshot();
    expect(s.durationNs).toBe(5e9 + 10);
    expect(s.timeline.commits.reduce((a, b) => a + b, 0)).toBe(2);
    expect(s.timeline.bucketNs * s.timeline.commits.length).toBeGreaterThanOrEqual(5e9);
    expect(s.events).toBe(4);
  });
});

describe('TimeAxis and resample', () => {
  it('folds buckets when time passes the end', () => {
    const ax = new TimeAxis(4);
    const s = ax.newSeries();
    s[ax.index(0)]++;
    s[ax.index(1024)]++;
    s[ax.index(3 * 1024)]++;
    expect(Array.from(s)).toEqual([1, 1, 0, 1]);
    s[ax.index(5000)]++;
    expect(ax.bucketNs).toBe(2048);
    expect(Array.from(s)).toEqual([2, 1, 1, 0]); // [1+1, 0+1] then the new event in bucket 2
  });

  it('spreads buckets proportionally over columns', () => {
    expect(Array.from(resample([4, 0, 0, 4], 10, 40, 2))).toEqual([4, 4]);
    expect(Array.from(resample([3], 30, 30, 3))).toEqual([1, 1, 1]);
    // a bucket past the duration lands in the last column
    expect(Array.from(resample([1, 0, 1], 10, 20, 2))).toEqual([1, 1]);
  });
});
