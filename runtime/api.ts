/**
 * Thread-default API: functions that act on this thread's current heap (the
 * last one created or attached in this thread).
 */
import { currentHeap, type AbortInfo, type Transaction } from './heap.ts';
import { StmError } from './errors.ts';

/**
 * Runs `fn` as a transaction on this thread's heap: isolated, all-or-nothing,
 * re-run transparently after conflicts. Nested calls join the outer
 * transaction. An exception thrown by `fn` discards its writes and propagates.
 *
 * @param fn synchronous callback receiving the transaction handle; its result is returned
 * @param options.name names the transaction in recordings and reports (default: unnamed)
 */
export function atomic<T>(fn: (tx: Transaction) => T, options?: { name?: string }): T {
  return currentHeap().atomic(fn, options);
}

/** Makes the running transaction inevitable (serial, cannot abort): use before irrevocable work such as I/O. */
export function becomeInevitable(): void {
  currentHeap().becomeInevitable();
}

/** Hint that the running batch of pool tasks should commit after the current task. */
export function hintCommitSoon(): void {
  const h = currentHeap();
  if (!h.inTx) throw new StmError('hintCommitSoon() must be called inside a transaction');
  h.commitSoon = true;
}

/** Facts about the most recent abort in this thread (kind, object, culprit, time lost), or null. */
export function lastAbortInfo(): AbortInfo | null {
  return currentHeap().lastAbortInfo();
}

/** Whether this thread is inside a transaction. */
export function inTransaction(): boolean {
  return currentHeap().inTx;
}
