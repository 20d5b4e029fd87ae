/**
 * The columnar event store: every attempt, wait, abort, blocked-by-inevitable
 * wait, inevitable switch, failure and drop of a recording, one typed-array
 * column per field (no object per event), plus the recording's definitions.
 *
 * ```
 * attempts  worker txSeq attempt start end outcome flags name site waitNs inevitableNs reads writes abort
 * aborts    attempt worker txSeq time kind object field victimSite culpritWorker culpritTxSeq culpritSite waitNs timeLostNs
 * waits     worker txSeq begin end reason blockerWorker blockerTxSeq site inAttempt
 * blocked   worker txSeq time blockerWorker blockerTxSeq blockerSite waitNs waiterSite
 * inevitable worker txSeq time reason site     fails worker txSeq time message site     drops worker time count
 * ```
 *
 * Rows are in arrival order: per worker they are in time order, across workers
 * they interleave as the recorder drained them. Sites, names and messages are
 * raw ids of the row's worker space (culprit/blocker sites: of the culprit's
 * worker); resolve them with {@link EventStore.defs}.
 */

import { CommittedIndex } from './lookup.ts';
import { ColumnTable } from './columns.ts';
import { Definitions, type Frame, type ObjectInfo } from './defs.ts';
import { EventAssembler, OUTCOME_NAMES, Outcome, type AttemptSink } from './assemble.ts';
import { CONFLICT_KIND_NAMES } from './records.ts';

const attemptSchema = {
  worker: Uint8Array,
  txSeq: Uint32Array,
  /** 1 for the first attempt of a transaction, 2 for its first retry, … */
  attempt: Uint32Array,
  start: Float64Array,
  end: Float64Array,
  /** Outcome: 0 committed, 1 aborted, 2 failed, 3 unfinished */
  outcome: Uint8Array,
  /** TxFlag bits (inevitable, read-only, named) */
  flags: Uint8Array,
  /** transaction name: string id of the worker's space (0 none) */
  name: Uint32Array,
  /** atomic() call site (worker's space) */
  site: Uint32Array,
  waitNs: Float64Array,
  inevitableNs: Float64Array,
  reads: Uint32Array,
  writes: Uint32Array,
  /** row in `aborts` (−1 unless aborted) */
  abort: Int32Array,
};
const abortSchema = {
  /** row in `attempts` */
  attempt: Int32Array,
  worker: Uint8Array,
  txSeq: Uint32Array,
  time: Float64Array,
  kind: Uint8Array,
  object: Uint32Array,
  field: Int32Array,
  victimSite: Uint32Array,
  /** −1 unknown */
  culpritWorker: Int16Array,
  culpritTxSeq: Uint32Array,
  culpritSite: Uint32Array,
  waitNs: Float64Array,
  timeLostNs: Float64Array,
};
const waitSchema = {
  worker: Uint8Array,
  txSeq: Uint32Array,
  begin: Float64Array,
  end: Float64Array,
  reason: Uint8Array,
  blockerWorker: Int16Array,
  blockerTxSeq: Uint32Array,
  site: Uint32Array,
  inAttempt: Uint8Array,
};
const blockedSchema = {
  worker: Uint8Array,
  txSeq: Uint32Array,
  time: Float64Array,
  blockerWorker: Int16Array,
  blockerTxSeq: Uint32Array,
  blockerSite: Uint32Array,
  waitNs: Float64Array,
  waiterSite: Uint32Array,
};
const inevitableSchema = { worker: Uint8Array, txSeq: Uint32Array, time: Float64Array, reason: Uint8Array, site: Uint32Array };
const failSchema = { worker: Uint8Array, txSeq: Uint32Array, time: Float64Array, message: Uint32Array, site: Uint32Array };
const dropSchema = { worker: Uint8Array, time: Float64Array, count: Float64Array };

/**
 * Column schemas of the attempt, abort, wait and blocked tables, shared with
 * other stores of the same rows (the server's disk-backed timeline).
 */
export const STORE_SCHEMAS = { attempts: attemptSchema, aborts: abortSchema, waits: waitSchema, blocked: blockedSchema };
export type AttemptTable = ColumnTable<typeof attemptSchema>;
export type AbortTable = ColumnTable<typeof abortSchema>;
export type WaitTable = ColumnTable<typeof waitSchema>;
export type BlockedTable = ColumnTable<typeof blockedSchema>;

/** Appends an attempt row (the AttemptSink.attempt arguments); returns its row. */
export function addAttemptRow(t: AttemptTable, worker: number, txSeq: number, attempt: number, startNs: number, endNs: number, outcome: number, flags: number, name: number, site: number, waitNs: number, inevitableNs: number, reads: number, writes: number): number {
  const r = t.add();
  const c = t.cols;
  c.worker[r] = worker;
  c.txSeq[r] = txSeq;
  c.attempt[r] = attempt;
  c.start[r] = startNs;
  c.end[r] = endNs;
  c.outcome[r] = outcome;
  c.flags[r] = flags;
  c.name[r] = name;
  c.site[r] = site;
  c.waitNs[r] = waitNs;
  c.inevitableNs[r] = inevitableNs;
  c.reads[r] = reads;
  c.writes[r] = writes;
  c.abort[r] = -1;
  return r;
}

