/**
 * The commit protocol: snapshots, the read barrier and its validation, write
 * buffering, commit and write-back, the inevitable token and the clock
 * renormalisation — everything that makes transactions atomic and opaque.
 *
 * The shared heap and the transaction engine.
 *
 * One `Heap` object exists per (heap, thread): `createHeap()` makes the shared
 * memory and the creating thread's handle; `attachHeap(heap.shared)` in a worker
 * makes that worker's handle. The handle carries the thread's transaction state
 * (read log, write set, allocation buffer), so barriers touch only fields of one
 * monomorphic object.
 *
 * ## Algorithm
 *
 * A TL2-class STM with a global version clock that doubles as a sequence lock
 * (`GS`), per-slot versions, invisible reads, lazy write-back and snapshot
 * extension (as in TinySTM/LSA):
 *
 * - **start**: `snapshot = GS` (waiting while odd, i.e. while a commit writes back).
 * - **read**: load the value, then the slot's version; if the version is ≤ the
 *   snapshot, the value belongs to the snapshot. Otherwise validate the read set
 *   (every read slot's version ≤ snapshot), extend the snapshot to the current
 *   clock and read again, or abort. Write-back stores a slot's version *before*
 *   its value, so a reader that sees a new value also sees its new version
 *   (both accesses are plain typed-array loads/stores on one cache line; they
 *   keep program order in V8's compiler and on x86/ARM-TSO hardware, and the
 *   opacity test in stress.test.ts checks it). No Atomics operation and no
 *   shared cache line on the read path: a read costs a few plain loads, and
 *   readers never contend with other threads' commits (TL2 checks a per-stripe
 *   lock twice per read; node-costs.md).
 * - **write**: buffered in a private write set (open addressing, generation
 *   stamped, so clearing it is free).
 * - **commit** (writers only): validate, CAS `GS` from even `g` to `g+1`, write
 *   values back with version `g+2` and the writer's code site, record
 *   `(version → thread, txSeq)` in the commit log, release with `GS = g+2`.
 *   Read-only transactions commit without touching shared memory.
 *
 * Write-back is serialised by `GS`, but it is only the copy of the write set; the
 * transaction bodies run in parallel. Blind writes (a slot written but never
 * read) never conflict: the later commit simply wins, which keeps
 * insert-only operations such as a map's membership stamp conflict-free.
 *
 * **Opacity**: a read returns a value only while the snapshot is provably
 * current, so no attempt ever observes an inconsistent state, even one that
 * later aborts.
 *
 * **Conflict facts**: the failing read names the slot; its version names the
 * culprit commit through the commit log (thread, txSeq); the slot's site word
 * names the culprit's write site; the read log names the victim's access site
 * and object. The kind is write-write when the victim also writes the slot.
 *
 * **Inevitable transactions** hold the `INEV` token: while it is held no other
 * transaction may commit (they wait, reason `inevitable-commit`), so the
 * inevitable one can never be invalidated and always commits. A Dekker-style
 * handshake (writer: CAS GS then load INEV; inevitable: CAS INEV then wait for
 * an even GS) makes the token safe without a lock on the read path.
 *
 * **Contention management**: randomized exponential backoff after each abort;
 * after `maxRetries` consecutive aborts the transaction reruns inevitable, so
 * every transaction finishes (no livelock, no starvation of long transactions).
 *
 * ## Invariants (each one is relied on by a line of this file)
 *
 * 1. `GS` is even when no commit writes back; a committer holds it odd from
 *    the CAS `g → g+1` until the release store `g+2`. Versions only grow
 *    (until a renormalisation, which bumps `W_EPOCH` and voids all snapshots).
 * 2. Write-back stores a slot's version before its value; readers load the
 *    value before the version. So a slot read with version ≤ snapshot holds
 *    its value as of the snapshot, even while a later commit writes back —
 *    which is why `begin` may take `GS & ~1` without waiting.
 * 3. An attempt's `snapshot` is -1 exactly when it is outside a transaction or
 *    doomed, so the read fast path needs no other check.
 * 4. Every slot an attempt read is in its read log before the read returns;
 *    validation (`findInvalidRead`) of the log against a newer clock is what
 *    lets the snapshot move (extension) and what a commit does after the
 *    clock moved.
 * 5. A commit writes the commit-log entry of its version before it releases
 *    `GS`, so an aborting reader that finds a slot's version names the
 *    culprit (thread, txSeq) unless 4096 commits overwrote the entry since.
 * 6. While `W_INEV` is held no other transaction completes a commit: a
 *    committer CASes `GS` and then loads `W_INEV` (stepping back if set); the
 *    inevitable one CASes `W_INEV` and then waits for an even `GS` (Dekker).
 * 7. `T_IN_TX` is set before a snapshot is taken and cleared after the
 *    attempt ends; the renormaliser waits for all of them to be clear.
 */
