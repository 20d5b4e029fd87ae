/**
 * `stmscope report` reads PyPy-STM logs (converted on the fly): the
 * grouping and time-lost figures of a generated log against the values
 * computed by hand with print_stm_log.py's rules (model/pypy/testing.ts).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { c8Scenario, pypyLog } from '../../model/pypy/testing.ts';
import type { Report } from '../../model/report/build.ts';
import { reportCommand } from './report.ts';

function io() {
  let out = '';
  let err = '';
  return { io: { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } }, out: () => out, err: () => err };
}

describe('stmscope report on PyPy-STM logs', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'stmscope-report-pypy-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('c8: groups and time lost as print_stm_log.py computes them', async () => {
    const file = join(tmp, 'c8.log');
    writeFileSync(file, c8Scenario().log.bytes());
    const c = io();
    expect(await reportCommand([file, '--format', 'json'], c.io)).toBe(0);
    const r = JSON.parse(c.out()) as Report;
    expect(r.conflicts.map((g) => [g.kind, g.count, g.timeLostNs, g.waitNs, g.victim.location, g.culprit?.location ?? null])).toEqual([
      ['write-read', 2, 340, 160, '', 'shop.py:42:19'],
      ['inevitable', 1, 160, 160, 'log.py:7:5', null],
    ]);
    expect(r.summary).toMatchObject({ commits: 4, aborts: 2, committedNs: 730, waitingNs: 320 });
    expect(c.err()).toContain('read as a PyPy-STM log (STMGC-C8-PROF01), event numbering c8-n16 (guessed): 27 records, 3 threads');
    const text = io();
    expect(await reportCommand([file], text.io)).toBe(0);
    expect(text.out()).toMatch(/\[1\] 340ns lost in aborts, 160ns waiting \(2x write-read\)/);
    expect(text.out()).toMatch(/\[2\] 160ns blocked, 160ns waiting \(1x inevitable\)/);
  });

  it('c7: the test_prof.py contention sequence', async () => {
    const file = join(tmp, 'c7.log');
    writeFileSync(
      file,
      pypyLog('c7')
        .ev(0, 1, 'TRANSACTION_START')
        .ev(100, 2, 'TRANSACTION_START')
        .ev(150, 2, 'GC_MINOR_START')
        .ev(200, 2, 'GC_MINOR_DONE')
        .ev(400, 2, 'CONTENTION_WRITE_READ', { other: 1, marker: 'w' })
        .ev(450, 2, 'TRANSACTION_ABORT')
        .bytes(),
    );
    const c = io();
    expect(await reportCommand([file, '--format', 'json'], c.io)).toBe(0);
    const r = JSON.parse(c.out()) as Report;
    expect(r.conflicts.map((g) => [g.kind, g.count, g.timeLostNs, g.victim.workers, g.culprit?.workers])).toEqual([['write-read', 1, 350, [1], [0]]]);
  });

  it('a truncated log reports with a warning; a broken one fails clearly', async () => {
    const bytes = c8Scenario().log.bytes();
    const cut = join(tmp, 'cut.log');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 3));
    const c = io();
    expect(await reportCommand([cut, '--format', 'json'], c.io)).toBe(0);
    expect(c.err()).toMatch(/warning: the log is truncated: the last 11 byte\(s\) hold an incomplete record/);
    const bad = join(tmp, 'bad.log');
    writeFileSync(bad, Buffer.concat([Buffer.from('STMGC-C8-PROF01\n'), Buffer.alloc(30, 0xee)]));
    const b = io();
    expect(await reportCommand([bad], b.io)).toBe(1);
    expect(b.err()).toMatch(/bad\.log: not a readable PyPy-STM log/);
  });
});
