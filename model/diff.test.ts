import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { diffSnapshots, renderDiffJson, renderDiffMarkdown, renderDiffText, DIFF_SCHEMA, type RecordingDiff } from './diff.ts';
import { ingestBytes } from './ingest.ts';
import { rec, us, type RecordingBuilder } from './testing/builder.ts';
import { convertPypyLog } from './pypy/convert.ts';
import { pypyLog } from './pypy/testing.ts';

const snap = (r: RecordingBuilder | Uint8Array) => ingestBytes(r instanceof Uint8Array ? r : r.bytes()).ingest.aggregator!.snapshot();

/**
 * A run with `n` write-write conflicts at the counter site (`line`), each
 * losing `lost` µs, plus `m` write-read conflicts on a registry at `regLine`.
 */
function run(o: { n: number; lost?: number; line?: number; column?: number; m?: number; regLine?: number; text?: string; fn?: string; commits?: number }) {
  const r = rec({ meta: { argv: ['node', 'app.ts'] } });
  const inc = r.site(`src/app.ts:${o.line ?? 10}:${o.column ?? 5}`, { fn: o.fn ?? 'handle', text: o.text ?? 'stats.hits += 1;' });
  const put = r.site(`src/reg.ts:${o.regLine ?? 30}:3`, { fn: 'remember', text: 'registry[name] = id;' });
  const stats = r.object('Stats', { fields: ['hits'] });
  let t = 0;
  for (let i = 0; i < (o.commits ?? 20); i++) {
    r.worker(1).start(t).commit(t + us(5));
    t += us(10);
  }
  for (let i = 0; i < o.n; i++) {
    r.worker(2).start(t).abort(t + us(o.lost ?? 4), 'write-write', { obj: stats, field: 'hits', site: inc, culprit: [1, 1, inc] }).start(t + us(5)).commit(t + us(6));
    t += us(10);
  }
  for (let i = 0; i < (o.m ?? 0); i++) {
    r.worker(3).start(t).abort(t + us(2), 'write-read', { site: put, culprit: [1, 2, put] }).start(t + us(3)).commit(t + us(4));
    t += us(10);
  }
  return r;
}

const byKind = (d: RecordingDiff, kind: string) => d.groups.filter((g) => g.kind === kind);

