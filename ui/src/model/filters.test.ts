import { describe, expect, it } from 'vitest';
import { ingestBytes } from '../../../model/ingest.ts';
import { bankSample } from '../../../model/testing/samples.ts';
import { arrowPasses, filterGroups, filterHotObjects, fractionInRange, groupMatchesSearch, hasFilters, kindsOf, totalsInRange } from './filters.ts';
import { fileHeat, filesOf, heatLevel } from './heat.ts';
import { totals, workerTotals } from './figures.ts';

const snap = ingestBytes(bankSample().bytes({ end: { durationNs: 3_000_000 } })).ingest.aggregator!.snapshot();

describe('filters on a real snapshot (bank sample)', () => {
  it('lists every group without filters, most time lost first', () => {
    const gs = filterGroups(snap, {});
    expect(gs.length).toBe(snap.groups.length);
    expect(gs.map((g) => g.rank)).toEqual(gs.map((_, i) => i + 1));
    const shared = gs.find((g) => g.group.objects[0]?.label === 'Stats#1.count')!;
    expect(shared.group.victim.location).toBe('src/bank.ts:14:5');
    expect(shared.count).toBe(20);
    expect(hasFilters({})).toBe(false);
  });

  it('filters by kind, worker and search', () => {
    expect(filterGroups(snap, { kinds: ['write-read'] }).every((g) => g.group.kind === 'write-read')).toBe(true);
    expect(filterGroups(snap, { kinds: ['write-read'] }).length).toBe(2);
    // Worker 1 never aborts but is the culprit of the counter and account groups.
    const w1 = filterGroups(snap, { workers: [1] });
    expect(w1.some((g) => g.group.objects[0]?.label === 'Stats#1.count')).toBe(true);
    expect(w1.some((g) => g.group.objects[0]?.label?.startsWith('registry'))).toBe(false);
    expect(filterGroups(snap, { search: 'REGISTRY.ts' }).map((g) => g.group.victim.location)).toEqual(['src/registry.ts:8:3']);
    expect(filterGroups(snap, { search: 'audit' })[0].group.kind).toBe('inevitable');
    expect(filterGroups(snap, { search: 'Account#1' }).length).toBe(1);
    expect(groupMatchesSearch(snap.groups[0], '   ')).toBe(true);
  });

  it('applies a time range through the group histograms', () => {
    const half = { startNs: 0, endNs: 1_000_000 };
    const gs = filterGroups(snap, { range: half });
    const counter = gs.find((g) => g.group.objects[0]?.label === 'Stats#1.count')!;
    // 20 rounds of 100 µs: 10 fall in the first millisecond.
    expect(counter.count).toBeGreaterThanOrEqual(9);
    expect(counter.count).toBeLessThanOrEqual(11);
    expect(counter.timeLostNs).toBeLessThan(counter.group.timeLostNs);
    // The audit happens after 2 ms: its group vanishes from the first millisecond.
    expect(gs.some((g) => g.group.kind === 'inevitable')).toBe(false);
    const r = fractionInRange([1, 1, 2], 10, { startNs: 5, endNs: 25 });
    expect(r.total).toBe(4);
    expect(r.inRange).toBeCloseTo(0.5 + 1 + 1);
    const tr = totalsInRange(snap, { startNs: 0, endNs: 3_000_000 });
    expect(tr.commits).toBe(snap.summary.commits);
    expect(tr.aborts).toBe(snap.summary.aborts);
  });

  it('ranks hot objects with their sites and groups', () => {
    const rows = filterHotObjects(snap, {});
    expect(rows[0].object.label).toBe('Stats#1.count');
    expect(rows[0].conflicts).toBe(20);
    expect(rows[0].sites.map((s) => `${s.role} ${s.location}`)).toEqual(['victim src/bank.ts:14:5', 'culprit src/bank.ts:14:5']);
    expect(rows[0].groupKeys.length).toBe(1);
    expect(rows[0].approximate).toBe(false);
    const wr = filterHotObjects(snap, { kinds: ['write-read'] });
    expect(wr.some((r) => r.object.label === 'Stats#1.count')).toBe(false);
    expect(wr.every((r) => r.approximate)).toBe(true);
    expect(filterHotObjects(snap, { search: 'account#1' }).map((r) => r.object.label)).toEqual(['Account#1.balance']);
  });

  it('passes arrows through kind, worker, range and group filters', () => {
    const a = { id: 1, kind: 'write-write', groupKey: 'k', victimWorker: 2, victimTxSeq: 1, victimNs: 50, culpritWorker: 1, culpritTxSeq: 1, culpritNs: 40, object: 'x', timeLostNs: 1 };
    expect(arrowPasses(a, {})).toBe(true);
    expect(arrowPasses(a, { kinds: ['write-read'] })).toBe(false);
    expect(arrowPasses(a, { workers: [1] })).toBe(true);
    expect(arrowPasses(a, { workers: [3] })).toBe(false);
    expect(arrowPasses(a, { range: { startNs: 60, endNs: 100 } })).toBe(false);
    expect(arrowPasses(a, {}, new Set(['other']))).toBe(false);
    expect(kindsOf(snap)).toEqual(['write-write', 'write-read', 'inevitable']);
  });
});

describe('figures', () => {
  it('computes effective parallelism and per-worker totals', () => {
    const t = totals(snap);
    expect(t.effectiveParallelism).toBeCloseTo(snap.summary.committedNs / 3_000_000);
    expect(t.timeLostNs).toBe(snap.summary.abortedNs + snap.summary.blockedNs);
    const w = workerTotals(snap, [1, 2, 3]);
    expect(w.commits).toBe(snap.summary.commits);
    expect(w.aborts).toBe(snap.summary.aborts);
    expect(workerTotals(snap, [1]).aborts).toBe(0);
  });
});

describe('source heat', () => {
  it('heats the conflicting lines and their callers', () => {
    const gs = filterGroups(snap, {});
    const files = filesOf(gs);
    expect(files[0].file).toBe('src/bank.ts');
    const h = fileHeat('src/bank.ts', gs);
    const line14 = h.lines.get(14)!;
    expect(line14.text).toBe('stats.count += 1;');
    expect(line14.selfCount).toBeCloseTo(40); // victim and culprit sides of 20 conflicts
    expect(line14.asVictim).toBeCloseTo(20);
    expect(line14.asCulprit).toBeCloseTo(20);
    // Line 10 (the atomic call) is only a caller.
    const line10 = h.lines.get(10)!;
    expect(line10.selfNs).toBe(0);
    expect(line10.totalNs).toBeGreaterThan(0);
    expect(heatLevel(line10, h)).toBe(1);
    expect(heatLevel(line14, h)).toBeGreaterThanOrEqual(4);
    expect(heatLevel(undefined, h)).toBe(0);
    const main = fileHeat('src/main.ts', gs);
    expect(main.totalNs).toBe(0);
    expect(main.lines.get(40)!.totalNs).toBeGreaterThan(0);
  });
});
