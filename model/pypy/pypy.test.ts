import { describe, expect, it } from 'vitest';
import { ingestBytes } from '../ingest.ts';
import { buildReport, type Report } from '../report/build.ts';
import { renderText } from '../report/text.ts';
import { EventStore } from '../store.ts';
import { decodeRecording } from '../format.ts';
import { convertPypyLog, PypyFormatError, UNKNOWN_THREAD_WORKER, type PypyImportOptions } from './convert.ts';
import { C7_HEADER, C8_HEADER, PYPY_VARIANTS } from './events.ts';
import { parseMarker } from './markers.ts';
import { c8Scenario, pypyLog } from './testing.ts';

const enc = new TextEncoder();

/** Converts a log and builds the report the way `stmscope report` does. */
function report(bytes: Uint8Array, opts: PypyImportOptions = {}) {
  const conv = convertPypyLog(bytes, opts);
  const { ingest, status } = ingestBytes(conv.bytes);
  const snap = ingest.aggregator!.snapshot();
  const rep = buildReport(snap, { meta: ingest.meta, status, top: 50 });
  return { conv, ingest, status, snap, rep };
}

const group = (rep: Report, kind: string, where: (c: Report['conflicts'][number]) => boolean = () => true) => {
  const found = rep.conflicts.filter((c) => c.kind === kind && where(c));
  expect(found, `one ${kind} group`).toHaveLength(1);
  return found[0];
};

describe('PyPy-STM markers', () => {
  it('reads c8 and c7 expansions, raw odd numbers and other text', () => {
    expect(parseMarker(enc.encode('File "x.py", line 10, in f (#12)'))).toMatchObject({ file: 'x.py', line: 10, column: 13, function: 'f' });
    expect(parseMarker(enc.encode('File "bar.py", line 20, in g'))).toMatchObject({ file: 'bar.py', line: 20, column: 0, function: 'g' });
    // Cut names keep PyPy's < and > (test_ztranslated.py::test_pypy_marker).
    const cut = parseMarker(enc.encode('File "<bla/br/project/foobaz.py", line 81, in some_extremely_longish_a> (#0)'));
    expect(cut).toMatchObject({ file: '<bla/br/project/foobaz.py', line: 81, column: 1, function: 'some_extremely_longish_a>' });
    const raw = parseMarker(new Uint8Array([0x27, 0x01, 0, 0, 0, 0, 0, 0]));
    expect(raw.file).toBe('(PyPy-STM marker 0x127)');
    expect(parseMarker(enc.encode('w'))).toMatchObject({ file: 'w', line: 0 });
    // Distinct markers stay distinct sites, even on one line.
    expect(parseMarker(enc.encode('File "x.py", line 10, in f (#12)')).key).not.toBe(parseMarker(enc.encode('File "x.py", line 10, in f (#14)')).key);
  });
});

