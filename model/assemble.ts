/**
 * The record-level state machine shared by the store and the aggregator: turns
 * the 32-byte records of a recording (any workers interleaved, per-worker order
 * preserved) into definitions and attempt-level callbacks.
 *
 * ```
 * worker w:  tx_start ─┬─ wait_begin … wait_end ─┬─ tx_commit            → attempt(committed)
 *                      ├─ tx_inevitable          ├─ tx_abort+abort_culprit → attempt(aborted), abort(…)
 *                      └─ blocked                └─ tx_fail              → attempt(failed), fail(…)
 * ```
 *
 * One attempt = the records from a tx_start to its commit/abort/fail on the same
 * worker. Attempts of one transaction share txSeq; the attempt number counts
 * from 1 and grows while a txSeq is retried after aborts.
 *
 * Robust to gaps (dropped events, a recording cut off): a tx_start while an
 * attempt is still open closes the old one as "unfinished"; an end without a
 * start becomes a zero-length attempt; a tx_abort without its abort_culprit has
 * an unknown culprit. Nothing here allocates per event.
 */

import { Ev, TxFlag } from './records.ts';
import { UNKNOWN_DEFINITION_CODE } from './format.ts';
import { Definitions } from './defs.ts';
import { CheckpointError, packArray, packNumber, unpackArray, unpackNumber, type PackedArray } from './checkpoint.ts';

/** Attempt outcomes. */
export const Outcome = {
  Committed: 0,
  Aborted: 1,
  /** ended by an exception thrown by user code: discarded, not retried */
  Failed: 2,
  /** the end was never recorded (dropped events, recording cut off) */
  Unfinished: 3,
} as const;
export const OUTCOME_NAMES = ['committed', 'aborted', 'failed', 'unfinished'] as const;

/** Receives attempt-level facts. Times are integer ns since the recording epoch. */
export interface AttemptSink {
  /**
   * An attempt ended. `waitNs` = time spent in (outermost) waits during the
   * attempt; `inevitableNs` = time from becoming inevitable to the end (0 if never);
   * `name` is a string id of `worker`'s space (0 none), `site` the atomic() call site.
   */
  attempt(
    worker: number,
    txSeq: number,
    attempt: number,
    startNs: number,
    endNs: number,
    outcome: number,
    flags: number,
    name: number,
    site: number,
    waitNs: number,
    inevitableNs: number,
    reads: number,
    writes: number,
  ): void;
  /**
   * The attempt just reported aborted. Sites are in their worker's space;
   * `culpritWorker` is -1 when unknown. `timeLostNs` = attempt duration − `waitNs`, ≥ 0.
   */
  abort(
    worker: number,
    txSeq: number,
    timeNs: number,
    kind: number,
    object: number,
    field: number,
    victimSite: number,
    culpritWorker: number,
    culpritTxSeq: number,
    culpritSite: number,
    waitNs: number,
    timeLostNs: number,
  ): void;
  /** A wait ended; `inAttempt` tells whether it happened inside an attempt (else between attempts, e.g. backoff). */
  wait(
    worker: number,
    txSeq: number,
    beginNs: number,
    endNs: number,
    reason: number,
    blockerWorker: number,
    blockerTxSeq: number,
    site: number,
    inAttempt: boolean,
  ): void;
  /** Blocked by an inevitable transaction; `waiterSite` is where this worker waited (its space). */
  blocked(
    worker: number,
    txSeq: number,
    timeNs: number,
    blockerWorker: number,
    blockerTxSeq: number,
    blockerSite: number,
    waitNs: number,
    waiterSite: number,
    /** the blocker's InevitableReason (0 explicit, 1 retry limit), -1 unknown */
    blockerReason?: number,
  ): void;
  /** The running transaction became inevitable. */
  inevitable(worker: number, txSeq: number, timeNs: number, reason: number, site: number): void;
  /** The attempt just reported failed with a user exception (message: string id of `worker`'s space). */
  fail(worker: number, txSeq: number, timeNs: number, message: number, site: number): void;
  /** `count` events were lost on `worker` (255: process-wide). */
  dropped(worker: number, timeNs: number, count: number): void;
}

