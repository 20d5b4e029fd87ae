/**
 * Memory layout of the shared heap. Every number here is part of the contract
 * between threads attached to one heap (and the recorder, which reads object
 * headers from the recorder thread), so change them together.
 *
 * The heap is one SharedArrayBuffer seen as 16-byte **slots**. An address is a
 * slot index. Slot `s` holds:
 *
 * ```
 *  bytes 0-7   value    Float64 view index 2s (all field kinds are stored as
 *                       doubles: i32/u32/bool/ref are exact in a double, and one
 *                       representation keeps every barrier monomorphic)
 *  bytes 8-11  version  Int32 view index 4s+2: commit version (a value of the
 *                       global sequence lock) of the last commit that wrote it
 *  bytes 12-15 site     Int32 view index 4s+3: code site of that write (in the
 *                       writer's site space; 0 = unknown)
 * ```
 *
 * Keeping value, version and writer site in one slot puts everything a read,
 * a validation and a conflict report need on one cache line.
 *
 * The first CTRL_SLOTS slots are the control block (Int32 words below), so
 * address 0 is never an object and serves as `null`.
 */

export const SLOT_BYTES = 16;
export const HEAP_MAGIC = 0x53544d48; // "STMH"
export const HEAP_LAYOUT_VERSION = 2;

/** Int32 word indices in the control block. Hot words sit on their own 64-byte line. */
export const W_MAGIC = 0;
export const W_LAYOUT = 1;
export const W_TOTAL_SLOTS = 2;
export const W_MAX_THREADS = 3;
export const W_RING_RECORDS = 4;
/** Global sequence lock / version clock: even = no commit writing back, odd = a commit holds it. */
export const W_GS = 16;
/** Number of clock renormalisations so far (heap.ts `renormalize`). */
export const W_EPOCH = 17;
/** Lock electing the one thread that renormalises the clock. */
export const W_RENORM_LOCK = 18;
/**
 * Threads sleeping until the clock turns even (a commit's write-back ends). A
 * committer notifies only when it is non-zero, so a thread preempted in the
 * middle of its write-back (more threads than cores) wakes its waiters as soon
 * as it finishes instead of letting them burn their time slices spinning.
 */
export const W_GS_WAITERS = 19;
/** Next free slot of the bump allocator. */
export const W_ALLOC_TOP = 32;
/** Failed allocations (heap full), for diagnostics. */
export const W_ALLOC_FAILS = 33;
/**
 * Lowest slot of the metadata region, which grows down from the end of the
 * heap: strings, index tables and type records. Their words sit where slot
 * versions would, so they must stay out of the object region that the clock
 * renormalisation rewrites.
 */
export const W_META_TOP = 34;
/** Spin lock for moving W_ALLOC_TOP / W_META_TOP (taken once per 16 KiB buffer, not per object). */
export const W_ALLOC_LOCK = 35;
/** 0 = no inevitable transaction, else its thread index + 1. */
export const W_INEV = 48;
export const W_INEV_TXSEQ = 49;
export const W_INEV_SITE = 50;
/** InevitableReason of the current inevitable transaction. */
export const W_INEV_REASON = 51;
/** Number of threads ever attached (thread index allocator). */
export const W_THREADS = 64;
/** 1 while a recorder listens; checked once per transaction start. */
export const W_RECORDING = 80;
/** Spin lock protecting the type registry, string table and root map creation. */
export const W_REGISTRY_LOCK = 96;
/** Address of the type list head (linked through type records). */
export const W_TYPE_HEAD = 97;
/** Address of the string intern index (ConcurrentIndex). */
export const W_STRING_INDEX = 98;
/** Address of the root map (a TMap with string keys). */
export const W_ROOTS = 99;
/** Epoch of all event timestamps: process.hrtime in ns at heap creation (Float64 view index W_EPOCH_F64). */
export const W_EPOCH_F64 = 52; // f64 index 52 = i32 words 104-105
/**
 * Per-thread table: THREAD_WORDS words per thread from W_THREAD_TABLE. One
 * 64-byte line per thread: T_IN_TX is stored twice per transaction, and two
 * threads sharing its line cost a cache-line transfer each time (measured:
 * 2 workers ran 1.52x one with 32-byte entries).
 */
