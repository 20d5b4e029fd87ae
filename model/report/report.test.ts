import { describe, expect, it } from 'vitest';
import { ingestBytes } from '../ingest.ts';
import { bankSample } from '../testing/samples.ts';
import { rec } from '../testing/builder.ts';
import { buildReport, reportFrames, REPORT_SCHEMA, type Report } from './build.ts';
import { renderJson } from './json.ts';
import { renderText } from './text.ts';
import { renderMarkdown, mdCode, mdBlock } from './markdown.ts';
import { renderHtml, esc } from './html.ts';
import { asciiTimeline, fmtNs } from './util.ts';

function reportOf(bytes: Uint8Array, top?: number): Report {
  const { ingest, status } = ingestBytes(bytes);
  return buildReport(ingest.aggregator!.snapshot(), { meta: ingest.meta, status, top });
}

const bank = () => reportOf(bankSample().bytes({ end: { durationNs: 3_000_000 } }));

describe('JSON report', () => {
  it('follows the stmscope.report/1 contract', () => {
    const r = JSON.parse(renderJson(bank()));
    expect(r.schema).toBe(REPORT_SCHEMA);
    expect(r.program).toEqual({ argv: ['node', 'examples/bank.ts', '--workers', '3'], cwd: '/home/u/bank', pid: 4242, startTime: '2025-01-02T03:04:05.000Z' });
    expect(r.durationNs).toBe(3_000_000);
    for (const k of ['workers', 'commits', 'aborts', 'abortRatio', 'committedNs', 'abortedNs', 'waitingNs', 'droppedEvents']) {
      expect(typeof r.summary[k]).toBe('number');
    }
    expect(r.summary).toMatchObject({ workers: 3, droppedEvents: 7 });
    const c = r.conflicts[1];
    for (const k of ['kind', 'count', 'timeLostNs', 'waitNs', 'victim', 'culprit', 'objects', 'advice']) expect(c).toHaveProperty(k);
    expect(Object.keys(c.victim.frames[0])).toEqual(expect.arrayContaining(['file', 'line', 'column', 'function']));
    expect(Object.keys(c.objects[0])).toEqual(expect.arrayContaining(['label', 'type', 'field', 'count']));
    for (const k of ['label', 'type', 'field', 'conflicts', 'timeLostNs']) expect(r.hotObjects[0]).toHaveProperty(k);
    for (const k of ['id', 'commits', 'aborts', 'committedNs', 'abortedNs', 'waitingNs']) expect(r.workers[0]).toHaveProperty(k);
  });

  it('ranks the sample bank groups by time lost with their advice', () => {
    const r = bank();
    const top = r.conflicts.map((c) => [c.kind, c.victim.location, c.culprit?.location, c.objects[0]?.label ?? null, c.adviceRule]);
    expect(top).toEqual([
      ['inevitable', 'src/bank.ts:16:3', 'src/audit.ts:6:3', null, 'inevitable-io'],
      ['write-write', 'src/bank.ts:14:5', 'src/bank.ts:14:5', 'Stats#1.count', 'shared-counter'],
      ['write-read', 'src/bank.ts:12:5', 'src/bank.ts:12:5', 'Account#1.balance', null],
      ['write-read', 'src/registry.ts:8:3', 'src/registry.ts:8:3', 'registry.alice', 'struct-as-map'],
    ]);
    const counter = r.conflicts[1];
    expect(counter.count).toBe(20);
    expect(counter.victim.frames.map((f) => f.function)).toEqual(['transfer', 'transfer', 'runWorker']);
    expect(counter.culprit?.frames[0].text).toBe('stats.count += 1;');
    expect(counter.timeline.length).toBe(60);
    expect(Math.round(counter.timeline.reduce((a, b) => a + b, 0))).toBe(20);
    expect(r.conflicts.map((c) => c.rank)).toEqual([1, 2, 3, 4]);
    expect([...reportFrames(r)].length).toBeGreaterThan(8);
  });

  it('limits groups with top', () => {
    const r = reportOf(bankSample().bytes(), 2);
    expect(r.conflicts.length).toBe(2);
    expect(r.summary.conflictGroups).toBe(4);
  });

  it('carries the truncation problem', () => {
    const bytes = bankSample().bytes();
    const r = reportOf(bytes.subarray(0, bytes.length - 40));
    expect(r.recording.complete).toBe(false);
    expect(r.recording.problem).toMatch(/truncated/);
  });
});

