/**
 * Finds the committed attempt of `(worker, txSeq)`: the culprit of an abort.
 *
 * Per worker, committed txSeqs arrive in increasing order (per-worker order is
 * preserved), so two parallel int lists and a binary search suffice: 8 bytes
 * per commit, no Map entry per transaction. A worker whose txSeq ever goes
 * backwards (u32 wrap-around, a restarted thread) falls back to a Map.
 */

import { IntList } from './columns.ts';

export class CommittedIndex {
  private readonly seqs: Array<IntList | undefined> = [];
  private readonly rows: Array<IntList | undefined> = [];
  private readonly fallback: Array<Map<number, number> | undefined> = [];

  /** Records that `(worker, txSeq)` committed as attempt row `row`. */
  add(worker: number, txSeq: number, row: number): void {
    const fb = this.fallback[worker];
    if (fb) {
      fb.set(txSeq, row);
      return;
    }
    let s = this.seqs[worker];
    let r = this.rows[worker];
    if (!s || !r) {
      s = this.seqs[worker] = new IntList();
      r = this.rows[worker] = new IntList();
    }
    if (s.length > 0 && s.data[s.length - 1] >>> 0 >= txSeq >>> 0) {
      const m = new Map<number, number>();
      for (let i = 0; i < s.length; i++) m.set(s.data[i] >>> 0, r.data[i]);
      m.set(txSeq >>> 0, row);
      this.fallback[worker] = m;
      this.seqs[worker] = this.rows[worker] = undefined;
      return;
    }
    s.push(txSeq | 0);
    r.push(row);
  }

  /** Row of the committed attempt, or −1. */
  find(worker: number, txSeq: number): number {
    const fb = this.fallback[worker];
    if (fb) return fb.get(txSeq >>> 0) ?? -1;
    const s = this.seqs[worker];
    const r = this.rows[worker];
    if (!s || !r) return -1;
    const want = txSeq >>> 0;
    let lo = 0;
    let hi = s.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = s.data[mid] >>> 0;
      if (v === want) return r.data[mid];
      if (v < want) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }
}
