/**
 * The shared heap and the transaction engine's public face: `createHeap`,
 * `attachHeap`, the thread's default heap, and `Heap.atomic` — the retry loop
 * around the commit protocol with contention management (randomized backoff,
 * then an inevitable rerun) and the transaction handle.
 *
 * One `Heap` object exists per (heap, thread): `createHeap()` makes the shared
 * memory and the creating thread's handle; `attachHeap(heap.shared)` in a worker
 * makes that worker's handle. The handle carries the thread's transaction state
 * (read log, write set, allocation buffer), so barriers touch only fields of one
 * monomorphic object. The class is split by concern:
 *
 * | file | what |
 * |---|---|
 * | heap-memory.ts | views, thread registration, allocation |
 * | tx-logs.ts | read log, write set, add log of the running attempt |
 * | commit-protocol.ts | snapshots, barriers, validation, commit, inevitable token, clock renormalisation — the algorithm and its invariants |
 * | heap.ts | creation, attach, `atomic` retry loop, backoff, aborts by the user, handles, recording control |
 */
import {
  CTRL_SLOTS,
  DEFAULT_HEAP_BYTES,
  DEFAULT_MAX_THREADS,
  DEFAULT_RING_RECORDS,
  GS_RENORMALIZE_AT,
  HEAP_LAYOUT_VERSION,
  HEAP_MAGIC,
  MAX_HEAP_BYTES,
  MIN_HEAP_BYTES,
  SLOT_BYTES,
  THREAD_WORDS,
  TLAB_SLOTS,
  T_STATE,
  T_WAIT,
  W_ALLOC_TOP,
  W_META_TOP,
  W_EPOCH_F64,
  W_GS,
  W_LAYOUT,
  W_MAGIC,
  W_MAX_THREADS,
  W_RECORDING,
  W_RING_RECORDS,
  W_THREAD_TABLE,
  W_TOTAL_SLOTS,
} from './layout.ts';
import { ABORT_SIGNAL, StmError, formatBytes } from './errors.ts';
import { hrtimeNs } from './clock.ts';
import { ringBufferBytes } from '../model/ring.ts';
import { ConflictKind, InevitableReason, WaitReason } from '../model/records.ts';
import { startAgent } from './agent-launch.ts';
import { RECORDER } from './build-flags.ts';
import { CommitProtocol, GS_WORD } from './commit-protocol.ts';
import type { AbortInfo, HeapOptions, SharedHeap, Transaction } from './heap-options.ts';
import { NO_SLOT } from './heap-memory.ts';

export type { AbortInfo, HeapOptions, SharedHeap, Transaction } from './heap-options.ts';

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

/** A thread's handle on a shared heap, and its transaction engine. */
export class Heap extends CommitProtocol {
  /** @internal use createHeap/attachHeap */
  constructor(shared: SharedHeap) {
    super(shared);
    current = this;
  }

  private handle: TxHandle | null = null;

  /** Marks this thread as gone (its ring is drained and then ignored). */
  detach(): void {
    Atomics.store(this.i32, W_THREAD_TABLE + this.thread * THREAD_WORDS + T_STATE, 2);
    this.recorder?.flush();
    if (current === this) current = null;
  }

  /** @internal called once by createHeap */
  initRegistry(): void {
    registryInit?.(this);
  }

  // Transactions

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
