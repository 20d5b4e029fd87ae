/**
 * A synthetic recording generator for benchmarks and load tests: a realistic
 * mix (starts, commits, aborts with culprits on a few hot objects, backoff
 * waits) on several workers, written chunk by chunk so 10^8 events never sit in
 * memory at once.
 */

import { Ev, RECORD_WORDS, header } from '../records.ts';
import { RecordingEncoder } from '../format.ts';
import { rec } from './builder.ts';

/** Options of {@link writeSyntheticRecording}. */
export interface SyntheticOptions {
  /** Events (= records) to write after the definitions. */
  events: number;
  /** Heap threads. Default 4. */
  workers?: number;
  /** One attempt in `abortEvery` aborts. Default 5. */
  abortEvery?: number;
  /** Records per RECS chunk. Default 8192 (256 KiB chunks). */
  chunkRecords?: number;
}

/**
 * Writes a complete recording (header, META, definitions, events, END) to `out`.
 * @returns the number of records written, definitions included
 */
export function writeSyntheticRecording(out: (bytes: Uint8Array) => void, opts: SyntheticOptions): { records: number; durationNs: number } {
  const workers = opts.workers ?? 4;
  const abortEvery = opts.abortEvery ?? 5;
  const chunk = opts.chunkRecords ?? 8192;
  const enc = new RecordingEncoder(out);
  enc.meta({ argv: ['node', 'synthetic.js'], cwd: '/synthetic', pid: 1, workers, version: 'synthetic' });

  // Definitions through the builder: sites on every worker, a few hot objects.
  const b = rec();
  const atomicSite = b.site('src/worker.ts:20:5', { fn: 'work', text: 'atomic(() => step(state))' });
  const inc = b.site('src/stats.ts:8:3', { fn: 'step', text: 'stats.count += 1;', callers: [atomicSite] });
  const put = b.site('src/index.ts:31:7', { fn: 'step', text: 'index[key] = value;', callers: [atomicSite] });
  const stats = b.object('Stats', { fields: ['count', 'sum'] });
  const index = b.object('Index', { fields: ['a', 'b', 'c', 'd', 'e', 'f'] });
  const ids: number[][] = [];
  for (let w = 0; w < workers; w++) ids.push([b.siteIdOn(w, atomicSite), b.siteIdOn(w, inc), b.siteIdOn(w, put)]);
  const defs = b.records();
  enc.records(defs);

  const words = new Uint32Array(chunk * RECORD_WORDS);
  let n = 0;
  const flush = () => {
    enc.records(words, 0, n);
    n = 0;
  };
  const push = (w0: number, tx: number, t: number, a: number, bb: number, c: number, d: number) => {
    const o = n * RECORD_WORDS;
    words[o] = w0;
    words[o + 1] = tx;
    words[o + 2] = t % 4294967296;
    words[o + 3] = Math.floor(t / 4294967296);
    words[o + 4] = a;
    words[o + 5] = bb;
    words[o + 6] = c;
    words[o + 7] = d;
    if (++n === chunk) flush();
  };
  const txSeq = new Uint32Array(workers).fill(1);
  const clock = new Float64Array(workers);
  let written = 0;
  let k = 0;
  while (written < opts.events) {
    const w = k % workers;
    k++;
    const t0 = clock[w];
    const [s0, s1, s2] = ids[w];
    push(header(Ev.TxStart, w), txSeq[w], t0, 0, s0, 0, 0);
    written++;
    if (k % abortEvery === 0) {
      const other = (w + 1) % workers;
      const onIndex = k % 3 === 0;
      push(header(Ev.TxAbort, w), txSeq[w], t0 + 700, 1, onIndex ? index.id : stats.id, onIndex ? (k >> 2) % 6 : 0, onIndex ? s2 : s1);
      push(header(Ev.AbortCulprit, w), txSeq[w], t0 + 700, other, Math.max(1, txSeq[other] - 1), onIndex ? ids[other][2] : ids[other][1], 0);
      push(header(Ev.WaitBegin, w), txSeq[w], t0 + 710, 3, -1 >>> 0, 0, 0);
      push(header(Ev.WaitEnd, w), txSeq[w], t0 + 800, 3, 0, 0, 0);
      written += 4;
    } else {
      push(header(Ev.TxCommit, w), txSeq[w], t0 + 900, 3, 2, 0, txSeq[w]);
      txSeq[w]++;
      written++;
    }
    clock[w] = t0 + 1000;
  }
  flush();
  const durationNs = Math.max(...clock);
  enc.end({ durationNs });
  return { records: enc.recordsWritten, durationNs };
}