import {
  commitLogWord,
  CL_INEVITABLE,
  COMMIT_LOG_MASK,
  CTRL_SLOTS,
  GS_RENORMALIZE_AT,
  THREAD_WORDS,
  T_IN_TX,
  T_WAIT,
  W_ALLOC_TOP,
  W_COMMIT_LOG,
  W_EPOCH,
  W_GS_WAITERS,
  W_INEV,
  W_INEV_REASON,
  W_INEV_SITE,
  W_INEV_TXSEQ,
  W_RECORDING,
  W_RENORM_LOCK,
  W_RING_RECORDS,
  W_THREADS,
  W_THREAD_TABLE,
  W_GS,
} from './layout.ts';
import { ABORT_SIGNAL, StmError } from './errors.ts';
import { RingWriter } from '../model/ring.ts';
import { ConflictKind, InevitableReason, WaitReason } from '../model/records.ts';
import { Recorder } from './recording.ts';
import { siteRegistry } from './sites.ts';
import { RECORDER } from './build-flags.ts';
import { NO_SLOT } from './heap-memory.ts';
import { TxLogs } from './tx-logs.ts';

/** The clock word (exported for the retry wait in heap.ts). */
export const GS_WORD = W_GS;

export type ThreadCommitHook = () => void;

/** Transaction state and the commit protocol of a thread's heap handle. */
export abstract class CommitProtocol extends TxLogs {
  protected doomed = false;
  /**
   * Non-zero when a write barrier must leave its fast path: bit 1 doomed, bit 2
   * recording. One test per write covers both (see rlLimit for reads).
   */
  protected writeFlags = 0;
  /** clock value the attempt's reads are consistent with; -1 outside transactions and when doomed */
  protected snapshot = -1;
  /** renormalisation count when the attempt began (a renormalisation voids every snapshot) */
  protected epoch = 0;

  txSeq = 0;
  attempt = 0;
  inevitable = false;
  /** keep INEV across a retry (becomeInevitable failed validation) */
  protected keepInevitable = false;
  protected attemptStartNs = 0;
  protected attemptWaitNs = 0;
  /** set while waiting on an inevitable transaction in this attempt */
  protected waitedOnInevitable = 0;
  protected commitHooks: ThreadCommitHook[] | null = null;
  protected txName = '';
  /** set by hintCommitSoon(), read and cleared by batching callers */
  commitSoon = false;

  // ---- recording --------------------------------------------------------
  /** true while the current attempt records events */
  recording = false;
  readonly siteCell: Int32Array = siteRegistry().cell;
  protected recorder: Recorder | null = null;
  /** the site usedSite() last defined in this recording session (0 is never defined) */
  private lastUsedSite = 0;

  // ---- last abort facts (raw; materialised by lastAbortInfo) ----------------
  protected la = {
    valid: false,
    kind: 0,
    obj: 0,
    slot: 0,
    culpritWorker: -1,
    culpritTxSeq: 0,
    culpritInevitable: false,
    txSeq: 0,
    attempt: 0,
    lost: 0,
    wait: 0,
    victimSite: 0,
    culpritSite: 0,
  };

