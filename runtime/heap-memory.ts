/**
 * A thread's view of the shared heap's memory: the typed-array views, the
 * thread's registration, and allocation (thread-local 16 KiB buffers carved
 * from a shared bump pointer; a private range for the running attempt, which
 * an abort reclaims). No transaction logic here: see commit-protocol.ts.
 *
 * The engine is one class chain, `HeapMemory` → `TxLogs` → `CommitProtocol`
 * → `Heap`, split by concern across files; every handle is an instance of the
 * final `Heap`, so barriers stay monomorphic.
 */
import {
  HEADER_MARK,
  LARGE_OBJECT_SLOTS,
  SLOT_BYTES,
  THREAD_WORDS,
  TLAB_SLOTS,
  T_STATE,
  W_ALLOC_FAILS,
  W_ALLOC_LOCK,
  W_ALLOC_TOP,
  W_META_TOP,
  W_EPOCH_F64,
  W_MAX_THREADS,
  W_REGISTRY_LOCK,
  W_THREADS,
  W_THREAD_TABLE,
  W_TOTAL_SLOTS,
} from './layout.ts';
import { HeapFullError, StmError } from './errors.ts';
import { Clock } from './clock.ts';
import { lockWord, unlockWord } from './spinlock.ts';
import type { HeapViews } from './heap-reader.ts';
import type { SharedHeap } from './heap-options.ts';

/** `privLo` when the running attempt has no private range. */
export const NO_SLOT = 0x7fffffff;

/** Memory and allocation of a thread's heap handle (base of the engine's class chain). */
export class HeapMemory implements HeapViews {
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
  protected readonly backoffBaseNs: number;
  protected readonly backoffCapNs: number;

  // ---- allocation -------------------------------------------------------
  protected tlabPtr = 0;
  protected tlabEnd = 0;
  protected permPtr = 0;
  protected permEnd = 0;

  // ---- transaction state (hot: read by every barrier) ---------------------
  inTx = false;
  /** allocation range private to the running attempt: [privLo, privHi) */
  protected privLo = NO_SLOT;
  protected privHi = 0;

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

  // Allocation

  /** Takes `n` slots from the bottom (object region) or the top (metadata region) of the free space. */
  protected bump(n: number, meta = false): number {
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
  protected allocSlow(n: number, permanent: boolean): number {
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

  protected zero(a: number, n: number): void {
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

  // Registry lock (type records, string/root creation; never held across user code)

  lockRegistry(): void {
    lockWord(this.i32, W_REGISTRY_LOCK);
  }

  unlockRegistry(): void {
    unlockWord(this.i32, W_REGISTRY_LOCK);
  }
}
