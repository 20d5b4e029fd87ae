/** Per-worker state of a TransactionPool worker, shared by pool.ts (addTask) and pool-worker.ts. */

export interface PoolWorkerContext {
  worker: number;
  currentName: string | null;
  addTask(name: string, args: unknown[]): void;
}

let ctx: PoolWorkerContext | null = null;

export function poolWorkerContext(): PoolWorkerContext | null {
  return ctx;
}

export function setPoolWorkerContext(c: PoolWorkerContext): void {
  ctx = c;
}
