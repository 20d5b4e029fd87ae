/**
 * PyPy-STM binary logs → stmscope recordings.
 *
 * ```
 * log bytes ─► header (C7/C8) ─► look-ahead: framing check, variant guess ─► records
 *    ─► per-thread state machine (print_stm_log.py's rules) ─► RecordWriter ─► RecordingEncoder ─► out()
 * ```
 *
 * Push-style like the recording decoder: `feed(bytes)` with any split, then
 * `finish()`; the converted recording is handed to `out` chunk by chunk, so a
 * 600 MB log (pypy-stm.md §7: "a 600MB file produced by a 10-minutes run")
 * streams through in bounded memory. Only the look-ahead window (1 MiB by
 * default) is buffered before the first output.
 *
 * Mapping (docs/EXPORTS.md §PyPy-STM has the full table):
 *
 * - each PyPy thread (`thread_num`) becomes a worker, in order of appearance
 *   (META `workerNames` keeps `PyPy thread N`); TRANSACTION_START…COMMIT/ABORT
 *   become attempts; a START after an ABORT is a retry (same txSeq);
 * - markers become one-frame sites (markers.ts);
 * - c8 CONTENTION_WRITE_READ aborts the logging thread at the time of the
 *   event, kind write-read, victim location unknown (c8 does not log it), culprit
 *   = the marker (the winner's write) on the reserved worker
 *   {@link UNKNOWN_THREAD_WORKER} "(unknown thread)" (c8 does not log the culprit
 *   thread either); time lost = run time so far, paused = waits so far, exactly
 *   print_stm_log.py's `aborted_time`/`paused_time`;
 * - c8 WAIT_OTHER_INEVITABLE…WAIT_DONE after BECOME_INEVITABLE is a wait plus a
 *   `blocked` record charged to group (inevitable, the BECOME_INEVITABLE
 *   marker, unknown blocker), as print_stm_log.py charges it;
 * - c7 contention events carry a location pair: the thread that aborts is the
 *   victim (its own marker), the other thread the culprit (the other marker),
 *   following ABORTING_OTHER_CONTENTION when the logging thread aborts the
 *   other one; an INEVITABLE contention resolved by waiting is a `blocked` wait;
 * - aborts with no contention logged before them are `user-abort` aborts with
 *   unknown sites (print_stm_log.py charges them to no conflict);
 * - waits outside transactions and GC pauses are not emitted (print_stm_log.py
 *   counts neither as paused time); DETACH ends the attempt as a commit and
 *   REATTACH starts a new inevitable one (plot_stm_log.py's reading), so
 *   detached time is neither run nor paused, as in print_stm_log.py.
 */

import { ConflictKind, WaitReason } from '../records.ts';
import { RecordingEncoder, concatBytes, type RecordingMeta } from '../format.ts';
import {
  C7_HEADER,
  C7_MAX_MARKER,
  C7_RECORD_BYTES,
  C8_HEADER,
  C8_MAX_MARKER,
  C8_RECORD_BYTES,
  MARKER_EVENTS,
  PYPY_VARIANTS,
  pypyVariant,
  type PypyEventName,
  type PypyFamily,
  type PypyVariant,
} from './events.ts';
import { parseMarker } from './markers.ts';
import { RecordWriter } from './writer.ts';

/** Worker that stands for "a thread the log does not name" (the culprit of c8 conflicts). */
export const UNKNOWN_THREAD_WORKER = 254;
/** Largest number of PyPy threads shown as distinct workers (0..253); more reuse idle workers. */
const MAX_THREAD_WORKERS = 254;

/** Thrown when the input is not a readable PyPy-STM log at all. */
export class PypyFormatError extends Error {
  override name = 'PypyFormatError';
}

/** Options of {@link PypyLogConverter}. */
export interface PypyImportOptions {
  /** Event numbering: a {@link PYPY_VARIANTS} id (`c7`, `c8-n11` … `c8-n16`, alias `c8`) or `auto` (default). */
  variant?: string;
  /** Bytes examined before deciding the layout and the numbering. Default 1 MiB. */
  lookaheadBytes?: number;
  /** Extra META keys of the recording (e.g. `cwd`/`sourceRoots` so `stmscope report` can show source lines). */
  meta?: RecordingMeta;
  /** Records per RECS chunk written. Default 8192. */
  batchRecords?: number;
}

/** How plausible one numbering is for the log's first records. */
export interface VariantScore {
  id: string;
  /** false when some event code is beyond the numbering's table. */
  possible: boolean;
  /** Records that break the numbering's grammar (markers on marker-less events, ends without starts, …). */
  anomalies: number;
  records: number;
}

