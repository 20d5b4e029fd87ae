/**
 * Deterministic two-worker conflict scenarios, orchestrated with Atomics
 * (see conflicts.test.ts). Worker 0 is the victim, worker 1 the culprit.
 * control words: 0 = victim ready, 1 = culprit committed, 2 = victim retrying.
 */
import { atomic, currentHeap, getRoot, lastAbortInfo, type AbortInfo } from '../index.ts';
import { Cell } from './cell.ts';
import { signal, waitFor, type ScenarioContext } from './workers.ts';

export interface Outcome {
  worker: number;
  txSeq: number;
  attempts: number;
  info: AbortInfo | null;
}

function cells() {
  return { A: getRoot('A', Cell), B: getRoot('B', Cell) };
}

function culpritWrites(ctx: ScenarioContext, value: number): Outcome {
  const { A } = cells();
  const heap = currentHeap();
  waitFor(ctx.control, 0, 1);
  atomic(() => {
    A.x = value;
  });
  const txSeq = heap.txSeq;
  signal(ctx.control, 1, 1);
  return { worker: heap.thread, txSeq, attempts: 1, info: null };
}

/**
 * Victim reads A.x and writes B.y; the culprit commits A.x in between; the
 * victim's commit finds its read stale. (A read-only victim would not abort:
 * it is consistent with its snapshot and serialises there.)
 */
export function writeRead(ctx: ScenarioContext): Outcome {
  if (ctx.index === 1) return culpritWrites(ctx, 42);
  const { A, B } = cells();
  let attempts = 0;
  atomic(() => {
    attempts++;
    const x = A.x;
    if (attempts === 1) {
      signal(ctx.control, 0, 1);
      waitFor(ctx.control, 1, 1);
    }
    B.y = x;
  });
  const copied = atomic(() => B.y);
  if (copied !== 42) throw new Error(`retry must see the committed value, got ${copied}`);
  return { worker: currentHeap().thread, txSeq: currentHeap().txSeq - 1, attempts, info: lastAbortInfo() };
}

/** Victim reads and writes A.x; the culprit commits A.x first; the victim fails validation at commit. */
export function writeWrite(ctx: ScenarioContext): Outcome {
  if (ctx.index === 1) return culpritWrites(ctx, 100);
  const { A } = cells();
  let attempts = 0;
  atomic(() => {
    attempts++;
    const x = A.x;
    A.x = x + 1;
    if (attempts === 1) {
      signal(ctx.control, 0, 1);
      waitFor(ctx.control, 1, 1);
    }
  });
  const final = atomic(() => A.x);
  if (final !== 101) throw new Error(`expected 101 after the retry, got ${final}`);
  return { worker: currentHeap().thread, txSeq: currentHeap().txSeq - 1, attempts, info: lastAbortInfo() };
}

/**
 * The culprit turns inevitable and writes A.x; the victim reads A.x, writes B
 * and must wait at commit until the inevitable transaction is done; then its
 * read of A.x is stale.
 */
export function inevitable(ctx: ScenarioContext): Outcome {
  const heap = currentHeap();
  const { A, B } = cells();
  if (ctx.index === 1) {
    waitFor(ctx.control, 2, 1);
    const victimThread = Atomics.load(ctx.control, 2) - 1;
    atomic((tx) => {
      tx.becomeInevitable();
      A.x = 7;
      signal(ctx.control, 0, 1);
      // hold the token until the victim is provably blocked on it
      const end = Date.now() + 10_000;
      while (heap.waitingReason(victimThread) === 0) {
        if (Date.now() > end) throw new Error('victim never blocked on the inevitable transaction');
        Atomics.wait(ctx.control, 63, 0, 1);
      }
    });
    return { worker: heap.thread, txSeq: heap.txSeq, attempts: 1, info: null };
  }
  signal(ctx.control, 2, heap.thread + 1);
  waitFor(ctx.control, 0, 1);
  let attempts = 0;
  atomic(() => {
    attempts++;
    const x = A.x;
    B.y = x + 1;
  });
  return { worker: heap.thread, txSeq: heap.txSeq, attempts, info: lastAbortInfo() };
}

/** tx.retry() aborts (user abort) and waits for another commit before running again. */
export function userAbort(ctx: ScenarioContext): Outcome {
  const heap = currentHeap();
  const { A, B } = cells();
  if (ctx.index === 1) {
    waitFor(ctx.control, 2, 1);
    atomic(() => {
      B.x = 5;
    });
    return { worker: heap.thread, txSeq: heap.txSeq, attempts: 1, info: null };
  }
  let attempts = 0;
  const seen = atomic((tx) => {
    attempts++;
    if (B.x === 0) {
      signal(ctx.control, 2, 1);
      tx.retry();
    }
    return B.x + A.y;
  });
  if (seen !== 5) throw new Error(`expected to see 5 after retry, got ${seen}`);
  return { worker: heap.thread, txSeq: heap.txSeq, attempts, info: lastAbortInfo() };
}