  protected begin(attempt: number): void {
    this.inTx = true;
    this.doomed = false;
    this.writeFlags = RECORDER && this.recording ? 2 : 0;
    this.attempt = attempt;
    this.rlCount = 0;
    this.wsCount = 0;
    this.dlCount = 0;
    if (++this.wsGen === 0x7fffffff) {
      this.wsGens.fill(0);
      this.wsGen = 1;
    }
    this.commitHooks = null;
    this.commitSoon = false;
    this.attemptWaitNs = 0;
    this.waitedOnInevitable = 0;
    this.privLo = this.tlabPtr;
    this.privHi = this.tlabEnd;
    // W_RECORDING is 0 when nobody listens, else the number of the recording
    // session, so a thread notices a new session and re-sends its definitions.
    // It is polled every 32nd transaction (and at every retry): a recorder
    // attaching or leaving is noticed a few microseconds later, and the other
    // transactions save an Atomics load.
    if (RECORDER && (this.recordingPoll-- === 0 || attempt !== 0)) {
      this.recordingPoll = 31;
      const session = Atomics.load(this.i32, W_RECORDING);
      this.recording = session !== 0 && (this.recorderSession === session || this.startRecording(session));
      this.writeFlags = this.recording ? 2 : 0;
      this.rlLimit = this.recording ? 0 : this.rlCap;
    }
    this.attemptStartNs = this.clock.now();
    if (RECORDER && this.recording) this.recorder!.txStart(this.txSeq, attempt, this.attemptStartNs, this.txName, this.siteCell[0]);
    // announce the transaction before taking a snapshot (see renormalize)
    Atomics.store(this.i32, W_THREAD_TABLE + this.thread * THREAD_WORDS + T_IN_TX, 1);
    this.epoch = this.i32[W_EPOCH];
    if (this.keepInevitable || attempt >= this.maxRetries) {
      // never wait for a renormalisation while holding (or about to take) the
      // inevitable token: the renormaliser waits for transactions that need it
      if (!this.keepInevitable && Atomics.load(this.i32, GS_WORD) >= GS_RENORMALIZE_AT) this.awaitRenormalization();
      this.keepInevitable = false;
      this.enterInevitable(this.inevitable ? -1 : InevitableReason.RetryLimit);
    } else {
      // No waiting for an in-flight write-back: while GS is odd (g0 + 1) the
      // state as of g0 is still intact, because write-back stores a slot's new
      // version (g0 + 2) before its value, so every slot a reader finds with a
      // version ≤ g0 holds its value as of g0. A thread preempted in the middle
      // of its write-back (more threads than cores) so never stalls the others'
      // starts; only a reader that needs a slot of that very commit waits (readSlow).
      const g = Atomics.load(this.i32, GS_WORD);
      this.snapshot = g < GS_RENORMALIZE_AT ? g & ~1 : this.awaitRenormalization();
    }
  }

  /** Waits until no commit is writing back; returns the (even) clock. */
  protected waitEven(): number {
    const i32 = this.i32;
    let g = Atomics.load(i32, GS_WORD);
    let spins = 0;
    while ((g & 1) !== 0) {
      // a write-back takes well under a microsecond unless its thread was
      // preempted: spin briefly, then sleep until the committer notifies
      if (++spins > 64) {
        Atomics.add(i32, W_GS_WAITERS, 1);
        Atomics.wait(i32, GS_WORD, g, 2);
        Atomics.sub(i32, W_GS_WAITERS, 1);
      }
      g = Atomics.load(i32, GS_WORD);
    }
    return g;
  }

  // ---- barriers -----------------------------------------------------------

