import { describe, expect, it } from 'vitest';
import { EventAssembler } from '../assemble.ts';
import { Definitions } from '../defs.ts';
import { decodeRecording } from '../format.ts';
import { ingestBytes } from '../ingest.ts';
import { EventStore } from '../store.ts';
import { rec, us } from '../testing/builder.ts';
import { bankSample } from '../testing/samples.ts';
import { convertPypyLog } from '../pypy/convert.ts';
import { pypyLog } from '../pypy/testing.ts';
import { chromeTrace, chromeTraceChunks, usText, workerTid, type ChromeTraceStats } from './chrome.ts';
import { AbortProfileCollector, buildSpeedscope, speedscopeFromStore } from './speedscope.ts';
import { checkChromeTrace, checkSpeedscope } from './testing.ts';

function storeOf(bytes: Uint8Array) {
  const { ingest, status } = ingestBytes(bytes, { store: true });
  return { store: ingest.store!, meta: ingest.meta, snap: ingest.aggregator!.snapshot(), status };
}

describe('Chrome trace export', () => {
  it('writes exact µs text', () => {
    expect(usText(1234567)).toBe('1234.567');
    expect(usText(1000)).toBe('1');
    expect(usText(1500)).toBe('1.5');
    expect(usText(7)).toBe('0.007');
    expect(usText(0)).toBe('0');
  });

  it('is a valid trace: tracks per worker, a slice per attempt, flows from culprit commits to victim aborts', () => {
    const { store, meta } = storeOf(bankSample().bytes());
    const stats: ChromeTraceStats = { slices: 0, flows: 0, unboundConflicts: 0, metadata: 0 };
    const text = chromeTrace(store, { meta }, stats);
    const check = checkChromeTrace(text);
    expect(check.problems).toEqual([]);
    const ev = check.events;
    // Metadata: process name from argv, one named track per worker.
    expect(ev.find((e) => e.name === 'process_name')?.args).toEqual({ name: 'stmscope: bank.ts --workers 3' });
    const threadNames = ev.filter((e) => e.name === 'thread_name').map((e) => [e.tid, (e.args as { name: string }).name]);
    expect(threadNames).toEqual([
      [workerTid(1), 'worker 1'],
      [workerTid(2), 'worker 2'],
      [workerTid(3), 'worker 3'],
    ]);
    expect(ev.every((e) => e.pid === 4242)).toBe(true);
    // One X slice per attempt.
    const attempts = ev.filter((e) => e.ph === 'X' && String(e.cat).startsWith('tx,'));
    expect(attempts).toHaveLength(store.attempts.length);
    expect(attempts.filter((e) => e.cat === 'tx,aborted')).toHaveLength(store.aborts.length);
    // Expected arrows, computed from the store: aborts whose culprit committed after starting before the abort.
    let expected = 0;
    for (let r = 0; r < store.aborts.length; r++) {
      const c = store.culpritAttempt(r);
      if (c >= 0 && store.attempts.cols.start[c] <= store.aborts.cols.time[r]) expected++;
    }
    expect(expected).toBeGreaterThan(10);
    const ins = [...check.flows.values()].reduce((n, f) => n + f.in.length, 0);
    expect(ins).toBe(expected);
    expect(stats.flows).toBe(expected);
    // Every flow: source on a committed attempt of the culprit's track, destination a zero-length abort slice.
    for (const f of check.flows.values()) {
      expect(f.out[0].cat).toBe('tx,committed');
      for (const d of f.in) {
        expect(d.dur).toBe(0);
        expect(d.cat).toBe('conflict');
        expect((d.args as { culprit: { worker: number } }).culprit.worker + 1).toBe(f.out[0].tid);
      }
    }
    // The aborted attempt carries outcome, object, retries and both stacks.
    const counter = attempts.find((e) => (e.args as { object?: string }).object === 'Stats#1.count')!;
    expect(counter.name).toBe('transfer');
    expect(counter.args).toMatchObject({
      outcome: 'aborted',
      attempt: 1,
      retries: 0,
      conflict: 'write-write',
      victimStack: ['transfer (src/bank.ts:14:5)', 'transfer (src/bank.ts:10:3)', 'runWorker (src/main.ts:40:3)'],
      culpritStack: ['transfer (src/bank.ts:14:5)', 'transfer (src/bank.ts:10:3)', 'runWorker (src/main.ts:40:3)'],
    });
    const retry = attempts.find((e) => e.tid === workerTid(2) && (e.args as { attempt: number }).attempt === 2)!;
    expect(retry.args).toMatchObject({ outcome: 'committed', retries: 1 });
    // Waits are nested slices; unnamed attempts are named by their site.
    expect(ev.some((e) => e.name === 'wait: backoff' && e.cat === 'wait')).toBe(true);
    expect(ev.some((e) => e.name === 'tx bank.ts:10')).toBe(true);
    // Drops are instants.
    expect(ev.find((e) => e.ph === 'i')).toMatchObject({ name: 'events dropped', args: { count: 7 } });
  });

  it('binds the arrow to the attempt of the culprit that was running at the abort', () => {
    // Worker 1's transaction 1 holds the object when worker 2 aborts, then aborts too and commits on its retry.
    const r = rec();
    const s = r.site('a.ts:1:1', { fn: 'f' });
    r.worker(1).start(0, { site: s });
    r.worker(2).start(10, { site: s }).abort(50, 'write-write', { site: s, culprit: [1, 1, s] });
    r.worker(1).abort(60, 'write-write', { site: s, culprit: [2, 1, s] }).start(70, { site: s }).commit(100);
    r.worker(2).start(80, { site: s }).commit(120);
    const { store } = storeOf(r.bytes());
    const check = checkChromeTrace(chromeTrace(store));
    expect(check.problems).toEqual([]);
    const flows = [...check.flows.values()];
    // Worker 2's abort at 50 ns → worker 1's first attempt (start 0); worker 1's abort at 60 → worker 2's
    // committed attempt started at 80, after the abort, and its earlier attempt had already ended: no arrow there.
    expect(flows).toHaveLength(1);
    expect(flows[0].out[0]).toMatchObject({ tid: workerTid(1), ts: 0 });
    expect(flows[0].in[0]).toMatchObject({ tid: workerTid(2), ts: 0.05 });
  });

  it('streams in pieces that join into the same document', () => {
    const { store, meta } = storeOf(bankSample().bytes());
    const pieces = [...chromeTraceChunks(store, { meta, chunkEvents: 10 })];
    expect(pieces.length).toBeGreaterThan(5);
    expect(pieces.join('')).toBe(chromeTrace(store, { meta }));
  });

  it('exports PyPy-STM logs: c7 culprits get arrows, c8 ones (not logged) do not', () => {
    const c7 = pypyLog('c7')
      .ev(0, 1, 'TRANSACTION_START')
      .ev(100, 2, 'TRANSACTION_START')
      .ev(500, 1, 'CONTENTION_WRITE_WRITE', { other: 2, marker: 'File "a.py", line 5, in f', marker1: 'File "b.py", line 7, in g' })
      .ev(510, 1, 'ABORTING_OTHER_CONTENTION')
      .ev(600, 2, 'TRANSACTION_ABORT')
      .ev(700, 1, 'TRANSACTION_COMMIT');
    const a = storeOf(convertPypyLog(c7.bytes()).bytes);
    const ca = checkChromeTrace(chromeTrace(a.store, { meta: a.meta }));
    expect(ca.problems).toEqual([]);
    expect(ca.flows.size).toBe(1);
    expect(ca.events.filter((e) => e.name === 'thread_name').map((e) => (e.args as { name: string }).name)).toEqual(['worker 0: PyPy thread 1', 'worker 1: PyPy thread 2']);
    const c8 = pypyLog('c8-n16')
      .ev(0, 1, 'TRANSACTION_START')
      .ev(100, 1, 'CONTENTION_WRITE_READ', { marker: 'File "a.py", line 5, in f (#3)' })
      .ev(110, 1, 'TRANSACTION_ABORT');
    const b = storeOf(convertPypyLog(c8.bytes()).bytes);
    const stats: ChromeTraceStats = { slices: 0, flows: 0, unboundConflicts: 0, metadata: 0 };
    const cb = checkChromeTrace(chromeTrace(b.store, { meta: b.meta }, stats));
    expect(cb.problems).toEqual([]);
    expect(cb.flows.size).toBe(0);
    expect(stats.unboundConflicts).toBe(1);
  });
});

