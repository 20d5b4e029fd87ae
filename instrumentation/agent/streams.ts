/**
 * Recording streams of the agent: one per consumer (a file, an attached
 * client, a server), each a complete recording (header, META, the definitions
 * sent so far, then events).
 *
 * Backpressure without blocking: the agent never waits for a consumer. When a
 * consumer's backlog (bytes written but not yet taken by the peer) exceeds its
 * limit, the stream drops whole batches of **events** but never a
 * **definition**: definitions of a dropped batch are still sent, the events
 * are counted per worker, and a `dropped` record per worker (at the time of
 * the last event lost) goes out before the next events. A slow reader thus
 * gets a recording with holes it can see and count, never one whose ids it
 * cannot resolve.
 *
 * ```
 * batch ─► DefinitionCache (every def since recording started, for late joiners)
 *       └► encoded once ─► stream A (keeping up) ─► sink
 *                       └► stream B (backlog > limit): defs only + counts ─► … dropped records ─► sink
 * ```
 */
import { Ev, RECORD_WORDS, header } from '../../model/records.ts';
import { ChunkType, RecordingEncoder, encodeChunk, type RecordingEnd, type RecordingMeta } from '../../model/format.ts';
import './native-crc.ts';

/** Where a stream's bytes go. */
export interface StreamSink {
  /** Takes bytes; never throws (a failed sink reports `closed`). */
  write(bytes: Uint8Array): void;
  /** Bytes accepted but not yet taken by the peer (0 for synchronous sinks). */
  backlog(): number;
  /** Makes written data durable / visible (optional). */
  flush?(): void;
  /** Ends the stream after what was written. */
  end(): void;
  /** True once the peer is gone or the sink failed. */
  readonly closed: boolean;
  /** Resolves when everything written has been handed to the OS (or the sink is gone). */
  drained?(): Promise<void>;
}

/** Largest RECS chunk the agent writes: 1 MiB (a batch is split at event boundaries). */
export const AGENT_CHUNK_BYTES = 1 << 20;

const DEF_FIRST = 32;

/** Definition records seen since the current recording started, for streams that join later. */
export class DefinitionCache {
  private blocks: Uint32Array[] = [];
  private pending: number[] = [];
  records = 0;

  clear(): void {
    this.blocks = [];
    this.pending = [];
    this.records = 0;
  }

  /** Copies the definitions of a batch. */
  add(words: Uint32Array, count: number): void {
    for (let i = 0; i < count; ) {
      const w0 = words[i * RECORD_WORDS];
      const code = w0 & 0xff;
      if (code >= DEF_FIRST) {
        const span = Math.max(1, w0 >>> 16);
        for (let k = i * RECORD_WORDS; k < (i + span) * RECORD_WORDS && k < words.length; k++) this.pending.push(words[k]);
        i += span;
      } else i++;
    }
    if (this.pending.length >= 8192) this.seal();
  }

  /** All cached definitions as whole records. */
  all(): Uint32Array[] {
    this.seal();
    return this.blocks;
  }

  private seal(): void {
    if (this.pending.length === 0) return;
    const b = Uint32Array.from(this.pending);
    this.blocks.push(b);
    this.records += b.length / RECORD_WORDS;
    this.pending = [];
  }
}

/** A batch of records from the drain, with its RECS chunks encoded once for every stream that takes it whole. */
export class Batch {
  private chunks: Uint8Array[] | undefined;
  private drops = -1;
  constructor(
    readonly words: Uint32Array,
    readonly count: number,
  ) {}

  /** Events the producers reported dropped (their `dropped` records) in this batch. */
  producerDrops(): number {
    if (this.drops < 0) {
      let n = 0;
      const w = this.words;
      for (let i = 0; i < this.count; ) {
        const w0 = w[i * RECORD_WORDS];
        const code = w0 & 0xff;
        if (code >= DEF_FIRST) {
          i += Math.max(1, w0 >>> 16);
          continue;
        }
        if (code === Ev.Dropped) n += w[i * RECORD_WORDS + 4] + w[i * RECORD_WORDS + 5] * 4294967296;
        i++;
      }
      this.drops = n;
    }
    return this.drops;
  }

  encoded(): Uint8Array[] {
    if (!this.chunks) {
      const out: Uint8Array[] = [];
      const enc = new RecordingEncoder((b) => out.push(b), { maxChunkBytes: AGENT_CHUNK_BYTES });
      // the header is written by each stream itself: skip it here
      enc.header();
      out.length = 0;
      enc.records(this.words, 0, this.count);
      this.chunks = out;
    }
    return this.chunks;
  }
}