/** What the conversion read and what it could not. */
export interface PypyImportStatus {
  family: PypyFamily;
  variant: string;
  /** True when the variant was guessed (not given). */
  guessed: boolean;
  /** Scores of every candidate numbering (when guessed), best first. */
  candidates: VariantScore[];
  /** Log records read. */
  records: number;
  bytes: number;
  /** Distinct PyPy threads. */
  threads: number;
  /** stmscope events written. */
  events: number;
  /** Nanoseconds from the first to the last timestamp. */
  durationNs: number;
  /** The log ended inside a record (the last one was dropped, as print_stm_log.py does). */
  truncated: boolean;
  /** Set when reading stopped early at a corrupt record (everything before it was converted). */
  problem?: string;
  warnings: string[];
}

/** A record's fields, reused between records (no allocation per record). */
interface Rec {
  offset: number;
  sec: number;
  nsec: number;
  thread: number;
  other: number;
  event: number;
  m0: Uint8Array | null;
  m1: Uint8Array | null;
}

const u32 = (b: Uint8Array, at: number) => (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;

/**
 * Reads one record at `at` into `r`. Returns its total size, 0 when the bytes
 * end inside it, or −1 when it is implausible (bad nanoseconds, event code or
 * marker length for this layout: a corrupt record or the wrong layout).
 */
function readRecord(b: Uint8Array, at: number, end: number, family: PypyFamily, r: Rec, maxEvent: number): number {
  const fixed = family === 'c7' ? C7_RECORD_BYTES : C8_RECORD_BYTES;
  if (end - at < fixed) return 0;
  const nsec = u32(b, at + 4);
  let event: number;
  let l0: number;
  let l1 = 0;
  if (family === 'c7') {
    event = b[at + 16];
    l0 = b[at + 17];
    l1 = b[at + 18];
    if (l0 > C7_MAX_MARKER || l1 > C7_MAX_MARKER) return -1;
  } else {
    event = b[at + 12];
    l0 = b[at + 13];
    if (l0 > C8_MAX_MARKER) return -1;
  }
  if (nsec >= 1e9 || event >= maxEvent) return -1;
  const size = fixed + l0 + l1;
  if (end - at < size) return 0;
  r.sec = u32(b, at);
  r.nsec = nsec;
  r.thread = u32(b, at + 8);
  r.other = family === 'c7' ? u32(b, at + 12) : 0;
  r.event = event;
  r.m0 = l0 ? b.subarray(at + fixed, at + fixed + l0) : null;
  r.m1 = l1 ? b.subarray(at + fixed + l0, at + size) : null;
  return size;
}

const familyMaxEvent = (f: PypyFamily) => Math.max(...PYPY_VARIANTS.filter((v) => v.family === f).map((v) => v.events.length));

/** Good records at the start of `b` under a layout, and whether a bad one follows. */
function framingRun(b: Uint8Array, family: PypyFamily): { good: number; bad: boolean; badAt: number } {
  const r = newRec();
  const max = familyMaxEvent(family);
  let at = 0;
  let good = 0;
  while (at < b.length) {
    const n = readRecord(b, at, b.length, family, r, max);
    if (n === 0) break;
    if (n < 0) return { good, bad: true, badAt: at };
    good++;
    at += n;
  }
  return { good, bad: false, badAt: -1 };
}

function newRec(): Rec {
  return { offset: 0, sec: 0, nsec: 0, thread: 0, other: 0, event: 0, m0: null, m1: null };
}

/**
 * Scores a numbering on records `b` (layout `family`): impossible codes rule
 * it out; grammar breaks are counted (a wrong numbering turns waits into GC
 * events, markers onto marker-less events, ends without starts…).
 */
export function scoreVariant(b: Uint8Array, v: PypyVariant, maxRecords = 1 << 20): VariantScore {
  const r = newRec();
  interface S {
    inTx: boolean;
    wait: boolean;
    minor: boolean;
    major: boolean;
    mustAbort: boolean;
  }
  const threads = new Map<number, S>();
  let at = 0;
  let records = 0;
  let anomalies = 0;
  const max = familyMaxEvent(v.family);
  while (at < b.length && records < maxRecords) {
    const n = readRecord(b, at, b.length, v.family, r, max);
    if (n <= 0) break;
    at += n;
    records++;
    const name = v.events[r.event];
    if (name === undefined) return { id: v.id, possible: false, anomalies, records };
    if ((r.m0 || r.m1) && !MARKER_EVENTS.has(name)) anomalies++;
    let s = threads.get(r.thread);
    if (!s) threads.set(r.thread, (s = { inTx: false, wait: false, minor: false, major: false, mustAbort: false }));
    switch (name) {
      case 'TRANSACTION_START':
        if (s.inTx) anomalies++;
        s.inTx = true;
        s.mustAbort = false;
        break;
      case 'TRANSACTION_COMMIT':
      case 'TRANSACTION_DETACH':
        if (!s.inTx && name === 'TRANSACTION_DETACH') anomalies++;
        if (s.mustAbort) anomalies++;
        s.inTx = false;
        s.wait = false;
        break;
      case 'TRANSACTION_ABORT':
        if (!s.inTx) anomalies++;
        s.inTx = false;
        s.wait = false;
        s.mustAbort = false;
        break;
      case 'CONTENTION_WRITE_READ':
        if (!s.inTx) anomalies++;
        if (v.family === 'c8') s.mustAbort = true;
        break;
      case 'WAIT_DONE':
        if (!s.wait) anomalies++;
        s.wait = false;
        break;
      case 'GC_MINOR_START':
        if (s.minor) anomalies++;
        s.minor = true;
        break;
      case 'GC_MINOR_DONE':
        if (!s.minor) anomalies++;
        s.minor = false;
        break;
      case 'GC_MAJOR_START':
        if (s.major) anomalies++;
        s.major = true;
        break;
      case 'GC_MAJOR_DONE':
        if (!s.major) anomalies++;
        s.major = false;
        break;
      default:
        if (name.startsWith('WAIT_')) {
          if (s.wait) anomalies++;
          s.wait = true;
        }
    }
  }
  return { id: v.id, possible: true, anomalies, records };
}

const enum WaitState {
  None = 0,
  /** a wait record was written (inside an attempt) */
  Emitted = 1,
  /** outside an attempt: not written (print_stm_log.py counts no pause there) */
  Silent = 2,
}

interface C7Conflict {
  kind: ConflictKind;
  /** true once moved to this thread by ABORTING_OTHER_CONTENTION */
  remote: boolean;
  /** the other thread's worker (−1 unknown) */
  otherWorker: number;
  otherTx: number;
  /** this thread's marker / the other thread's marker */
  selfMarker: Uint8Array | null;
  otherMarker: Uint8Array | null;
}

class Thread {
  tx = 0;
  inTx = false;
  /** the abort was written at the contention event; waiting for TRANSACTION_ABORT */
  aborting = false;
  lastAborted = false;
  detached = false;
  lastSeen = 0;
  /** site of the BECOME_INEVITABLE marker (0 none), −1 when the attempt did not try */
  inevSite = -1;
  inevEmitted = false;
  wait = WaitState.None;
  waitReason = 0;
  waitBegin = 0;
  /** c8: the open wait is WAIT_OTHER_INEVITABLE after BECOME_INEVITABLE */
  waitInev = false;
  conflict: C7Conflict | null = null;
  gcMinor = -1;
  gcMajor = -1;
  constructor(
    public worker: number,
    readonly pypy: number,
  ) {}
}

const CONTENTION_KIND: Partial<Record<PypyEventName, ConflictKind>> = {
  CONTENTION_WRITE_WRITE: ConflictKind.WriteWrite,
  CONTENTION_WRITE_READ: ConflictKind.WriteRead,
  CONTENTION_INEVITABLE: ConflictKind.Inevitable,
};

const enum St {
  Header,
  Lookahead,
  Run,
  Stopped,
}

/**
 * Converts a PyPy-STM log into a stmscope recording, streaming.
 *
 * ```ts
 * const conv = new PypyLogConverter((b) => file.write(b));
 * conv.feed(bytes); // any split
 * const status = conv.finish();
 * ```
 */
export class PypyLogConverter {
  private state = St.Header;
  private buf = new Uint8Array(0);
  private bufLen = 0;
  /** absolute offset of buf[0] */
  private bufOffset = 0;
  private bytesFed = 0;
  private family: PypyFamily = 'c8';
  private variant: PypyVariant | undefined;
  private names: readonly PypyEventName[] = [];
  private guessed = false;
  private candidates: VariantScore[] = [];
  private readonly encoder: RecordingEncoder;
  private readonly writer: RecordWriter;
  private readonly threads = new Map<number, Thread>();
  private readonly byWorker: Array<Thread | undefined> = [];
  private nextWorker = 0;
  private epochSec = 0;
  private epochNsec = 0;
  private firstNs = Infinity;
  private lastNs = 0;
  private prevSec = -1;
  private prevNsec = 0;
  private hasBecome = true;
  private records = 0;
  private readonly rec = newRec();
  private readonly warnings: string[] = [];
  private readonly counts = {
    beforeEpoch: 0,
    decreasing: 0,
    doubleContention: 0,
    orphanEnds: 0,
    unendedAttempts: 0,
    contentionOutsideTx: 0,
    saturatedWaits: 0,
    reusedWorkers: 0,
    gcMinorNs: 0,
    gcMajorNs: 0,
    silentPauseNs: 0,
    contentions: 0,
  };
  private unknownThreadUsed = false;
  private truncated = false;
  private problem: string | undefined;
  private finished: PypyImportStatus | undefined;

  constructor(
    out: (bytes: Uint8Array) => void,
    private readonly opts: PypyImportOptions = {},
  ) {
    if (opts.variant && opts.variant !== 'auto') {
      this.variant = pypyVariant(opts.variant);
      this.names = this.variant.events;
    }
    this.encoder = new RecordingEncoder(out, { writer: 'stmscope (PyPy-STM import)' });
    this.writer = new RecordWriter(this.encoder, opts.batchRecords);
  }

  /**
   * Converts more bytes (any split).
   * @throws PypyFormatError when the input is not a PyPy-STM log (wrong header, unreadable records)
   */
  feed(bytes: Uint8Array): void {
    if (this.finished) throw new Error('feed() after finish()');
    this.bytesFed += bytes.length;
    if (this.state === St.Stopped) return;
    this.append(bytes);
    if (this.state === St.Header) {
      if (!this.readHeader(false)) return;
    }
    if (this.state === St.Lookahead) {
      if (this.bufLen < (this.opts.lookaheadBytes ?? 1 << 20)) return;
      this.decide();
    }
    this.run(false);
    this.writer.flush();
  }

  /**
   * Ends the input, writes the end of the recording and returns what was read.
   * @throws PypyFormatError when not even the header and one record could be read
   */
  finish(): PypyImportStatus {
    if (this.finished) return this.finished;
    if (this.state === St.Header) this.readHeader(true);
    if (this.state === St.Lookahead) this.decide();
    this.run(true);
    // Attempts still open at the end stay open: the reader closes them as unfinished.
    for (const th of this.threads.values()) if (th.inTx && !th.aborting) this.counts.unendedAttempts++;
    this.writer.flush();
    const c = this.counts;
    const w = this.warnings;
    if (this.records === 0 && !this.problem) w.push('the log holds no records (print_stm_log.py stops with "empty file")');
    if (c.unendedAttempts) w.push(`${c.unendedAttempts} transaction(s) had not ended when the log ends`);
    if (c.beforeEpoch) w.push(`${c.beforeEpoch} record(s) were older than the first ones read (c7 threads write unordered): their times were moved to time 0`);
    if (c.decreasing && this.family === 'c8' && this.variant?.id === 'c8-n16') {
      w.push(`timestamps decreased ${c.decreasing} time(s) (print_stm_log.py stops with "decreasing timestamps"; they were kept)`);
    }
    if (c.doubleContention) w.push(`${c.doubleContention} repeated CONTENTION_WRITE_READ event(s) of an already aborting transaction were ignored, as print_stm_log.py does`);
    if (c.orphanEnds) w.push(`${c.orphanEnds} COMMIT/ABORT event(s) had no TRANSACTION_START before them`);
    if (c.contentionOutsideTx) w.push(`${c.contentionOutsideTx} contention event(s) outside a transaction were ignored`);
    if (c.saturatedWaits) w.push(`${c.saturatedWaits} wait(s) on an inevitable transaction lasted over 4.29 s: their blocked time is capped at 4.29 s`);
    if (c.reusedWorkers) w.push(`the log names more than ${MAX_THREAD_WORKERS} threads: ${c.reusedWorkers} later thread(s) reuse the worker of an idle earlier one`);
    const durationNs = Number.isFinite(this.firstNs) ? this.lastNs : 0;
    const workerNames: Record<string, string> = {};
    for (const th of this.byWorker) if (th) workerNames[String(th.worker)] = `PyPy thread ${th.pypy}`;
    if (this.unknownThreadUsed) workerNames[String(UNKNOWN_THREAD_WORKER)] = '(unknown thread)';
    this.encoder.meta({
      workerNames,
      import: {
        records: this.records,
        threads: this.threads.size,
        truncated: this.truncated,
        problem: this.problem ?? null,
        warnings: [...w],
        gcMinorNs: c.gcMinorNs,
        gcMajorNs: c.gcMajorNs,
        pausesOutsideTransactionsNs: c.silentPauseNs,
        contentionEvents: c.contentions,
      },
    });
    this.encoder.end({ durationNs, reason: 'import' });
    this.finished = {
      family: this.family,
      variant: this.variant?.id ?? '',
      guessed: this.guessed,
      candidates: this.candidates,
      records: this.records,
      bytes: this.bytesFed,
      threads: this.threads.size,
      events: this.writer.events,
      durationNs,
      truncated: this.truncated,
      problem: this.problem,
      warnings: w,
    };
    return this.finished;
  }

  // -- input buffering -------------------------------------------------------

  private append(b: Uint8Array): void {
    if (this.bufLen + b.length > this.buf.length) {
      const next = new Uint8Array(Math.max(this.bufLen + b.length, this.buf.length * 2, 4096));
      next.set(this.buf.subarray(0, this.bufLen));
      this.buf = next;
    }
    this.buf.set(b, this.bufLen);
    this.bufLen += b.length;
  }

  private consume(n: number): void {
    this.buf.copyWithin(0, n, this.bufLen);
    this.bufLen -= n;
    this.bufOffset += n;
  }

  private readHeader(final: boolean): boolean {
    const n = Math.min(this.bufLen, 16);
    const head = latin1(this.buf.subarray(0, n));
    const fits = (h: string) => h.startsWith(head);
    if (!fits(C7_HEADER) && !fits(C8_HEADER)) {
      throw new PypyFormatError(
        `not a PyPy-STM log: expected "STMGC-C7-PROF01\\n" or "STMGC-C8-PROF01\\n" at the start, found ${describeBytes(this.buf.subarray(0, n))}`,
      );
    }
    if (n < 16) {
      if (!final) return false;
      throw new PypyFormatError(
        n === 0 ? 'not a PyPy-STM log: the input is empty' : `not a complete PyPy-STM log: the input ends after ${n} bytes, inside the 16-byte header`,
      );
    }
    this.family = head === C7_HEADER ? 'c7' : 'c8';
    if (this.variant && this.variant.family !== this.family) {
      this.warnings.push(`the header says ${head.trim()} but variant ${this.variant.id} (${this.variant.family}) was asked for: reading the records as ${this.variant.family}`);
      this.family = this.variant.family;
    }
    this.consume(16);
    this.state = St.Lookahead;
    return true;
  }

  /** Decides the layout and the numbering from the look-ahead window, then writes the header and META. */
  private decide(): void {
    // Exactly the window (not what happens to be buffered) so any split decides alike.
    const b = this.buf.subarray(0, Math.min(this.bufLen, this.opts.lookaheadBytes ?? 1 << 20));
    const headerFamily = this.family;
    if (!this.variant) {
      const own = framingRun(b, headerFamily);
      const otherFamily: PypyFamily = headerFamily === 'c7' ? 'c8' : 'c7';
      if (own.bad) {
        const other = framingRun(b, otherFamily);
        if (!other.bad && other.good > own.good) {
          this.warnings.push(
            `the header says ${headerFamily === 'c7' ? 'STMGC-C7-PROF01' : 'STMGC-C8-PROF01'} but the records have the ${otherFamily} layout ` +
              `(${otherFamily === 'c8' ? '14' : '19'}-byte records; early c8 versions of prof.c wrote the C7 header): read as ${otherFamily}`,
          );
          this.family = otherFamily;
        } else if (own.good === 0) {
          throw new PypyFormatError(
            `not a readable PyPy-STM log: the first record after the ${headerFamily === 'c7' ? 'STMGC-C7-PROF01' : 'STMGC-C8-PROF01'} header is not a valid ` +
              `${headerFamily} record (bytes ${describeBytes(b.subarray(0, 19))}): the file is corrupt or not a log`,
          );
        }
      }
      const scores = PYPY_VARIANTS.filter((v) => v.family === this.family)
        .map((v) => scoreVariant(b, v))
        .sort((x, y) => Number(y.possible) - Number(x.possible) || x.anomalies / Math.max(1, x.records) - y.anomalies / Math.max(1, y.records) || order(y.id) - order(x.id));
      this.candidates = scores;
      const best = scores[0];
      if (!best || !best.possible) {
        const maxCode = maxEventCode(b, this.family);
        throw new PypyFormatError(
          `not a readable PyPy-STM log: event code ${maxCode} appears in the first records, but no known ${this.family} numbering has that many events ` +
            `(known: ${PYPY_VARIANTS.filter((v) => v.family === this.family).map((v) => `${v.id} with ${v.events.length}`).join(', ')}): the file is corrupt or from an unknown PyPy-STM version`,
        );
      }
      this.variant = pypyVariant(best.id);
      this.names = this.variant.events;
      this.guessed = true;
      if (this.family === 'c8') {
        const rate = (s: VariantScore) => s.anomalies / Math.max(1, s.records);
        const alike = scores.filter((s) => s !== best && s.possible && rate(s) - rate(best) <= 0.001);
        if (alike.length) {
          this.warnings.push(
            `the event numbering was guessed as ${best.id} (${this.variant.era}); ${alike.map((s) => s.id).join(', ')} fit the log as well: ` +
              `pick one with --pypy-variant if the figures look wrong`,
          );
        }
        if (rate(best) > 0.05) {
          this.warnings.push(`even the best event numbering (${best.id}) leaves ${best.anomalies} of ${best.records} records out of order: the figures may be unreliable`);
        }
      }
    }
    this.names = this.variant!.events;
    this.hasBecome = this.names.includes('BECOME_INEVITABLE') || this.family === 'c7';
    this.setEpoch(b);
    this.encoder.header();
    this.encoder.meta({
      mode: 'import',
      importedFrom: {
        format: 'PyPy-STM log',
        header: this.family === 'c7' ? 'STMGC-C7-PROF01' : 'STMGC-C8-PROF01',
        variant: this.variant!.id,
        variantGuessed: this.guessed,
        era: this.variant!.era,
      },
      ...(this.opts.meta ?? {}),
    });
    this.state = St.Run;
  }

  /** Time 0 = the smallest timestamp of the look-ahead window (c7 threads write slightly unordered). */
  private setEpoch(b: Uint8Array): void {
    const r = this.rec;
    let at = 0;
    let best = -1;
    const max = familyMaxEvent(this.family);
    while (at < b.length) {
      const n = readRecord(b, at, b.length, this.family, r, max);
      if (n <= 0) break;
      if (best < 0 || r.sec < this.epochSec || (r.sec === this.epochSec && r.nsec < this.epochNsec)) {
        this.epochSec = r.sec;
        this.epochNsec = r.nsec;
        best = at;
      }
      at += n;
    }
  }

  private run(final: boolean): void {
    if (this.state !== St.Run) return;
    const r = this.rec;
    const b = this.buf;
    const end = this.bufLen;
    const max = this.names.length;
    let at = 0;
    while (at < end) {
      const n = readRecord(b, at, end, this.family, r, max);
      if (n === 0) break;
      if (n < 0) {
        if (this.records === 0) {
          throw new PypyFormatError(
            `not a readable PyPy-STM log: the first record is not a valid ${this.family} record for variant ${this.variant!.id} ` +
              `(bytes ${describeBytes(b.subarray(at, at + 19))})`,
          );
        }
        const code = this.family === 'c7' ? b[at + 16] : b[at + 12];
        this.problem =
          `record ${this.records + 1} at byte ${this.bufOffset + at} is corrupt ` +
          (code >= max ? `(event code ${code}, but ${this.variant!.id} has ${max} events)` : '(impossible nanoseconds or marker length)') +
          `: the ${this.records} record(s) before it were converted, the last ${this.bytesFed - this.bufOffset - at} bytes were not`;
        this.state = St.Stopped;
        this.consume(end);
        return;
      }
      r.offset = this.bufOffset + at;
      this.records++;
      this.handle(r);
      at += n;
    }
    this.consume(at);
    if (final && this.bufLen > 0) {
      this.truncated = true;
      this.warnings.push(
        `the log is truncated: the last ${this.bufLen} byte(s) hold an incomplete record, dropped as print_stm_log.py does; ${this.records} record(s) were read`,
      );
      this.consume(this.bufLen);
    }
  }

  // -- the state machine -----------------------------------------------------

  private thread(pypy: number): Thread {
    let th = this.threads.get(pypy);
    if (th) return th;
    let worker: number;
    const limit = this.family === 'c8' ? MAX_THREAD_WORKERS : MAX_THREAD_WORKERS + 1;
    if (this.nextWorker < limit) {
      worker = this.nextWorker++;
    } else {
      // Reuse the least recently seen idle worker (threads come and go in long runs).
      let pick: Thread | undefined;
      for (const t of this.byWorker) if (t && (!pick || (!t.inTx && (pick.inTx || t.lastSeen < pick.lastSeen)))) pick = t;
      worker = pick!.worker;
      this.threads.delete(pick!.pypy);
      this.counts.reusedWorkers++;
    }
    const prev = this.byWorker[worker];
    th = new Thread(worker, pypy);
    // Keep txSeq increasing on a reused worker.
    if (prev) th.tx = prev.tx + 1;
    this.threads.set(pypy, th);
    this.byWorker[worker] = th;
    return th;
  }

  private time(r: Rec): number {
    if (r.sec < this.prevSec || (r.sec === this.prevSec && r.nsec < this.prevNsec)) this.counts.decreasing++;
    this.prevSec = r.sec;
    this.prevNsec = r.nsec;
    let t = (r.sec - this.epochSec) * 1e9 + (r.nsec - this.epochNsec);
    if (t < 0) {
      this.counts.beforeEpoch++;
      t = 0;
    }
    if (t < this.firstNs) this.firstNs = t;
    if (t > this.lastNs) this.lastNs = t;
    return t;
  }

  private markerSite(worker: number, m: Uint8Array | null): number {
    if (!m) return 0;
    const s = parseMarker(m);
    return this.writer.site(worker, s.key, () => s);
  }

  private waitSite(worker: number, name: string): number {
    return this.writer.site(worker, `wait:${name}`, () => ({ file: `(PyPy-STM ${name})`, line: 0, column: 0, function: name }));
  }

  private handle(r: Rec): void {
    const name = this.names[r.event];
    const t = this.time(r);
    const th = this.thread(r.thread);
    th.lastSeen = this.records;
    const W = this.writer;
    const w = th.worker;
    switch (name) {
      case 'TRANSACTION_START':
        this.start(th, t, 0);
        break;
      case 'TRANSACTION_COMMIT':
        if (!th.inTx) {
          if (th.detached) {
            // The detached transaction was already ended at DETACH.
            th.detached = false;
            break;
          }
          this.counts.orphanEnds++;
          th.tx++;
          W.txCommit(w, th.tx, t);
          th.lastAborted = false;
          break;
        }
        if (th.aborting) {
          // print_stm_log.py asserts here; the abort was already written.
          th.inTx = false;
          th.aborting = false;
          break;
        }
        this.closeWait(th, t, false);
        W.txCommit(w, th.tx, t, th.inevEmitted ? 1 : 0);
        th.inTx = false;
        th.lastAborted = false;
        break;
      case 'TRANSACTION_ABORT':
        this.closeWait(th, t, false);
        if (!th.inTx) {
          this.counts.orphanEnds++;
          break;
        }
        if (!th.aborting) {
          const c = th.conflict;
          if (c && this.family === 'c7') {
            W.txAbort(w, th.tx, t, c.kind, this.markerSite(w, c.selfMarker), c.otherWorker, c.otherTx, c.otherWorker >= 0 ? this.markerSite(c.otherWorker, c.otherMarker) : 0);
          } else {
            W.txAbort(w, th.tx, t, ConflictKind.UserAbort, 0, -1, 0, 0);
          }
        }
        th.inTx = false;
        th.aborting = false;
        th.lastAborted = true;
        th.conflict = null;
        break;
      case 'TRANSACTION_DETACH':
        if (th.inTx && !th.aborting) {
          this.closeWait(th, t, false);
          W.txCommit(w, th.tx, t, 1);
          th.inTx = false;
          th.lastAborted = false;
        }
        th.detached = true;
        break;
      case 'TRANSACTION_REATTACH':
        if (!th.inTx) this.start(th, t, 1);
        th.detached = false;
        this.becomeInevitable(th, t, r.m0);
        break;
      case 'BECOME_INEVITABLE':
        this.reattachIfDetached(th, t);
        this.becomeInevitable(th, t, r.m0);
        break;
      case 'CONTENTION_WRITE_READ':
      case 'CONTENTION_WRITE_WRITE':
      case 'CONTENTION_INEVITABLE':
        this.counts.contentions++;
        if (this.family === 'c8') this.c8Contention(th, t, r);
        else this.c7Contention(th, r, CONTENTION_KIND[name]!);
        break;
      case 'ABORTING_OTHER_CONTENTION': {
        const c = th.conflict;
        if (c && !c.remote) {
          th.conflict = null;
          const other = c.otherWorker >= 0 ? this.byWorker[c.otherWorker] : undefined;
          if (other && other.inTx && !other.aborting) {
            other.conflict = {
              kind: c.kind,
              remote: true,
              otherWorker: w,
              otherTx: th.tx,
              selfMarker: c.otherMarker,
              otherMarker: c.selfMarker,
            };
          }
        }
        break;
      }
      case 'WAIT_FREE_SEGMENT':
      case 'WAIT_SYNCING':
      case 'WAIT_SYNC_PAUSE':
      case 'WAIT_CONTENTION':
      case 'WAIT_OTHER_INEVITABLE':
        this.beginWait(th, t, name);
        break;
      case 'WAIT_DONE':
        this.closeWait(th, t, true);
        break;
      case 'GC_MINOR_START':
        this.reattachIfDetached(th, t);
        th.gcMinor = t;
        break;
      case 'GC_MINOR_DONE':
        if (th.gcMinor >= 0) this.counts.gcMinorNs += Math.max(0, t - th.gcMinor);
        th.gcMinor = -1;
        break;
      case 'GC_MAJOR_START':
        th.gcMajor = t;
        break;
      case 'GC_MAJOR_DONE':
        if (th.gcMajor >= 0) this.counts.gcMajorNs += Math.max(0, t - th.gcMajor);
        th.gcMajor = -1;
        break;
    }
  }

  private start(th: Thread, t: number, flags: number): void {
    if (th.inTx && !th.aborting) this.counts.unendedAttempts++;
    if (th.wait === WaitState.Silent) th.wait = WaitState.None;
    else if (th.wait === WaitState.Emitted) this.closeWait(th, t, false);
    // A start right after an abort retries the same transaction.
    if (!th.lastAborted || th.tx === 0) th.tx++;
    th.lastAborted = false;
    th.inTx = true;
    th.aborting = false;
    th.detached = false;
    th.inevSite = -1;
    th.inevEmitted = false;
    th.conflict = null;
    this.writer.txStart(th.worker, th.tx, t, flags);
    if (flags & 1) th.inevEmitted = true;
  }

  /** print_stm_log.py's make_sure_not_detached: the JIT reattached without an event. */
  private reattachIfDetached(th: Thread, t: number): void {
    if (th.detached && !th.inTx) this.start(th, t, 1);
    th.detached = false;
  }

  private becomeInevitable(th: Thread, t: number, marker: Uint8Array | null): void {
    if (!th.inTx || th.aborting) return;
    if (th.inevSite < 0) th.inevSite = this.markerSite(th.worker, marker);
    if (!th.inevEmitted) {
      this.writer.txInevitable(th.worker, th.tx, t, th.inevSite);
      th.inevEmitted = true;
    }
  }

  private c8Contention(th: Thread, t: number, r: Rec): void {
    if (!th.inTx) {
      this.counts.contentionOutsideTx++;
      return;
    }
    if (th.aborting) {
      this.counts.doubleContention++;
      return;
    }
    this.closeWait(th, t, false);
    this.unknownThreadUsed = true;
    const culpritSite = this.markerSite(UNKNOWN_THREAD_WORKER, r.m0);
    this.writer.txAbort(th.worker, th.tx, t, ConflictKind.WriteRead, 0, UNKNOWN_THREAD_WORKER, 0, culpritSite);
    th.aborting = true;
    th.lastAborted = true;
  }

  private c7Contention(th: Thread, r: Rec, kind: ConflictKind): void {
    if (!th.inTx) {
      this.counts.contentionOutsideTx++;
      return;
    }
    const other = r.other !== 0 ? this.thread(r.other) : undefined;
    th.conflict = {
      kind,
      remote: false,
      otherWorker: other ? other.worker : -1,
      otherTx: other ? other.tx : 0,
      selfMarker: r.m0 ? r.m0.slice() : null,
      otherMarker: r.m1 ? r.m1.slice() : null,
    };
  }

  private beginWait(th: Thread, t: number, name: PypyEventName): void {
    if (th.wait !== WaitState.None) this.closeWait(th, t, false);
    th.waitBegin = t;
    th.waitInev = false;
    if (!th.inTx || th.aborting) {
      th.wait = WaitState.Silent;
      return;
    }
    let reason = WaitReason.CommitLock;
    let site: number;
    let bw = -1;
    let btx = 0;
    if (name === 'WAIT_OTHER_INEVITABLE') {
      reason = WaitReason.InevitableBecome;
      // Charged like print_stm_log.py: to the BECOME_INEVITABLE marker. Numberings
      // without BECOME_INEVITABLE (c8-n11, c8-n12) charge it to an unknown location.
      th.waitInev = th.inevSite >= 0 || !this.hasBecome;
      site = th.inevSite >= 0 ? th.inevSite : this.hasBecome ? this.waitSite(th.worker, name) : 0;
    } else if (name === 'WAIT_CONTENTION' && th.conflict && !th.conflict.remote) {
      const c = th.conflict;
      if (c.kind === ConflictKind.Inevitable) reason = WaitReason.InevitableCommit;
      bw = c.otherWorker;
      btx = c.otherTx;
      site = this.markerSite(th.worker, c.selfMarker);
    } else {
      site = this.waitSite(th.worker, name);
    }
    th.waitReason = reason;
    th.wait = WaitState.Emitted;
    this.writer.waitBegin(th.worker, th.tx, t, reason, bw, btx, site);
  }

  /** Ends the open wait; `done` = by WAIT_DONE (only then is an inevitable wait charged, as in print_stm_log.py). */
  private closeWait(th: Thread, t: number, done: boolean): void {
    if (th.wait === WaitState.None) return;
    const dur = Math.max(0, t - th.waitBegin);
    if (th.wait === WaitState.Silent) {
      this.counts.silentPauseNs += dur;
      th.wait = WaitState.None;
      return;
    }
    th.wait = WaitState.None;
    const W = this.writer;
    W.waitEnd(th.worker, th.tx, t, th.waitReason);
    if (!done) return;
    if (th.waitInev) {
      if (dur > 0xffffffff) this.counts.saturatedWaits++;
      W.blocked(th.worker, th.tx, t, -1, 0, 0, dur);
    } else if (this.family === 'c7' && th.conflict && !th.conflict.remote) {
      // print_stm_log.py (c7) charges the pause to the local conflict and forgets it.
      const c = th.conflict;
      if (c.kind === ConflictKind.Inevitable && th.waitReason === WaitReason.InevitableCommit) {
        if (dur > 0xffffffff) this.counts.saturatedWaits++;
        W.blocked(th.worker, th.tx, t, c.otherWorker, c.otherTx, c.otherWorker >= 0 ? this.markerSite(c.otherWorker, c.otherMarker) : 0, dur);
      }
      th.conflict = null;
    }
  }
}

function order(id: string): number {
  return PYPY_VARIANTS.findIndex((v) => v.id === id);
}

function maxEventCode(b: Uint8Array, family: PypyFamily): number {
  const r = newRec();
  let at = 0;
  let m = 0;
  while (at < b.length) {
    const n = readRecord(b, at, b.length, family, r, 256);
    if (n <= 0) break;
    if (r.event > m) m = r.event;
    at += n;
  }
  return m;
}

function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
}

/** `53 54 4d … ("STM…")` for messages. */
export function describeBytes(b: Uint8Array): string {
  const head = b.subarray(0, 16);
  const hex = Array.from(head, (x) => x.toString(16).padStart(2, '0')).join(' ');
  const text = Array.from(head, (x) => (x >= 0x20 && x < 0x7f ? String.fromCharCode(x) : '.')).join('');
  return head.length ? `${hex} ("${text}")` : 'nothing';
}

/**
 * Converts a whole in-memory PyPy-STM log.
 * @throws PypyFormatError when the bytes are not a PyPy-STM log
 */
export function convertPypyLog(bytes: Uint8Array, opts: PypyImportOptions = {}): { bytes: Uint8Array; status: PypyImportStatus } {
  const pieces: Uint8Array[] = [];
  const conv = new PypyLogConverter((b) => pieces.push(b), opts);
  conv.feed(bytes);
  const status = conv.finish();
  return { bytes: concatBytes(pieces), status };
}
