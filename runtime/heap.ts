/**
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
 */
import {
  commitLogWord,
  CL_INEVITABLE,
  COMMIT_LOG_MASK,
  CTRL_SLOTS,
  DEFAULT_HEAP_BYTES,
  DEFAULT_MAX_THREADS,
  DEFAULT_RING_RECORDS,
  GS_RENORMALIZE_AT,
  HEADER_MARK,
  HEAP_LAYOUT_VERSION,
  HEAP_MAGIC,
  LARGE_OBJECT_SLOTS,
  MAX_HEAP_BYTES,
  MIN_HEAP_BYTES,
  SLOT_BYTES,
  THREAD_WORDS,
  TLAB_SLOTS,
  T_STATE,
  T_IN_TX,
  T_WAIT,
  W_ALLOC_FAILS,
  W_ALLOC_LOCK,
  W_ALLOC_TOP,
  W_META_TOP,
  W_COMMIT_LOG,
  W_EPOCH,
  W_EPOCH_F64,
  W_GS,
  W_GS_WAITERS,
  W_INEV,
  W_INEV_REASON,
  W_INEV_SITE,
  W_INEV_TXSEQ,
  W_LAYOUT,
  W_MAGIC,
  W_MAX_THREADS,
  W_RECORDING,
  W_RENORM_LOCK,
  W_REGISTRY_LOCK,
  W_RING_RECORDS,
  W_THREADS,
  W_THREAD_TABLE,
  W_TOTAL_SLOTS,
} from './layout.ts';
import { ABORT_SIGNAL, HeapFullError, StmError, formatBytes } from './errors.ts';
import { Clock, hrtimeNs } from './clock.ts';
import { RingWriter, ringBufferBytes } from '../model/ring.ts';
import { ConflictKind, InevitableReason, WaitReason } from '../model/records.ts';
import { Recorder } from './recording.ts';
import { siteRegistry } from './sites.ts';
import { startAgent } from './agent-launch.ts';
import { RECORDER } from './build-flags.ts';
import { lockWord, unlockWord } from './spinlock.ts';
import type { HeapViews } from './heap-reader.ts';

/** Options of `createHeap`. */
export interface HeapOptions {
  /** Size of the shared heap in bytes. Default 64 MiB. Each field, array element or map value takes 16 bytes. */
  size?: number;
  /** Most threads that may ever attach (creator included). Default 64, at most 254. */
  maxThreads?: number;
  /** Consecutive aborts before a transaction reruns inevitable. Default 10. */
  maxRetries?: number;
  /** Event ring size per thread, in 32-byte records (power of two). Default 16384 (512 KiB). */
  ringRecords?: number;
  /** First backoff window in ns (doubled per abort, randomized). Default 1000. */
  backoffBaseNs?: number;
  /** Largest backoff window in ns. Default 1_000_000 (1 ms). */
  backoffCapNs?: number;
  /** Frames kept per captured stack when recording. Default 16. */
  stackDepth?: number;
  /**
   * Start the in-process agent for this heap (the first heap of a process):
   * lets `stmscope attach` and the dashboard attach later, and records when the
   * program runs under `stmscope record/run`. Default true; the environment
   * variable STMSCOPE_AGENT=0 also disables it.
   */
  agent?: boolean;
  /** @internal starting value of the version clock (tests of its renormalisation). Default 2. */
  initialClock?: number;
}

/** What another thread needs to attach: pass it through `workerData` or `postMessage`. */
export interface SharedHeap {
  readonly heap: SharedArrayBuffer;
  readonly rings: SharedArrayBuffer;
  readonly options: Required<Pick<HeapOptions, 'maxRetries' | 'backoffBaseNs' | 'backoffCapNs' | 'stackDepth'>>;
}

/** Facts about the most recent abort in this thread (`lastAbortInfo()`). */
export interface AbortInfo {
  kind: 'write-read' | 'write-write' | 'inevitable' | 'user-abort';
  /** object id (heap address) or 0 when unknown */
  objectId: number;
  /** type name of the object ('' when unknown) */
  type: string;
  /** field name, array index or map key as text ('' when unknown) */
  field: string;
  /** `Account#17.balance`, `orders["x42"]`, `accounts[3]` */
  label: string;
  /** the committed transaction that invalidated this one, or null when unknown */
  culprit: { worker: number; txSeq: number; inevitable: boolean } | null;
  /** this thread's index and transaction sequence number */
  worker: number;
  txSeq: number;
  /** attempt number (0 = first) that aborted */
  attempt: number;
  /** duration of the aborted attempt, ns (waits excluded) */
  timeLostNs: number;
  /** time the aborted attempt spent waiting, ns */
  waitNs: number;
}

