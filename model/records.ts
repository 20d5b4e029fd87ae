/**
 * The event record layout shared by the runtime (producer), the recorder/agent
 * (drain), the recording format, the server and the dashboard.
 *
 * Every event is one or more fixed-size 32-byte records (8 little-endian 32-bit
 * words). Fixed size keeps the producer path to a handful of typed-array stores
 * (see ../shared/reference/node-costs.md: 4-10 ns per record) and lets the drain
 * copy records without parsing them.
 *
 * ```
 * word  0: code (bits 0-7) | worker (bits 8-15) | extra (bits 16-31)
 * word  1: txSeq   per-worker transaction sequence number (u32), shared by all
 *                  attempts of one transaction
 * word  2: time    nanoseconds since the recording epoch, low 32 bits
 * word  3: time    high 32 bits
 * words 4-7: payload, meaning depends on the code (see EVENT_TABLE)
 * ```
 *
 * Definition records (strings, sites, stacks, objects, types) are variable
 * length: a header record whose `extra` field holds the number of 32-byte
 * records the definition spans in total (header included), followed by raw
 * bytes. Their layout is given per code below.
 *
 * Identifier spaces:
 * - `worker` is the heap thread index (0 = the thread that created the heap).
 *   255 (`GLOBAL_WORKER`) marks records written by the recorder itself
 *   (object and type definitions, drop markers for the whole process).
 * - string, site and stack ids are scoped per worker: `(worker, id)`. Id 0
 *   always means "none/unknown".
 * - object ids are heap addresses (slot indices), global to the process.
 *
 * The self-describing event table (`EVENT_TABLE`) is written into every
 * recording header, so readers map codes by name and never depend on these
 * numeric values (PyPy-STM renumbered its events four times under one header;
 * see ../shared/reference/pypy-stm.md §3).
 */

export const RECORD_BYTES = 32;
export const RECORD_WORDS = 8;
/** Worker id used for records emitted by the recorder, not by a heap thread. */
export const GLOBAL_WORKER = 255;
/** Largest number of heap threads the record layout can name (0..254). */
export const MAX_WORKERS = 255;