  /**
   * Transactional read of slot `s` of object `obj`. Outside a transaction it is
   * a plain read of the latest committed value of that one slot.
   */
  read(obj: number, s: number): number {
    // Outside a transaction and in a doomed attempt `snapshot` is -1, so the
    // version comparison below sends those cases to readSlow: the fast path
    // needs no extra checks for them. Objects allocated by this attempt need no
    // special case either: their slots have version 0 and are never in the
    // write set, so they read (and validate) like any other slot.
    if (this.wsCount !== 0) {
      const e = this.wsFind(s);
      if (e >= 0) return this.wsVal[e];
    }
    const v = this.f64[s << 1];
    // value first, then version (write-back stores them the other way round)
    if (this.i32[(s << 2) + 2] > this.snapshot) {
      const r = this.readSlow(obj, s);
      return this.dlCount !== 0 ? r + this.pendingAdds(s) : r;
    }
    const n = this.rlCount;
    if (n >= this.rlLimit) this.readLogSlow(n);
    this.rlSlot[n] = s;
    this.rlObj[n] = obj;
    this.rlCount = n + 1;
    // this attempt's own commutative adds to the slot (TCounter.add, TArray.add) are
    // applied at commit; a read sees them on top of the snapshot's value
    return this.dlCount !== 0 ? v + this.pendingAdds(s) : v;
  }

  /** A read-log append past rlLimit: grows the log when full, records the read's site when recording. */
  private readLogSlow(n: number): void {
    if (n === this.rlCap) this.growReadLog();
    if (RECORDER && this.recording) this.rlSite[n] = this.usedSite();
  }

  /**
   * The site of the access being made (recording only), defined in the
   * recording on first use. A loop makes its accesses from the same few sites:
   * the last one is remembered, so most accesses skip the recorder's lookup.
   */
  private usedSite(): number {
    const site = this.siteCell[0];
    if (site !== this.lastUsedSite) {
      this.recorder!.useSite(site);
      this.lastUsedSite = site;
    }
    return site;
  }

  protected readSlow(obj: number, s: number): number {
    if (!this.inTx) return this.f64[s << 1];
    if (this.doomed) throw ABORT_SIGNAL;
    for (;;) {
      const g = this.extendSnapshot();
      const v = this.f64[s << 1];
      // still newer than the extended snapshot: a commit is writing it right now
      if (this.i32[(s << 2) + 2] <= g) {
        const n = this.rlCount;
        if (n >= this.rlLimit) this.readLogSlow(n);
        this.rlSlot[n] = s;
        this.rlObj[n] = obj;
        this.rlCount = n + 1;
        return v;
      }
    }
  }

  /**
   * Revalidates the read set against the current clock and moves the snapshot
   * to it; aborts (throws) when a read slot changed after the snapshot.
   */
  protected extendSnapshot(): number {
    for (;;) {
      const g = this.waitEven();
      if (g === this.snapshot) return g;
      if (Atomics.load(this.i32, W_EPOCH) !== this.epoch) this.conflictAbort(-1);
      const bad = this.findInvalidRead();
      if (bad >= 0) this.conflictAbort(bad);
      // no commit may have started while we validated
      if (Atomics.load(this.i32, GS_WORD) === g) {
        this.snapshot = g;
        return g;
      }
    }
  }

  /** Index into the read log of the first read whose slot changed after the snapshot, or -1. */
  protected findInvalidRead(): number {
    const i32 = this.i32;
    const snap = this.snapshot;
    const slots = this.rlSlot;
    for (let i = 0, n = this.rlCount; i < n; i++) {
      if (i32[(slots[i] << 2) + 2] > snap) return i;
    }
    return -1;
  }

