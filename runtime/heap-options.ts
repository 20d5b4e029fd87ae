/**
 * The public types of a heap: options, the shared part another thread attaches
 * to, abort facts and the transaction handle. Kept apart from the engine so
 * modules that only pass a heap around (the agent launcher) need not import it.
 */
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
