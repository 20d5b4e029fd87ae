/**
 * `stmscope diff` on real recordings: a fixture against its fixed variant
 * (the hot group vanishes), the same program with the hot line moved (the
 * group is matched across the move), the CI exit code, PyPy-STM logs and bad
 * input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RecordingDiff } from '../../model/diff.ts';
import { pypyLog } from '../../model/pypy/testing.ts';
import { movedCounterLine, writeMovedCounter } from '../testing/moved-counter.ts';
import { diffCommand, EXIT_REGRESSION, parseDuration } from './diff.ts';
import { UsageError } from './args.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = ['--import', 'tsx', join(root, 'server/cli.ts')];

function io() {
  let out = '';
  let err = '';
  return {
    io: { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } },
    out: () => out,
    err: () => err,
  };
}

/** Records a program; repeats a run whose workers happened not to overlap (no aborts) when conflicts are wanted. */
function record(file: string, command: string[], wantConflicts: boolean): void {
  for (let run = 0; run < 3; run++) {
    execFileSync(process.execPath, [...cli, 'record', '-o', file, '--', ...command], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    if (!wantConflicts) return;
    const rep = JSON.parse(execFileSync(process.execPath, [...cli, 'report', file, '--format', 'json'], { cwd: root, encoding: 'utf8' }));
    if (rep.summary.aborts > 0) return;
  }
}

describe('stmscope diff', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'stmscope-diff-'));
  const hot = join(tmp, 'hot.stmrec');
  const fixed = join(tmp, 'fixed.stmrec');
  const before = join(tmp, 'before.stmrec');
  const after = join(tmp, 'after.stmrec');
  const prog = join(tmp, 'prog');

  beforeAll(() => {
    record(hot, ['node', '--import', 'tsx', 'fixtures/counter-hotspot/main.ts'], true);
    record(fixed, ['node', '--import', 'tsx', 'fixtures/counter-fixed/main.ts'], false);
    record(before, ['node', '--import', 'tsx', writeMovedCounter(prog, { shift: 0 })], true);
    // The same file after a "fix" that moved the hot line down by three lines.
    record(after, ['node', '--import', 'tsx', writeMovedCounter(prog, { shift: 3 })], true);
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('a fixture and its fixed variant: the hot group vanishes', async () => {
    const c = io();
    expect(await diffCommand([hot, fixed, '--format', 'json'], c.io)).toBe(0);
    const d = JSON.parse(c.out()) as RecordingDiff;
    expect(d.schema).toBe('stmscope.diff/1');
    const hotGroup = d.groups.find((g) => g.kind === 'write-write' && g.before?.objects.includes('stats.hits'));
    expect(hotGroup, 'the stats.hits group').toBeDefined();
    expect(hotGroup).toMatchObject({ status: 'vanished', match: null, after: null });
    expect(hotGroup!.victim.before!.location).toMatch(/fixtures\/counter-hotspot\/tasks\.ts:\d+:\d+$/);
    expect(d.groups.filter((g) => g.status === 'new')).toEqual([]);
    expect(d.totals.timeLostNs.before).toBeGreaterThan(0);
    expect(d.totals.timeLostNs.after).toBe(0);
    expect(d.totals.aborts.after).toBe(0);
    expect(d.before.program).toContain('counter-hotspot/main.ts');
  });

  it('the CI check: exit 3 when time lost grows past the limit, 0 when it shrinks', async () => {
    const grow = io();
    expect(await diffCommand([fixed, hot, '--fail-on-regression', '10'], grow.io)).toBe(EXIT_REGRESSION);
    expect(grow.out()).toMatch(/Regression check: time lost from 0 to .*, limit \+10%: FAILED/);
    expect(grow.err()).toMatch(/regression: time lost grew from 0 \(limit 10%\)/);
    const shrink = io();
    expect(await diffCommand([hot, fixed, '--fail-on-regression', '10'], shrink.io)).toBe(0);
    expect(shrink.out()).toMatch(/time lost -100.0% .*: ok/);
    // A floor above the growth keeps noise from failing CI.
    const floor = io();
    expect(await diffCommand([fixed, hot, '--fail-on-regression', '10', '--regression-floor', '100s'], floor.io)).toBe(0);
  });

  it('matches the hot group across a fix that moved the code', async () => {
    const c = io();
    expect(await diffCommand([before, after, '--format', 'json'], c.io)).toBe(0);
    const d = JSON.parse(c.out()) as RecordingDiff;
    const g = d.groups.find((x) => x.kind === 'write-write' && x.victim.before?.location.includes('/prog/tasks.ts'));
    expect(g, JSON.stringify(d.groups.map((x) => [x.status, x.kind, x.victim]))).toBeDefined();
    expect(g!.match).toBe('moved');
    expect(g!.victim.before!.location).toMatch(new RegExp(`tasks\\.ts:${movedCounterLine(0)}:\\d+$`));
    expect(g!.victim.after!.location).toMatch(new RegExp(`tasks\\.ts:${movedCounterLine(3)}:\\d+$`));
    expect(g!.victim.after!.text).toBe('stats.hits = stats.hits + 1;');
    expect(d.groups.filter((x) => x.kind === 'write-write' && (x.status === 'new' || x.status === 'vanished'))).toEqual([]);
    const text = io();
    await diffCommand([before, after], text.io);
    expect(text.out()).toMatch(/tasks\.ts:10:\d+ → \S+tasks\.ts:13:\d+ \(handle\)/);
    expect(text.out()).toContain('(code moved)');
  });

  it('writes markdown to a file', async () => {
    const c = io();
    const out = join(tmp, 'diff.md');
    expect(await diffCommand([hot, fixed, '-f', 'markdown', '-o', out], c.io)).toBe(0);
    expect(readFileSync(out, 'utf8')).toMatch(/^## stmscope diff: .*hot\.stmrec → .*fixed\.stmrec\n/);
    expect(c.err()).toMatch(/wrote .*diff\.md \(markdown/);
  });

  it('compares PyPy-STM logs and a log with a recording', async () => {
    const log = (n: number) => {
      const l = pypyLog('c8-n16');
      for (let i = 0; i < n; i++) {
        const t = i * 1000;
        l.ev(t, 1, 'TRANSACTION_START').ev(t + 300, 1, 'CONTENTION_WRITE_READ', { marker: 'File "app.py", line 9, in work (#4)' }).ev(t + 310, 1, 'TRANSACTION_ABORT');
      }
      return l.bytes();
    };
    const a = join(tmp, 'a.pypylog');
    const b = join(tmp, 'b.pypylog');
    writeFileSync(a, log(6));
    writeFileSync(b, log(2));
    const c = io();
    expect(await diffCommand([a, b, '--format', 'json', '--pypy-variant', 'c8'], c.io)).toBe(0);
    const d = JSON.parse(c.out()) as RecordingDiff;
    expect(d.groups).toHaveLength(1);
    expect(d.groups[0]).toMatchObject({ status: 'improved', match: 'exact', kind: 'write-read' });
    expect(d.totals.timeLostNs).toMatchObject({ before: 1800, after: 600 });
    expect(c.err()).toContain('read as a PyPy-STM log (STMGC-C8-PROF01), event numbering c8-n16');
    const mixed = io();
    expect(await diffCommand([a, hot], mixed.io)).toBe(0);
    expect(mixed.out()).toContain('NEW');
  });

  it('bad input and usage: clear messages, exit 1 or 2', async () => {
    const one = io();
    expect(await diffCommand([hot], one.io)).toBe(2);
    expect(one.err()).toMatch(/need two inputs, BEFORE and AFTER \(got 1\)/);
    const fmt = io();
    expect(await diffCommand([hot, fixed, '--format', 'html'], fmt.io)).toBe(2);
    expect(fmt.err()).toMatch(/unknown format "html": use text, json or markdown/);
    const pct = io();
    expect(await diffCommand([hot, fixed, '--fail-on-regression', 'lots'], pct.io)).toBe(2);
    const missing = io();
    expect(await diffCommand([hot, join(tmp, 'nope.stmrec')], missing.io)).toBe(1);
    expect(missing.err()).toMatch(/nope\.stmrec: no such file/);
    const junk = join(tmp, 'junk.bin');
    writeFileSync(junk, 'definitely not a recording\n');
    const bad = io();
    expect(await diffCommand([junk, hot], bad.io)).toBe(1);
    expect(bad.err()).toMatch(/junk\.bin: not an stmscope recording: expected the bytes "STMSCOPE" at the start, found 64 65 .*: text/);
    const truncated = join(tmp, 'truncated.stmrec');
    const bytes = readFileSync(hot);
    writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const cut = io();
    expect(await diffCommand([truncated, hot], cut.io)).toBe(0);
    expect(cut.err()).toMatch(/warning: .*truncated\.stmrec: The recording is truncated/);
  });

  it('parses durations', () => {
    expect(parseDuration('1ms', 'x')).toBe(1e6);
    expect(parseDuration('500us', 'x')).toBe(5e5);
    expect(parseDuration('2.5s', 'x')).toBe(2.5e9);
    expect(parseDuration('42', 'x')).toBe(42);
    expect(() => parseDuration('soon', 'x')).toThrow(UsageError);
  });
});

// Every fixture with a fixed variant named `<name>-fixed` (counter-hotspot's is
// covered above): the expected top group of the fixture vanishes.
const pairs = readdirSync(join(root, 'fixtures'))
  .filter((d) => d.endsWith('-fixed') && existsSync(join(root, 'fixtures', d.slice(0, -'-fixed'.length), 'expected.json')))
  .map((d) => d.slice(0, -'-fixed'.length))
  .sort();

describe('stmscope diff: fixtures against their fixed variants', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'stmscope-diff-fixed-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  it('finds the pairs', () => {
    expect(pairs).toEqual(expect.arrayContaining(['kmeans', 'struct-map']));
  });
  for (const name of pairs) {
    it(`${name} → ${name}-fixed: the hot group vanishes`, async () => {
      const expected = JSON.parse(readFileSync(join(root, 'fixtures', name, 'expected.json'), 'utf8')) as {
        command: string[];
        conflicts: Array<{ kind: string; victim: string }>;
      };
      const fixedCmd = JSON.parse(readFileSync(join(root, 'fixtures', `${name}-fixed`, 'expected.json'), 'utf8')).command as string[];
      const a = join(tmp, `${name}.stmrec`);
      const b = join(tmp, `${name}-fixed.stmrec`);
      record(a, expected.command, true);
      record(b, fixedCmd, false);
      const c = io();
      expect(await diffCommand([a, b, '--format', 'json', '--fail-on-regression', '0'], c.io)).toBe(0);
      const d = JSON.parse(c.out()) as RecordingDiff;
      const want = expected.conflicts[0];
      const [file, line] = [want.victim.slice(0, want.victim.lastIndexOf(':')), want.victim.slice(want.victim.lastIndexOf(':') + 1)];
      const hot = d.groups.filter((g) => g.kind === want.kind && new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${line}:\\d+$`).test(g.victim.before?.location ?? ''));
      expect(hot.length, JSON.stringify(d.groups.map((g) => [g.status, g.kind, g.victim]))).toBeGreaterThan(0);
      for (const g of hot) expect(g).toMatchObject({ status: 'vanished', after: null });
      expect(d.totals.timeLostNs.after).toBeLessThan(d.totals.timeLostNs.before);
      expect(d.regression!.failed).toBe(false);
    });
  }
});