describe('diffSnapshots', () => {
  it('matches identical sites exactly and classifies changes', () => {
    const d = diffSnapshots({ snapshot: snap(run({ n: 10, m: 5 })), label: 'a.stm' }, { snapshot: snap(run({ n: 4, m: 5, regLine: 30 })), label: 'b.stm' });
    expect(d.schema).toBe(DIFF_SCHEMA);
    const [ww] = byKind(d, 'write-write');
    expect(ww).toMatchObject({ status: 'improved', match: 'exact' });
    expect(ww.count).toEqual({ before: 10, after: 4, delta: -6, changePct: -60 });
    expect(ww.timeLostNs).toMatchObject({ before: us(40), after: us(16) });
    expect(ww.before!.objects).toEqual(['Stats#1.hits']);
    expect(ww.victim.before).toMatchObject({ location: 'src/app.ts:10:5', function: 'handle', text: 'stats.hits += 1;' });
    const [wr] = byKind(d, 'write-read');
    expect(wr).toMatchObject({ status: 'unchanged', match: 'exact' });
    expect(d.totals.timeLostNs).toMatchObject({ before: us(50), after: us(26) });
    expect(d.totals.aborts).toMatchObject({ before: 15, after: 9 });
    expect(d.counts).toMatchObject({ improved: 1, unchanged: 1, vanished: 0, new: 0, moved: 0 });
    // Most time lost first.
    expect(d.groups[0].kind).toBe('write-write');
  });

  it('reports vanished and new groups', () => {
    const d = diffSnapshots({ snapshot: snap(run({ n: 10 })) }, { snapshot: snap(run({ n: 0, m: 3 })) });
    expect(d.groups.map((g) => [g.status, g.kind])).toEqual([
      ['vanished', 'write-write'],
      ['new', 'write-read'],
    ]);
    const vanished = d.groups[0];
    expect(vanished.after).toBeNull();
    expect(vanished.timeLostNs).toEqual({ before: us(40), after: 0, delta: -us(40), changePct: -100 });
    expect(d.groups[1].timeLostNs.changePct).toBeNull();
  });

  it('follows code that moved: same file, function and source text at another line', () => {
    const d = diffSnapshots({ snapshot: snap(run({ n: 10, m: 2 })) }, { snapshot: snap(run({ n: 10, m: 2, line: 14, column: 7, regLine: 33 })) });
    expect(d.groups.map((g) => [g.kind, g.status, g.match])).toEqual([
      ['write-write', 'unchanged', 'moved'],
      ['write-read', 'unchanged', 'moved'],
    ]);
    expect(d.groups[0].victim.after!.location).toBe('src/app.ts:14:7');
    expect(d.counts.moved).toBe(2);
    expect(renderDiffText(d)).toContain('victim:  src/app.ts:10:5 → src/app.ts:14:7 (handle)');
  });

  it('does not match moved code whose text changed, unless one function holds one group', () => {
    const edited = diffSnapshots({ snapshot: snap(run({ n: 10 })) }, { snapshot: snap(run({ n: 10, line: 12, text: 'stats.hits = stats.hits + 1;' })) });
    expect(edited.groups.map((g) => [g.status, g.match])).toEqual([['unchanged', 'function']]);
    const otherFn = diffSnapshots({ snapshot: snap(run({ n: 10 })) }, { snapshot: snap(run({ n: 10, line: 12, text: 'x', fn: 'other' })) });
    expect(otherFn.groups.map((g) => g.status).sort()).toEqual(['new', 'vanished']);
  });

  it('pairs several moved candidates by the smallest line distance', () => {
    const two = (l1: number, l2: number, lost1: number, lost2: number) => {
      const r = rec();
      const a = r.site(`x.ts:${l1}:1`, { fn: 'f', text: 'o.n += 1;' });
      const b = r.site(`x.ts:${l2}:1`, { fn: 'f', text: 'o.n += 1;' });
      r.worker(1).start(0).commit(10);
      r.worker(2).start(20).abort(20 + lost1, 'write-write', { site: a, culprit: [1, 1, a] });
      r.worker(2).start(200).abort(200 + lost2, 'write-write', { site: b, culprit: [1, 1, b] });
      return snap(r);
    };
    const d = diffSnapshots({ snapshot: two(10, 50, 100, 7) }, { snapshot: two(12, 53, 90, 7) });
    const moved = d.groups.map((g) => [g.victim.before!.location, g.victim.after!.location, g.match]);
    expect(moved).toEqual([
      ['x.ts:10:1', 'x.ts:12:1', 'moved'],
      ['x.ts:50:1', 'x.ts:53:1', 'moved'],
    ]);
  });

  it('fails the regression check when time lost grows past the threshold', () => {
    const b = snap(run({ n: 10 }));
    const a = snap(run({ n: 13 }));
    expect(diffSnapshots({ snapshot: b }, { snapshot: a }, { failOnRegressionPct: 20 }).regression).toMatchObject({ failed: true, growthPct: 30, growthNs: us(12) });
    expect(diffSnapshots({ snapshot: b }, { snapshot: a }, { failOnRegressionPct: 40 }).regression!.failed).toBe(false);
    expect(diffSnapshots({ snapshot: b }, { snapshot: a }, { failOnRegressionPct: 20, regressionFloorNs: us(20) }).regression!.failed).toBe(false);
    // From nothing to something is always growth beyond any percentage.
    const zero = snap(run({ n: 0 }));
    expect(diffSnapshots({ snapshot: zero }, { snapshot: a }, { failOnRegressionPct: 1000 }).regression).toMatchObject({ failed: true, growthPct: null });
    expect(diffSnapshots({ snapshot: a }, { snapshot: b }, { failOnRegressionPct: 0 }).regression!.failed).toBe(false);
    expect(diffSnapshots({ snapshot: a }, { snapshot: b }).regression).toBeNull();
  });

  it('compares PyPy-STM logs (markers have no source text: matched by function)', () => {
    const log = (line: number, n: number) => {
      const l = pypyLog('c8-n16');
      let t = 0;
      for (let i = 0; i < n; i++) {
        l.ev(t, 1, 'TRANSACTION_START')
          .ev(t + 100, 1, 'CONTENTION_WRITE_READ', { marker: `File "shop.py", line ${line}, in buy (#${line * 2})` })
          .ev(t + 110, 1, 'TRANSACTION_ABORT');
        t += 200;
      }
      return snap(convertPypyLog(l.bytes()).bytes);
    };
    const d = diffSnapshots({ snapshot: log(42, 5) }, { snapshot: log(45, 2) });
    expect(d.groups.map((g) => [g.status, g.match, g.culprit?.before?.location, g.culprit?.after?.location])).toEqual([
      ['improved', 'function', 'shop.py:42:85', 'shop.py:45:91'],
    ]);
    expect(d.totals.timeLostNs).toMatchObject({ before: 500, after: 200 });
  });
});

