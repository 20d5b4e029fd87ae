/**
 * `stmscope export` on a real recording (a fixture run by `stmscope record`)
 * and on PyPy-STM logs: both formats validated as their readers would, and
 * bad input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ingestBytes } from '../../model/ingest.ts';
import { checkChromeTrace, checkSpeedscope } from '../../model/export/testing.ts';
import { workerTid } from '../../model/export/chrome.ts';
import { pypyLog } from '../../model/pypy/testing.ts';
import { totalTimeLost } from '../../model/diff.ts';
import { exportCommand } from './export.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = ['--import', 'tsx', join(root, 'server/cli.ts')];

function io(tty = false) {
  let out = '';
  let err = '';
  return {
    io: { stdout: { write: (s: string) => (out += s), isTTY: tty }, stderr: { write: (s: string) => (err += s) } },
    out: () => out,
    err: () => err,
  };
}

describe('stmscope export', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'stmscope-export-'));
  const rec = join(tmp, 'hot.stmrec');
  beforeAll(() => {
    for (let run = 0; run < 3; run++) {
      execFileSync(process.execPath, [...cli, 'record', '-o', rec, '--', 'node', '--import', 'tsx', 'fixtures/counter-hotspot/main.ts'], {
        cwd: root,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      if (ingestBytes(readFileSync(rec)).ingest.aggregator!.snapshot().summary.aborts > 0) break;
    }
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('chrome: a valid trace of the recording, with an arrow per conflict whose culprit committed', async () => {
    const out = join(tmp, 'hot.trace.json');
    const c = io();
    expect(await exportCommand([rec, '--format', 'chrome', '-o', out], c.io)).toBe(0);
    expect(c.err()).toMatch(/wrote .*hot\.trace\.json \(chrome trace, [\d,]+ slices, [\d,]+ conflict arrows, .*\); open it in https:\/\/ui\.perfetto\.dev/);
    const check = checkChromeTrace(readFileSync(out, 'utf8'));
    expect(check.problems).toEqual([]);
    const { ingest } = ingestBytes(readFileSync(rec), { store: true });
    const store = ingest.store!;
    const attempts = check.events.filter((e) => e.ph === 'X' && String(e.cat).startsWith('tx,'));
    expect(attempts).toHaveLength(store.attempts.length);
    // One named track per worker that ran transactions.
    const workers = new Set(Array.from(store.attempts.cols.worker.subarray(0, store.attempts.length)));
    for (const w of workers) expect(check.events.some((e) => e.name === 'thread_name' && e.tid === workerTid(w))).toBe(true);
    expect(store.aborts.length).toBeGreaterThan(0);
    const arrows = [...check.flows.values()].reduce((n, f) => n + f.in.length, 0);
    expect(arrows).toBeGreaterThan(0);
    expect(arrows).toBeLessThanOrEqual(store.aborts.length + store.blockedWaits.length);
    // The hot spot's aborts name the object and carry both stacks.
    const aborted = attempts.find((e) => (e.args as { object?: string }).object === 'stats.hits')!;
    expect(aborted.args).toMatchObject({ outcome: 'aborted', conflict: 'write-write' });
    expect((aborted.args as { victimStack: string[] }).victimStack[0]).toMatch(/^handle \(.*fixtures\/counter-hotspot\/tasks\.ts:\d+:\d+\)$/);
    expect((aborted.args as { culpritStack: string[] }).culpritStack.length).toBeGreaterThan(0);
  });

  it('chrome --args brief: the same slices and arrows, args without per-attempt ids', async () => {
    const full = checkChromeTrace(readFileSync(join(tmp, 'hot.trace.json'), 'utf8'));
    const out = join(tmp, 'hot.brief.trace.json');
    const c = io();
    expect(await exportCommand([rec, '--format', 'chrome', '--args', 'brief', '-o', out], c.io)).toBe(0);
    const brief = checkChromeTrace(readFileSync(out, 'utf8'));
    expect(brief.problems).toEqual([]);
    expect(brief.events.filter((e) => e.ph === 'X')).toHaveLength(full.events.filter((e) => e.ph === 'X').length);
    expect(brief.flows.size).toBe(full.flows.size);
    expect(brief.events.some((e) => e.args && 'txSeq' in (e.args as object))).toBe(false);
  });

  it('speedscope: valid, weights add up to the time lost', async () => {
    const out = join(tmp, 'hot.speedscope.json');
    const c = io();
    expect(await exportCommand([rec, '-f', 'speedscope', '-o', out], c.io)).toBe(0);
    const check = checkSpeedscope(readFileSync(out, 'utf8'));
    expect(check.problems).toEqual([]);
    const file = check.file as { profiles: Array<{ weights: number[] }> };
    const total = file.profiles[0].weights.reduce((a, b) => a + b, 0);
    expect(total).toBe(totalTimeLost(ingestBytes(readFileSync(rec)).ingest.aggregator!.snapshot()));
  });

  it('writes to stdout when piped, refuses a terminal', async () => {
    const piped = io(false);
    expect(await exportCommand([rec, '-f', 'speedscope'], piped.io)).toBe(0);
    expect(checkSpeedscope(piped.out()).problems).toEqual([]);
    const tty = io(true);
    expect(await exportCommand([rec, '-f', 'chrome'], tty.io)).toBe(2);
    expect(tty.err()).toMatch(/refusing to write JSON to a terminal: give -o OUT/);
  });

  it('exports PyPy-STM logs (c7 with arrows)', async () => {
    const log = join(tmp, 'c7.log');
    writeFileSync(
      log,
      pypyLog('c7')
        .ev(0, 1, 'TRANSACTION_START')
        .ev(100, 2, 'TRANSACTION_START')
        .ev(500, 1, 'CONTENTION_WRITE_WRITE', { other: 2, marker: 'File "a.py", line 5, in f', marker1: 'File "b.py", line 7, in g' })
        .ev(510, 1, 'ABORTING_OTHER_CONTENTION')
        .ev(600, 2, 'TRANSACTION_ABORT')
        .ev(700, 1, 'TRANSACTION_COMMIT')
        .bytes(),
    );
    const out = join(tmp, 'c7.json');
    const c = io();
    expect(await exportCommand([log, '-f', 'chrome', '-o', out], c.io)).toBe(0);
    expect(c.err()).toContain('read as a PyPy-STM log (STMGC-C7-PROF01), event numbering c7 (guessed)');
    const check = checkChromeTrace(readFileSync(out, 'utf8'));
    expect(check.problems).toEqual([]);
    expect(check.flows.size).toBe(1);
    const ss = io();
    expect(await exportCommand([log, '-f', 'speedscope', '-o', join(tmp, 'c7.ss.json')], ss.io)).toBe(0);
    const file = JSON.parse(readFileSync(join(tmp, 'c7.ss.json'), 'utf8'));
    expect(file.profiles[0].weights).toEqual([500]);
    expect(file.profiles[0].samples[0].map((i: number) => file.shared.frames[i].name)).toEqual(['g', 'b.py:7', '[write-write with a.py:5:0]']);
  });

  it('bad input and usage: clear messages', async () => {
    const noFmt = io();
    expect(await exportCommand([rec, '-o', join(tmp, 'x.json')], noFmt.io)).toBe(2);
    expect(noFmt.err()).toMatch(/--format is required: chrome or speedscope/);
    const badFmt = io();
    expect(await exportCommand([rec, '-f', 'pprof', '-o', join(tmp, 'x.json')], badFmt.io)).toBe(2);
    expect(badFmt.err()).toMatch(/unknown format "pprof"/);
    const variant = io();
    expect(await exportCommand([rec, '-f', 'chrome', '--pypy-variant', 'c9', '-o', join(tmp, 'x.json')], variant.io)).toBe(2);
    expect(variant.err()).toMatch(/unknown --pypy-variant "c9": use auto or one of c7, c8-n11/);
    const badArgs = io();
    expect(await exportCommand([rec, '-f', 'chrome', '--args', 'none', '-o', join(tmp, 'x.json')], badArgs.io)).toBe(2);
    expect(badArgs.err()).toMatch(/unknown --args "none": use full or brief/);
    const argsSs = io();
    expect(await exportCommand([rec, '-f', 'speedscope', '--args', 'brief', '-o', join(tmp, 'x.json')], argsSs.io)).toBe(2);
    expect(argsSs.err()).toMatch(/--args applies to --format chrome only/);
    const missing = io();
    expect(await exportCommand([join(tmp, 'missing.stmrec'), '-f', 'chrome', '-o', join(tmp, 'x.json')], missing.io)).toBe(1);
    expect(missing.err()).toMatch(/missing\.stmrec: no such file/);
    let seed = 7;
    const random = new Uint8Array(4096).map(() => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24) & 0xff);
    random[0] = 0xc3;
    writeFileSync(join(tmp, 'random.bin'), random);
    const rnd = io();
    expect(await exportCommand([join(tmp, 'random.bin'), '-f', 'chrome', '-o', join(tmp, 'x.json')], rnd.io)).toBe(1);
    expect(rnd.err()).toMatch(/random\.bin: not an stmscope recording: expected the bytes "STMSCOPE" at the start, found c3 .*: data of an unknown kind/);
    const pypyJunk = join(tmp, 'junk.log');
    writeFileSync(pypyJunk, Buffer.concat([Buffer.from('STMGC-C8-PROF01\n'), Buffer.alloc(40, 0xff)]));
    const pj = io();
    expect(await exportCommand([pypyJunk, '-f', 'speedscope', '-o', join(tmp, 'x.json')], pj.io)).toBe(1);
    expect(pj.err()).toMatch(/junk\.log: not a readable PyPy-STM log: the first record after the STMGC-C8-PROF01 header is not a valid c8 record/);
    // A cut recording still exports what it holds, with a warning.
    const bytes = readFileSync(rec);
    writeFileSync(join(tmp, 'cut.stmrec'), bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    const cut = io();
    expect(await exportCommand([join(tmp, 'cut.stmrec'), '-f', 'chrome', '-o', join(tmp, 'cut.json')], cut.io)).toBe(0);
    expect(cut.err()).toMatch(/warning: .*cut\.stmrec: The recording is truncated/);
    expect(checkChromeTrace(readFileSync(join(tmp, 'cut.json'), 'utf8')).problems).toEqual([]);
    const unwritable = io();
    expect(await exportCommand([rec, '-f', 'chrome', '-o', join(tmp, 'no/such/dir/x.json')], unwritable.io)).toBe(1);
    expect(unwritable.err()).toMatch(/cannot write .*no\/such\/dir\/x\.json: ENOENT/);
  });
});
