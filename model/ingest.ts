/**
 * The usual pipeline in one object: bytes → {@link RecordingDecoder} →
 * {@link EventAssembler} → {@link EventStore} and/or {@link Aggregator}, all
 * sharing one {@link Definitions}. Used by `stmscope report` (aggregator only:
 * memory bounded by the program, not the recording), by the server's ingest
 * (both) and by tests.
 *
 * ```ts
 * const ing = new Ingest({ store: true });
 * socket.on('message', (b) => ing.feed(b));
 * …
 * const status = ing.finish();
 * const snap = ing.aggregator!.snapshot();
 * ```
 */

import { Aggregator, type AggregatorOptions, type AggregatorState } from './aggregate.ts';
import { EventAssembler, TeeSink, type AssemblerState, type AttemptSink } from './assemble.ts';
import { Definitions } from './defs.ts';
import {
  RecordingDecoder,
  type DecodeStatus,
  type DecoderOptions,
  type RecordingDescription,
  type RecordingEnd,
  type RecordingMeta,
} from './format.ts';
import { EventStore, type StoreOptions } from './store.ts';

/** Options of {@link Ingest}. */
export interface IngestOptions {
  /** Keep every event in a columnar {@link EventStore}. Default false. */
  store?: boolean | StoreOptions;
  /** Maintain streaming aggregates. Default true. */
  aggregate?: boolean | AggregatorOptions;
  decoder?: DecoderOptions;
}

export class Ingest {
  readonly defs = new Definitions();
  readonly store: EventStore | undefined;
  readonly aggregator: Aggregator | undefined;
  readonly assembler: EventAssembler;
  readonly decoder: RecordingDecoder;
  private finished: DecodeStatus | undefined;

  constructor(opts: IngestOptions = {}) {
    if (opts.store) this.store = new EventStore(this.defs, typeof opts.store === 'object' ? opts.store : {});
    if (opts.aggregate !== false) {
      this.aggregator = new Aggregator(this.defs, typeof opts.aggregate === 'object' ? opts.aggregate : {});
    }
    const sinks: AttemptSink[] = [this.store, this.aggregator].filter((s): s is EventStore | Aggregator => !!s);
    const sink: AttemptSink = sinks.length === 2 ? new TeeSink(sinks[0], sinks[1]) : (sinks[0] ?? NULL_SINK);
    this.assembler = new EventAssembler(this.defs, sink);
    this.aggregator?.useAssembler(this.assembler);
    const asm = this.assembler;
    this.decoder = new RecordingDecoder(
      {
        records: (w, f, n) => asm.records(w, f, n),
        end: (e) => this.aggregator?.setEnd(e),
        // detail before it was dropped: continue from the state it carries, so the aggregates count everything
        trim: (t) => {
          try {
            if (t.assembler) this.assembler.loadState(t.assembler as AssemblerState);
            if (t.aggregator) this.aggregator?.loadState(t.aggregator as AggregatorState);
          } catch (e) {
            this.decoder.warnings.push(`the aggregates of the dropped detail could not be loaded (${(e as Error).message}): they count only what follows`);
          }
        },
      },
      opts.decoder,
    );
  }

  /**
   * Decodes and ingests more bytes (any split).
   * @throws FormatError when the input is not a recording
   */
  feed(bytes: Uint8Array): void {
    this.decoder.feed(bytes);
  }

  /** Ends the input: closes open attempts as unfinished, returns what was read and lost. Idempotent. */
  finish(): DecodeStatus {
    if (!this.finished) {
      this.finished = this.decoder.finish();
      this.assembler.flush();
    }
    return this.finished;
  }

  get meta(): RecordingMeta | undefined {
    return this.decoder.meta;
  }
  get description(): RecordingDescription | undefined {
    return this.decoder.description;
  }
  get end(): RecordingEnd | undefined {
    return this.decoder.endTotals;
  }
}

const noop = () => {};
const NULL_SINK: AttemptSink = { attempt: noop, abort: noop, wait: noop, blocked: noop, inevitable: noop, fail: noop, dropped: noop };

/**
 * Decodes a whole in-memory recording.
 * @throws FormatError when the bytes are not a recording
 */
export function ingestBytes(bytes: Uint8Array, opts: IngestOptions = {}): { ingest: Ingest; status: DecodeStatus } {
  const ingest = new Ingest(opts);
  ingest.feed(bytes);
  return { ingest, status: ingest.finish() };
}
