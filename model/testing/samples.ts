/**
 * Small, realistic sample recordings for tests of every layer (model, server,
 * UI). Each is built with the {@link rec} builder, so it is real encoded bytes.
 */

import { rec, us, type RecordingBuilder } from './builder.ts';

/**
 * A bank: 3 workers transfer money; everybody also bumps a shared `stats.count`
 * (the hot spot), one worker logs to a file inside its transaction (inevitable),
 * and a struct `registry` is used as a map.
 *
 * Expected top groups: write-write on `Stats#1.count` at src/bank.ts:14:5 vs
 * itself (shared-counter advice), the inevitable group at src/audit.ts:6:3,
 * write-read on the registry (struct-as-map advice).
 */
export function bankSample(): RecordingBuilder {
  const r = rec({
    meta: {
      argv: ['node', 'examples/bank.ts', '--workers', '3'],
      cwd: '/home/u/bank',
      pid: 4242,
      startTime: '2025-01-02T03:04:05.000Z',
      epochUnixMs: 1735787045000,
      workers: 3,
      version: '0.1.0',
      sourceRoots: ['/home/u/bank/src'],
    },
  });
  const main = r.site('src/main.ts:40:3', { fn: 'runWorker', text: 'await pool.run(job);' });
  const atomicAt = r.site('src/bank.ts:10:3', { fn: 'transfer', text: 'atomic(() => {', callers: [main] });
  const count = r.site('src/bank.ts:14:5', { fn: 'transfer', text: 'stats.count += 1;', callers: [atomicAt, main] });
  const debit = r.site('src/bank.ts:12:5', { fn: 'transfer', text: 'from.balance -= amount;', callers: [atomicAt, main] });
  const audit = r.site('src/audit.ts:6:3', { fn: 'audit', text: "fs.appendFileSync('audit.log', line);", callers: [main] });
  const commitAt = r.site('src/bank.ts:16:3', { fn: 'transfer', text: '});', callers: [main] });
  const put = r.site('src/registry.ts:8:3', { fn: 'remember', text: 'registry[name] = id;', callers: [main] });
  const stats = r.object('Stats', { fields: ['count'] });
  const accounts = [r.object('Account', { serial: 1, fields: ['id', 'balance'] }), r.object('Account', { serial: 2, fields: ['id', 'balance'] })];
  const registry = r.object('Registry', { label: 'registry', fields: ['alice', 'bob', 'carol', 'dave'] });

  let t = 0;
  for (let round = 0; round < 20; round++) {
    t = round * us(100);
    // worker 1 commits, worker 2 loses on the counter, worker 3 loses on an account now and then
    r.worker(1).start(t, { site: atomicAt, name: 'transfer' }).commit(t + us(20), { reads: 4, writes: 3 });
    r.worker(2)
      .start(t + us(1), { site: atomicAt, name: 'transfer' })
      .abort(t + us(25), 'write-write', { obj: stats, field: 'count', site: count, culprit: [1, round + 1, count], waitNs: us(1) })
      .wait(t + us(25), t + us(27), 'backoff')
      .start(t + us(27), { site: atomicAt, name: 'transfer' })
      .commit(t + us(45));
    if (round % 4 === 0) {
      r.worker(3)
        .start(t + us(2), { site: atomicAt })
        .abort(t + us(12), 'write-read', { obj: accounts[round % 2], field: 'balance', site: debit, culprit: [1, round + 1, debit] })
        .start(t + us(13), { site: atomicAt })
        .commit(t + us(30));
    }
    if (round % 5 === 0) {
      r.worker(3)
        .start(t + us(31))
        .abort(t + us(40), 'write-read', { obj: registry, field: round % 4, site: put, culprit: [2, round + 1, put] })
        .start(t + us(41))
        .commit(t + us(50));
    }
  }
  // The audit: worker 1 goes inevitable for I/O, workers 2 and 3 wait for it.
  t += us(200);
  r.worker(1).start(t).inevitable(t + us(1), { site: audit }).commit(t + us(500), { inevitable: true });
  r.worker(2).start(t + us(5)).blocked(t + us(10), t + us(495), [1, 22, audit], { site: commitAt }).commit(t + us(497));
  r.worker(3).start(t + us(6)).blocked(t + us(11), t + us(498), [1, 22, audit], { site: commitAt }).commit(t + us(499));
  r.worker(3).dropped(t + us(600), 7);
  return r;
}
