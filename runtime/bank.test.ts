import { describe, expect, it } from 'vitest';
import { createHeap, setRoot, TArray, TransactionPool, atomic } from './index.ts';
import { Account } from './testing/bank-tasks.ts';

const TASKS = new URL('./testing/bank-tasks.ts', import.meta.url);

describe('bank transfers on a TransactionPool', () => {
  it('keeps the total constant under 10^5 concurrent transfers on 4 workers', async () => {
    createHeap({ size: 16 << 20 });
    const N = 64;
    const INITIAL = 1000;
    const accounts = TArray.create(Account, N, { label: 'accounts', init: (i) => Account.create({ balance: INITIAL }, { label: `acct${i}` }) });
    setRoot('accounts', accounts);
    const pool = new TransactionPool({ module: TASKS, workers: 4 });
    await pool.ready;
    const TRANSFERS = 100_000;
    let seed = 42;
    const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    const audits: Promise<unknown>[] = [];
    for (let k = 0; k < TRANSFERS; k++) {
      void pool.add('transfer', rnd() % N, rnd() % N, 1 + (rnd() % 50));
      if (k % 1000 === 0) audits.push(pool.add('audit'));
    }
    const stats = await pool.run();
    const totals = await Promise.all(audits);
    await pool.close();
    expect(stats.failed).toBe(0);
    expect(stats.completed).toBe(TRANSFERS + audits.length);
    expect(totals.length).toBe(100);
    for (const t of totals) expect(t).toBe(N * INITIAL);
    const final = atomic(() => accounts.toArray().reduce((s, a) => s + a!.balance, 0));
    expect(final).toBe(N * INITIAL);
    // the workers really ran in parallel and really conflicted sometimes
    const balances = atomic(() => accounts.toArray().map((a) => a!.balance));
    expect(balances.some((b) => b !== INITIAL)).toBe(true);
  });

  it('discards the writes of a task that throws and reports its error', async () => {
    const heap = createHeap({ size: 4 << 20 });
    const accounts = TArray.create(Account, 4, { init: () => Account.create({ balance: 10 }) });
    setRoot('accounts', accounts);
    const pool = new TransactionPool({ module: TASKS, workers: 2, heap });
    await expect(pool.add('boom', 'kaput')).rejects.toThrow('kaput');
    await expect(pool.add('nope')).rejects.toThrow(/no exported function "nope"/);
    expect(await pool.add('audit')).toBe(40);
    await pool.close();
  });

  it('runs tasks added by tasks, only once their transaction commits', async () => {
    createHeap({ size: 4 << 20 });
    const accounts = TArray.create(Account, 8, { init: () => Account.create({ balance: 100 }) });
    setRoot('accounts', accounts);
    const pool = new TransactionPool({ module: TASKS, workers: 3 });
    for (let i = 0; i < 10; i++) void pool.add('spawnTransfers', i + 1, 50, 8);
    const stats = await pool.run();
    expect(stats.completed).toBe(10 + 500);
    expect(await pool.add('audit')).toBe(800);
    await pool.close();
  });

  it('batches several tasks per transaction when asked', async () => {
    createHeap({ size: 4 << 20 });
    const accounts = TArray.create(Account, 8, { init: () => Account.create({ balance: 100 }) });
    setRoot('accounts', accounts);
    const pool = new TransactionPool({ module: TASKS, workers: 2, batch: 16 });
    const results = [];
    for (let i = 0; i < 1000; i++) results.push(pool.add('transfer', i % 8, (i * 3) % 8, 1));
    results.push(pool.add('boom', 'in a batch'));
    const stats = await pool.run();
    expect(stats.completed).toBe(1000);
    expect(stats.failed).toBe(1);
    await expect(results[1000]).rejects.toThrow('in a batch');
    expect(await pool.add('audit')).toBe(800);
    await pool.close();
  });
});