/** Appends an abort row pointing at attempt row `attemptId`; returns its row. */
export function addAbortRow(t: AbortTable, attemptId: number, worker: number, txSeq: number, timeNs: number, kind: number, object: number, field: number, victimSite: number, culpritWorker: number, culpritTxSeq: number, culpritSite: number, waitNs: number, timeLostNs: number): number {
  const r = t.add();
  const c = t.cols;
  c.attempt[r] = attemptId;
  c.worker[r] = worker;
  c.txSeq[r] = txSeq;
  c.time[r] = timeNs;
  c.kind[r] = kind;
  c.object[r] = object;
  c.field[r] = field;
  c.victimSite[r] = victimSite;
  c.culpritWorker[r] = culpritWorker;
  c.culpritTxSeq[r] = culpritTxSeq;
  c.culpritSite[r] = culpritSite;
  c.waitNs[r] = waitNs;
  c.timeLostNs[r] = timeLostNs;
  return r;
}

/** Appends a wait row (AttemptSink.wait arguments). */
export function addWaitRow(t: WaitTable, worker: number, txSeq: number, beginNs: number, endNs: number, reason: number, blockerWorker: number, blockerTxSeq: number, site: number, inAttempt: boolean): void {
  const r = t.add();
  const c = t.cols;
  c.worker[r] = worker;
  c.txSeq[r] = txSeq;
  c.begin[r] = beginNs;
  c.end[r] = endNs;
  c.reason[r] = reason;
  c.blockerWorker[r] = blockerWorker;
  c.blockerTxSeq[r] = blockerTxSeq;
  c.site[r] = site;
  c.inAttempt[r] = inAttempt ? 1 : 0;
}

/** Appends a blocked-by-inevitable row (AttemptSink.blocked arguments). */
export function addBlockedRow(t: BlockedTable, worker: number, txSeq: number, timeNs: number, blockerWorker: number, blockerTxSeq: number, blockerSite: number, waitNs: number, waiterSite: number): void {
  const r = t.add();
  const c = t.cols;
  c.worker[r] = worker;
  c.txSeq[r] = txSeq;
  c.time[r] = timeNs;
  c.blockerWorker[r] = blockerWorker;
  c.blockerTxSeq[r] = blockerTxSeq;
  c.blockerSite[r] = blockerSite;
  c.waitNs[r] = waitNs;
  c.waiterSite[r] = waiterSite;
}

/** Options of {@link EventStore}. */
export interface StoreOptions {
  /** Initial rows per table (default 1024); tables double as needed. */
  initialCapacity?: number;
}

/**
 * Columnar store of one recording. Feed it either decoded records
 * ({@link addRecords}, it runs its own assembler) or, when sharing one
 * assembler with an aggregator, use it as the {@link AttemptSink}.
 */
export class EventStore implements AttemptSink {
  readonly attempts: ColumnTable<typeof attemptSchema>;
  readonly aborts: ColumnTable<typeof abortSchema>;
  readonly waits: ColumnTable<typeof waitSchema>;
  readonly blockedWaits: ColumnTable<typeof blockedSchema>;
  readonly inevitables: ColumnTable<typeof inevitableSchema>;
  readonly fails: ColumnTable<typeof failSchema>;
  readonly drops: ColumnTable<typeof dropSchema>;
  /** Dropped events per worker (index 255: process-wide). */
  readonly droppedByWorker = new Float64Array(256);
  droppedTotal = 0;
  private readonly committedIndex = new CommittedIndex();
  private assembler: EventAssembler | undefined;

  constructor(
    readonly defs: Definitions = new Definitions(),
    opts: StoreOptions = {},
  ) {
    const cap = opts.initialCapacity ?? 1024;
    this.attempts = new ColumnTable(attemptSchema, cap);
    this.aborts = new ColumnTable(abortSchema, cap);
    this.waits = new ColumnTable(waitSchema, cap);
    this.blockedWaits = new ColumnTable(blockedSchema, 16);
    this.inevitables = new ColumnTable(inevitableSchema, 16);
    this.fails = new ColumnTable(failSchema, 16);
    this.drops = new ColumnTable(dropSchema, 16);
  }

  /** Adds decoded records (runs a private {@link EventAssembler} on this store's definitions). */
  addRecords(words: Uint32Array, first = 0, count = (words.length >>> 3) - first): void {
    if (!this.assembler) this.assembler = new EventAssembler(this.defs, this);
    this.assembler.records(words, first, count);
  }

  /** Closes open attempts as unfinished (end of recording). Only for stores fed by {@link addRecords}. */
  finish(): void {
    this.assembler?.flush();
  }

  /** Bytes held by the columns. */
  get byteLength(): number {
    return (
      this.attempts.byteLength +
      this.aborts.byteLength +
      this.waits.byteLength +
      this.blockedWaits.byteLength +
      this.inevitables.byteLength +
      this.fails.byteLength +
      this.drops.byteLength
    );
  }