/** Handle given to `atomic` callbacks. Valid only until its transaction ends. */
export interface Transaction {
  /** this thread's index in the heap */
  readonly worker: number;
  /** sequence number of the transaction in this thread */
  readonly seq: number;
  /** 0 for the first attempt */
  readonly attempt: number;
  readonly isInevitable: boolean;
  /** Turns this transaction inevitable: it will not abort, others wait for it to commit. For irrevocable work such as I/O. */
  becomeInevitable(): void;
  /** Aborts this attempt (recorded as a user abort), waits until another transaction commits, and runs again. */
  retry(): never;
  /** Runs `fn` after this transaction commits (never if it fails). */
  onCommit(fn: () => void): void;
  /** Hint that the surrounding batch should end after this transaction (see TransactionPool batching). */
  hintCommitSoon(): void;
}

const GS_WORD = W_GS;
const NO_SLOT = 0x7fffffff;

let current: Heap | null = null;

/** The heap this thread uses by default (the last one created or attached here). */
export function currentHeap(): Heap {
  if (current === null) throw new StmError('no heap in this thread: call createHeap() (or attachHeap(shared) in a worker) first');
  return current;
}

export function hasCurrentHeap(): boolean {
  return current !== null;
}

/** Makes `heap` the default heap of this thread. */
export function useHeap(heap: Heap): void {
  current = heap;
}

/**
 * Creates a shared heap and attaches the calling thread to it (as worker 0).
 * @param options sizes and contention settings; every field has a default.
 */
export function createHeap(options: HeapOptions = {}): Heap {
  const size = options.size ?? DEFAULT_HEAP_BYTES;
  if (!Number.isInteger(size) || size < MIN_HEAP_BYTES || size > MAX_HEAP_BYTES) {
    throw new StmError(`heap size must be an integer from ${formatBytes(MIN_HEAP_BYTES)} to ${formatBytes(MAX_HEAP_BYTES)}, got ${size}`);
  }
  const maxThreads = options.maxThreads ?? DEFAULT_MAX_THREADS;
  if (!Number.isInteger(maxThreads) || maxThreads < 1 || maxThreads > 254) {
    throw new StmError(`maxThreads must be an integer from 1 to 254, got ${maxThreads}`);
  }
  const ringRecords = options.ringRecords ?? DEFAULT_RING_RECORDS;
  if (!Number.isInteger(ringRecords) || ringRecords < 64 || (ringRecords & (ringRecords - 1)) !== 0) {
    throw new StmError(`ringRecords must be a power of two ≥ 64, got ${ringRecords}`);
  }
  const totalSlots = Math.floor(size / SLOT_BYTES);
  const sab = new SharedArrayBuffer(totalSlots * SLOT_BYTES);
  const rings = new SharedArrayBuffer(ringBufferBytes(maxThreads, ringRecords));
  const i32 = new Int32Array(sab);
  i32[W_MAGIC] = HEAP_MAGIC;
  i32[W_LAYOUT] = HEAP_LAYOUT_VERSION;
  i32[W_TOTAL_SLOTS] = totalSlots;
  i32[W_MAX_THREADS] = maxThreads;
  i32[W_RING_RECORDS] = ringRecords;
  const clock0 = options.initialClock ?? 2;
  if (!Number.isInteger(clock0) || clock0 < 2 || clock0 % 2 !== 0 || clock0 >= GS_RENORMALIZE_AT) throw new StmError('initialClock must be an even integer ≥ 2 below the renormalisation point');
  i32[W_GS] = clock0;
  i32[W_ALLOC_TOP] = CTRL_SLOTS;
  i32[W_META_TOP] = totalSlots;
  new Float64Array(sab)[W_EPOCH_F64] = hrtimeNs();
  const shared: SharedHeap = {
    heap: sab,
    rings,
    options: {
      maxRetries: options.maxRetries ?? 10,
      backoffBaseNs: options.backoffBaseNs ?? 1000,
      backoffCapNs: options.backoffCapNs ?? 1_000_000,
      stackDepth: options.stackDepth ?? (Number(process.env.STMSCOPE_STACK_DEPTH) || 16),
    },
  };
  const heap = new Heap(shared);
  heap.initRegistry();
  if (options.agent !== false) startAgent(shared);
  return heap;
}