/** Event codes. Stable within a format version; readers use the header table. */
export const enum Ev {
  /** A transaction attempt starts. p0 = name string id, p1 = site of the atomic() call, p2 = flags (TxFlag). */
  TxStart = 1,
  /** The attempt commits. p0 = read-set size, p1 = write-set size, p2 = flags (TxFlag), p3 = commit version (0 for read-only). */
  TxCommit = 2,
  /**
   * The attempt aborts and will be retried (or, for user aborts, not).
   * p0 = conflict kind (ConflictKind), p1 = object id (0 unknown), p2 = field index
   * within the object (-1 unknown; in the runtime's rings this word holds the slot
   * offset from the object header, which the recorder rewrites to the field
   * index), p3 = victim site (the access that read/wrote
   * the object; 0 unknown). Always followed by exactly one AbortCulprit record.
   */
  TxAbort = 3,
  /**
   * Continuation of TxAbort (same worker, txSeq, time). p0 = culprit worker
   * (-1 unknown), p1 = culprit txSeq, p2 = culprit write site (in the culprit
   * worker's site space; 0 unknown), p3 = nanoseconds this attempt spent waiting.
   */
  AbortCulprit = 4,
  /** The transaction became inevitable. p0 = reason (InevitableReason), p1 = site. */
  TxInevitable = 5,
  /**
   * A wait begins. p0 = reason (WaitReason), p1 = blocker worker (-1 none),
   * p2 = blocker txSeq, p3 = site where this thread waits.
   */
  WaitBegin = 6,
  /** The wait that began last on this worker ends. p0 = reason. */
  WaitEnd = 7,
  /**
   * The transaction ended with an exception thrown by user code: its writes are
   * discarded and it is not retried. p0 = message string id, p1 = site.
   */
  TxFail = 8,
  /** Events were dropped on this worker before this point. p0 = count low, p1 = count high. */
  Dropped = 9,
  /**
   * A whole attempt that committed with nothing else recorded in between: the
   * common case, in one record instead of TxStart + TxCommit (half the ring and
   * file traffic). Time = commit time. p0 = duration ns (u32; longer attempts
   * are written as TxStart + TxCommit), p1 = site of the atomic() call,
   * p2 = name string id (0 unnamed), p3 = flags (TxFlag, bits 0-7) | writes << 8
   * (saturating at 2^24-1). `extra` = attempt number.
   */
  TxSpan = 11,
  /**
   * A transaction was blocked by an inevitable transaction (time spent waiting
   * is charged to a conflict group of kind `inevitable`). Emitted at WaitEnd of
   * an inevitable wait. p0 = blocker worker, p1 = blocker txSeq, p2 = blocker
   * site (where it became inevitable, blocker's site space), p3 = wait ns (u32,
   * saturating); word 0 `extra` = the blocker's InevitableReason + 1 (0 unknown):
   * a blocker that hit the retry limit is a symptom of conflicts, not of I/O.
   */
  Blocked = 10,

  /** Definition: string. p0 = string id, p1 = UTF-8 byte length; bytes start at record 1. */
  DefString = 32,
  /**
   * Definition: code site (one source location, already source-mapped).
   * p0 = site id, p1 = file string id, p2 = line (1-based), p3 = column (1-based);
   * record 1 word 0 = function-name string id, word 1 = stack id captured at this
   * site (0 none), word 2 = source text string id (0 none).
   */
  DefSite = 33,
  /**
   * Definition: stack. p0 = stack id, p1 = frame count; from record 1 on, one
   * site id per 32-bit word, innermost frame first.
   */
  DefStack = 34,
  /**
   * Definition (GLOBAL_WORKER only): object. p0 = object id, p1 = type string id,
   * p2 = label string id (0 none), p3 = container object id (map for map entries, 0 otherwise);
   * record 1 word 0 = key kind (0 none, 1 int, 2 string), word 1 = int key or key string id,
   * word 2 = object serial (per type, for `Account#17`), word 3 = shape (ObjShape).
   * Labels: a map entry is `<map label>[<key>]` (strings JSON-quoted); a struct
   * field `<label or Type#serial>.<field name>`; an array element `<label or Type#serial>[<index>]`.
   */
  DefObject = 35,
  /**
   * Definition (GLOBAL_WORKER only): field name of a type. p0 = type string id,
   * p1 = field index, p2 = field name string id, p3 = field kind (FieldKindCode).
   */
  DefField = 36,
}

/** Object shapes as encoded in DefObject. */
export const enum ObjShape {
  Struct = 0,
  Array = 1,
  /** one key of a TMap: the conflict unit of the key-granular map */
  MapEntry = 2,
  Map = 3,
  Counter = 4,
  Queue = 5,
  Local = 6,
}
export const OBJ_SHAPE_NAMES = ['struct', 'array', 'map-entry', 'map', 'counter', 'queue', 'local'] as const;

/** TxStart/TxCommit flags. */
export const enum TxFlag {
  Inevitable = 1,
  ReadOnly = 2,
  Named = 4,
}

/** Conflict kinds, in the order the JSON report names them. */
export const enum ConflictKind {
  WriteRead = 0,
  WriteWrite = 1,
  Inevitable = 2,
  UserAbort = 3,
}
export const CONFLICT_KIND_NAMES = ['write-read', 'write-write', 'inevitable', 'user-abort'] as const;
export type ConflictKindName = (typeof CONFLICT_KIND_NAMES)[number];

export const enum WaitReason {
  /** Commit blocked while another transaction is inevitable. */
  InevitableCommit = 1,
  /** becomeInevitable() blocked while another transaction is inevitable. */
  InevitableBecome = 2,
  /** Randomized backoff after an abort. */
  Backoff = 3,
  /** Waiting for another commit's write-back to finish. */
  CommitLock = 4,
}
export const WAIT_REASON_NAMES: Record<number, string> = {
  1: 'inevitable-commit',
  2: 'inevitable-become',
  3: 'backoff',
  4: 'commit-lock',
};

export const enum InevitableReason {
  Explicit = 0,
  RetryLimit = 1,
}
export const INEVITABLE_REASON_NAMES = ['explicit', 'retry-limit'] as const;