export const W_THREAD_TABLE = 256;
export const THREAD_WORDS = 16;
/** thread table word offsets */
export const T_STATE = 0; // 0 free, 1 attached, 2 detached
/** WaitReason while the thread waits inside a transaction (0 = not waiting); for tests and diagnostics */
export const T_WAIT = 1;
/** 1 from just before a transaction takes its snapshot until it ends (the clock renormalisation waits for 0) */
export const T_IN_TX = 2;

/** Commit log: ring of COMMIT_LOG_ENTRIES × 4 words [version, thread, txSeq, flags]. */
export const W_COMMIT_LOG = 4096;
export const COMMIT_LOG_ENTRIES = 4096;
export const COMMIT_LOG_MASK = COMMIT_LOG_ENTRIES - 1;
export const CL_INEVITABLE = 1;

/**
 * First word of the commit-log entry of `version`. Entries of consecutive
 * commits (usually by different threads) are spread COMMIT_LOG_ENTRIES/4
 * entries apart, so the four entries sharing a 64-byte line were written
 * ~1000 commits apart and committers do not steal each other's line.
 */
export function commitLogWord(version: number): number {
  const i = (version >> 1) & COMMIT_LOG_MASK;
  return W_COMMIT_LOG + ((((i & (COMMIT_LOG_QUARTER - 1)) << 2) | (i >> COMMIT_LOG_QUARTER_BITS)) << 2);
}
const COMMIT_LOG_QUARTER_BITS = 10;
const COMMIT_LOG_QUARTER = 1 << COMMIT_LOG_QUARTER_BITS;
if (COMMIT_LOG_QUARTER * 4 !== COMMIT_LOG_ENTRIES) throw new Error('layout: COMMIT_LOG_QUARTER_BITS must match COMMIT_LOG_ENTRIES');

/** Size of the control block in slots (W_COMMIT_LOG + 4 × entries words, rounded). */
export const CTRL_SLOTS = (W_COMMIT_LOG + 4 * COMMIT_LOG_ENTRIES) / 4 + 16;

/** The version clock is renormalised before it can overflow an Int32. */
export const GS_RENORMALIZE_AT = 0x3ff00000;

/**
 * Object header (slot `a`, Int32 words):
 * ```
 *  4a+0  type id (address of the type record)
 *  4a+1  label string address (0 = none)
 *  4a+2  HEADER_MARK (the version word of a header slot is never a version)
 *  4a+3  serial number within its type (Account#17)
 * ```
 */
export const HEADER_MARK = -0x48454144; // never a valid version (versions are >= 0)

/** Type record layout (a permanent object; Int32 words of its slots). */
export const TR_NEXT = 0; // word 4a+0 of slot a+1: next type record
export const TR_NAME = 1; // name string address
export const TR_SHAPE = 2; // ObjShape
export const TR_FIELDS = 3; // number of fields
export const TR_SERIAL = 4; // serial counter (Atomics.add) word index = 4(a+2)+0
/** Field descriptors start at slot a+3: one slot per field: [name string, kind, ref target type name string, 0]. */

/** Field kinds as stored (same order as FIELD_KIND_NAMES in model/records.ts). */
export const K_I32 = 0;
export const K_U32 = 1;
export const K_F64 = 2;
export const K_BOOL = 3;
export const K_REF = 4;

/** Thread-local allocation buffer size in slots (16 KiB). */
export const TLAB_SLOTS = 1024;
/** Objects larger than this go straight to the shared bump pointer. */
export const LARGE_OBJECT_SLOTS = 256;

/** Heap size limits. */
export const MIN_HEAP_BYTES = 1 << 20;
export const MAX_HEAP_BYTES = 2 ** 32; // slot indices stay < 2^28, so 4s fits an Int32 view index
export const DEFAULT_HEAP_BYTES = 64 << 20;
export const DEFAULT_MAX_THREADS = 64;
/** Event ring per thread, in 32-byte records (default 16384 = 512 KiB). */
export const DEFAULT_RING_RECORDS = 1 << 14;