/** Attaches this thread to a heap created elsewhere; it becomes the thread's default heap. */
export function attachHeap(shared: SharedHeap): Heap {
  if (!shared || !(shared.heap instanceof SharedArrayBuffer)) {
    throw new StmError('attachHeap expects the `shared` property of a heap (heap.shared), passed through workerData or postMessage');
  }
  const i32 = new Int32Array(shared.heap);
  if (i32[W_MAGIC] !== HEAP_MAGIC) throw new StmError('attachHeap: this SharedArrayBuffer is not an stmscope heap');
  if (i32[W_LAYOUT] !== HEAP_LAYOUT_VERSION) {
    throw new StmError(`attachHeap: heap layout version ${i32[W_LAYOUT]} differs from this runtime's ${HEAP_LAYOUT_VERSION}`);
  }
  return new Heap(shared);
}

type ThreadCommitHook = () => void;

/** A thread's handle on a shared heap, and its transaction engine. */
export class Heap implements HeapViews {
  readonly shared: SharedHeap;
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  readonly u16: Uint16Array;
  readonly totalSlots: number;
  /** this thread's index (the `worker` in events) */
  readonly thread: number;
  readonly maxThreads: number;
  readonly clock: Clock;
  readonly maxRetries: number;
  private readonly backoffBaseNs: number;
  private readonly backoffCapNs: number;

  // ---- allocation -------------------------------------------------------
  private tlabPtr = 0;
  private tlabEnd = 0;
  private permPtr = 0;
  private permEnd = 0;

  // ---- transaction state (hot: read by every barrier) ---------------------
  inTx = false;
  private doomed = false;
  /** clock value the attempt's reads are consistent with; -1 outside transactions and when doomed */
  private snapshot = -1;
  /** renormalisation count when the attempt began (a renormalisation voids every snapshot) */
  private epoch = 0;
  /** allocation range private to the running attempt: [privLo, privHi) */
  private privLo = NO_SLOT;
  private privHi = 0;
  /** read log */
  private rlSlot = new Int32Array(1024);
  private rlObj = new Int32Array(1024);
  private rlSite = new Int32Array(1024);
  private rlCount = 0;
  private rlCap = 1024;
  /** write set: entries in insertion order, indexed by an open-addressing table */
  private wsSlot = new Int32Array(64);
  private wsObj = new Int32Array(64);
  private wsSite = new Int32Array(64);
  private wsVal = new Float64Array(64);
  private wsCount = 0;
  private wsTable = new Int32Array(256);
  private wsGens = new Int32Array(256);
  private wsGen = 1;
  private wsShift = 32 - 8;
  private wsMask = 255;
  /**
   * Commutative adds (TCounter.add, TArray.add): an append-only log applied at
   * commit, so an add costs a few plain stores and needs no lookup. Several
   * entries may name the same slot; they all add up.
   */
  private dlSlot = new Int32Array(64);
  private dlObj = new Int32Array(64);
  private dlSite = new Int32Array(64);
  private dlVal = new Float64Array(64);
  private dlCount = 0;

  txSeq = 0;
  attempt = 0;
  inevitable = false;
  /** keep INEV across a retry (becomeInevitable failed validation) */
  private keepInevitable = false;
  private attemptStartNs = 0;
  private attemptWaitNs = 0;
  /** set while waiting on an inevitable transaction in this attempt */
  private waitedOnInevitable = 0;
  private commitHooks: ThreadCommitHook[] | null = null;
  private txName = '';
  /** set by hintCommitSoon(), read and cleared by batching callers */
  commitSoon = false;
  private handle: TxHandle | null = null;

  // ---- recording --------------------------------------------------------
  /** true while the current attempt records events */
  recording = false;
  readonly siteCell: Int32Array;
  private recorder: Recorder | null = null;