describe('diff renderers', () => {
  const d = diffSnapshots(
    { snapshot: snap(run({ n: 10, m: 2 })), label: 'before.stm', meta: { argv: ['node', 'app.ts'] } },
    { snapshot: snap(run({ n: 0, m: 2, regLine: 31 })), label: 'after.stm' },
    { failOnRegressionPct: 5 },
  );

  it('text: totals, each group with its status and sites, the check', () => {
    const t = renderDiffText(d);
    expect(t).toMatch(/^stmscope diff: before.stm → after.stm\n {2}before: node app.ts\n/);
    expect(t).toMatch(/time lost\s+44.0µs\s+4.0µs\s+-90.9%/);
    expect(t).toMatch(/abort ratio\s+\d+.\d%\s+\d+.\d%\s+-\d+.\d pts/);
    expect(t).toContain('Conflict groups: 1 vanished, 0 new, 0 improved, 0 regressed, 1 unchanged (1 matched at moved code)');
    expect(t).toMatch(/VANISHED {3}write-write {2}40.0µs → 0ns lost, 10x → 0x\n {6}on Stats#1.hits\n {6}victim: {2}src\/app.ts:10:5 \(handle\)\n {15}stats.hits \+= 1;/);
    expect(t).toContain('Regression check: time lost -90.9% (−40.0µs), limit +5%: ok');
  });

  it('markdown: tables for a pull request', () => {
    const m = renderDiffMarkdown(d);
    expect(m).toContain('## stmscope diff: before.stm → after.stm');
    expect(m).toContain('| time lost | 44.0µs | 4.0µs | -90.9% |');
    expect(m).toMatch(/\| \*\*vanished\*\* \| write-write \| 40.0µs → 0ns \| 10 → 0 \| `src\/app.ts:10:5 \(handle\)`<br>`stats.hits \+= 1;` \|/);
  });

  it('json: the documented schema, round-trips', () => {
    const j = JSON.parse(renderDiffJson(d));
    expect(j).toEqual(JSON.parse(JSON.stringify(d)));
    expect(Object.keys(j)).toEqual(['schema', 'generator', 'before', 'after', 'totals', 'groups', 'counts', 'regression']);
  });
});

describe('docs/EXPORTS.md', () => {
  it('documents every field of the stmscope.diff/1 JSON', () => {
    const doc = readFileSync(new URL('../docs/EXPORTS.md', import.meta.url), 'utf8');
    const d = diffSnapshots({ snapshot: snap(run({ n: 3, m: 1 })) }, { snapshot: snap(run({ n: 1, line: 12 })) }, { failOnRegressionPct: 1 });
    const g = d.groups.find((x) => x.before && x.after)!;
    const keys = [
      ...Object.keys(d),
      ...Object.keys(d.before),
      ...Object.keys(d.totals),
      ...Object.keys(d.totals.commits),
      ...Object.keys(d.counts),
      ...Object.keys(d.regression!),
      ...Object.keys(g),
      ...Object.keys(g.victim),
      ...Object.keys(g.victim.before!),
      ...Object.keys(g.before!),
    ];
    for (const k of new Set(keys)) expect(doc, k).toContain(`\`${k}\``);
  });
});