  /** Transactional write of slot `s` of object `obj`. */
  write(obj: number, s: number, v: number): void {
    if (!this.inTx) throw new StmError('transactional objects can only be modified inside atomic(): wrap the write in atomic(() => { ... })');
    if (s >= this.privLo && s < this.privHi) {
      this.f64[s << 1] = v;
      return;
    }
    let site = 0;
    if (this.writeFlags !== 0) {
      if (this.doomed) throw ABORT_SIGNAL;
      if (RECORDER && this.recording) site = this.usedSite();
    }
    // a write replaces whatever this transaction added to the slot before
    if (this.dlCount !== 0) this.cancelAdds(s);
    // one probe finds the slot's entry or the free place for it
    const gens = this.wsGens;
    const gen = this.wsGen;
    const mask = this.wsMask;
    let h = Math.imul(s, 0x9e3779b1) >>> this.wsShift;
    while (gens[h] === gen) {
      const e = this.wsTable[h];
      if (this.wsSlot[e] === s) {
        this.wsVal[e] = v;
        this.wsSite[e] = site;
        return;
      }
      h = (h + 1) & mask;
    }
    const e = this.wsCount;
    if (e === this.wsSlot.length || (e + 1) * 2 > gens.length) {
      this.wsInsert(obj, s, v, site);
      return;
    }
    gens[h] = gen;
    this.wsTable[h] = e;
    this.wsSlot[e] = s;
    this.wsObj[e] = obj;
    this.wsVal[e] = v;
    this.wsSite[e] = site;
    this.wsCount = e + 1;
  }

  /**
   * Adds `delta` to slot `s` at commit time. The slot is not read, so adds from
   * many transactions never conflict with each other (they do conflict with
   * transactions that read the slot). A later read in this transaction sees
   * the committed value plus its own pending delta.
   */
  addCommutative(obj: number, s: number, delta: number): void {
    if (!this.inTx) throw new StmError('commutative adds (TCounter.add, TArray.add) must run inside atomic()');
    if (s >= this.privLo && s < this.privHi) {
      this.f64[s << 1] += delta;
      return;
    }
    let site = 0;
    if (this.writeFlags !== 0) {
      if (this.doomed) throw ABORT_SIGNAL;
      if (RECORDER && this.recording) site = this.usedSite();
    }
    if (this.wsCount !== 0) {
      // an add to a slot this transaction wrote changes the written value
      const e = this.wsFind(s);
      if (e >= 0) {
        this.wsVal[e] += delta;
        this.wsSite[e] = site;
        return;
      }
    }
    let n = this.dlCount;
    if (n === this.dlSlot.length) this.growAddLog();
    this.dlSlot[n] = s;
    this.dlObj[n] = obj;
    this.dlVal[n] = delta;
    this.dlSite[n] = site;
    this.dlCount = n + 1;
  }

  // ---- commit ---------------------------------------------------------------

  protected commit(): void {
    if (this.doomed) throw ABORT_SIGNAL;
    const i32 = this.i32;
    if (this.wsCount === 0 && this.dlCount === 0) {
      // Read-only: the snapshot was current at the last read, so the
      // transaction serialises there. Nothing to publish.
      if (RECORDER && this.recording) this.recorder!.txCommit(this.txSeq, this.attempt, this.rlCount, 0, this.inevitable, 0);
      return;
    }
    // Fast path: nobody committed since our snapshot, so no validation is needed.
    let g = this.snapshot;
    if (Atomics.compareExchange(i32, GS_WORD, g, g + 1) === g) {
      if (!this.inevitable && Atomics.load(i32, W_INEV) !== 0) {
        // another transaction is inevitable: step back (nothing written) and wait for it
        Atomics.store(i32, GS_WORD, g);
        Atomics.notify(i32, GS_WORD);
        g = this.acquireCommitSlow();
      }
    } else {
      g = this.acquireCommitSlow();
    }
    const version = g + 2;
    const f64 = this.f64;
    const ws = this.wsSlot;
    // version before value: a reader that sees the new value sees the new version
    for (let e = 0, n = this.wsCount; e < n; e++) {
      const s = ws[e];
      i32[(s << 2) + 2] = version;
      i32[(s << 2) + 3] = this.wsSite[e];
      f64[s << 1] = this.wsVal[e];
    }
    const dl = this.dlSlot;
    for (let i = 0, n = this.dlCount; i < n; i++) {
      const s = dl[i];
      i32[(s << 2) + 2] = version;
      i32[(s << 2) + 3] = this.dlSite[i];
      f64[s << 1] += this.dlVal[i];
    }
    const cl = commitLogWord(version);
    i32[cl] = version;
    i32[cl + 1] = this.thread;
    i32[cl + 2] = this.txSeq;
    i32[cl + 3] = this.inevitable ? CL_INEVITABLE : 0;
    Atomics.store(i32, GS_WORD, version);
    if (Atomics.load(i32, W_GS_WAITERS) !== 0) Atomics.notify(i32, GS_WORD);
    if (version >= GS_RENORMALIZE_AT) this.mustRenormalize = true;
    if (RECORDER && this.recording) this.recorder!.txCommit(this.txSeq, this.attempt, this.rlCount, this.wsCount + this.dlCount, this.inevitable, version);
  }