describe('PyPy-STM c7 logs', () => {
  it('test_prof.py::test_simple: START, GC_MINOR_START, GC_MINOR_DONE, COMMIT with the c7 codes 0, 11, 12, 1', () => {
    // Raw codes from c7/stmgc.h, independent of the importer's table.
    const log = pypyLog('c7')
      .ev(0, 1, 'TRANSACTION_START', { code: 0 })
      .ev(100, 1, 'GC_MINOR_START', { code: 11 })
      .ev(300, 1, 'GC_MINOR_DONE', { code: 12 })
      .ev(1000, 1, 'TRANSACTION_COMMIT', { code: 1 });
    const { conv, rep } = report(log.bytes());
    expect(conv.status).toMatchObject({ family: 'c7', variant: 'c7', records: 4, threads: 1, truncated: false });
    expect(rep.summary).toMatchObject({ commits: 1, aborts: 0, committedNs: 1000, conflictGroups: 0 });
    expect(rep.durationNs).toBe(1000);
  });

  it('test_prof.py::test_contention: the writer reports WRITE_READ with marker chr(119) and aborts itself', () => {
    // (id0,0) START, (id1,0) START, (id1,0) GC_MINOR_START, (id1,0) GC_MINOR_DONE,
    // (id1,id0) CONTENTION_WRITE_READ marker0=chr(119) marker1='', (id1,0) ABORT
    const id0 = 7;
    const id1 = 8;
    const log = pypyLog('c7')
      .ev(0, id0, 'TRANSACTION_START', { code: 0 })
      .ev(100, id1, 'TRANSACTION_START', { code: 0 })
      .ev(150, id1, 'GC_MINOR_START', { code: 11 })
      .ev(200, id1, 'GC_MINOR_DONE', { code: 12 })
      .ev(400, id1, 'CONTENTION_WRITE_READ', { code: 4, other: id0, marker: String.fromCharCode(119) })
      .ev(450, id1, 'TRANSACTION_ABORT', { code: 2 });
    const { rep, snap, conv } = report(log.bytes());
    expect(conv.status.records).toBe(6);
    expect(rep.summary).toMatchObject({ commits: 0, aborts: 1, unfinished: 1, conflictGroups: 1 });
    // Hand-computed: the aborted transaction ran 450 − 100 = 350 ns (GC is run time), no pause.
    const c = group(rep, 'write-read');
    expect(c).toMatchObject({ count: 1, timeLostNs: 350, waitNs: 0 });
    // Victim: the thread that aborted (id1 = worker 1) at its own write, marker "w".
    expect(c.victim).toMatchObject({ location: 'w:0:0', workers: [1] });
    // Culprit: the reader id0 (worker 0); c7 logs no read location.
    expect(c.culprit).toMatchObject({ location: '', workers: [0] });
    expect(snap.summary.abortedNs).toBe(350);
    expect(conv.status.warnings.join(' ')).toMatch(/1 transaction\(s\) had not ended/);
  });

  it('moves the conflict to the other thread on ABORTING_OTHER_CONTENTION and charges inevitable waits', () => {
    const A = 'File "a.py", line 5, in f';
    const B = 'File "b.py", line 7, in g';
    const C = 'File "c.py", line 1, in h';
    const IO = 'File "a.py", line 9, in io';
    const log = pypyLog('c7')
      .ev(0, 1, 'TRANSACTION_START')
      .ev(100, 2, 'TRANSACTION_START')
      .ev(500, 1, 'CONTENTION_WRITE_WRITE', { other: 2, marker: A, marker1: B })
      .ev(510, 1, 'ABORTING_OTHER_CONTENTION')
      .ev(600, 2, 'TRANSACTION_ABORT')
      .ev(650, 2, 'TRANSACTION_START')
      .ev(700, 1, 'TRANSACTION_COMMIT')
      .ev(900, 2, 'TRANSACTION_COMMIT')
      // Thread 3 wants to go on while thread 1 is inevitable: it pauses 300 ns.
      .ev(1000, 3, 'TRANSACTION_START')
      .ev(1050, 1, 'TRANSACTION_START')
      .ev(1100, 3, 'CONTENTION_INEVITABLE', { other: 1, marker: C, marker1: IO })
      .ev(1100, 3, 'WAIT_CONTENTION')
      .ev(1400, 3, 'WAIT_DONE')
      .ev(1450, 1, 'TRANSACTION_COMMIT')
      .ev(1500, 3, 'TRANSACTION_COMMIT');
    const { rep, ingest } = report(log.bytes());
    const ww = group(rep, 'write-write');
    // Victim = thread 2 (worker 1) at its own marker B; culprit = thread 1 (worker 0) at A.
    expect(ww).toMatchObject({ count: 1, timeLostNs: 500, waitNs: 0 });
    expect(ww.victim).toMatchObject({ location: 'b.py:7:0', workers: [1] });
    expect(ww.culprit).toMatchObject({ location: 'a.py:5:0', workers: [0] });
    const inev = group(rep, 'inevitable');
    expect(inev).toMatchObject({ count: 1, timeLostNs: 300, waitNs: 300, blockedNs: 300 });
    expect(inev.victim).toMatchObject({ location: 'c.py:1:0', workers: [2] });
    expect(inev.culprit).toMatchObject({ location: 'a.py:9:0', workers: [0] });
    expect(rep.summary).toMatchObject({ commits: 4, aborts: 1, waitingNs: 300, blockedNs: 300 });
    // Thread 3 committed after running 1500 − 1000 − 300 = 200 ns.
    expect(rep.workers.find((w) => w.id === 2)).toMatchObject({ commits: 1, committedNs: 200 });
    // The culprit names the committed transaction of thread 1: its commit is found.
    const store = new EventStore();
    decodeRecording(convertPypyLog(log.bytes()).bytes, { records: (w, f, n) => store.addRecords(w, f, n) });
    store.finish();
    expect(store.aborts.length).toBe(1);
    const culprit = store.culpritAttempt(0);
    expect(culprit).toBeGreaterThanOrEqual(0);
    expect(store.attempts.cols.end[culprit]).toBe(700);
    expect(ingest.meta?.workerNames).toEqual({ 0: 'PyPy thread 1', 1: 'PyPy thread 2', 2: 'PyPy thread 3' });
  });

  it('reads records with a c7 header and the c8 layout (early c8 prof.c wrote the C7 header)', () => {
    const c8 = pypyLog('c8-n16', { header: C7_HEADER })
      .ev(0, 1, 'TRANSACTION_START')
      .ev(10, 1, 'CONTENTION_WRITE_READ', { marker: 'File "x.py", line 1, in f (#2)' })
      .ev(20, 1, 'TRANSACTION_ABORT')
      .ev(30, 1, 'TRANSACTION_START')
      .ev(40, 1, 'GC_MAJOR_START')
      .ev(50, 1, 'GC_MAJOR_DONE')
      .ev(60, 1, 'TRANSACTION_COMMIT');
    const { conv, rep } = report(c8.bytes());
    expect(conv.status.family).toBe('c8');
    expect(conv.status.warnings.join(' ')).toMatch(/header says STMGC-C7-PROF01 but the records have the c8 layout/);
    expect(rep.summary).toMatchObject({ commits: 1, aborts: 1 });
  });
});

