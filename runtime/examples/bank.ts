// A runnable example of the runtime API (shown in README.md and runtime/README.md):
//   node --import tsx runtime/examples/bank.ts
import { atomic, createHeap, setRoot, TArray, TCounter, TransactionPool } from '../index.ts';
import { Account } from './bank-types.ts';

createHeap({ size: 16 << 20 }); // one SharedArrayBuffer heap for all threads

// Shared, typed, transactional data, published under names every worker can look up.
const accounts = TArray.create(Account, 100, { label: 'accounts', init: () => Account.create({ balance: 1000 }) });
setRoot('accounts', accounts);
setRoot('transfers', TCounter.create({ label: 'transfers' }));

// Each task runs in its own transaction on one of 4 worker threads.
const pool = new TransactionPool({ module: new URL('./bank-tasks.ts', import.meta.url), workers: 4 });
for (let i = 0; i < 10_000; i++) void pool.add('transfer', i % 100, (i * 37) % 100, 1 + (i % 50));
const stats = await pool.run();
await pool.close();

const total = atomic(() => accounts.toArray().reduce((sum, a) => sum + a!.balance, 0));
console.log(`${stats.completed} transfers committed; total money ${total} (always 100000)`);
