/** Bank tasks for the pool tests: transfers and audits over a shared array of accounts. */
import { defineStruct, getRoot, TArray, type StructView } from '../index.ts';

export const Account = defineStruct('Account', { balance: 'i32' });
let accounts: TArray<typeof Account>;

export function setup(): void {
  accounts = getRoot('accounts', TArray.of(Account));
}

/** Moves `amount` from account `from` to account `to`. */
export function transfer(from: number, to: number, amount: number): void {
  const a = accounts.get(from) as StructView<{ balance: 'i32' }>;
  const b = accounts.get(to) as StructView<{ balance: 'i32' }>;
  a.balance -= amount;
  b.balance += amount;
}

/** Sums all balances inside one transaction. */
export function audit(): number {
  let sum = 0;
  for (let i = 0; i < accounts.length; i++) sum += (accounts.get(i) as StructView<{ balance: 'i32' }>).balance;
  return sum;
}

/** A task that queues `n` more transfers (tasks adding tasks). */
export function spawnTransfers(seed: number, n: number, accountsCount: number): number {
  let s = seed >>> 0;
  for (let k = 0; k < n; k++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const from = s % accountsCount;
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const to = s % accountsCount;
    addTaskProxy('transfer', from, to, 1 + (s % 7));
  }
  return n;
}

import { addTask } from '../index.ts';
function addTaskProxy(name: string, ...args: unknown[]): void {
  addTask(name, ...args);
}

export function boom(message: string): never {
  accounts.get(0); // touch the heap first: the failing transaction's writes must vanish
  (accounts.get(0) as StructView<{ balance: 'i32' }>).balance += 1_000_000;
  throw new Error(message);
}
