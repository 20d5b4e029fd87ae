import { describe, expect, it } from 'vitest';
import { EventAssembler, OUTCOME_NAMES, type AttemptSink } from './assemble.ts';
import { Definitions } from './defs.ts';
import { rec } from './testing/builder.ts';
import { Ev, header } from './records.ts';
import { UNKNOWN_DEFINITION_CODE } from './format.ts';

/** A sink that logs calls as short readable strings. */
function logSink() {
  const log: string[] = [];
  const sink: AttemptSink = {
    attempt: (w, tx, at, s, e, o, f, _n, _site, wait, inev) => log.push(`attempt w${w} tx${tx}#${at} ${s}-${e} ${OUTCOME_NAMES[o]} flags${f} wait${wait} inev${inev}`),
    abort: (w, tx, t, k, ob, fi, _vs, cw, ctx, _cs, wait, lost) => log.push(`abort w${w} tx${tx} @${t} kind${k} obj${ob}.${fi} by w${cw} tx${ctx} wait${wait} lost${lost}`),
    wait: (w, tx, b, e, r, bw, btx, _s, inAt) => log.push(`wait w${w} tx${tx} ${b}-${e} reason${r} blocker w${bw} tx${btx} ${inAt ? 'in' : 'between'}`),
    blocked: (w, tx, t, bw, btx, _bs, wait, ws) => log.push(`blocked w${w} tx${tx} @${t} by w${bw} tx${btx} ${wait}ns site${ws}`),
    inevitable: (w, tx, t, r) => log.push(`inevitable w${w} tx${tx} @${t} reason${r}`),
    fail: (w, tx, t) => log.push(`fail w${w} tx${tx} @${t}`),
    dropped: (w, t, c) => log.push(`dropped w${w} @${t} ${c}`),
  };
  return { log, sink };
}

function run(words: Uint32Array, chunk = words.length / 8) {
  const { log, sink } = logSink();
  const asm = new EventAssembler(new Definitions(), sink);
  for (let i = 0; i < words.length / 8; i += chunk) asm.records(words, i, Math.min(chunk, words.length / 8 - i));
  asm.flush();
  return { log, asm };
}

describe('EventAssembler', () => {
  it('reads a tx_span record as a whole committed attempt, and a retry after an abort as one attempt more', () => {
    const r = rec();
    r.worker(1).span(100, 250, { writes: 3 }).start(300).abort(350, 'write-read', { culprit: [2, 9] }).span(360, 420);
    const { log } = run(r.records());
    expect(log).toEqual([
      'attempt w1 tx1#1 100-250 committed flags0 wait0 inev0',
      'attempt w1 tx2#1 300-350 aborted flags0 wait0 inev0',
      'abort w1 tx2 @350 kind0 obj0.-1 by w2 tx9 wait0 lost50',
      'attempt w1 tx2#2 360-420 committed flags0 wait0 inev0',
    ]);
  });

  it('turns one worker stream into attempts, aborts and waits', () => {
    const r = rec();
    r.worker(1)
      .start(0)
      .wait(10, 15, 'commit-lock')
      .abort(20, 'write-write', { obj: 1000, field: 2, culprit: [2, 9] })
      .wait(20, 30, 'backoff')
      .start(30)
      .inevitable(35)
      .commit(50, { inevitable: true });
    expect(run(r.records()).log).toEqual([
      'wait w1 tx1 10-15 reason4 blocker w-1 tx0 in',
      'attempt w1 tx1#1 0-20 aborted flags0 wait5 inev0',
      'abort w1 tx1 @20 kind1 obj1000.2 by w2 tx9 wait5 lost15',
      'wait w1 tx1 20-30 reason3 blocker w-1 tx0 between',
      'inevitable w1 tx1 @35 reason0',
      'attempt w1 tx1#2 30-50 committed flags1 wait0 inev15',
    ]);
  });

  it('gives the same result whatever the batch boundaries', () => {
    const r = rec();
    r.worker(1).start(0).abort(5, 'write-read', { culprit: [2, 1] }).start(6).commit(9);
    r.worker(2).start(1).commit(4);
    const whole = run(r.records()).log;
    for (const n of [1, 2, 3]) expect(run(r.records(), n).log).toEqual(whole);
  });

  it('times only outermost waits and closes waits left open by an end', () => {
    const r = rec();
    r.worker(1).start(0).waitBegin(10, 'commit-lock').waitBegin(12, 'backoff').waitEnd(14, 'backoff').waitEnd(20, 'commit-lock');
    r.waitBegin(30, 'commit-lock').commit(40);
    const { log } = run(r.records());
    expect(log.at(-1)).toBe('attempt w1 tx1#1 0-40 committed flags0 wait20 inev0');
    expect(log.filter((l) => l.startsWith('wait')).length).toBe(3);
  });

  it('attributes a blocked wait to the site where the worker waited', () => {
    const r = rec();
    const s = r.site('a.ts:1:1');
    r.worker(2).start(0).blocked(10, 50, [1, 4], { site: s }).commit(60);
    const { log } = run(r.records());
    expect(log).toContain('blocked w2 tx1 @50 by w1 tx4 40ns site201');
  });

  it('skips unknown records and definitions, and counts the odd ones', () => {
    const words = new Uint32Array([
      header(Ev.TxStart, 1), 1, 0, 0, 0, 0, 0, 0,
      header(0, 1), 0, 0, 0, 0, 0, 0, 0, // unknown event
      header(UNKNOWN_DEFINITION_CODE, 1, 2), 0, 0, 0, 0, 0, 0, 0,
      header(Ev.TxStart, 1), 1, 0, 0, 0, 0, 0, 0, // continuation record that looks like an event
      header(Ev.TxCommit, 1), 1, 5, 0, 0, 0, 0, 0,
      header(Ev.WaitEnd, 1), 1, 6, 0, 0, 0, 0, 0, // orphan wait end
      header(Ev.DefString, 1, 9), 0, 0, 0, 1, 200, 0, 0, // runs past the batch
    ]);
    const { log, asm } = run(words);
    expect(log).toEqual(['attempt w1 tx1#1 0-5 committed flags0 wait0 inev0']);
    expect(asm.anomalies).toEqual({ unknownRecords: 1, truncatedDefinitions: 1, orphans: 1, unfinished: 0 });
    expect(asm.events).toBe(6);
    expect(asm.lastNs).toBe(6);
  });

  it('reads 64-bit times', () => {
    const t = 2 ** 40 + 7;
    const { log } = run(rec().worker(3).start(t).commit(t + 1).records());
    expect(log).toEqual([`attempt w3 tx1#1 ${t}-${t + 1} committed flags0 wait0 inev0`]);
  });

  it('reports drops and failures', () => {
    const r = rec();
    r.worker(1).start(0).fail(5, { message: 'x' }).dropped(6, 2 ** 33 + 1);
    expect(run(r.records()).log).toEqual([
      'attempt w1 tx1#1 0-5 failed flags0 wait0 inev0',
      'fail w1 tx1 @5',
      `dropped w1 @6 ${2 ** 33 + 1}`,
    ]);
  });
});
