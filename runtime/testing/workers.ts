/**
 * Test helper: runs an exported function of a scenario module in N real
 * worker threads attached to one heap, and collects their results.
 */
import { launchWorker } from '../worker-launch.ts';
import type { Heap } from '../heap.ts';

export interface ScenarioContext<A = unknown> {
  /** this worker's position 0..n-1 (not the heap thread index) */
  index: number;
  count: number;
  args: A;
  /** shared Int32Array for barriers and flags (64 words) */
  control: Int32Array;
}

/**
 * Starts `count` workers, each calling `module[fn](ctx)` after attaching to
 * `heap`; resolves with their return values (in index order).
 */
export async function runInWorkers<R = unknown, A = unknown>(heap: Heap, module: URL, fn: string, count: number, args?: A, control?: SharedArrayBuffer): Promise<R[]> {
  const ctl = control ?? new SharedArrayBuffer(64 * 4);
  const entry = new URL('./worker-entry.ts', import.meta.url);
  const runs = Array.from({ length: count }, (_, index) => {
    const w = launchWorker(entry, { workerData: { shared: heap.shared, module: module.href, fn, index, count, args, control: ctl } });
    return new Promise<R>((resolve, reject) => {
      let settled = false;
      w.on('message', (m: { ok: boolean; value: unknown }) => {
        settled = true;
        if (m.ok) resolve(m.value as R);
        else reject(m.value);
      });
      w.on('error', (e) => {
        settled = true;
        reject(e);
      });
      w.on('exit', (code) => {
        if (!settled) reject(new Error(`worker ${index} exited with code ${code} without a result`));
      });
    });
  });
  return Promise.all(runs);
}

/** A reusable barrier for `parties` threads on word `at` (uses two words). */
export function barrier(control: Int32Array, at: number, parties: number): void {
  const gen = Atomics.load(control, at + 1);
  if (Atomics.add(control, at, 1) + 1 === parties) {
    Atomics.store(control, at, 0);
    Atomics.add(control, at + 1, 1);
    Atomics.notify(control, at + 1);
  } else {
    while (Atomics.load(control, at + 1) === gen) Atomics.wait(control, at + 1, gen, 1000);
  }
}

/** Blocks until control[at] >= value. */
export function waitFor(control: Int32Array, at: number, value: number, timeoutMs = 10_000): void {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = Atomics.load(control, at);
    if (v >= value) return;
    if (Date.now() > end) throw new Error(`timed out waiting for control[${at}] >= ${value} (is ${v})`);
    Atomics.wait(control, at, v, 50);
  }
}

export function signal(control: Int32Array, at: number, value: number): void {
  Atomics.store(control, at, value);
  Atomics.notify(control, at);
}