describe('text report', () => {
  it('reads like print_stm_log: totals, groups, both stacks with source, time line, advice', () => {
    const t = renderText(bank());
    expect(t).toMatch(/^stmscope report: node examples\/bank\.ts --workers 3, pid 4242, 3 workers/);
    expect(t).toMatch(/Total real time: +3\.000ms/);
    expect(t).toMatch(/CPU time in STM mode: +[\d.]+(ns|µs|ms|s) \( *[\d.]+%\) committed/);
    expect(t).toMatch(/ TOTAL\n/);
    expect(t).toMatch(/Total number of transactions: \d+ +committed: [\d.]+% +aborted: [\d.]+%/);
    expect(t).toMatch(/Events dropped: 7/);
    expect(t).toContain('Top 4 of 4 conflict groups, by time lost:');
    expect(t).toContain('[2] ');
    expect(t).toContain('(20x write-write)');
    expect(t).toContain('    on Stats#1.count (20x)');
    expect(t).toContain('    victim (worker 2):\n      File "src/bank.ts", line 14, column 5, in transfer\n        stats.count += 1;');
    expect(t).toContain('    culprit (worker 1):');
    expect(t).toMatch(/ {4}time line: \|[ _xX]{60}\|/);
    expect(t).toContain('advice: `Stats#1.count` is a shared counter');
    expect(t).toContain('Hot objects:');
  });

  it('says so when there are no conflicts and when the file was cut', () => {
    const clean = reportOf(rec().worker(1).start(0).commit(10).bytes());
    expect(renderText(clean)).toContain('No conflicts.');
    const bytes = bankSample().bytes();
    expect(renderText(reportOf(bytes.subarray(0, bytes.length - 40)))).toMatch(/^WARNING: The recording is truncated/m);
  });
});

/** A recording whose strings try to break out of every format. */
function hostile(): Report {
  const r = rec({ meta: { argv: ['node', '<script>alert("argv")</script>'], cwd: "/tmp/'q'" } });
  const evil = r.site('src/<script>x.ts:3:1', { fn: 'f"n\'', text: 'a.b = "</script><img src=x onerror=alert(1)>" | `x` ```' });
  const o = r.object('Ev"il', { label: '<script>alert(1)</script>', fields: ['f|ld'] });
  r.worker(1).start(0).abort(10, 'write-write', { obj: o, field: 'f|ld', site: evil, culprit: [2, 1, evil] });
  return reportOf(r.bytes());
}

describe('HTML report', () => {
  it('is self-contained and escapes every string from the recording', () => {
    const h = renderHtml(hostile());
    expect(h.startsWith('<!doctype html>')).toBe(true);
    expect(h).not.toMatch(/<script>alert/);
    expect(h).not.toMatch(/<img/);
    expect(h).not.toMatch(/src=["']?http/);
    expect(h).not.toMatch(/<link|<script src/);
    expect(h).toContain('&lt;script&gt;alert(1)&lt;/script&gt;.f|ld');
    expect(h).toContain('f&quot;n&#39;');
    // The only script element is the JSON data block, which cannot be closed early.
    expect(h.match(/<script/g)?.length).toBe(1);
    const json = /<script type="application\/json" id="stmscope-report">(.*)<\/script>/.exec(h)![1];
    expect(json).not.toContain('<');
    expect(JSON.parse(json).conflicts[0].objects[0].label).toBe('<script>alert(1)</script>.f|ld');
  });

  it('renders the bank sample with advice code spans', () => {
    const h = renderHtml(bank());
    expect(h).toContain('<strong>Advice:</strong> <code>Stats#1.count</code> is a shared counter');
    expect(h).toContain('<svg class="tl"');
    expect(esc(`<a href="x" title='y'>&`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;');
  });
});

describe('Markdown report', () => {
  it('keeps user text inside code and escapes table cells', () => {
    const m = renderMarkdown(hostile());
    expect(m).toContain('## stmscope report: `node "<script>alert(\\"argv\\")</script>"`');
    // label with a pipe inside a table cell
    expect(m).toContain('`<script>alert(1)</script>.f\\|ld`');
    // the source line with backticks and a fence sits in a longer fence
    expect(m).toMatch(/````text\n[\s\S]*```[\s\S]*\n````/);
    expect(mdCode('a`b')).toBe('``a`b``');
    expect(mdCode('`x')).toBe('`` `x ``');
    expect(mdBlock('x')).toBe('```text\nx\n```');
  });

  it('renders the bank sample', () => {
    const m = renderMarkdown(bank());
    expect(m).toContain('| 2 | write-write | 20 |');
    expect(m).toContain('> **Advice:** `Stats#1.count` is a shared counter');
    expect(m).toContain('### Hot objects');
  });
});

describe('format helpers', () => {
  it('formats durations and time lines', () => {
    expect([fmtNs(850), fmtNs(12_300), fmtNs(12_345_678), fmtNs(1_234_567_890)]).toEqual(['850ns', '12.3µs', '12.346ms', '1.235s']);
    expect(asciiTimeline([0, 1, 5, 10])).toBe(' _xX');
  });
});