  /**
   * Slow path of commit: the clock moved since the snapshot (validate first), a
   * commit is writing back (wait), or an inevitable transaction holds the token
   * (step back and wait for it). Returns the even clock value now held odd.
   */
  protected acquireCommitSlow(): number {
    const i32 = this.i32;
    const me = this.thread + 1;
    for (;;) {
      const g = this.waitEven();
      if (!this.inevitable) {
        const inev = Atomics.load(i32, W_INEV);
        if (inev !== 0 && inev !== me) {
          this.waitForInevitable(inev, WaitReason.InevitableCommit);
          continue;
        }
      }
      if (g !== this.snapshot) {
        if (Atomics.load(i32, W_EPOCH) !== this.epoch) this.conflictAbort(-1);
        const bad = this.findInvalidRead();
        if (bad >= 0) this.conflictAbort(bad);
        this.snapshot = g;
      }
      if (Atomics.compareExchange(i32, GS_WORD, g, g + 1) !== g) continue;
      if (!this.inevitable) {
        const inev = Atomics.load(i32, W_INEV);
        if (inev !== 0 && inev !== me) {
          // an inevitable transaction appeared: step back (nothing was written)
          Atomics.store(i32, GS_WORD, g);
          Atomics.notify(i32, GS_WORD);
          continue;
        }
      }
      return g;
    }
  }

  protected mustRenormalize = false;

  /**
   * Resets the version clock before it overflows an Int32 (after ~5×10^8
   * commits). The thread whose commit crossed the limit runs it after its
   * transaction ended: new transactions wait at begin (they see the clock at
   * or past the limit), the renormaliser waits until no thread is inside a
   * transaction (T_IN_TX, set before a snapshot is taken: a Dekker handshake
   * with the clock), then, holding the clock, sets every version word of the
   * object region to 0 and restarts the clock at 2. Metadata whose words sit
   * where versions would (strings, index tables, type records) lives in the
   * separate metadata region at the top of the heap.
   *
   * Limitation: a transaction that blocks inside itself waiting for another
   * thread's *new* transaction (never a good idea) stalls the renormalisation.
   */
  protected renormalize(): void {
    this.mustRenormalize = false;
    const i32 = this.i32;
    if (Atomics.compareExchange(i32, W_RENORM_LOCK, 0, 1) !== 0) return; // another thread does it
    try {
      if (Atomics.load(i32, GS_WORD) < GS_RENORMALIZE_AT) return; // already done
      const n = Math.min(Atomics.load(i32, W_THREADS), this.maxThreads);
      const deadline = Date.now() + 10_000;
      for (let t = 0; t < n; t++) {
        if (t === this.thread) continue;
        const w = W_THREAD_TABLE + t * THREAD_WORDS + T_IN_TX;
        while (Atomics.load(i32, w) === 1) {
          if (Date.now() > deadline) {
            // a thread that died inside a transaction never clears its flag;
            // a live one that is stuck will abort at its next validation (epoch)
            process.emitWarning(`stmscope: thread ${t} stayed inside one transaction for 10 s while the version clock was renormalised`);
            break;
          }
          Atomics.wait(i32, w, 1, 1);
        }
      }
      let g: number;
      for (;;) {
        g = this.waitEven();
        if (Atomics.compareExchange(i32, GS_WORD, g, g + 1) === g) break;
      }
      const top = Math.min(Atomics.load(i32, W_ALLOC_TOP), this.totalSlots);
      for (let s = CTRL_SLOTS; s < top; s++) {
        const w = (s << 2) + 2;
        if (i32[w] > 0) i32[w] = 0;
      }
      i32.fill(0, W_COMMIT_LOG, W_COMMIT_LOG + 4 * (COMMIT_LOG_MASK + 1));
      Atomics.add(i32, W_EPOCH, 1);
      Atomics.store(i32, GS_WORD, 2);
    } finally {
      Atomics.store(i32, W_RENORM_LOCK, 0);
      Atomics.notify(i32, GS_WORD);
    }
  }