/** Field kinds as encoded in DefField. */
export const FIELD_KIND_NAMES = ['i32', 'u32', 'f64', 'bool', 'ref'] as const;

/** Pack word 0. */
export function header(code: number, worker: number, extra = 0): number {
  return (code & 0xff) | ((worker & 0xff) << 8) | ((extra & 0xffff) << 16);
}
export function recCode(w0: number): number {
  return w0 & 0xff;
}
export function recWorker(w0: number): number {
  return (w0 >>> 8) & 0xff;
}
export function recExtra(w0: number): number {
  return w0 >>> 16;
}

/** Field description used by EVENT_TABLE. */
export interface EventFieldSpec {
  name: string;
  /** word index within the 8-word record */
  word: number;
  type: 'u32' | 'i32' | 'u64';
}
export interface EventSpec {
  code: number;
  name: string;
  /** true for variable-length definition records (extra = total records) */
  definition: boolean;
  fields: EventFieldSpec[];
}

const common: EventFieldSpec[] = [
  { name: 'txSeq', word: 1, type: 'u32' },
  { name: 'timeNs', word: 2, type: 'u64' },
];
const p = (name: string, word: number, type: 'u32' | 'i32' = 'u32'): EventFieldSpec => ({ name, word, type });

/**
 * The self-describing table written into every recording header. Readers
 * resolve names to codes through it; a writer may renumber codes in a later
 * version without breaking old readers that go by name.
 */
export const EVENT_TABLE: EventSpec[] = [
  { code: Ev.TxStart, name: 'tx_start', definition: false, fields: [...common, p('name', 4), p('site', 5), p('flags', 6)] },
  { code: Ev.TxCommit, name: 'tx_commit', definition: false, fields: [...common, p('reads', 4), p('writes', 5), p('flags', 6), p('version', 7)] },
  { code: Ev.TxAbort, name: 'tx_abort', definition: false, fields: [...common, p('kind', 4), p('object', 5), p('field', 6, 'i32'), p('victimSite', 7)] },
  { code: Ev.AbortCulprit, name: 'abort_culprit', definition: false, fields: [...common, p('culpritWorker', 4, 'i32'), p('culpritTxSeq', 5), p('culpritSite', 6), p('waitNs', 7)] },
  { code: Ev.TxInevitable, name: 'tx_inevitable', definition: false, fields: [...common, p('reason', 4), p('site', 5)] },
  { code: Ev.WaitBegin, name: 'wait_begin', definition: false, fields: [...common, p('reason', 4), p('blockerWorker', 5, 'i32'), p('blockerTxSeq', 6), p('site', 7)] },
  { code: Ev.WaitEnd, name: 'wait_end', definition: false, fields: [...common, p('reason', 4)] },
  { code: Ev.TxFail, name: 'tx_fail', definition: false, fields: [...common, p('message', 4), p('site', 5)] },
  { code: Ev.Dropped, name: 'dropped', definition: false, fields: [...common, p('countLo', 4), p('countHi', 5)] },
  { code: Ev.TxSpan, name: 'tx_span', definition: false, fields: [...common, p('durationNs', 4), p('site', 5), p('name', 6), p('flagsWrites', 7)] },
  { code: Ev.Blocked, name: 'blocked', definition: false, fields: [...common, p('blockerWorker', 4, 'i32'), p('blockerTxSeq', 5), p('blockerSite', 6), p('waitNs', 7)] },
  { code: Ev.DefString, name: 'def_string', definition: true, fields: [p('id', 4), p('byteLength', 5)] },
  { code: Ev.DefSite, name: 'def_site', definition: true, fields: [p('id', 4), p('file', 5), p('line', 6), p('column', 7)] },
  { code: Ev.DefStack, name: 'def_stack', definition: true, fields: [p('id', 4), p('frameCount', 5)] },
  { code: Ev.DefObject, name: 'def_object', definition: true, fields: [p('id', 4), p('type', 5), p('label', 6), p('container', 7)] },
  { code: Ev.DefField, name: 'def_field', definition: true, fields: [p('type', 4), p('index', 5), p('name', 6), p('kind', 7)] },
];