describe('PyPy-STM c8 logs', () => {
  it('groups and charges time lost like print_stm_log.py (hand-computed)', () => {
    const { log } = c8Scenario();
    const { conv, rep, snap } = report(log.bytes());
    expect(conv.status).toMatchObject({ family: 'c8', variant: 'c8-n16', guessed: true, records: 27, threads: 3 });
    // print_stm_log.py: (WRITE_READ, M1) num_events 2,
    //   aborted_time = (400 − 0 − 150) + (800 − 700 − 10) = 250 + 90 = 340, paused_time = 150 + 10 = 160.
    const wr = group(rep, 'write-read');
    expect(wr).toMatchObject({ count: 2, timeLostNs: 340, waitNs: 160 });
    // c8 logs neither the victim's read location nor the culprit thread.
    expect(wr.victim.location).toBe('');
    expect(wr.culprit).toMatchObject({ location: 'shop.py:42:19', workers: [UNKNOWN_THREAD_WORKER] });
    expect(wr.culprit!.frames[0]).toMatchObject({ file: 'shop.py', line: 42, function: 'buy' });
    // (BECOME_INEVITABLE, M3): paused_time = 380 − 220 = 160, charged to the waiter's marker.
    const inev = group(rep, 'inevitable');
    expect(inev).toMatchObject({ count: 1, timeLostNs: 160, waitNs: 160, blockedNs: 160 });
    expect(inev.victim).toMatchObject({ location: 'log.py:7:5', workers: [2] });
    expect(inev.culprit).toBeNull();
    // The repeated contention of an aborting transaction is ignored (print_stm_log.py's "double").
    expect(rep.conflicts).toHaveLength(2);
    expect(conv.status.warnings.join(' ')).toMatch(/1 repeated CONTENTION_WRITE_READ/);
    // Totals: committed = 170 + 80 (thread 1) + 340 (thread 2) + (500 − 200 − 160) (thread 3) = 730,
    // paused = 150 + 10 + 160 = 320, as print_stm_log.py; aborted = the conflicts' 340
    // (print_stm_log.py: 370, it also counts the 20 + 10 ns between the contention and ABORT).
    expect(snap.summary).toMatchObject({ commits: 4, aborts: 2, committedNs: 730, waitingNs: 320, abortedNs: 340, blockedNs: 160 });
    expect(snap.durationNs).toBe(900);
    expect(snap.summary.inevitableSwitches).toBe(2);
    // GC time is counted in META (print_stm_log.py's "including … GC").
    const { ingest } = report(log.bytes());
    expect(ingest.meta?.import).toMatchObject({ gcMinorNs: 20, gcMajorNs: 10, records: 27 });
    const text = renderText(rep);
    expect(text).toMatch(/340ns lost in aborts, 160ns waiting \(2x write-read\)/);
    expect(text).toMatch(/File "shop.py", line 42, column 19, in buy/);
  });

  it('c8/test/test_marker.py shape: the aborted thread logs the committed thread\'s first write (marker 19)', () => {
    // tl = the aborted thread (PyPy thread 2); marker 19 expands to chr(100 + 19) = "w".
    const log = pypyLog('c8-n16')
      .ev(0, 2, 'TRANSACTION_START')
      .ev(10, 1, 'TRANSACTION_START')
      .ev(50, 1, 'TRANSACTION_COMMIT')
      .ev(80, 2, 'CONTENTION_WRITE_READ', { marker: String.fromCharCode(100 + 19) })
      .ev(90, 2, 'TRANSACTION_ABORT');
    const { rep } = report(log.bytes());
    const c = group(rep, 'write-read');
    expect(c).toMatchObject({ count: 1, timeLostNs: 80 });
    expect(c.victim).toMatchObject({ location: '', workers: [0] });
    expect(c.culprit).toMatchObject({ location: 'w:0:0', workers: [UNKNOWN_THREAD_WORKER] });
  });

  it('test_with_conflict.py shape: the shared attribute increment (#loc1) is the top conflict', () => {
    const loc1 = 'File "test_with_conflict.py", line 12, in f (#24)'; // x.a += 1 #loc1
    const loc2 = 'File "test_with_conflict.py", line 15, in f (#40)'; // x.b = 2 #loc2
    const log = pypyLog('c8-n16');
    let t = 0;
    for (let i = 0; i < 600; i++) {
      const th = 1 + (i % 3);
      log.ev(t, th, 'TRANSACTION_START');
      if (i % 2 === 0) log.ev(t + 40, th, 'CONTENTION_WRITE_READ', { marker: loc1 }).ev(t + 41, th, 'TRANSACTION_ABORT');
      else if (i % 7 === 1) log.ev(t + 40, th, 'CONTENTION_WRITE_READ', { marker: loc2 }).ev(t + 41, th, 'TRANSACTION_ABORT');
      else log.ev(t + 50, th, 'TRANSACTION_COMMIT');
      t += 60;
    }
    const { rep } = report(log.bytes());
    expect(rep.conflicts[0].culprit!.location).toBe('test_with_conflict.py:12:25');
    expect(rep.conflicts[0]).toMatchObject({ kind: 'write-read', count: 300, timeLostNs: 300 * 40 });
    expect(rep.conflicts[1]).toMatchObject({ count: 43, timeLostNs: 43 * 40 });
    expect(rep.conflicts[1].culprit!.location).toBe('test_with_conflict.py:15:41');
  });

  it('guesses every c8 numbering from the event stream', () => {
    for (const v of PYPY_VARIANTS.filter((x) => x.family === 'c8')) {
      const { log } = c8Scenario(v.id);
      const conv = convertPypyLog(log.bytes());
      expect(conv.status.variant, v.id).toBe(v.id);
      expect(conv.status.guessed).toBe(true);
      const { ingest } = ingestBytes(conv.bytes);
      const snap = ingest.aggregator!.snapshot();
      expect(snap.summary.commits, v.id).toBe(4);
      expect(snap.summary.aborts, v.id).toBe(2);
      const wr = snap.groups.find((g) => g.kind === 'write-read')!;
      expect(wr, v.id).toMatchObject({ count: 2, timeLostNs: 340, waitNs: 160 });
    }
  });

  it('uses the numbering the user picks, and refuses an unknown one', () => {
    const { log } = c8Scenario('c8-n14');
    // Read as c8-n16, c8-n14's WRITE_READ (4) is REATTACH and its waits are other events.
    const wrong = convertPypyLog(log.bytes(), { variant: 'c8-n16' });
    expect(wrong.status).toMatchObject({ variant: 'c8-n16', guessed: false });
    const right = convertPypyLog(log.bytes(), { variant: 'c8-n14' });
    const groups = (b: Uint8Array) => ingestBytes(b).ingest.aggregator!.snapshot().groups.map((g) => g.kind);
    expect(groups(right.bytes)).toContain('write-read');
    expect(groups(wrong.bytes)).not.toContain('write-read');
    expect(() => convertPypyLog(log.bytes(), { variant: 'c9' })).toThrow(/unknown PyPy-STM log variant "c9": use one of c7, c8-n11/);
  });

  it('warns when the numbering cannot be told apart', () => {
    const log = pypyLog('c8-n16').ev(0, 1, 'TRANSACTION_START').ev(10, 1, 'TRANSACTION_COMMIT');
    const { status } = convertPypyLog(log.bytes());
    expect(status.variant).toBe('c8-n16');
    expect(status.warnings.join(' ')).toMatch(/guessed as c8-n16 .*c8-n14, c8-n13, c8-n12, c8-n11 fit the log as well/);
  });

  it('DETACH ends the attempt as a commit and REATTACH starts an inevitable one (detached time is neither run nor paused)', () => {
    const log = pypyLog('c8-n16')
      .ev(0, 1, 'TRANSACTION_START')
      .ev(10, 1, 'BECOME_INEVITABLE', { marker: 'File "io.py", line 2, in read (#6)' })
      .ev(100, 1, 'TRANSACTION_DETACH')
      .ev(1100, 1, 'TRANSACTION_REATTACH')
      .ev(1150, 1, 'TRANSACTION_COMMIT')
      // A DETACH without REATTACH (the JIT reattaches silently); GC_MINOR_START marks it running again.
      .ev(1200, 1, 'TRANSACTION_START')
      .ev(1210, 1, 'TRANSACTION_DETACH')
      .ev(1300, 1, 'GC_MINOR_START')
      .ev(1320, 1, 'GC_MINOR_DONE')
      .ev(1400, 1, 'TRANSACTION_COMMIT');
    const { snap } = report(log.bytes());
    // Run: 100 + 50 + 10 + 100 = 260; the 1000 + 90 ns detached are not counted.
    expect(snap.summary).toMatchObject({ committedNs: 260, waitingNs: 0, aborts: 0 });
  });

  it('tolerates truncated logs as print_stm_log.py does: the cut record is dropped', () => {
    const { log } = c8Scenario();
    const full = log.bytes();
    const all = convertPypyLog(full).status.records;
    // Cut inside the last fixed part, then inside a marker.
    const cut1 = convertPypyLog(full.subarray(0, full.length - 5));
    expect(cut1.status).toMatchObject({ truncated: true, records: all - 1 });
    expect(cut1.status.warnings.join(' ')).toMatch(/the log is truncated: the last 9 byte\(s\) hold an incomplete record/);
    const markerEnd = full.length - 14 * 3; // the three last records are marker-less
    const inMarker = convertPypyLog(full.subarray(0, markerEnd - 10));
    expect(inMarker.status.truncated).toBe(true);
    // The converted recording is complete and readable.
    const { status } = ingestBytes(inMarker.bytes);
    expect(status.complete).toBe(true);
  });

  it('streams: any split of the input converts to the same recording', async () => {
    const { PypyLogConverter } = await import('./convert.ts');
    const { log } = c8Scenario();
    const bytes = log.bytes();
    const content = (rec: Uint8Array) => {
      const words: number[] = [];
      const st = decodeRecording(rec, { records: (w, f, n) => words.push(...w.subarray(f * 8, (f + n) * 8)) });
      return { words, complete: st.complete };
    };
    const whole = content(convertPypyLog(bytes, { lookaheadBytes: 64 }).bytes);
    expect(whole.words.length).toBeGreaterThan(27 * 8);
    for (const step of [1, 7, 14, 100]) {
      const out: Uint8Array[] = [];
      const conv = new PypyLogConverter((b) => out.push(b), { lookaheadBytes: 64 });
      for (let i = 0; i < bytes.length; i += step) conv.feed(bytes.subarray(i, i + step));
      conv.finish();
      const joined = new Uint8Array(out.reduce((n, b) => n + b.length, 0));
      let at = 0;
      for (const b of out) {
        joined.set(b, at);
        at += b.length;
      }
      expect(content(joined), `step ${step}`).toEqual(whole);
    }
  });
});

