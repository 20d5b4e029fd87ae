/** Errors the runtime throws at users. Every message names the problem and, where possible, the fix. */

/** Base class: misuse of the STM API (wrong field, wrong type, outside a transaction...). */
export class StmError extends Error {
  override name = 'StmError';
}

/** The shared heap has no room left for an allocation. */
export class HeapFullError extends StmError {
  override name = 'HeapFullError';
  constructor(
    readonly requestedBytes: number,
    readonly heapBytes: number,
  ) {
    super(
      `shared heap full: cannot allocate ${requestedBytes} bytes in a heap of ${formatBytes(heapBytes)}; ` +
        `create the heap with a larger size, e.g. createHeap({ size: ${formatBytes(Math.max(heapBytes * 2, 1 << 20))} })`,
    );
  }
}

export function formatBytes(n: number): string {
  if (n >= 1 << 30 && n % (1 << 30) === 0) return `${n / (1 << 30)} GiB`;
  if (n >= 1 << 20) return `${Math.round((n / (1 << 20)) * 10) / 10} MiB`;
  if (n >= 1 << 10) return `${Math.round((n / (1 << 10)) * 10) / 10} KiB`;
  return `${n} bytes`;
}

/**
 * Thrown through user code to abort an attempt. It is a frozen plain object,
 * not an Error: creating an Error captures a stack (1-3 µs), and an abort must
 * stay cheap. User code that catches it must rethrow it; if it does not, the
 * transaction is doomed anyway and the next transactional access or the commit
 * aborts it again.
 */
export const ABORT_SIGNAL: { readonly stmscopeAbort: true } = Object.freeze({ stmscopeAbort: true as const });

export function isAbortSignal(e: unknown): boolean {
  return e === ABORT_SIGNAL;
}