/** Calls two sinks (store + aggregator on the server). */
export class TeeSink implements AttemptSink {
  constructor(
    private readonly a: AttemptSink,
    private readonly b: AttemptSink,
  ) {}
  attempt(w: number, tx: number, at: number, s: number, e: number, o: number, f: number, n: number, site: number, wait: number, inev: number, r: number, wr: number): void {
    this.a.attempt(w, tx, at, s, e, o, f, n, site, wait, inev, r, wr);
    this.b.attempt(w, tx, at, s, e, o, f, n, site, wait, inev, r, wr);
  }
  abort(w: number, tx: number, t: number, k: number, ob: number, fi: number, vs: number, cw: number, ctx: number, cs: number, wait: number, lost: number): void {
    this.a.abort(w, tx, t, k, ob, fi, vs, cw, ctx, cs, wait, lost);
    this.b.abort(w, tx, t, k, ob, fi, vs, cw, ctx, cs, wait, lost);
  }
  wait(w: number, tx: number, b: number, e: number, r: number, bw: number, btx: number, s: number, inAt: boolean): void {
    this.a.wait(w, tx, b, e, r, bw, btx, s, inAt);
    this.b.wait(w, tx, b, e, r, bw, btx, s, inAt);
  }
  blocked(w: number, tx: number, t: number, bw: number, btx: number, bs: number, wait: number, ws: number, reason?: number): void {
    this.a.blocked(w, tx, t, bw, btx, bs, wait, ws, reason);
    this.b.blocked(w, tx, t, bw, btx, bs, wait, ws, reason);
  }
  inevitable(w: number, tx: number, t: number, r: number, s: number): void {
    this.a.inevitable(w, tx, t, r, s);
    this.b.inevitable(w, tx, t, r, s);
  }
  fail(w: number, tx: number, t: number, m: number, s: number): void {
    this.a.fail(w, tx, t, m, s);
    this.b.fail(w, tx, t, m, s);
  }
  dropped(w: number, t: number, c: number): void {
    this.a.dropped(w, t, c);
    this.b.dropped(w, t, c);
  }
}

// Local copies of the codes: plain numbers keep the dispatch a jump table.
const TX_START = Ev.TxStart;
const TX_COMMIT = Ev.TxCommit;
const TX_SPAN = Ev.TxSpan;
const TX_ABORT = Ev.TxAbort;
const ABORT_CULPRIT = Ev.AbortCulprit;
const TX_INEVITABLE = Ev.TxInevitable;
const WAIT_BEGIN = Ev.WaitBegin;
const WAIT_END = Ev.WaitEnd;
const TX_FAIL = Ev.TxFail;
const DROPPED = Ev.Dropped;
const BLOCKED = Ev.Blocked;
const DEF_STRING = Ev.DefString;
const DEF_SITE = Ev.DefSite;
const DEF_STACK = Ev.DefStack;
const DEF_OBJECT = Ev.DefObject;
const DEF_FIELD = Ev.DefField;
const FLAG_INEVITABLE = TxFlag.Inevitable;
const UNKNOWN_DEF = UNKNOWN_DEFINITION_CODE;
// Not the imported RECORD_WORDS: under tsx (development, tests, benches) every
// read of an imported binding is a getter call, measurable in this loop.
const RECORD_WORDS = 8;

const W = 256;
/** Nested waits tracked per worker; deeper ones are counted, not timed. */
const WAIT_DEPTH = 8;
const TWO32 = 4294967296;

/** Counters of irregularities seen while assembling (all 0 for a clean recording). */
export interface AssemblyAnomalies {
  /** Records with a code this reader does not know. */
  unknownRecords: number;
  /** Definitions whose span runs past the end of their chunk. */
  truncatedDefinitions: number;
  /** Commits/aborts/fails/culprits/wait-ends without the record that should precede them. */
  orphans: number;
  /** Attempts still open when a new one started or the recording ended. */
  unfinished: number;
}

/** What {@link EventAssembler.saveState} returns (model/checkpoint.ts). */
export interface AssemblerState {
  v: 1;
  events: number;
  firstNs: number | string;
  lastNs: number;
  anomalies: AssemblyAnomalies;
  arrays: PackedArray[];
}

