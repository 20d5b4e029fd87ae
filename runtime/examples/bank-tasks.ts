// Task functions: every pool worker imports this module.
import { getRoot, TArray, TCounter } from '../index.ts';
import { Account } from './bank-types.ts';

let accounts: TArray<typeof Account>;
let transfers: TCounter;

/** Runs once per worker before its first task. */
export function setup(): void {
  accounts = getRoot('accounts', TArray.of(Account));
  transfers = getRoot('transfers', TCounter.type) as TCounter;
}

/** Runs inside a transaction: all of it happens, or none of it (and it is retried on conflict). */
export function transfer(from: number, to: number, amount: number): boolean {
  const a = accounts.get(from)!;
  const b = accounts.get(to)!;
  if (a.balance < amount) return false;
  a.balance -= amount;
  b.balance += amount;
  transfers.add(1); // a counter whose add never conflicts
  return true;
}
