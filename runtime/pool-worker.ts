/**
 * Entry of a TransactionPool worker: attaches to the heap, imports the task
 * module and runs the tasks it receives, each in its own transaction (or in
 * batches, see PoolOptions.batch).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { attachHeap } from './heap.ts';
import { ObjectView } from './types.ts';
import './map.ts';
import './queue.ts';
import { setPoolWorkerContext, type PoolWorkerContext } from './pool-context.ts';
import type { FromWorker, ToWorker } from './pool.ts';
import type { SharedHeap } from './heap.ts';

interface Data {
  shared: SharedHeap;
  module: string;
  batch: number;
  data: unknown;
}

const port = parentPort!;
const { shared, module, batch, data } = workerData as Data;

// Under `stmscope record/run`, user modules of this worker are instrumented too.
// (Skipped when an --import entry already installed it in this thread.)
const hook = process.env.STMSCOPE_INSTRUMENT_HOOK;
if (hook && process.env.STMSCOPE_INSTRUMENT === '1' && !(globalThis as Record<symbol, unknown>)[Symbol.for('stmscope.instrumentation')]) {
  const m = (await import(hook)) as { installInstrumentation?: () => void | Promise<void> };
  await m.installInstrumentation?.();
}

const heap = attachHeap(shared);
type TaskFn = (...args: unknown[]) => unknown;
let tasks: Record<string, unknown>;
let local: Array<[string, unknown[]]> = [];
const ctx: PoolWorkerContext = {
  worker: heap.thread,
  currentName: null,
  addTask(name, args) {
    if (!heap.inTx) throw new Error('addTask() must be called inside the running task');
    local.push([name, args]);
  },
};
setPoolWorkerContext(ctx);

try {
  tasks = (await import(module)) as Record<string, unknown>;
  const setup = tasks.setup;
  if (typeof setup === 'function') await setup({ heap, worker: heap.thread, data });
  port.postMessage({ t: 'ready' } satisfies FromWorker);
} catch (error) {
  port.postMessage({ t: 'setup-error', error } satisfies FromWorker);
  process.exit(1);
}

function lookup(name: string): TaskFn {
  const fn = tasks[name];
  if (typeof fn !== 'function') {
    const names = Object.keys(tasks).filter((k) => typeof tasks[k] === 'function' && k !== 'setup');
    throw new Error(`task module ${module} has no exported function ${JSON.stringify(name)} (exports: ${names.join(', ') || 'none'})`);
  }
  return fn as TaskFn;
}

function plain(v: unknown): unknown {
  // views hold the heap handle: send the object id instead
  return v instanceof ObjectView ? v.id : v;
}

type Result = [number, boolean, unknown];

function runOne(task: [number, string, unknown[]], results: Result[], added: Array<[string, unknown[]]>): void {
  const [id, name, args] = task;
  try {
    const fn = lookup(name);
    const value = heap.atomic(
      () => {
        local = [];
        ctx.currentName = name;
        return fn(...args);
      },
      { name },
    );
    results.push([id, true, plain(value)]);
    for (const a of local) added.push(a);
  } catch (e) {
    results.push([id, false, e]);
  } finally {
    ctx.currentName = null;
    local = [];
  }
}

function runBatch(group: Array<[number, string, unknown[]]>, results: Result[], added: Array<[string, unknown[]]>): number {
  let count = 0;
  let values: unknown[] = [];
  let adds: Array<[string, unknown[]]> = [];
  try {
    const fns = group.map((t) => lookup(t[1]));
    heap.atomic(
      () => {
        values = [];
        adds = [];
        count = 0;
        for (let k = 0; k < group.length; k++) {
          local = [];
          ctx.currentName = group[k][1];
          values.push(fns[k](...group[k][2]));
          for (const a of local) adds.push(a);
          count++;
          if (heap.commitSoon) break;
        }
      },
      { name: `batch(${group[0][1]})` },
    );
  } catch {
    // one of the tasks failed: run them one by one to give each its own outcome
    for (const t of group) runOne(t, results, added);
    return group.length;
  } finally {
    ctx.currentName = null;
    local = [];
  }
  for (let k = 0; k < count; k++) results.push([group[k][0], true, plain(values[k])]);
  for (const a of adds) added.push(a);
  return count;
}

port.on('message', (m: ToWorker) => {
  if (m.t === 'close') {
    heap.detach();
    port.close();
    return;
  }
  const results: Result[] = [];
  const added: Array<[string, unknown[]]> = [];
  const list = m.tasks;
  for (let i = 0; i < list.length; ) {
    if (batch <= 1) {
      runOne(list[i], results, added);
      i++;
    } else {
      i += runBatch(list.slice(i, i + batch), results, added);
    }
  }
  heap.flushRecording();
  const msg: FromWorker = { t: 'done', results, added };
  try {
    port.postMessage(msg);
  } catch (e) {
    // a result that cannot be cloned fails only its own task
    for (const r of results) {
      try {
        structuredClone(r[2]);
      } catch {
        r[1] = false;
        r[2] = new Error(`task result cannot be sent to the main thread: ${(e as Error).message}`);
      }
    }
    port.postMessage(msg);
  }
});