  // ---- last abort facts (raw; materialised by lastAbortInfo) ----------------
  private la = {
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

  /** @internal use createHeap/attachHeap */
  constructor(shared: SharedHeap) {
    this.shared = shared;
    this.i32 = new Int32Array(shared.heap);
    this.f64 = new Float64Array(shared.heap);
    this.u16 = new Uint16Array(shared.heap);
    this.totalSlots = this.i32[W_TOTAL_SLOTS];
    this.maxThreads = this.i32[W_MAX_THREADS];
    const t = Atomics.add(this.i32, W_THREADS, 1);
    if (t >= this.maxThreads) {
      Atomics.sub(this.i32, W_THREADS, 1);
      throw new StmError(`too many threads attached to this heap (maxThreads = ${this.maxThreads}); create the heap with a larger maxThreads`);
    }
    this.thread = t;
    Atomics.store(this.i32, W_THREAD_TABLE + t * THREAD_WORDS + T_STATE, 1);
    this.clock = new Clock(this.f64[W_EPOCH_F64]);
    this.maxRetries = shared.options.maxRetries;
    this.backoffBaseNs = shared.options.backoffBaseNs;
    this.backoffCapNs = shared.options.backoffCapNs;
    this.siteCell = siteRegistry().cell;
    current = this;
  }

  /** Epoch of event timestamps (process.hrtime ns). */
  get epochHrNs(): number {
    return this.f64[W_EPOCH_F64];
  }

  /** Bytes of the heap in use (allocated by any thread). */
  get usedBytes(): number {
    return (Atomics.load(this.i32, W_ALLOC_TOP) + this.totalSlots - Atomics.load(this.i32, W_META_TOP)) * SLOT_BYTES;
  }

  get sizeBytes(): number {
    return this.totalSlots * SLOT_BYTES;
  }

  /** Marks this thread as gone (its ring is drained and then ignored). */
  detach(): void {
    Atomics.store(this.i32, W_THREAD_TABLE + this.thread * THREAD_WORDS + T_STATE, 2);
    this.recorder?.flush();
    if (current === this) current = null;
  }

  // ========================================================================
  // Allocation
  // ========================================================================

  /** Takes `n` slots from the bottom (object region) or the top (metadata region) of the free space. */
  private bump(n: number, meta = false): number {
    const i32 = this.i32;
    lockWord(i32, W_ALLOC_LOCK);
    try {
      const bottom = i32[W_ALLOC_TOP];
      const top = i32[W_META_TOP];
      if (bottom + n > top) {
        i32[W_ALLOC_FAILS] += 1;
        throw new HeapFullError(n * SLOT_BYTES, this.totalSlots * SLOT_BYTES);
      }
      if (meta) {
        Atomics.store(i32, W_META_TOP, top - n);
        return top - n;
      }
      Atomics.store(i32, W_ALLOC_TOP, bottom + n);
      return bottom;
    } finally {
      unlockWord(i32, W_ALLOC_LOCK);
    }
  }

  /** Allocates zeroed slots in the metadata region (strings, index tables, type records). Never reclaimed. */
  allocMeta(n: number): number {
    const a = this.bump(n, true);
    this.zero(a, n);
    return a;
  }

  /**
   * Allocates `n` zeroed slots for a new object. Inside a transaction the memory
   * is private to the attempt until commit (writes go straight to memory, no
   * conflict tracking) and is reclaimed if the attempt aborts.
   */
  alloc(n: number): number {
    if (n <= LARGE_OBJECT_SLOTS && this.tlabPtr + n <= this.tlabEnd) {
      const a = this.tlabPtr;
      this.tlabPtr += n;
      this.zero(a, n);
      return a;
    }
    return this.allocSlow(n, false);
  }

  /** Allocates object-region memory that is never reclaimed, even if the current attempt aborts (map entries, roots). */
  allocPermanent(n: number): number {
    if (n <= LARGE_OBJECT_SLOTS && this.permPtr + n <= this.permEnd) {
      const a = this.permPtr;
      this.permPtr += n;
      this.zero(a, n);
      return a;
    }
    return this.allocSlow(n, true);
  }

  /** A large object straight from the shared pointer, or a fresh 16 KiB buffer. */
  private allocSlow(n: number, permanent: boolean): number {
    if (n > LARGE_OBJECT_SLOTS) {
      const a = this.bump(n);
      this.zero(a, n);
      return a;
    }
    const b = this.bump(TLAB_SLOTS);
    if (permanent) {
      this.permPtr = b + n;
      this.permEnd = b + TLAB_SLOTS;
    } else {
      this.tlabPtr = b + n;
      this.tlabEnd = b + TLAB_SLOTS;
      if (this.inTx) {
        // objects of this attempt in the previous buffer stay correct through
        // the ordinary barriers; only the new buffer gets the private fast path
        this.privLo = b;
        this.privHi = this.tlabEnd;
      }
    }
    this.zero(b, n);
    return b;
  }

  private zero(a: number, n: number): void {
    this.i32.fill(0, 4 * a, 4 * (a + n));
  }

  /** Writes an object header. */
  initHeader(a: number, typeId: number, label: number, serial: number): void {
    const w = 4 * a;
    this.i32[w] = typeId;
    this.i32[w + 1] = label;
    this.i32[w + 2] = HEADER_MARK;
    this.i32[w + 3] = serial;
  }

  // ========================================================================
  // Registry lock (type records, string/root creation; never held across user code)
  // ========================================================================

  lockRegistry(): void {
    lockWord(this.i32, W_REGISTRY_LOCK);
  }

  unlockRegistry(): void {
    unlockWord(this.i32, W_REGISTRY_LOCK);
  }

  /** @internal called once by createHeap */
  initRegistry(): void {
    registryInit?.(this);
  }

  // ========================================================================
  // Transactions
  // ========================================================================

  /**
   * Runs `fn` atomically: isolated from other threads' transactions and applied
   * all at once at commit, re-run transparently after conflicts. Nested calls
   * join the outer transaction. An exception thrown by `fn` discards the
   * transaction's writes and propagates.
   *
   * @param fn synchronous callback; its return value is returned
   * @param options.name names the transaction in recordings and reports
   */
  atomic<T>(fn: (tx: Transaction) => T, options?: { name?: string }): T {
    if (this.inTx) return fn(this.txHandle());
    if (current !== this) current = this;
    this.txSeq = (this.txSeq + 1) >>> 0;
    this.txName = options?.name ?? '';
    // callbacks that take no parameter get no handle: one allocation less per attempt
    const wantsHandle = fn.length !== 0;
    let attempt = 0;
    for (;;) {
      this.begin(attempt);
      try {
        const result = fn(wantsHandle ? this.txHandle() : (undefined as unknown as Transaction));
        this.commit();
        this.finishCommitted();
        return result;
      } catch (e) {
        if (e === ABORT_SIGNAL || this.doomed) {
          // aborted (conflict, user retry) or a doomed attempt whose user code
          // swallowed the abort signal and threw something else
          this.rollback();
          this.afterAbort(attempt);
          attempt++;
          continue;
        }
        this.fail(e);
        throw e;
      } finally {
        if (this.handle !== null) {
          this.handle.ended = true;
          this.handle = null;
        }
      }
    }
  }

  /** The handle of the running attempt (created on first request). */
  private txHandle(): TxHandle {
    return (this.handle ??= new TxHandle(this, this.txSeq, this.attempt));
  }

  private begin(attempt: number): void {
    this.inTx = true;
    this.doomed = false;
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
  private waitEven(): number {
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
    if (this.dlCount !== 0) return this.readSlow(obj, s) + this.pendingAdds(s);
    const v = this.f64[s << 1];
    // value first, then version (write-back stores them the other way round)
    if (this.i32[(s << 2) + 2] > this.snapshot) return this.readSlow(obj, s);
    const n = this.rlCount;
    if (n === this.rlCap) this.growReadLog();
    this.rlSlot[n] = s;
    this.rlObj[n] = obj;
    if (RECORDER && this.recording) this.rlSite[n] = this.recorder!.useSite(this.siteCell[0]);
    this.rlCount = n + 1;
    return v;
  }

  private readSlow(obj: number, s: number): number {
    if (!this.inTx) return this.f64[s << 1];
    if (this.doomed) throw ABORT_SIGNAL;
    for (;;) {
      const g = this.extendSnapshot();
      const v = this.f64[s << 1];
      // still newer than the extended snapshot: a commit is writing it right now
      if (this.i32[(s << 2) + 2] <= g) {
        const n = this.rlCount;
        if (n === this.rlCap) this.growReadLog();
        this.rlSlot[n] = s;
        this.rlObj[n] = obj;
        if (RECORDER && this.recording) this.rlSite[n] = this.recorder!.useSite(this.siteCell[0]);
        this.rlCount = n + 1;
        return v;
      }
    }
  }

  /**
   * Revalidates the read set against the current clock and moves the snapshot
   * to it; aborts (throws) when a read slot changed after the snapshot.
   */
  private extendSnapshot(): number {
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
  private findInvalidRead(): number {
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
    if (this.doomed) throw ABORT_SIGNAL;
    const site = RECORDER && this.recording ? this.recorder!.useSite(this.siteCell[0]) : 0;
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
    if (this.doomed) throw ABORT_SIGNAL;
    const site = RECORDER && this.recording ? this.recorder!.useSite(this.siteCell[0]) : 0;
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

  /** Sum of this transaction's pending adds to slot `s`. */
  private pendingAdds(s: number): number {
    let sum = 0;
    for (let i = 0, n = this.dlCount; i < n; i++) if (this.dlSlot[i] === s) sum += this.dlVal[i];
    return sum;
  }

  private cancelAdds(s: number): void {
    for (let i = 0, n = this.dlCount; i < n; i++) if (this.dlSlot[i] === s) this.dlVal[i] = 0;
  }

  private growAddLog(): void {
    const n = this.dlSlot.length * 2;
    this.dlSlot = grow32(this.dlSlot, n);
    this.dlObj = grow32(this.dlObj, n);
    this.dlSite = grow32(this.dlSite, n);
    const v = new Float64Array(n);
    v.set(this.dlVal);
    this.dlVal = v;
  }

  private wsFind(s: number): number {
    const gens = this.wsGens;
    const gen = this.wsGen;
    const mask = this.wsMask;
    let h = Math.imul(s, 0x9e3779b1) >>> this.wsShift;
    for (;;) {
      if (gens[h] !== gen) return -1;
      const e = this.wsTable[h];
      if (this.wsSlot[e] === s) return e;
      h = (h + 1) & mask;
    }
  }

  private wsInsert(obj: number, s: number, v: number, site: number): void {
    const e = this.wsCount;
    if (e === this.wsSlot.length) {
      const n = e * 2;
      this.wsSlot = grow32(this.wsSlot, n);
      this.wsObj = grow32(this.wsObj, n);
      this.wsSite = grow32(this.wsSite, n);
      const vals = new Float64Array(n);
      vals.set(this.wsVal);
      this.wsVal = vals;
    }
    this.wsSlot[e] = s;
    this.wsObj[e] = obj;
    this.wsVal[e] = v;
    this.wsSite[e] = site;
    this.wsCount = e + 1;
    if ((e + 1) * 2 > this.wsTable.length) this.rebuildWsTable(this.wsTable.length * 2);
    else this.wsIndex(s, e);
  }

  private wsIndex(s: number, e: number): void {
    const mask = this.wsMask;
    let h = Math.imul(s, 0x9e3779b1) >>> this.wsShift;
    while (this.wsGens[h] === this.wsGen) h = (h + 1) & mask;
    this.wsGens[h] = this.wsGen;
    this.wsTable[h] = e;
  }

  private rebuildWsTable(size: number): void {
    this.wsTable = new Int32Array(size);
    this.wsGens = new Int32Array(size);
    this.wsMask = size - 1;
    this.wsShift = 32 - Math.log2(size);
    for (let e = 0; e < this.wsCount; e++) this.wsIndex(this.wsSlot[e], e);
  }

  private growReadLog(): void {
    const n = this.rlCap * 2;
    this.rlCap = n;
    this.rlSlot = grow32(this.rlSlot, n);
    this.rlObj = grow32(this.rlObj, n);
    this.rlSite = grow32(this.rlSite, n);
  }

  /** Whether slot `s` is in this transaction's write set. */
  private writes(s: number): boolean {
    if (this.wsCount !== 0 && this.wsFind(s) >= 0) return true;
    for (let i = 0; i < this.dlCount; i++) if (this.dlSlot[i] === s) return true;
    return false;
  }

  // ---- commit ---------------------------------------------------------------

  private commit(): void {
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
  private acquireCommitSlow(): number {
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
        Atomics.notify(i32, GS_WORD);
          continue;
        }
      }
      return g;
    }
  }

  private mustRenormalize = false;

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
  private renormalize(): void {
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
  private awaitRenormalization(): number {
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
  private endAttempt(): void {
    this.inTx = false;
    this.i32[W_THREAD_TABLE + this.thread * THREAD_WORDS + T_IN_TX] = 0;
    this.snapshot = -1;
    this.wsCount = 0;
    this.dlCount = 0;
    this.privLo = NO_SLOT;
    this.privHi = 0;
  }

  private finishCommitted(): void {
    this.endAttempt();
    if (this.mustRenormalize) this.renormalize();
    if (this.inevitable) this.releaseInevitable();
    if (RECORDER && this.recording) this.recorder!.publish();
    const hooks = this.commitHooks;
    if (hooks !== null) {
      this.commitHooks = null;
      for (const h of hooks) h();
    }
  }

  // ---- aborts ---------------------------------------------------------------

  /**
   * Aborts the attempt because read `idx` of the read log was invalidated
   * (idx -1: the version clock was renormalised). Records the conflict facts,
   * then throws the abort signal.
   */
  private conflictAbort(idx: number): never {
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

  private doom(): void {
    this.doomed = true;
    this.snapshot = -1;
  }

  /** User-requested abort (`tx.retry()`). */
  userAbort(): never {
    if (this.inevitable) throw new StmError('tx.retry() is not allowed in an inevitable transaction: it could never see another commit');
    const la = this.la;
    la.valid = true;
    la.kind = ConflictKind.UserAbort;
    la.obj = 0;
    la.slot = 0;
    la.culpritWorker = -1;
    la.culpritTxSeq = 0;
    la.culpritInevitable = false;
    la.txSeq = this.txSeq;
    la.attempt = this.attempt;
    la.wait = this.attemptWaitNs;
    la.lost = Math.max(0, this.clock.now() - this.attemptStartNs - this.attemptWaitNs);
    la.victimSite = this.recording ? this.recorder!.useSite(this.siteCell[0]) : 0;
    la.culpritSite = 0;
    this.retryWaitFrom = this.snapshot;
    this.doom();
    if (this.recording) this.recordAbort();
    throw ABORT_SIGNAL;
  }
  private retryWaitFrom = -1;

  private recordAbort(): void {
    const la = this.la;
    const now = this.clock.now();
    let victimSite = la.victimSite;
    if (victimSite === 0) victimSite = this.recorder!.captureAbortSite(la.slot, now);
    this.recorder!.txAbort(this.txSeq, this.attempt, now, la.kind, la.obj, la.slot, victimSite, la.culpritWorker, la.culpritTxSeq, la.culpritSite, la.wait);
  }

  private rollback(): void {
    // Memory allocated by the attempt in the current buffer is reclaimed.
    if (this.privLo !== NO_SLOT && this.privLo >= this.tlabEnd - TLAB_SLOTS && this.privLo <= this.tlabPtr) this.tlabPtr = this.privLo;
    this.endAttempt();
    this.commitHooks = null;
    if (this.inevitable && !this.keepInevitable) this.releaseInevitable();
  }

  private afterAbort(attempt: number): void {
    if (RECORDER && this.recording) this.recorder!.publish();
    if (this.retryWaitFrom >= 0) {
      // tx.retry(): wait until some transaction commits, then run again
      const from = this.retryWaitFrom;
      this.retryWaitFrom = -1;
      const t0 = this.clock.now();
      if (this.recording) this.recorder!.waitBegin(this.txSeq, t0, WaitReason.Backoff, -1, 0, 0);
      while (Atomics.load(this.i32, GS_WORD) === from) Atomics.wait(this.i32, GS_WORD, from, 1);
      if (this.recording) this.recorder!.waitEnd(this.txSeq, this.clock.now(), WaitReason.Backoff);
      void t0;
      return;
    }
    if (this.keepInevitable || attempt + 1 >= this.maxRetries) return;
    // randomized exponential backoff
    const window = Math.min(this.backoffCapNs, this.backoffBaseNs * 2 ** Math.min(attempt, 20));
    const delay = Math.random() * window;
    const t0 = this.clock.now();
    if (this.recording) this.recorder!.waitBegin(this.txSeq, t0, WaitReason.Backoff, -1, 0, 0);
    const end = t0 + delay;
    if (delay > 200_000) Atomics.wait(this.i32, W_THREAD_TABLE + this.thread * THREAD_WORDS + T_STATE, 1, delay / 1e6);
    while (this.clock.now() < end) {
      /* spin: sub-200 µs sleeps are not precise */
    }
    if (this.recording) {
      this.recorder!.waitEnd(this.txSeq, this.clock.now(), WaitReason.Backoff);
      this.recorder!.publish();
    }
  }

  private fail(e: unknown): void {
    const now = this.clock.now();
    if (this.recording) {
      const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      this.recorder!.txFail(this.txSeq, this.attempt, now, msg, this.siteCell[0]);
    }
    this.keepInevitable = false;
    this.rollback();
    if (RECORDER && this.recording) this.recorder!.publish();
  }

  // ---- inevitable -------------------------------------------------------------

  /** Makes the running transaction inevitable (see Transaction.becomeInevitable). */
  becomeInevitable(): void {
    if (!this.inTx) throw new StmError('becomeInevitable() must be called inside atomic()');
    if (this.inevitable) return;
    if (this.doomed) throw ABORT_SIGNAL;
    this.enterInevitable(InevitableReason.Explicit);
  }

  /**
   * Takes the INEV token (waiting for another inevitable transaction to finish),
   * then waits for in-flight write-back and validates: a transaction that
   * already read stale data must abort once, and reruns inevitable from the start.
   */
  private enterInevitable(reason: number): void {
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

  private releaseInevitable(): void {
    this.inevitable = false;
    Atomics.store(this.i32, W_INEV, 0);
    Atomics.notify(this.i32, W_INEV);
  }

  /** Blocks while thread `inev - 1` holds the inevitable token; records the wait. */
  private waitForInevitable(inev: number, reason: WaitReason): void {
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

  // ---- handle support ------------------------------------------------------------

  /** @internal */
  addCommitHook(fn: () => void): void {
    (this.commitHooks ??= []).push(fn);
  }

  /** Facts about the most recent abort of a transaction in this thread, or null if none aborted yet. */
  lastAbortInfo(): AbortInfo | null {
    const la = this.la;
    if (!la.valid) return null;
    const d = describeSlotHook ? describeSlotHook(this, la.obj, la.slot) : { type: '', field: '', label: '' };
    return {
      kind: (['write-read', 'write-write', 'inevitable', 'user-abort'] as const)[la.kind],
      objectId: la.obj,
      type: d.type,
      field: d.field,
      label: d.label,
      culprit: la.culpritWorker >= 0 ? { worker: la.culpritWorker, txSeq: la.culpritTxSeq, inevitable: la.culpritInevitable } : null,
      worker: this.thread,
      txSeq: la.txSeq,
      attempt: la.attempt,
      timeLostNs: la.lost,
      waitNs: la.wait,
    };
  }

  // ========================================================================
  // Recording
  // ========================================================================

  private recorderSession = 0;
  /** transactions until the next look at W_RECORDING */
  private recordingPoll = 0;

  private startRecording(session: number): boolean {
    if (this.recorder === null) {
      const ring = new RingWriter(this.shared.rings, this.thread, this.i32[W_RING_RECORDS]);
      this.recorder = new Recorder(this, ring, this.shared.options.stackDepth);
    } else {
      this.recorder.reset();
    }
    this.recorderSession = session;
    return true;
  }

  /** The WaitReason thread `t` is blocked on inside a transaction, or 0 (diagnostics). */
  waitingReason(t: number): number {
    return Atomics.load(this.i32, W_THREAD_TABLE + t * THREAD_WORDS + T_WAIT);
  }

  /** Whether a recorder currently listens to this heap. */
  get recordingEnabled(): boolean {
    return Atomics.load(this.i32, W_RECORDING) !== 0;
  }

  /**
   * Starts (session > 0) or stops (0) recording for every thread of the heap.
   * Each new session number makes threads re-send their definitions, so give
   * every listener a new one. Used by the agent; threads notice at their next
   * transaction start.
   */
  setRecordingSession(session: number): void {
    Atomics.store(this.i32, W_RECORDING, session);
  }

  /** @internal flushes pending recorder definitions (used at thread exit). */
  flushRecording(): void {
    this.recorder?.flush();
  }
}

function grow32(a: Int32Array<ArrayBuffer>, n: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(n);
  b.set(a);
  return b;
}

/** The handle passed to atomic() callbacks; refuses use after its transaction ended. */
class TxHandle implements Transaction {
  ended = false;
  constructor(
    private readonly heap: Heap,
    readonly seq: number,
    readonly attempt: number,
  ) {}
  private check(what: string): void {
    if (this.ended || !this.heap.inTx || this.heap.txSeq !== this.seq || this.heap.attempt !== this.attempt) {
      throw new StmError(`${what}: transaction handle used after its transaction ended (keep it inside the atomic() callback)`);
    }
  }
  get worker(): number {
    return this.heap.thread;
  }
  get isInevitable(): boolean {
    return this.heap.inevitable;
  }
  becomeInevitable(): void {
    this.check('tx.becomeInevitable()');
    this.heap.becomeInevitable();
  }
  retry(): never {
    this.check('tx.retry()');
    return this.heap.userAbort();
  }
  onCommit(fn: () => void): void {
    this.check('tx.onCommit()');
    if (typeof fn !== 'function') throw new StmError('tx.onCommit expects a function');
    this.heap.addCommitHook(fn);
  }
  hintCommitSoon(): void {
    this.check('tx.hintCommitSoon()');
    this.heap.commitSoon = true;
  }
}

// Hooks installed by the type layer (kept as hooks to avoid an import cycle).
let registryInit: ((heap: Heap) => void) | null = null;
let describeSlotHook: ((heap: Heap, obj: number, slot: number) => { type: string; field: string; label: string }) | null = null;
/** @internal */
export function installHeapHooks(init: (heap: Heap) => void, describe: typeof describeSlotHook): void {
  registryInit = init;
  describeSlotHook = describe;
}