/**
 * Feeds records into a {@link Definitions} and an {@link AttemptSink}.
 *
 * ```ts
 * const asm = new EventAssembler(defs, sink);
 * decoder = new RecordingDecoder({ records: (w, f, n) => asm.records(w, f, n) });
 * … asm.flush(); // at the very end only
 * ```
 */
export class EventAssembler {
  /** Events seen (a multi-record definition counts once). */
  events = 0;
  /** Largest timestamp seen. */
  lastNs = 0;
  /** Smallest timestamp seen (Infinity before the first event). */
  firstNs = Infinity;
  readonly anomalies: AssemblyAnomalies = { unknownRecords: 0, truncatedDefinitions: 0, orphans: 0, unfinished: 0 };

  // Per-worker state, indexed by worker (0..255).
  private readonly open = new Uint8Array(W);
  private readonly tx = new Uint32Array(W);
  private readonly attemptNo = new Uint32Array(W);
  private readonly start = new Float64Array(W);
  private readonly flags = new Uint8Array(W);
  private readonly name = new Uint32Array(W);
  private readonly site = new Uint32Array(W);
  private readonly waitIn = new Float64Array(W);
  private readonly inevSince = new Float64Array(W).fill(-1);
  private readonly lastTx = new Uint32Array(W);
  private readonly lastOutcome = new Int8Array(W).fill(-1);
  private readonly lastAttempt = new Uint32Array(W);
  private readonly lastT = new Float64Array(W);
  private readonly lastWaitSite = new Uint32Array(W);
  // Pending tx_abort waiting for its abort_culprit.
  private readonly pend = new Uint8Array(W);
  private readonly pendT = new Float64Array(W);
  private readonly pendKind = new Uint32Array(W);
  private readonly pendObj = new Uint32Array(W);
  private readonly pendField = new Int32Array(W);
  private readonly pendSite = new Uint32Array(W);
  // Wait stacks.
  private readonly depth = new Uint8Array(W);
  private readonly wBegin = new Float64Array(W * WAIT_DEPTH);
  private readonly wReason = new Uint8Array(W * WAIT_DEPTH);
  private readonly wBw = new Int16Array(W * WAIT_DEPTH);
  private readonly wBtx = new Uint32Array(W * WAIT_DEPTH);
  private readonly wSite = new Uint32Array(W * WAIT_DEPTH);

  constructor(
    readonly defs: Definitions,
    private readonly sink: AttemptSink,
  ) {}

  /** The per-worker arrays of the state machine, in checkpoint order. */
  private stateArrays(): Array<Float64Array | Uint32Array | Int32Array | Int16Array | Uint8Array | Int8Array> {
    return [
      this.open, this.tx, this.attemptNo, this.start, this.flags, this.name, this.site, this.waitIn, this.inevSince, this.lastTx,
      this.lastOutcome, this.lastAttempt, this.lastT, this.lastWaitSite, this.pend, this.pendT, this.pendKind, this.pendObj,
      this.pendField, this.pendSite, this.depth, this.wBegin, this.wReason, this.wBw, this.wBtx, this.wSite,
    ];
  }

  /**
   * The state between two chunks as plain JSON: open attempts, pending aborts,
   * wait stacks, counters. With {@link loadState} a fresh assembler continues
   * the stream from there (the definitions travel as records).
   */
  saveState(): AssemblerState {
    return {
      v: 1,
      events: this.events,
      firstNs: packNumber(this.firstNs),
      lastNs: this.lastNs,
      anomalies: { ...this.anomalies },
      arrays: this.stateArrays().map(packArray),
    };
  }

  /**
   * Replaces the state with a {@link saveState} result.
   * @throws CheckpointError when it is malformed
   */
  loadState(s: AssemblerState): void {
    if (!s || s.v !== 1 || !Array.isArray(s.arrays)) throw new CheckpointError('not an assembler checkpoint of version 1');
    const arrays = this.stateArrays();
    if (s.arrays.length !== arrays.length) throw new CheckpointError(`assembler checkpoint has ${s.arrays.length} arrays, expected ${arrays.length}`);
    arrays.forEach((a, i) => unpackArray(s.arrays[i], a, `arrays[${i}]`));
    this.events = unpackNumber(s.events, 'events');
    this.firstNs = unpackNumber(s.firstNs, 'firstNs');
    this.lastNs = unpackNumber(s.lastNs, 'lastNs');
    for (const k of Object.keys(this.anomalies) as Array<keyof AssemblyAnomalies>) this.anomalies[k] = unpackNumber(s.anomalies?.[k] ?? 0, `anomalies.${k}`);
  }