describe('Chrome trace export, brief args', () => {
  it('keeps slices, times and flows, with args that group attempts into few (name, args) keys', () => {
    const { store, meta } = storeOf(bankSample().bytes());
    const full = checkChromeTrace(chromeTrace(store, { meta }));
    const stats: ChromeTraceStats = { slices: 0, flows: 0, unboundConflicts: 0, metadata: 0 };
    const brief = checkChromeTrace(chromeTrace(store, { meta, args: 'brief' }, stats));
    expect(brief.problems).toEqual([]);
    const xs = (c: typeof full) => c.events.filter((e) => e.ph === 'X').map((e) => `${e.tid} ${e.name} ${e.ts} ${e.dur} ${e.bind_id ?? ''}${e.flow_in ? '<' : ''}${e.flow_out ? '>' : ''}`);
    expect(xs(brief)).toEqual(xs(full));
    expect(brief.flows.size).toBe(full.flows.size);
    expect(stats.flows).toBeGreaterThan(10);
    // speedscope keys a slice by name + JSON(args): one key per (transaction, outcome, conflict, victim line).
    const keys = new Set(brief.events.filter((e) => e.ph === 'X').map((e) => `${e.name} ${e.args ? JSON.stringify(e.args) : ''}`));
    expect(keys.size).toBeLessThan(40);
    const aborted = brief.events.find((e) => e.cat === 'tx,aborted')!;
    expect(Object.keys(aborted.args as object)).toEqual(['outcome', 'conflict', 'victim']);
    expect((aborted.args as { victim: string }).victim).toMatch(/^\w+ \(src\/bank\.ts:\d+:\d+\)$/);
    expect(brief.events.find((e) => e.cat === 'tx,committed')!.args).toEqual({ outcome: 'committed' });
  });
});