  /** At begin: the clock reached the renormalisation point; step out of the way until it restarts. */
  protected awaitRenormalization(): number {
    const i32 = this.i32;
    const inTxWord = W_THREAD_TABLE + this.thread * THREAD_WORDS + T_IN_TX;
    for (;;) {
      Atomics.store(i32, inTxWord, 0);
      let g = Atomics.load(i32, GS_WORD);
      while (g >= GS_RENORMALIZE_AT) {
        // nobody may have claimed the renormalisation yet (its thread may be idle): do it
        if (Atomics.load(i32, W_RENORM_LOCK) === 0) this.renormalize();
        Atomics.wait(i32, GS_WORD, g, 1);
        g = Atomics.load(i32, GS_WORD);
      }
      Atomics.store(i32, inTxWord, 1);
      g = this.waitEven();
      if (g < GS_RENORMALIZE_AT) return g;
    }
  }

  /** Leaves transactional mode: barriers fall back to their non-transactional behaviour. */
  protected endAttempt(): void {
    this.inTx = false;
    this.i32[W_THREAD_TABLE + this.thread * THREAD_WORDS + T_IN_TX] = 0;
    this.snapshot = -1;
    this.wsCount = 0;
    this.dlCount = 0;
    this.privLo = NO_SLOT;
    this.privHi = 0;
  }

  // ---- aborts ---------------------------------------------------------------

  /**
   * Aborts the attempt because read `idx` of the read log was invalidated
   * (idx -1: the version clock was renormalised). Records the conflict facts,
   * then throws the abort signal.
   */
  protected conflictAbort(idx: number): never {
    const la = this.la;
    la.valid = true;
    la.txSeq = this.txSeq;
    la.attempt = this.attempt;
    la.wait = this.attemptWaitNs;
    la.lost = Math.max(0, this.clock.now() - this.attemptStartNs - this.attemptWaitNs);
    if (idx < 0) {
      la.kind = ConflictKind.WriteRead;
      la.obj = 0;
      la.slot = 0;
      la.culpritWorker = -1;
      la.culpritTxSeq = 0;
      la.culpritInevitable = false;
      la.victimSite = 0;
      la.culpritSite = 0;
    } else {
      const s = this.rlSlot[idx];
      const i32 = this.i32;
      const version = i32[(s << 2) + 2];
      const cl = commitLogWord(version);
      la.obj = this.rlObj[idx];
      la.slot = s;
      la.culpritSite = i32[(s << 2) + 3];
      la.victimSite = this.recording ? this.rlSite[idx] : 0;
      if (i32[cl] === version) {
        la.culpritWorker = i32[cl + 1];
        la.culpritTxSeq = i32[cl + 2] >>> 0;
        la.culpritInevitable = (i32[cl + 3] & CL_INEVITABLE) !== 0;
      } else {
        la.culpritWorker = -1;
        la.culpritTxSeq = 0;
        la.culpritInevitable = false;
      }
      if (la.culpritInevitable && this.waitedOnInevitable === la.culpritWorker + 1) la.kind = ConflictKind.Inevitable;
      else la.kind = this.writes(s) ? ConflictKind.WriteWrite : ConflictKind.WriteRead;
    }
    this.doom();
    if (this.recording) this.recordAbort();
    throw ABORT_SIGNAL;
  }

  protected doom(): void {
    this.doomed = true;
    this.writeFlags |= 1;
    this.snapshot = -1;
  }

