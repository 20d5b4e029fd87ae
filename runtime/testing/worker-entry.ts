/** Worker side of runInWorkers (see workers.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import { attachHeap } from '../heap.ts';
import '../index.ts';

const { shared, module, fn, index, count, args, control } = workerData;
const heap = attachHeap(shared);
try {
  const mod = await import(module);
  const value = await mod[fn]({ index, count, args, control: new Int32Array(control) });
  heap.detach();
  parentPort!.postMessage({ ok: true, value });
} catch (e) {
  parentPort!.postMessage({ ok: false, value: e });
}