  /** Consumes records `[first, first + count)` of `w` (8 words each). */
  records(w: Uint32Array, first: number, count: number): void {
    const end = first + count;
    let i = first;
    let events = 0;
    let lastNs = this.lastNs;
    let firstNs = this.firstNs;
    while (i < end) {
      const o = i * RECORD_WORDS;
      const w0 = w[o];
      const code = w0 & 0xff;
      const worker = (w0 >>> 8) & 0xff;
      events++;
      if (code >= 32) {
        const span = Math.max(1, w0 >>> 16);
        if (i + span > end) {
          this.anomalies.truncatedDefinitions++;
          break;
        }
        this.definition(w, o, code, worker, span);
        i += span;
        continue;
      }
      i++;
      const txSeq = w[o + 1];
      const t = w[o + 2] + w[o + 3] * TWO32;
      if (t > lastNs) lastNs = t;
      if (t < firstNs) firstNs = t;
      if (this.pend[worker] === 1 && code !== ABORT_CULPRIT) this.closeAbort(worker, -1, 0, 0, 0);
      if (t > this.lastT[worker]) this.lastT[worker] = t;
      switch (code) {
        case TX_START:
          this.txStart(worker, txSeq, t, w[o + 4], w[o + 5], w[o + 6]);
          break;
        case TX_COMMIT:
          this.txEnd(worker, txSeq, t, 0, w[o + 6], w[o + 4], w[o + 5]);
          break;
        case TX_SPAN: {
          // start + commit in one record: open the attempt at its start, close it now
          const fw = w[o + 7];
          this.txStart(worker, txSeq, t - (w[o + 4] >>> 0), w[o + 6], w[o + 5], fw & 0xff);
          this.txEnd(worker, txSeq, t, 0, fw & 0xff, 0, fw >>> 8);
          break;
        }
        case TX_ABORT:
          if (this.open[worker] === 0) this.anomalies.orphans++;
          this.pend[worker] = 1;
          this.pendT[worker] = t;
          this.pendKind[worker] = w[o + 4];
          this.pendObj[worker] = w[o + 5];
          this.pendField[worker] = w[o + 6] | 0;
          this.pendSite[worker] = w[o + 7];
          break;
        case ABORT_CULPRIT:
          if (this.pend[worker] === 1) this.closeAbort(worker, w[o + 4] | 0, w[o + 5], w[o + 6], w[o + 7]);
          else this.anomalies.orphans++;
          break;
        case TX_INEVITABLE:
          if (this.open[worker] === 1) {
            this.flags[worker] |= FLAG_INEVITABLE;
            if (this.inevSince[worker] < 0) this.inevSince[worker] = t;
          }
          this.sink.inevitable(worker, txSeq, t, w[o + 4], w[o + 5]);
          break;
        case WAIT_BEGIN: {
          const d = this.depth[worker];
          if (d < WAIT_DEPTH) {
            const k = worker * WAIT_DEPTH + d;
            this.wBegin[k] = t;
            this.wReason[k] = w[o + 4];
            this.wBw[k] = w[o + 5] | 0;
            this.wBtx[k] = w[o + 6];
            this.wSite[k] = w[o + 7];
          }
          this.depth[worker] = d + 1;
          this.lastWaitSite[worker] = w[o + 7];
          break;
        }
        case WAIT_END:
          if (this.depth[worker] === 0) this.anomalies.orphans++;
          else this.endWait(worker, txSeq, t);
          break;
        case TX_FAIL:
          this.txEnd(worker, txSeq, t, 2, 0, 0, 0);
          this.sink.fail(worker, txSeq, t, w[o + 4], w[o + 5]);
          break;
        case DROPPED:
          this.sink.dropped(worker, t, w[o + 4] + w[o + 5] * TWO32);
          break;
        case BLOCKED: {
          const d = this.depth[worker];
          let ws = d > 0 && d <= WAIT_DEPTH ? this.wSite[worker * WAIT_DEPTH + d - 1] : this.lastWaitSite[worker];
          if (ws === 0 && this.open[worker] === 1) ws = this.site[worker];
          this.sink.blocked(worker, txSeq, t, w[o + 4] | 0, w[o + 5], w[o + 6], w[o + 7], ws, (w0 >>> 16) - 1);
          break;
        }
        default:
          this.anomalies.unknownRecords++;
      }
    }
    this.events += events;
    this.lastNs = lastNs;
    this.firstNs = firstNs;
  }