  // -- AttemptSink ----------------------------------------------------------

  attempt(worker: number, txSeq: number, attempt: number, startNs: number, endNs: number, outcome: number, flags: number, name: number, site: number, waitNs: number, inevitableNs: number, reads: number, writes: number): void {
    const r = addAttemptRow(this.attempts, worker, txSeq, attempt, startNs, endNs, outcome, flags, name, site, waitNs, inevitableNs, reads, writes);
    if (outcome === Outcome.Committed) this.committedIndex.add(worker, txSeq, r);
  }

  abort(worker: number, txSeq: number, timeNs: number, kind: number, object: number, field: number, victimSite: number, culpritWorker: number, culpritTxSeq: number, culpritSite: number, waitNs: number, timeLostNs: number): void {
    // The assembler reports the aborted attempt right before its abort.
    const a = this.attempts.length - 1;
    const r = addAbortRow(this.aborts, a, worker, txSeq, timeNs, kind, object, field, victimSite, culpritWorker, culpritTxSeq, culpritSite, waitNs, timeLostNs);
    if (a >= 0) this.attempts.cols.abort[a] = r;
  }

  wait(worker: number, txSeq: number, beginNs: number, endNs: number, reason: number, blockerWorker: number, blockerTxSeq: number, site: number, inAttempt: boolean): void {
    addWaitRow(this.waits, worker, txSeq, beginNs, endNs, reason, blockerWorker, blockerTxSeq, site, inAttempt);
  }

  blocked(worker: number, txSeq: number, timeNs: number, blockerWorker: number, blockerTxSeq: number, blockerSite: number, waitNs: number, waiterSite: number): void {
    addBlockedRow(this.blockedWaits, worker, txSeq, timeNs, blockerWorker, blockerTxSeq, blockerSite, waitNs, waiterSite);
  }

  inevitable(worker: number, txSeq: number, timeNs: number, reason: number, site: number): void {
    const t = this.inevitables;
    const r = t.add();
    const c = t.cols;
    c.worker[r] = worker;
    c.txSeq[r] = txSeq;
    c.time[r] = timeNs;
    c.reason[r] = reason;
    c.site[r] = site;
  }

  fail(worker: number, txSeq: number, timeNs: number, message: number, site: number): void {
    const t = this.fails;
    const r = t.add();
    const c = t.cols;
    c.worker[r] = worker;
    c.txSeq[r] = txSeq;
    c.time[r] = timeNs;
    c.message[r] = message;
    c.site[r] = site;
  }

  dropped(worker: number, timeNs: number, count: number): void {
    const t = this.drops;
    const r = t.add();
    const c = t.cols;
    c.worker[r] = worker;
    c.time[r] = timeNs;
    c.count[r] = count;
    this.droppedByWorker[worker] += count;
    this.droppedTotal += count;
  }

  // -- queries --------------------------------------------------------------

  /** Row of the committed attempt of `(worker, txSeq)`, or −1 (not recorded, dropped, or not committed). */
  committedAttempt(worker: number, txSeq: number): number {
    return this.committedIndex.find(worker, txSeq);
  }

  /** Row of the culprit's committed attempt of abort row `abortRow`, or −1. */
  culpritAttempt(abortRow: number): number {
    const c = this.aborts.cols;
    const w = c.culpritWorker[abortRow];
    return w < 0 ? -1 : this.committedAttempt(w, c.culpritTxSeq[abortRow]);
  }

  /** 'committed' | 'aborted' | 'failed' | 'unfinished' of an attempt row. */
  outcomeName(attemptRow: number): string {
    return OUTCOME_NAMES[this.attempts.cols.outcome[attemptRow]] ?? 'unknown';
  }

  /** Conflict kind name of an abort row. */
  kindName(abortRow: number): string {
    const k = this.aborts.cols.kind[abortRow];
    return CONFLICT_KIND_NAMES[k] ?? `kind-${k}`;
  }

  /** Transaction name of an attempt row ('' when unnamed or undefined). */
  attemptName(attemptRow: number): string {
    const c = this.attempts.cols;
    return this.defs.string(c.worker[attemptRow], c.name[attemptRow]) ?? '';
  }

  /** Victim frames of an abort row (innermost first; [] when unknown). */
  victimFrames(abortRow: number): Frame[] {
    const c = this.aborts.cols;
    return this.defs.siteFrames(c.worker[abortRow], c.victimSite[abortRow]);
  }

  /** Culprit frames of an abort row (in the culprit worker's site space; [] when unknown). */
  culpritFrames(abortRow: number): Frame[] {
    const c = this.aborts.cols;
    const w = c.culpritWorker[abortRow];
    return w < 0 ? [] : this.defs.siteFrames(w, c.culpritSite[abortRow]);
  }

  /** Object (+ field) of an abort row resolved to its label. */
  abortObject(abortRow: number): ObjectInfo {
    const c = this.aborts.cols;
    return this.defs.objectInfo(c.object[abortRow], c.field[abortRow]);
  }
}