describe('speedscope export', () => {
  it('is valid and weighs victim and culprit stacks by time lost', () => {
    const { store, snap } = storeOf(bankSample().bytes());
    const file = speedscopeFromStore(store);
    const check = checkSpeedscope(JSON.stringify(file));
    expect(check.problems).toEqual([]);
    const [victim, culprit] = file.profiles;
    expect(victim.name).toBe('time lost by victim stack');
    expect(culprit.name).toBe('time lost by culprit stack');
    const totalLost = snap.groups.reduce((n, g) => n + g.timeLostNs, 0);
    const sum = (w: number[]) => w.reduce((a, b) => a + b, 0);
    expect(sum(victim.weights)).toBe(totalLost);
    expect(sum(culprit.weights)).toBe(totalLost);
    expect(victim.endValue).toBe(totalLost);
    // The heaviest sample is the top report group; its stack is root first, then a conflict frame.
    const names = (s: number[]) => s.map((i) => file.shared.frames[i].name);
    const top = snap.groups[0];
    expect(victim.weights[0]).toBe(top.timeLostNs);
    const stack = names(victim.samples[0]);
    expect(stack[0]).toBe('runWorker');
    expect(stack.at(-1)).toMatch(/^\[/);
    const frame = file.shared.frames[victim.samples[0].at(-2)!];
    expect(`${frame.file}:${frame.line}:${frame.col}`).toBe(top.victim.location);
    // Above the access line: its function, one frame per function (speedscope
    // keys frames by index, so a line in it would split Sandwich rows).
    const fn = top.victim.stacks[0].frames[0];
    expect(file.shared.frames[victim.samples[0].at(-3)!]).toEqual({ name: fn.function, file: fn.file });
    const fnFrames = file.shared.frames.filter((f) => f.file && f.line === undefined).map((f) => `${f.name} ${f.file}`);
    expect(new Set(fnFrames).size).toBe(fnFrames.length);
    // Counter group: write-write with itself at bank.ts:14:5.
    const counter = victim.samples.findIndex((s) => names(s).at(-1) === '[write-write with src/bank.ts:14:5]');
    expect(counter).toBeGreaterThanOrEqual(0);
    expect(victim.weights[counter]).toBe(snap.groups.find((g) => g.victim.location === 'src/bank.ts:14:5')!.timeLostNs);
    expect(names(culprit.samples[counter]).at(-1)).toBe('[causes write-write at src/bank.ts:14:5]');
  });

  it('the streaming collector gives the same file as the store', () => {
    const bytes = bankSample().bytes();
    const defs = new Definitions();
    const coll = new AbortProfileCollector(defs);
    const asm = new EventAssembler(defs, coll);
    decodeRecording(bytes, { records: (w, f, n) => asm.records(w, f, n) });
    asm.flush();
    const store = new EventStore();
    decodeRecording(bytes, { records: (w, f, n) => store.addRecords(w, f, n) });
    store.finish();
    expect(buildSpeedscope(coll)).toEqual(speedscopeFromStore(store));
  });

  it('names missing sides instead of dropping the time', () => {
    const r = rec();
    r.worker(1).start(0).abort(us(5), 'write-read').start(us(6)).commit(us(7));
    const { store } = storeOf(r.bytes());
    const file = speedscopeFromStore(store);
    expect(checkSpeedscope(JSON.stringify(file)).problems).toEqual([]);
    const names = file.profiles[0].samples[0].map((i) => file.shared.frames[i].name);
    expect(names).toEqual(['(unknown victim location)', '[write-read with an unrecorded culprit]']);
    expect(file.profiles[0].weights).toEqual([us(5)]);
    expect(file.profiles[1].samples[0].map((i) => file.shared.frames[i].name)[0]).toBe('(culprit not recorded)');
  });
});
