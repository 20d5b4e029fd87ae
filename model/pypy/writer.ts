/**
 * Writes stmscope records from an importer: interns strings and sites per
 * worker (emitting their definitions before first use, as the recorder does)
 * and hands batches of records to a {@link RecordingEncoder}. Batches are cut
 * only between events, so a definition never straddles two RECS chunks.
 */

import { ConflictKind, Ev, RECORD_WORDS, header } from '../records.ts';
import type { RecordingEncoder } from '../format.ts';

const enc = new TextEncoder();
const TWO32 = 4294967296;

/** A resolved code location to define as a site. */
export interface SiteSpec {
  file: string;
  line: number;
  column: number;
  function: string;
  text?: string;
}

export class RecordWriter {
  private words: Uint32Array;
  private n = 0;
  private readonly strIds = new Map<number, Map<string, number>>();
  private readonly siteIds = new Map<number, Map<string, number>>();
  /** Events written (a multi-record definition counts once). */
  events = 0;

  /** @param batchRecords records buffered before a RECS chunk is written (default 8192) */
  constructor(
    private readonly encoder: RecordingEncoder,
    batchRecords = 8192,
  ) {
    this.words = new Uint32Array(Math.max(64, batchRecords) * RECORD_WORDS);
  }

  /** Writes what is buffered as RECS chunk(s). */
  flush(): void {
    if (this.n === 0) return;
    this.encoder.records(this.words, 0, this.n);
    this.n = 0;
  }

  /** The id of string `s` in worker `w`'s space (defined on first use). */
  string(w: number, s: string): number {
    if (s === '') return 0;
    let m = this.strIds.get(w);
    if (!m) this.strIds.set(w, (m = new Map()));
    const have = m.get(s);
    if (have !== undefined) return have;
    const id = m.size + 1;
    m.set(s, id);
    const bytes = enc.encode(s);
    const recs = 1 + Math.ceil(bytes.length / 32);
    this.reserve(recs);
    this.put(header(Ev.DefString, w, recs), 0, 0, 0, id, bytes.length, 0, 0);
    const padded = new Uint8Array((recs - 1) * 32);
    padded.set(bytes);
    for (let r = 0; r < recs - 1; r++) {
      const o = r * 32;
      const v = (k: number) => (padded[o + k * 4] | (padded[o + k * 4 + 1] << 8) | (padded[o + k * 4 + 2] << 16) | (padded[o + k * 4 + 3] << 24)) >>> 0;
      this.put(v(0), v(1), v(2), v(3), v(4), v(5), v(6), v(7));
    }
    this.events++;
    return id;
  }

  /**
   * The id of a site in worker `w`'s space, keyed by `key` (defined on first
   * use with `spec()`'s location; no stack: one frame).
   */
  site(w: number, key: string, spec: () => SiteSpec): number {
    let m = this.siteIds.get(w);
    if (!m) this.siteIds.set(w, (m = new Map()));
    const have = m.get(key);
    if (have !== undefined) return have;
    const s = spec();
    const file = this.string(w, s.file);
    const fn = this.string(w, s.function);
    const text = s.text ? this.string(w, s.text) : 0;
    const id = m.size + 1;
    m.set(key, id);
    this.reserve(2);
    this.put(header(Ev.DefSite, w, 2), 0, 0, 0, id, file, s.line >>> 0, s.column >>> 0);
    this.put(fn, 0, text, 0, 0, 0, 0, 0);
    this.events++;
    return id;
  }

  // -- events ----------------------------------------------------------------

  txStart(w: number, tx: number, t: number, flags = 0, site = 0): void {
    this.ev(Ev.TxStart, w, tx, t, 0, site, flags, 0);
  }

  txCommit(w: number, tx: number, t: number, flags = 0): void {
    this.ev(Ev.TxCommit, w, tx, t, 0, 0, flags, 0);
  }

  /** tx_abort + its abort_culprit (culpritWorker −1 = unknown; waitNs 0 = "use the recorded waits"). */
  txAbort(w: number, tx: number, t: number, kind: ConflictKind, victimSite: number, culpritWorker: number, culpritTx: number, culpritSite: number, waitNs = 0): void {
    this.reserve(2);
    this.ev(Ev.TxAbort, w, tx, t, kind, 0, 0xffffffff, victimSite);
    this.ev(Ev.AbortCulprit, w, tx, t, culpritWorker >>> 0, culpritTx >>> 0, culpritSite, Math.min(waitNs, 0xffffffff));
  }

  txInevitable(w: number, tx: number, t: number, site: number): void {
    this.ev(Ev.TxInevitable, w, tx, t, 0, site, 0, 0);
  }

  waitBegin(w: number, tx: number, t: number, reason: number, blockerWorker: number, blockerTx: number, site: number): void {
    this.ev(Ev.WaitBegin, w, tx, t, reason, blockerWorker >>> 0, blockerTx >>> 0, site);
  }

  waitEnd(w: number, tx: number, t: number, reason: number): void {
    this.ev(Ev.WaitEnd, w, tx, t, reason, 0, 0, 0);
  }

  /** Blocked by an inevitable transaction (after the wait's wait_end); waitNs saturates at 2^32 − 1. */
  blocked(w: number, tx: number, t: number, blockerWorker: number, blockerTx: number, blockerSite: number, waitNs: number): void {
    this.ev(Ev.Blocked, w, tx, t, blockerWorker >>> 0, blockerTx >>> 0, blockerSite, Math.min(Math.max(0, Math.round(waitNs)), 0xffffffff));
  }

  // -- internals -------------------------------------------------------------

  private ev(code: number, w: number, tx: number, t: number, a: number, b: number, c: number, d: number): void {
    this.reserve(1);
    this.put(header(code, w), tx >>> 0, t % TWO32, Math.floor(t / TWO32), a >>> 0, b >>> 0, c >>> 0, d >>> 0);
    this.events++;
  }

  /** Makes room for `recs` records, flushing between events when the batch is full. */
  private reserve(recs: number): void {
    if ((this.n + recs) * RECORD_WORDS <= this.words.length) return;
    this.flush();
    if (recs * RECORD_WORDS > this.words.length) this.words = new Uint32Array(recs * RECORD_WORDS);
  }

  private put(a: number, b: number, c: number, d: number, e: number, f: number, g: number, h: number): void {
    const o = this.n * RECORD_WORDS;
    const x = this.words;
    x[o] = a;
    x[o + 1] = b;
    x[o + 2] = c;
    x[o + 3] = d;
    x[o + 4] = e;
    x[o + 5] = f;
    x[o + 6] = g;
    x[o + 7] = h;
    this.n++;
  }
}
