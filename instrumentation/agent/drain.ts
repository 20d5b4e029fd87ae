/**
 * Drains the per-thread event rings of one heap into batches of records ready
 * for the recording format: abort records get their field index and the
 * objects they name get `def_object` definitions placed before them.
 *
 * The drain runs in the agent thread, never in a thread that runs
 * transactions, so a slow consumer costs the program nothing but, at worst,
 * dropped (and counted) events.
 */
import { Ev, RECORD_WORDS, recCode, recExtra } from '../../model/records.ts';
import { RingReader } from '../../model/ring.ts';
import { viewsOf, type HeapViews } from '../../runtime/heap-reader.ts';
import { W_MAX_THREADS, W_RING_RECORDS, W_THREADS } from '../../runtime/layout.ts';
import { ObjectNamer } from './objects.ts';

const DEF_FIRST = 32;

export interface DrainBatch {
  /** records (8 words each); valid until the next poll */
  words: Uint32Array;
  count: number;
  /** events the producers dropped, as reported by `dropped` records in this batch */
  dropped: number;
}

export class Drain {
  readonly views: HeapViews;
  private readonly rings: SharedArrayBuffer;
  private readers: RingReader[] = [];
  private readonly capacity: number;
  private readonly maxThreads: number;
  private scratch: Int32Array;
  /** output words (grown as needed) and fill level */
  private outBuf = new Int32Array(1 << 16);
  private outLen = 0;
  private defs: number[] = [];
  readonly namer: ObjectNamer;
  /** total records handed out */
  records = 0;
  /** total producer drops seen */
  dropped = 0;

  constructor(heap: SharedArrayBuffer, rings: SharedArrayBuffer) {
    this.views = viewsOf(heap);
    this.rings = rings;
    this.capacity = this.views.i32[W_RING_RECORDS];
    this.maxThreads = this.views.i32[W_MAX_THREADS];
    this.scratch = new Int32Array(this.capacity * RECORD_WORDS);
    this.namer = new ObjectNamer(this.views);
  }

  /** Threads attached to the heap so far. */
  get threads(): number {
    return Math.min(Atomics.load(this.views.i32, W_THREADS), this.maxThreads);
  }

  /** Discards everything the rings hold (before a new stream starts). */
  skipAll(): void {
    this.syncReaders();
    for (const r of this.readers) {
      r.read = (r.read + r.available()) >>> 0;
      r.commit();
    }
  }

  private syncReaders(): void {
    const n = this.threads;
    while (this.readers.length < n) this.readers.push(new RingReader(this.rings, this.readers.length, this.capacity));
  }

  /**
   * Collects what every ring holds (up to `maxPerRing` records each) into one
   * batch. Per-worker order is preserved; workers are concatenated.
   */
  poll(maxPerRing = this.capacity): DrainBatch {
    this.syncReaders();
    this.outLen = 0;
    let dropped = 0;
    for (const r of this.readers) {
      if (!r.attached) continue;
      const n = r.copyTo(this.scratch, 0, Math.min(maxPerRing, this.capacity));
      if (n === 0) continue;
      r.commit();
      dropped += this.process(this.scratch, n);
    }
    const count = this.outLen / RECORD_WORDS;
    this.records += count;
    this.dropped += dropped;
    return { words: new Uint32Array(this.outBuf.buffer, 0, this.outLen), count, dropped };
  }

  private append(src: Int32Array, from: number, to: number): void {
    const need = this.outLen + (to - from);
    if (need > this.outBuf.length) {
      const b = new Int32Array(Math.max(need, this.outBuf.length * 2));
      b.set(this.outBuf.subarray(0, this.outLen));
      this.outBuf = b;
    }
    this.outBuf.set(src.subarray(from, to), this.outLen);
    this.outLen = need;
  }

  /**
   * Copies `n` records to the output in runs, fixing abort records in place and
   * inserting object definitions before the first record that needs them.
   */
  private process(rec: Int32Array, n: number): number {
    let dropped = 0;
    let runStart = 0;
    const defs = this.defs;
    for (let i = 0; i < n; ) {
      const o = i * RECORD_WORDS;
      const w0 = rec[o];
      const code = recCode(w0);
      let span = 1;
      if (code >= DEF_FIRST) {
        span = Math.max(1, recExtra(w0));
      } else if (code === Ev.TxAbort) {
        // p2 holds the slot offset from the object header; readers want the field index
        defs.length = 0;
        rec[o + 6] = this.namer.fieldIndex(rec[o + 5], rec[o + 6], defs);
        if (defs.length !== 0) {
          this.append(rec, runStart, o);
          this.append(Int32Array.from(defs), 0, defs.length);
          runStart = o;
        }
      } else if (code === Ev.Dropped) {
        dropped += (rec[o + 4] >>> 0) + (rec[o + 5] >>> 0) * 4294967296;
      }
      i += span;
    }
    this.append(rec, runStart, n * RECORD_WORDS);
    return dropped;
  }
}
