/**
 * `TransactionPool`: the programming model of the PyPy-STM talks
 * (`transaction.TransactionQueue`): a queue of tasks run on N worker threads,
 * each task in its own transaction. Logically the tasks run one after the
 * other in some order; in practice they run in parallel whenever they do not
 * conflict.
 *
 * Tasks are functions exported by a module that every worker imports; they
 * receive serialisable arguments and return serialisable results. A task may
 * add more tasks (`addTask`), which are queued only if the task commits.
 *
 * ```ts
 * // tasks.ts (imported by every worker)
 * export function transfer(from: number, to: number, amount: number) { ... }
 *
 * // main.ts
 * const pool = new TransactionPool({ module: new URL('./tasks.ts', import.meta.url), workers: 4 });
 * const r = await pool.add('transfer', 1, 2, 10);
 * await pool.run();
 * await pool.close();
 * ```
 */
import type { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Heap, currentHeap } from './heap.ts';
import { StmError } from './errors.ts';
import { isTypeScriptUrl, launchWorker } from './worker-launch.ts';
import { poolWorkerContext } from './pool-context.ts';

export interface PoolOptions {
  /** Module exporting the task functions (URL, file URL string or path). Every worker imports it. */
  module: string | URL;
  /** Worker threads. Default: os.availableParallelism(). */
  workers?: number;
  /** Heap the workers attach to. Default: this thread's current heap. */
  heap?: Heap;
  /**
   * Tasks per transaction. Default 1 (each task is its own transaction). Larger
   * batches amortise the per-transaction cost of tiny tasks; a task can end its
   * batch early with `hintCommitSoon()`.
   */
  batch?: number;
  /** Passed to the task module's optional `setup({ heap, worker, data })` export in each worker. */
  data?: unknown;
  /** Extra `execArgv` for workers. */
  execArgv?: string[];
  /** Environment for workers. Default: process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface PoolStats {
  /** tasks that committed */
  completed: number;
  /** tasks whose function threw (their writes were discarded) */
  failed: number;
  /** errors of the failed tasks (since the previous run()) */
  errors: unknown[];
}

type Task = [id: number, name: string, args: unknown[]];
interface Pending {
  resolve(v: unknown): void;
  reject(e: unknown): void;
}
interface WorkerState {
  worker: Worker;
  ready: boolean;
  inflight: number;
  exited: boolean;
}

/** Messages between the pool and its workers. */
export type ToWorker = { t: 'run'; tasks: Task[] } | { t: 'close' };
export type FromWorker =
  | { t: 'ready' }
  | { t: 'setup-error'; error: unknown }
  | { t: 'done'; results: Array<[id: number, ok: boolean, value: unknown]>; added: Array<[name: string, args: unknown[]]> };

const MAX_BATCH_MESSAGE = 256;

export class TransactionPool {
  readonly size: number;
  /** Resolves when every worker has loaded the task module. */
  readonly ready: Promise<void>;
  private readonly workers: WorkerState[] = [];
  private readonly queue: Task[] = [];
  private queueHead = 0;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private inflight = 0;
  private completed = 0;
  private failed = 0;
  private errors: unknown[] = [];
  private idleWaiters: Array<() => void> = [];
  private closed = false;
  private fatal: unknown = null;