describe('PyPy-STM bad input', () => {
  it('wrong magic, empty, cut header: clear errors', () => {
    expect(() => convertPypyLog(enc.encode('STMSCOPE........'))).toThrow(PypyFormatError);
    expect(() => convertPypyLog(enc.encode('{"traceEvents": []}'))).toThrow(
      /not a PyPy-STM log: expected "STMGC-C7-PROF01\\n" or "STMGC-C8-PROF01\\n" at the start, found 7b 22 74/,
    );
    expect(() => convertPypyLog(new Uint8Array(0))).toThrow(/the input is empty/);
    expect(() => convertPypyLog(enc.encode('STMGC-C8-PR'))).toThrow(/ends after 11 bytes, inside the 16-byte header/);
  });

  it('a header followed by junk is refused; a corrupt record later stops with what was read', () => {
    const junk = new Uint8Array(64).fill(0xff);
    const bad = new Uint8Array(16 + junk.length);
    bad.set(enc.encode(C8_HEADER));
    bad.set(junk, 16);
    expect(() => convertPypyLog(bad)).toThrow(/the first record after the STMGC-C8-PROF01 header is not a valid c8 record/);
    const log = pypyLog('c8-n16')
      .ev(0, 1, 'TRANSACTION_START')
      .ev(10, 1, 'TRANSACTION_COMMIT')
      .ev(20, 1, 'TRANSACTION_START')
      .ev(30, 1, 'TRANSACTION_COMMIT', { code: 200 })
      .ev(40, 1, 'TRANSACTION_START');
    const { status, bytes } = convertPypyLog(log.bytes(), { variant: 'c8' });
    expect(status.problem).toMatch(/record 4 at byte 58 is corrupt \(event code 200, but c8-n16 has 16 events\): the 3 record\(s\) before it were converted/);
    expect(ingestBytes(bytes).ingest.aggregator!.snapshot().summary.commits).toBe(1);
  });

  it('random bytes after a valid header never pass silently', () => {
    let seed = 12345;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16) & 0xff;
    for (let trial = 0; trial < 20; trial++) {
      const b = new Uint8Array(16 + 4096);
      b.set(enc.encode(trial % 2 ? C8_HEADER : C7_HEADER));
      for (let i = 16; i < b.length; i++) b[i] = rnd();
      let outcome: string;
      try {
        const { status } = convertPypyLog(b);
        outcome = status.problem ? 'problem' : `silent (${status.records} records)`;
      } catch (e) {
        expect(e).toBeInstanceOf(PypyFormatError);
        outcome = 'error';
      }
      expect(['error', 'problem']).toContain(outcome);
    }
  });

  it('a log with no records converts to an empty recording', () => {
    const { status, bytes } = convertPypyLog(enc.encode(C8_HEADER));
    expect(status.records).toBe(0);
    expect(status.warnings.join(' ')).toMatch(/the log holds no records/);
    expect(ingestBytes(bytes).status.complete).toBe(true);
  });
});
