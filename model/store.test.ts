import { describe, expect, it } from 'vitest';
import { ingestBytes } from './ingest.ts';
import { Outcome } from './assemble.ts';
import { EventStore } from './store.ts';
import { rec } from './testing/builder.ts';
import { Ev, header } from './records.ts';

function storeOf(bytes: Uint8Array) {
  const { ingest, status } = ingestBytes(bytes, { store: true });
  return { store: ingest.store!, status };
}

describe('EventStore', () => {
  it('has one row per attempt, numbering retries of one txSeq', () => {
    const r = rec();
    const s = r.site('bank.ts:12:5', { fn: 'transfer', text: 'from.balance -= amount;' });
    const acct = r.object('Account', { serial: 17, fields: ['id', 'balance'] });
    r.worker(2).start(10, { name: 'transfer' }).commit(40, { reads: 2, writes: 2 });
    r.worker(1)
      .start(0, { name: 'transfer' })
      .abort(50, 'write-write', { obj: acct, field: 'balance', site: s, culprit: [2, 1, s], waitNs: 5 })
      .start(60)
      .commit(90);
    const { store, status } = storeOf(r.bytes());
    expect(status.complete).toBe(true);
    const a = store.attempts.view();
    expect(store.attempts.length).toBe(3);
    // worker 2's commit arrives first (records keep arrival order).
    expect(Array.from(a.worker)).toEqual([2, 1, 1]);
    expect(Array.from(a.attempt)).toEqual([1, 1, 2]);
    expect(Array.from(a.txSeq)).toEqual([1, 1, 1]);
    expect(Array.from(a.outcome)).toEqual([Outcome.Committed, Outcome.Aborted, Outcome.Committed]);
    expect(store.attemptName(1)).toBe('transfer');
    expect(a.reads[0]).toBe(2);

    expect(store.aborts.length).toBe(1);
    const ab = store.aborts.view();
    expect(ab.attempt[0]).toBe(1);
    expect(a.abort[1]).toBe(0);
    expect(ab.waitNs[0]).toBe(5);
    expect(ab.timeLostNs[0]).toBe(45);
    expect(store.kindName(0)).toBe('write-write');
    expect(store.abortObject(0)).toEqual({ label: 'Account#17.balance', type: 'Account', field: 'balance', shape: 'struct' });
    expect(store.victimFrames(0)).toEqual([{ file: 'bank.ts', line: 12, column: 5, function: 'transfer', text: 'from.balance -= amount;' }]);
    expect(store.culpritFrames(0)[0].line).toBe(12);
    // The culprit is worker 2's committed transaction 1.
    expect(store.culpritAttempt(0)).toBe(0);
  });

  it('stores waits, blocked-by-inevitable rows, inevitable switches, failures and drops', () => {
    const r = rec();
    const io = r.site('log.ts:3:1', { text: 'console.log(x)' });
    const waitAt = r.site('app.ts:9:1');
    r.worker(1).start(0).inevitable(5, { site: io }).commit(100, { inevitable: true });
    r.worker(2).start(10).blocked(20, 90, [1, 1, io], { site: waitAt }).commit(95);
    r.worker(3).start(0).fail(7, { message: 'boom' }).dropped(8, 12);
    r.worker(255).dropped(9, 3);
    const { store } = storeOf(r.bytes());
    expect(store.waits.length).toBe(1);
    expect(Array.from(store.waits.view().begin)).toEqual([20]);
    expect(store.waits.cols.inAttempt[0]).toBe(1);
    expect(store.blockedWaits.length).toBe(1);
    expect(store.blockedWaits.cols.waitNs[0]).toBe(70);
    expect(store.defs.site(2, store.blockedWaits.cols.waiterSite[0])?.file).toBe('app.ts');
    expect(store.defs.site(1, store.blockedWaits.cols.blockerSite[0])?.text).toBe('console.log(x)');
    const a = store.attempts.cols;
    expect(a.flags[0] & 1).toBe(1);
    expect(a.inevitableNs[0]).toBe(95);
    expect(a.waitNs[1]).toBe(70);
    expect(store.inevitables.length).toBe(1);
    expect(store.fails.length).toBe(1);
    expect(store.defs.string(3, store.fails.cols.message[0])).toBe('boom');
    expect(store.outcomeName(2)).toBe('failed');
    expect(store.droppedTotal).toBe(15);
    expect(store.droppedByWorker[255]).toBe(3);
  });

  it('copes with lost records: missing ends, starts and culprits', () => {
    const r = rec();
    r.worker(1).start(0).start(10).commit(20); // first attempt never ended
    r.worker(2).commit(5); // commit without start
    // A tx_abort whose abort_culprit was lost, followed by a retry.
    r.raw([header(Ev.TxAbort, 3), 4, 30, 0, 1, 0, -1 >>> 0, 0]);
    r.worker(3).start(40, { tx: 4 }).commit(50);
    const { store, status } = storeOf(r.bytes({ end: null }));
    expect(status.complete).toBe(false);
    const o = Array.from(store.attempts.view().outcome);
    expect(o).toEqual([Outcome.Unfinished, Outcome.Committed, Outcome.Committed, Outcome.Aborted, Outcome.Committed]);
    expect(store.aborts.cols.culpritWorker[0]).toBe(-1);
    expect(store.culpritAttempt(0)).toBe(-1);
    expect(store.culpritFrames(0)).toEqual([]);
    expect(store.victimFrames(0)).toEqual([]);
    expect(store.abortObject(0).label).toBe('(unknown object)');
  });

  it('closes attempts still open at the end as unfinished', () => {
    const { store } = storeOf(rec().worker(1).start(0).waitBegin(5, 'commit-lock').bytes({ end: null }));
    expect(store.outcomeName(0)).toBe('unfinished');
    expect(store.waits.length).toBe(1);
  });

  it('grows its columns past the initial capacity', () => {
    const r = rec();
    r.worker(1);
    for (let i = 0; i < 100; i++) r.start(i * 10).commit(i * 10 + 5);
    const store = new EventStore(undefined, { initialCapacity: 4 });
    store.addRecords(r.records());
    expect(store.attempts.length).toBe(100);
    expect(store.attempts.cols.end[99]).toBe(995);
    expect(store.committedAttempt(1, 77)).toBe(76);
    expect(store.byteLength).toBeGreaterThan(0);
  });
});