  /**
   * Closes everything still open (pending aborts, open waits, open attempts as
   * "unfinished" at the worker's last timestamp). Call once, when the
   * recording has ended; live views simply do not count open attempts.
   */
  flush(): void {
    for (let worker = 0; worker < W; worker++) {
      if (this.pend[worker] === 1) this.closeAbort(worker, -1, 0, 0, 0);
      const t = this.lastT[worker];
      while (this.depth[worker] > 0) this.endWait(worker, this.tx[worker], t);
      if (this.open[worker] === 1) {
        this.anomalies.unfinished++;
        this.emitAttempt(worker, t, 3, 0, 0);
      }
    }
  }

  private txStart(worker: number, txSeq: number, t: number, name: number, site: number, flags: number): void {
    if (this.open[worker] === 1) {
      // The previous attempt's end was lost: close it at the last time we saw it alive.
      this.anomalies.unfinished++;
      while (this.depth[worker] > 0) this.endWait(worker, this.tx[worker], this.lastT[worker]);
      this.emitAttempt(worker, Math.min(this.lastT[worker], t), 3, 0, 0);
    }
    // Waits left open between attempts (a backoff whose end was lost) end here.
    while (this.depth[worker] > 0) this.endWait(worker, txSeq, t);
    const retry = this.lastOutcome[worker] === 1 && this.lastTx[worker] === txSeq;
    this.attemptNo[worker] = retry ? this.lastAttempt[worker] + 1 : 1;
    this.open[worker] = 1;
    this.tx[worker] = txSeq;
    this.start[worker] = t;
    this.flags[worker] = flags & 0xff;
    this.name[worker] = name;
    this.site[worker] = site;
    this.waitIn[worker] = 0;
    this.inevSince[worker] = flags & FLAG_INEVITABLE ? t : -1;
  }

  /** Ends the open attempt (or an orphan end) with outcome 0 committed / 1 aborted / 2 failed. */
  private txEnd(worker: number, txSeq: number, t: number, outcome: number, flags: number, reads: number, writes: number): void {
    if (this.open[worker] === 0 || this.tx[worker] !== txSeq) {
      if (this.open[worker] === 1) {
        this.anomalies.unfinished++;
        this.emitAttempt(worker, Math.min(this.lastT[worker], t), 3, 0, 0);
      }
      // An end without its start (dropped): a zero-length attempt keeps the counts right.
      this.anomalies.orphans++;
      this.open[worker] = 1;
      this.tx[worker] = txSeq;
      this.start[worker] = t;
      this.flags[worker] = 0;
      this.name[worker] = 0;
      this.site[worker] = 0;
      this.waitIn[worker] = 0;
      this.inevSince[worker] = -1;
      this.attemptNo[worker] = this.lastOutcome[worker] === 1 && this.lastTx[worker] === txSeq ? this.lastAttempt[worker] + 1 : 1;
    }
    while (this.depth[worker] > 0) this.endWait(worker, txSeq, t);
    this.flags[worker] |= flags;
    this.emitAttempt(worker, t, outcome, reads, writes);
  }

