import { describe, expect, it } from 'vitest';
import { ADVICE_RULES, adviseFeatures, adviseGroup, type GroupFeatures } from './advice.ts';
import { ingestBytes } from './ingest.ts';
import { rec } from './testing/builder.ts';
import type { GroupObject } from './aggregate.ts';

const obj = (label: string, field: string, count: number, shape = 'struct'): GroupObject => ({
  objectId: 1,
  fieldIndex: 0,
  label,
  type: label.split(/[#.[]/)[0],
  field,
  shape,
  count,
  timeLostNs: 0,
});

/** Features of a plain write-write group between two workers; override what a case needs. */
function features(over: Partial<GroupFeatures>): GroupFeatures {
  return {
    kind: 'write-write',
    count: 10,
    workers: 2,
    sameLocation: false,
    victimLocation: 'a.ts:1:1',
    culpritLocation: 'b.ts:2:1',
    victimText: '',
    culpritText: '',
    victimFunction: '',
    culpritFunction: '',
    retryLimitShare: 0,
    top: obj('T#1.x', 'x', 10),
    topShare: 1,
    distinctObjects: 1,
    maxFieldsPerObject: 1,
    mostFieldsObject: 'T#1',
    ...over,
  };
}

const rule = (f: Partial<GroupFeatures>) => adviseFeatures(features(f))?.rule ?? null;

describe('advice rules', () => {
  it.each([
    ['same-site read-modify-write', { sameLocation: true }, 'shared-counter'],
    ['increment text', { victimText: 'stats.hits++;' }, 'shared-counter'],
    ['x = x + 1', { culpritText: 'c.n = c.n + 1;' }, 'shared-counter'],
    ['a balance is no counter', { sameLocation: true, victimText: 'from.balance -= amount;', culpritText: 'from.balance -= amount;' }, null],
    ['one worker only', { sameLocation: true, workers: 1 }, null],
    ['queue head field', { top: obj('Queue#1.head', 'head', 10), sameLocation: true }, 'queue-head'],
    ['shift() on a shared list', { victimText: 'const job = jobs.shift();' }, 'queue-head'],
    ['pop function', { victimFunction: 'popJob', top: obj('Jobs#1.n', 'n', 9), topShare: 0.9 }, 'queue-head'],
    ['many fields of one struct', { maxFieldsPerObject: 5, topShare: 0.3, top: obj('Reg#1.a', 'a', 3) }, 'struct-as-map'],
    ['a constant written again', { culpritText: 'job.done = true;', topShare: 1 }, 'same-value'],
    ['comparison is not a write', { culpritText: 'if (job.done == true) {' }, null],
    ['nothing recognisable', {}, null],
    ['inevitable', { kind: 'inevitable', culpritText: 'console.log(x);' }, 'inevitable-io'],
    ['user aborts get none', { kind: 'user-abort', sameLocation: true }, null],
  ] as Array<[string, Partial<GroupFeatures>, string | null]>)('%s → %s', (_name, f, want) => {
    expect(rule(f)).toBe(want);
  });

  it('names the fix and the place', () => {
    const t = adviseFeatures(features({ sameLocation: true, culpritText: 'stats.count += 1;', culpritLocation: 'src/s.ts:8:3' }))!.text;
    expect(t).toMatch(/`T#1\.x` is a shared counter/);
    expect(t).toMatch(/at `src\/s\.ts:8:3` \(`stats\.count \+= 1;`\)/);
    expect(t).toMatch(/`TCounter`: its `add` never conflicts/);
    expect(adviseFeatures(features({ culpritText: 'job.done = true;' }))!.text).toMatch(/`if \(job\.done !== true\) job\.done = true`/);
    expect(adviseFeatures(features({ kind: 'inevitable', culpritText: 'fs.writeFileSync(p, s);' }))!.text).toMatch(/does I\/O inside/);
    expect(adviseFeatures(features({ maxFieldsPerObject: 4, topShare: 0.25, mostFieldsObject: 'Registry#1' }))!.text).toMatch(
      /`Registry#1` is used as a map: 4 different fields\/keys.*`TMap`/,
    );
  });

  it('every rule has an id, kinds and a sentence', () => {
    for (const r of ADVICE_RULES) {
      expect(r.id).toMatch(/^[a-z-]+$/);
      expect(r.kinds.length).toBeGreaterThan(0);
    }
  });

  it('recognises a struct used as a map, not a TMap, in a real recording', () => {
    const r = rec();
    const put = r.site('src/reg.ts:5:3', { text: 'registry[name] = value;' });
    const reg = r.object('Registry', { fields: ['alpha', 'beta', 'gamma', 'delta'] });
    const tmap = r.object('TMap', { label: 'orders', shape: 'map' });
    const entries = ['a', 'b', 'c'].map((k) => r.mapEntry(tmap, k));
    const get = r.site('src/orders.ts:9:3', { text: 'orders.set(k, v)' });
    for (let i = 0; i < 8; i++) {
      r.worker(1 + (i % 2)).start(i * 100).abort(i * 100 + 50, 'write-write', { obj: reg, field: i % 4, site: put, culprit: [3, 1, put] });
    }
    for (let i = 0; i < 6; i++) {
      r.worker(1).start(1000 + i * 100).abort(1050 + i * 100, 'write-read', { obj: entries[i % 3], site: get, culprit: [2, 1, get] });
    }
    const g = ingestBytes(r.bytes()).ingest.aggregator!.snapshot().groups;
    const byLoc = new Map(g.map((x) => [x.victim.location, x]));
    expect(byLoc.get('src/reg.ts:5:3')!.advice?.rule).toBe('struct-as-map');
    expect(byLoc.get('src/reg.ts:5:3')!.advice?.text).toMatch(/`Registry#1` is used as a map/);
    // Keys of a TMap are already separate conflict units: no "use TMap" advice there.
    expect(adviseGroup(byLoc.get('src/orders.ts:9:3')!)).toBeNull();
  });
});

describe('array accumulator rule', () => {
  it('suggests TArray.add for read-modify-write accumulation into array elements', () => {
    const f = features({
      sameLocation: true,
      victimLocation: 'k.ts:12:3',
      culpritLocation: 'k.ts:12:3',
      victimText: 'for (let j = 0; j < d; j++) sums.set(c * d + j, sums.get(c * d + j) + p[j]);',
      top: obj('new_centers[8]', '8', 5, 'array'),
      topShare: 0.3,
      maxFieldsPerObject: 4,
      mostFieldsObject: 'new_centers',
    });
    const a = adviseFeatures(f);
    expect(a?.rule).toBe('array-accumulator');
    expect(a?.text).toMatch(/TArray\.add/);
  });
  it('does not fire for a plain array write', () => {
    const f = features({ sameLocation: true, victimText: 'xs.set(i, 0);', top: obj('xs[1]', '1', 3, 'array'), topShare: 0.5, maxFieldsPerObject: 3, mostFieldsObject: 'xs' });
    expect(adviseFeatures(f)?.rule).not.toBe('array-accumulator');
  });
});
