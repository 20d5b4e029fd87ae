/**
 * Single-producer single-consumer rings of 32-byte event records in a
 * SharedArrayBuffer: one ring per heap thread, drained by the recorder thread.
 *
 * ```
 * ring r at Int32 word base(r) = r * (RING_HEADER_WORDS + capacity * 8)
 *   +0  write index (records written, wraps at 2^32), published by the producer
 *   +1  read index  (records consumed), published by the consumer
 *   +2  state       0 unused, 1 attached
 *   +3  capacity    records (power of two)
 *   +16 records     capacity × 8 words
 * ```
 *
 * The producer never blocks: when the ring lacks room it counts the event as
 * dropped and, once room returns, writes a `dropped` record first, so losses are
 * always visible in the recording. It publishes its write index once per
 * transaction (see node-costs.md: per-record publication costs 2.5× more).
 */
import { Ev, RECORD_WORDS, header } from './records.ts';

export const RING_HEADER_WORDS = 16;
const R_WRITE = 0;
const R_READ = 1;
const R_STATE = 2;
const R_CAP = 3;

/** Bytes needed for `rings` rings of `capacity` records each. */
export function ringBufferBytes(rings: number, capacity: number): number {
  return rings * (RING_HEADER_WORDS + capacity * RECORD_WORDS) * 4;
}

export function ringBase(index: number, capacity: number): number {
  return index * (RING_HEADER_WORDS + capacity * RECORD_WORDS);
}

/** Producer side: owned by exactly one thread. */
export class RingWriter {
  readonly words: Int32Array;
  readonly base: number;
  readonly data: number;
  readonly capacity: number;
  readonly mask: number;
  /** local write index (records) */
  write: number;
  /** last read index seen; refreshed only when the ring looks full */
  private readSeen: number;
  /** events dropped since the last `dropped` record */
  dropped = 0;
  /** total dropped over the ring's life */
  droppedTotal = 0;
  readonly worker: number;

  constructor(buffer: SharedArrayBuffer, index: number, capacity: number) {
    if ((capacity & (capacity - 1)) !== 0) throw new Error(`ring capacity must be a power of two, got ${capacity}`);
    this.words = new Int32Array(buffer);
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.base = ringBase(index, capacity);
    this.data = this.base + RING_HEADER_WORDS;
    this.worker = index;
    this.write = Atomics.load(this.words, this.base + R_WRITE) >>> 0;
    this.readSeen = Atomics.load(this.words, this.base + R_READ) >>> 0;
    Atomics.store(this.words, this.base + R_CAP, capacity);
    Atomics.store(this.words, this.base + R_STATE, 1);
  }

  /**
   * Reserves `n` consecutive records and returns the Int32 word index of the
   * first one, or -1 when the ring is full (the caller's event is counted as
   * dropped). Records may wrap: use `wordAt(first, k)` for record k.
   */
  reserve(n: number): number {
    if (this.dropped !== 0 && !this.flushDropped()) {
      this.dropped++;
      this.droppedTotal++;
      return -1;
    }
    if (((this.write - this.readSeen) >>> 0) + n > this.capacity) {
      this.readSeen = Atomics.load(this.words, this.base + R_READ) >>> 0;
      if (((this.write - this.readSeen) >>> 0) + n > this.capacity) {
        this.dropped++;
        this.droppedTotal++;
        return -1;
      }
    }
    const first = this.write;
    this.write = (this.write + n) >>> 0;
    return first;
  }

  /** Word index of word 0 of record `first + k`. */
  recordWord(first: number, k: number): number {
    return this.data + (((first + k) & this.mask) << 3);
  }

  /** Writes one whole 8-word event record (the common case). Returns false when dropped. */
  put(w0: number, w1: number, timeNs: number, p0: number, p1: number, p2: number, p3: number): boolean {
    const first = this.reserve(1);
    if (first < 0) return false;
    const w = this.words;
    const o = this.data + ((first & this.mask) << 3);
    w[o] = w0;
    w[o + 1] = w1;
    w[o + 2] = timeNs % 4294967296;
    w[o + 3] = (timeNs / 4294967296) | 0;
    w[o + 4] = p0;
    w[o + 5] = p1;
    w[o + 6] = p2;
    w[o + 7] = p3;
    return true;
  }

  /** Makes written records visible to the consumer. */
  publish(): void {
    Atomics.store(this.words, this.base + R_WRITE, this.write | 0);
  }

  /** Records that could be written now without dropping (approximate). */
  free(): number {
    this.readSeen = Atomics.load(this.words, this.base + R_READ) >>> 0;
    return this.capacity - ((this.write - this.readSeen) >>> 0);
  }

  private flushDropped(): boolean {
    if (((this.write - this.readSeen) >>> 0) + 1 > this.capacity) {
      this.readSeen = Atomics.load(this.words, this.base + R_READ) >>> 0;
      if (((this.write - this.readSeen) >>> 0) + 1 > this.capacity) return false;
    }
    const count = this.dropped;
    this.dropped = 0;
    const w = this.words;
    const o = this.data + ((this.write & this.mask) << 3);
    w[o] = header(Ev.Dropped, this.worker);
    w[o + 1] = 0;
    w[o + 2] = 0;
    w[o + 3] = 0;
    w[o + 4] = count % 4294967296;
    w[o + 5] = (count / 4294967296) | 0;
    w[o + 6] = 0;
    w[o + 7] = 0;
    this.write = (this.write + 1) >>> 0;
    return true;
  }
}

/** Consumer side (the recorder thread). */
export class RingReader {
  readonly words: Int32Array;
  readonly base: number;
  readonly data: number;
  readonly capacity: number;
  readonly mask: number;
  read: number;

  constructor(buffer: SharedArrayBuffer, index: number, capacity: number) {
    this.words = new Int32Array(buffer);
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.base = ringBase(index, capacity);
    this.data = this.base + RING_HEADER_WORDS;
    this.read = Atomics.load(this.words, this.base + R_READ) >>> 0;
  }

  /** Whether a producer ever attached to this ring. */
  get attached(): boolean {
    return Atomics.load(this.words, this.base + R_STATE) !== 0;
  }

  /** Records available to read. */
  available(): number {
    return (Atomics.load(this.words, this.base + R_WRITE) - this.read) >>> 0;
  }

  /**
   * Copies up to `max` records into `out` (Int32Array, at word `outWord`) and
   * returns the number of records copied. Call `commit()` afterwards to release
   * the space to the producer.
   */
  copyTo(out: Int32Array, outWord: number, max: number): number {
    const avail = this.available();
    const n = Math.min(avail, max);
    const w = this.words;
    for (let k = 0; k < n; ) {
      const idx = (this.read + k) & this.mask;
      // copy a contiguous run up to the ring end
      const run = Math.min(n - k, this.capacity - idx);
      const from = this.data + (idx << 3);
      out.set(w.subarray(from, from + (run << 3)), outWord + (k << 3));
      k += run;
    }
    this.read = (this.read + n) >>> 0;
    return n;
  }

  /** Releases consumed records to the producer. */
  commit(): void {
    Atomics.store(this.words, this.base + R_READ, this.read | 0);
  }
}