  private emitAttempt(worker: number, t: number, outcome: number, reads: number, writes: number): void {
    const start = this.start[worker];
    const end = t < start ? start : t;
    const inev = this.inevSince[worker];
    const txSeq = this.tx[worker];
    this.open[worker] = 0;
    this.lastTx[worker] = txSeq;
    this.lastOutcome[worker] = outcome;
    this.lastAttempt[worker] = this.attemptNo[worker];
    this.sink.attempt(
      worker,
      txSeq,
      this.attemptNo[worker],
      start,
      end,
      outcome,
      this.flags[worker],
      this.name[worker],
      this.site[worker],
      this.waitIn[worker],
      inev >= 0 ? Math.max(0, end - inev) : 0,
      reads,
      writes,
    );
  }

  private closeAbort(worker: number, cw: number, ctx: number, cs: number, waitRecorded: number): void {
    this.pend[worker] = 0;
    const t = this.pendT[worker];
    const txSeq = this.tx[worker];
    if (this.open[worker] === 0) {
      this.open[worker] = 1;
      this.start[worker] = t;
      this.flags[worker] = 0;
      this.name[worker] = 0;
      this.site[worker] = 0;
      this.waitIn[worker] = 0;
      this.inevSince[worker] = -1;
      this.attemptNo[worker] = 1;
    }
    while (this.depth[worker] > 0) this.endWait(worker, txSeq, t);
    // The runtime's own figure includes waits it did not record as events.
    const waitNs = waitRecorded > 0 ? waitRecorded : this.waitIn[worker];
    this.waitIn[worker] = waitNs;
    const start = this.start[worker];
    this.emitAttempt(worker, t, 1, 0, 0);
    const lost = Math.max(0, t - start - waitNs);
    this.sink.abort(worker, txSeq, t, this.pendKind[worker], this.pendObj[worker], this.pendField[worker], this.pendSite[worker], cw, ctx, cs, waitNs, lost);
  }

  private endWait(worker: number, txSeq: number, t: number): void {
    const d = this.depth[worker] - 1;
    this.depth[worker] = d;
    if (d >= WAIT_DEPTH) return;
    const k = worker * WAIT_DEPTH + d;
    const begin = this.wBegin[k];
    const dur = t > begin ? t - begin : 0;
    const inAttempt = this.open[worker] === 1;
    // Only outermost waits count towards the attempt's wait time (nested ones overlap).
    if (d === 0 && inAttempt) this.waitIn[worker] += dur;
    this.sink.wait(worker, inAttempt ? this.tx[worker] : txSeq, begin, begin + dur, this.wReason[k], this.wBw[k], this.wBtx[k], this.wSite[k], inAttempt);
  }

  private definition(w: Uint32Array, o: number, code: number, worker: number, span: number): void {
    const defs = this.defs;
    switch (code) {
      case DEF_STRING: {
        const avail = (span - 1) * 32;
        const len = Math.min(w[o + 5], avail);
        defs.defString(worker, w[o + 4], new Uint8Array(w.buffer, w.byteOffset + (o + RECORD_WORDS) * 4, len));
        break;
      }
      case DEF_SITE: {
        const r1 = span > 1 ? o + RECORD_WORDS : -1;
        defs.defSite(worker, w[o + 4], w[o + 5], w[o + 6], w[o + 7], r1 >= 0 ? w[r1] : 0, r1 >= 0 ? w[r1 + 1] : 0, r1 >= 0 ? w[r1 + 2] : 0);
        break;
      }
      case DEF_STACK: {
        const n = Math.min(w[o + 5], (span - 1) * RECORD_WORDS);
        defs.defStack(worker, w[o + 4], w.subarray(o + RECORD_WORDS, o + RECORD_WORDS + n));
        break;
      }
      case DEF_OBJECT: {
        const r1 = span > 1 ? o + RECORD_WORDS : -1;
        defs.defObject(
          w[o + 4],
          w[o + 5],
          w[o + 6],
          w[o + 7],
          r1 >= 0 ? w[r1] : 0,
          r1 >= 0 ? w[r1 + 1] : 0,
          r1 >= 0 ? w[r1 + 2] : 0,
          r1 >= 0 ? w[r1 + 3] : 0,
        );
        break;
      }
      case DEF_FIELD:
        defs.defField(w[o + 4], w[o + 5], w[o + 6], w[o + 7]);
        break;
      case UNKNOWN_DEF:
        break;
      default:
        this.anomalies.unknownRecords++;
    }
  }
}