  protected recordAbort(): void {
    const la = this.la;
    const now = this.clock.now();
    let victimSite = la.victimSite;
    if (victimSite === 0) victimSite = this.recorder!.captureAbortSite(la.slot, now);
    this.recorder!.txAbort(this.txSeq, this.attempt, now, la.kind, la.obj, la.slot, victimSite, la.culpritWorker, la.culpritTxSeq, la.culpritSite, la.wait);
  }

  /**
   * Takes the INEV token (waiting for another inevitable transaction to finish),
   * then waits for in-flight write-back and validates: a transaction that
   * already read stale data must abort once, and reruns inevitable from the start.
   */
  protected enterInevitable(reason: number): void {
    const i32 = this.i32;
    const me = this.thread + 1;
    if (Atomics.load(i32, W_INEV) !== me) {
      for (;;) {
        const other = Atomics.compareExchange(i32, W_INEV, 0, me);
        if (other === 0) break;
        this.waitForInevitable(other, WaitReason.InevitableBecome);
      }
      i32[W_INEV_TXSEQ] = this.txSeq;
      i32[W_INEV_SITE] = this.recording ? this.recorder!.useSite(this.siteCell[0]) : 0;
      i32[W_INEV_REASON] = reason < 0 ? InevitableReason.RetryLimit : reason;
    }
    this.inevitable = true;
    const g = this.waitEven();
    if (this.rlCount === 0 && this.wsCount === 0) {
      this.snapshot = g;
    } else if (g !== this.snapshot) {
      const bad = g < this.snapshot ? -1 : this.findInvalidRead();
      if (bad !== -1 || g < this.snapshot) {
        this.keepInevitable = true;
        this.conflictAbort(bad);
      }
      this.snapshot = g;
    }
    if (reason >= 0 && this.recording) this.recorder!.txInevitable(this.txSeq, this.clock.now(), reason, this.siteCell[0]);
  }

  protected releaseInevitable(): void {
    this.inevitable = false;
    Atomics.store(this.i32, W_INEV, 0);
    Atomics.notify(this.i32, W_INEV);
  }

  /** Blocks while thread `inev - 1` holds the inevitable token; records the wait. */
  protected waitForInevitable(inev: number, reason: WaitReason): void {
    const i32 = this.i32;
    const blocker = inev - 1;
    const blockerTx = i32[W_INEV_TXSEQ] >>> 0;
    const blockerSite = i32[W_INEV_SITE];
    const blockerReason = i32[W_INEV_REASON];
    const t0 = this.clock.now();
    if (this.recording) this.recorder!.waitBegin(this.txSeq, t0, reason, blocker, blockerTx, this.siteCell[0]);
    const stateWord = W_THREAD_TABLE + this.thread * THREAD_WORDS + T_WAIT;
    Atomics.store(i32, stateWord, reason);
    let spins = 0;
    while (Atomics.load(i32, W_INEV) === inev) {
      if (++spins > 200) Atomics.wait(i32, W_INEV, inev, 5);
    }
    Atomics.store(i32, stateWord, 0);
    const t1 = this.clock.now();
    this.attemptWaitNs += t1 - t0;
    this.waitedOnInevitable = inev;
    if (this.recording) {
      this.recorder!.waitEnd(this.txSeq, t1, reason);
      this.recorder!.blocked(this.txSeq, t1, blocker, blockerTx, blockerSite, t1 - t0, blockerReason);
    }
  }

  // Recording

  protected recorderSession = 0;
  /** transactions until the next look at W_RECORDING */
  protected recordingPoll = 0;

  protected startRecording(session: number): boolean {
    this.lastUsedSite = 0; // a new session defines its sites anew
    if (this.recorder === null) {
      const ring = new RingWriter(this.shared.rings, this.thread, this.i32[W_RING_RECORDS]);
      this.recorder = new Recorder(this, ring, this.shared.options.stackDepth);
    } else {
      this.recorder.reset();
    }
    this.recorderSession = session;
    return true;
  }
}