  constructor(options: PoolOptions) {
    if (!options || options.module === undefined) throw new StmError('TransactionPool needs { module }: the module exporting the task functions');
    const heap = options.heap ?? currentHeap();
    this.size = options.workers ?? Math.max(1, availableParallelism());
    if (!Number.isInteger(this.size) || this.size < 1 || this.size > heap.maxThreads - 1) {
      throw new StmError(`TransactionPool workers must be an integer from 1 to ${heap.maxThreads - 1} (the heap's maxThreads - 1), got ${options.workers}`);
    }
    const batch = options.batch ?? 1;
    if (!Number.isInteger(batch) || batch < 1) throw new StmError(`TransactionPool batch must be a positive integer, got ${batch}`);
    const moduleUrl = toUrl(options.module);
    const entry = new URL(`./pool-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
    const readies: Promise<void>[] = [];
    for (let i = 0; i < this.size; i++) {
      const worker = launchWorker(entry, {
        workerData: { shared: heap.shared, module: moduleUrl, batch, data: options.data },
        execArgv: options.execArgv,
        env: options.env ?? process.env,
        needsTs: isTypeScriptUrl(moduleUrl),
      });
      const st: WorkerState = { worker, ready: false, inflight: 0, exited: false };
      this.workers.push(st);
      readies.push(
        new Promise<void>((resolve, reject) => {
          worker.on('message', (m: FromWorker) => {
            if (m.t === 'ready') {
              st.ready = true;
              resolve();
              this.dispatch();
            } else if (m.t === 'setup-error') {
              reject(m.error);
            } else if (m.t === 'done') this.onDone(st, m);
          });
          worker.on('error', (e) => {
            reject(e);
            this.onWorkerError(st, e);
          });
          worker.on('exit', () => {
            st.exited = true;
            if (!st.ready) reject(new StmError('a pool worker exited before loading the task module'));
            if (!this.closed) this.onWorkerError(st, new StmError('a pool worker exited unexpectedly'));
          });
        }),
      );
    }
    this.ready = Promise.all(readies).then(() => undefined);
    // avoid an unhandled rejection when the user never awaits `ready`
    this.ready.catch(() => {});
  }

  /** Queues a task; the promise settles with its result once it committed (or with its error). */
  add(name: string, ...args: unknown[]): Promise<unknown> {
    if (this.closed) throw new StmError('TransactionPool is closed');
    if (typeof name !== 'string') throw new StmError('TransactionPool.add(name, ...args): name must be the name of an exported task function');
    const id = this.nextId++;
    const p = new Promise<unknown>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    // A fire-and-forget add() must not crash the program with an unhandled
    // rejection: failures are also counted and listed by run().
    p.catch(() => {});
    this.queue.push([id, name, args]);
    this.dispatch();
    return p;
  }

  /** Resolves when the queue is empty and no task runs (tasks added by tasks included). */
  async run(): Promise<PoolStats> {
    await this.ready;
    this.dispatch();
    if (this.fatal) throw this.fatal;
    if (!this.busy) return this.takeStats();
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    if (this.fatal) throw this.fatal;
    return this.takeStats();
  }

  private takeStats(): PoolStats {
    const s = { completed: this.completed, failed: this.failed, errors: this.errors };
    this.errors = [];
    this.completed = 0;
    this.failed = 0;
    return s;
  }

  private get busy(): boolean {
    return this.inflight > 0 || this.queueHead < this.queue.length;
  }

  /** Stops the workers after the running tasks finish. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.run().catch(() => {});
    this.closed = true;
    await Promise.all(
      this.workers.map(
        (st) =>
          new Promise<void>((resolve) => {
            if (st.exited) return resolve();
            st.worker.once('exit', () => resolve());
            st.worker.postMessage({ t: 'close' } satisfies ToWorker);
          }),
      ),
    );
  }

  private dispatch(): void {
    const waiting = this.queue.length - this.queueHead;
    if (waiting === 0) return;
    for (const st of this.workers) {
      if (!st.ready || st.exited || st.inflight > 0) continue;
      const left = this.queue.length - this.queueHead;
      if (left === 0) break;
      // small batches per message keep all workers busy; bigger ones amortise messaging
      const n = Math.max(1, Math.min(MAX_BATCH_MESSAGE, Math.ceil(left / (this.workers.length * 2))));
      const tasks = this.queue.slice(this.queueHead, this.queueHead + n);
      this.queueHead += tasks.length;
      st.inflight += tasks.length;
      this.inflight += tasks.length;
      st.worker.postMessage({ t: 'run', tasks } satisfies ToWorker);
    }
    if (this.queueHead > 4096 && this.queueHead * 2 > this.queue.length) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
  }

  private onDone(st: WorkerState, m: Extract<FromWorker, { t: 'done' }>): void {
    for (const [name, args] of m.added) this.queue.push([0, name, args]);
    for (const [id, ok, value] of m.results) {
      st.inflight--;
      this.inflight--;
      if (ok) this.completed++;
      else {
        this.failed++;
        this.errors.push(value);
      }
      const p = id !== 0 ? this.pending.get(id) : undefined;
      if (p) {
        this.pending.delete(id);
        if (ok) p.resolve(value);
        else p.reject(value);
      }
    }
    this.dispatch();
    if (!this.busy) this.wakeIdle();
  }

  private onWorkerError(st: WorkerState, e: unknown): void {
    this.fatal ??= e;
    st.exited = true;
    this.inflight -= st.inflight;
    st.inflight = 0;
    for (const [, p] of this.pending) p.reject(e);
    this.pending.clear();
    this.wakeIdle();
  }

  private wakeIdle(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }
}

function toUrl(m: string | URL): string {
  if (m instanceof URL) return m.href;
  if (/^[a-z]+:/i.test(m)) return m;
  return pathToFileURL(m).href;
}

/**
 * Queues a follow-up task from inside a pool task. It is queued when the
 * current transaction commits (not if it aborts or fails).
 */
export function addTask(name: string, ...args: unknown[]): void {
  const ctx = poolWorkerContext();
  if (!ctx) throw new StmError('addTask() can only be called from a task running in a TransactionPool worker');
  ctx.addTask(name, args);
}

/** Inside a pool task: the task's name and this worker's index; null elsewhere. */
export function currentTask(): { name: string; worker: number } | null {
  const ctx = poolWorkerContext();
  return ctx && ctx.currentName !== null ? { name: ctx.currentName, worker: ctx.worker } : null;
}