/** Options of {@link RecordingStream}. */
export interface StreamOptions {
  /** Backlog (bytes) above which events are dropped. Default 8 MiB. */
  maxBacklog?: number;
  writer: string;
}

/**
 * One consumer's recording. Call {@link start} once, {@link push} per batch,
 * {@link finish} at the end.
 */
export class RecordingStream {
  /** events dropped by this stream (backpressure) */
  droppedEvents = 0;
  /** events the producers dropped (ring full), seen in this stream's batches */
  producerDrops = 0;
  records = 0;
  private readonly encoder: RecordingEncoder;
  private readonly maxBacklog: number;
  private dropping = false;
  private readonly dropCount = new Float64Array(256);
  private readonly dropTime = new Float64Array(256);
  private finished = false;

  constructor(
    readonly sink: StreamSink,
    readonly mode: string,
    opts: StreamOptions,
  ) {
    this.encoder = new RecordingEncoder((b) => this.sink.write(b), { writer: opts.writer, maxChunkBytes: AGENT_CHUNK_BYTES });
    this.maxBacklog = opts.maxBacklog ?? 8 << 20;
  }

  get closed(): boolean {
    return this.finished || this.sink.closed;
  }

  /** Header, META and the definitions a late joiner needs. */
  start(meta: RecordingMeta, defs: Uint32Array[]): void {
    this.encoder.meta(meta);
    for (const d of defs) this.encoder.records(d);
    this.records += this.encoder.recordsWritten;
  }

  /** Sends a batch, or only its definitions when the consumer is behind. */
  push(batch: Batch): void {
    if (this.closed || batch.count === 0) return;
    const behind = this.sink.backlog() > this.maxBacklog;
    if (behind) {
      this.dropping = true;
      this.pushDefinitionsOnly(batch);
      return;
    }
    if (this.dropping) {
      this.dropping = false;
      this.writeDropMarkers();
    }
    this.producerDrops += batch.producerDrops();
    for (const c of batch.encoded()) this.sink.write(c);
    this.records += batch.count;
  }

  /** Writes END and ends the sink. */
  finish(totals: RecordingEnd): void {
    if (this.finished) return;
    if (!this.sink.closed) {
      if (this.dropping) this.writeDropMarkers();
      this.encoder.end({ ...totals, records: this.records, dropped: this.droppedEvents + this.producerDrops });
      this.sink.flush?.();
      this.sink.end();
    }
    this.finished = true;
  }

  private pushDefinitionsOnly(batch: Batch): void {
    const w = batch.words;
    const defs: number[] = [];
    for (let i = 0; i < batch.count; ) {
      const o = i * RECORD_WORDS;
      const w0 = w[o];
      const code = w0 & 0xff;
      if (code >= DEF_FIRST) {
        const span = Math.max(1, w0 >>> 16);
        for (let k = o; k < o + span * RECORD_WORDS; k++) defs.push(w[k]);
        i += span;
        continue;
      }
      const worker = (w0 >>> 8) & 0xff;
      if (code === Ev.Dropped) {
        // the producer's own drop record: fold its count into our marker
        const n = w[o + 4] + w[o + 5] * 4294967296;
        this.dropCount[worker] += n;
        this.producerDrops += n;
      } else {
        this.dropCount[worker]++;
        this.droppedEvents++;
      }
      const t = w[o + 2] + w[o + 3] * 4294967296;
      if (t > this.dropTime[worker]) this.dropTime[worker] = t;
      i++;
    }
    if (defs.length > 0) {
      const words = Uint32Array.from(defs);
      this.encoder.records(words);
      this.records += words.length / RECORD_WORDS;
    }
  }

  private writeDropMarkers(): void {
    const out: number[] = [];
    for (let worker = 0; worker < 256; worker++) {
      const n = this.dropCount[worker];
      if (n === 0) continue;
      out.push(header(Ev.Dropped, worker), 0, this.dropTime[worker] % 4294967296, Math.floor(this.dropTime[worker] / 4294967296), n % 4294967296, Math.floor(n / 4294967296), 0, 0);
      this.dropCount[worker] = 0;
    }
    if (out.length === 0) return;
    const words = Uint32Array.from(out);
    this.sink.write(encodeChunk(ChunkType.Records, new Uint8Array(words.buffer)));
    this.records += words.length / RECORD_WORDS;
  }
}
