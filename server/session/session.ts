/**
 * One session: a recording on disk plus everything the dashboard asks of it.
 *
 * ```
 * bytes (agent socket, /ingest WebSocket, import, file) ─► recording file (append, as received)
 *                                                       └► RecordingDecoder ─► EventAssembler ─┬► Aggregator  (snapshots)
 *                                                                                              └► DiskTimeline (window queries)
 * ```
 *
 * A live session appends what it receives to its recording, so the recording
 * is the session: after a restart the server reads it again. When the stream
 * stops in the middle of a chunk (the program was killed) or turns corrupt,
 * the session keeps everything up to the last good chunk and the recording is
 * cut there, with the reason in `problem`.
 */
import { closeSync, openSync, readSync, statSync, rmSync } from 'node:fs';
import { FileAppender } from './appender.ts';

/** Most time ingest takes per event-loop turn (short: receiving gets a turn between slices). */
const SLICE_MS = 1;
/** Received bytes kept in memory for ingest (beyond: read back from the recording). */
const QUEUE_BYTES = 64 << 20;
/** Bytes read back per step when ingest runs behind the memory queue. */
const READ_BACK_BYTES = 4 << 20;
import { basename } from 'node:path';
import { Aggregator, type AggregateSnapshot, type SnapshotOptions } from '../../model/aggregate.ts';
import { EventAssembler, TeeSink } from '../../model/assemble.ts';
import { Definitions } from '../../model/defs.ts';
import { FormatError, RecordingDecoder, type DecodeStatus, type RecordingMeta, type RecordingTrim } from '../../model/format.ts';
import type { SessionInfo, SessionSource } from '../../model/protocol.ts';
import { DiskTimeline, type DiskTimelineOptions } from './disk-timeline.ts';
import { RetainedRecording, recordingBytes, recordingFiles, retentionInfo, trimStateOf } from './retention.ts';
import '../../instrumentation/agent/native-crc.ts';

/** What is persisted next to a recording (`<id>.json`). */
export interface SessionRecord extends SessionInfo {
  /** the recording, when it is not `<id>.stm` in the data directory (stmscope view) */
  recordingPath?: string;
  meta?: RecordingMeta;
  /** the server process that records it while live */
  serverPid?: number;
}

/** Paths of one session. */
export interface SessionPaths {
  recording: string;
  /** sidecar JSON; undefined for sessions that are not persisted (stmscope view) */
  record?: string;
  /** timeline detail file (a cache, deleted when the session is unloaded) */
  detail: string;
}

/** Options of {@link Session}. */
export interface SessionOptions {
  timeline?: DiskTimelineOptions;
  /** Received bytes kept in memory for ingest; beyond, ingest reads them back from the recording. Default 64 MiB. */
  queueBytes?: number;
  /** Retention of a live session's detail (retention.ts); absent: the recording is one file, kept whole. */
  retention?: { maxBytes: number; maxAgeMs?: number; partBytes?: number };
}

/** A title for a program: its script's file name, else the command. */
export function titleOf(argv: string[] | undefined, fallback: string): string {
  if (!argv || argv.length === 0) return fallback;
  const script = argv.slice(1).find((a) => !a.startsWith('-') && /\.[cm]?[jt]sx?$/.test(a));
  return script ? basename(script) : basename(argv[0]);
}

export class Session {
  readonly defs = new Definitions();
  readonly aggregator: Aggregator;
  readonly timeline: DiskTimeline;
  readonly assembler: EventAssembler;
  private readonly decoder: RecordingDecoder;
  /** the recording while receiving */
  private rec: FileAppender | RetainedRecording | null = null;
  /** the recording while receiving, when it drops its oldest detail (retention.ts) */
  private retained: RetainedRecording | undefined;
  /** called when detail was dropped (the store persists the info) */
  onRetention: () => void = () => {};
  /** bumped whenever something new was ingested (snapshot pushes compare it) */
  version = 0;
  status: DecodeStatus | undefined;
  /** why ingest stopped early (a corrupt or foreign stream) */
  stopped: string | undefined;
  private closed = false;
  private recSize = -1;
  private readonly queueLimit: number;
  private readonly retentionOpts: SessionOptions['retention'];

  constructor(
    readonly info: SessionRecord,
    readonly paths: SessionPaths,
    opts: SessionOptions = {},
  ) {
    this.queueLimit = opts.queueBytes ?? QUEUE_BYTES;
    this.retentionOpts = opts.retention;
    this.aggregator = new Aggregator(this.defs);
    this.timeline = new DiskTimeline(paths.detail, this.defs, opts.timeline);
    this.assembler = new EventAssembler(this.defs, new TeeSink(this.aggregator, this.timeline));
    this.aggregator.useAssembler(this.assembler);
    this.decoder = new RecordingDecoder({
      records: (w, f, n) => this.assembler.records(w, f, n),
      meta: (m) => this.onMeta(m),
      end: (e) => this.aggregator.setEnd(e),
      trim: (t) => this.onTrim(t),
    });
  }

  get id(): string {
    return this.info.id;
  }

  /** Good chunks decoded so far. */
  get chunks(): number {
    return this.decoder.chunks;
  }

  /** Starts writing the recording file (live sessions and imports). */
  openForWriting(): void {
    const r = this.retentionOpts;
    if (r && (r.maxBytes > 0 || (r.maxAgeMs ?? 0) > 0)) {
      this.rec = this.retained = new RetainedRecording(this.paths.recording, r, {
        aggregator: this.aggregator,
        assembler: this.assembler,
        timeline: this.timeline,
        epochMs: () => this.epochMs(),
        changed: () => {
          this.version++;
          this.refreshInfo();
          this.onRetention();
        },
      });
      this.info.retention = this.retained.info();
      return;
    }
    // read back too: ingest that falls behind the memory queue reads the recording
    this.rec = new FileAppender(this.paths.recording, 'w+');
  }

  /** Drops detail the caps no longer allow (the age cap of an idle session); cheap otherwise. */
  enforceRetention(): void {
    this.retained?.enforce();
  }

  /**
   * Appends bytes to the recording and ingests them now (synchronously). The
   * bytes are written in the background: do not reuse them.
   * @returns an error message when the stream is not (or no longer) a readable recording
   */
  feed(bytes: Uint8Array): string | undefined {
    if (this.closed) return 'the session is closed';
    if (this.stopped) return this.stopped;
    this.rec?.append(bytes);
    this.ingestOffset += bytes.length;
    return this.decode(bytes);
  }

  private decode(bytes: Uint8Array): string | undefined {
    try {
      this.decoder.feed(bytes);
    } catch (e) {
      this.stopped = e instanceof FormatError ? e.message : `ingest failed: ${(e as Error).message}`;
      return this.stopped;
    }
    this.version++;
    if (this.decoder.problem) {
      this.stopped = this.decoder.problem.message;
      return this.stopped;
    }
    return undefined;
  }

  // -- live input: persist at wire speed, ingest behind it ---------------------
  //
  // A live source's bytes go to the recording at once; ingest follows in
  // slices of at most SLICE_MS per event-loop turn, so receiving (and the
  // dashboards' queries) never wait for it. Received bytes are kept in memory
  // for ingest up to QUEUE_BYTES; beyond that ingest reads them back from the
  // recording. When the source ends, the session finishes once ingest caught up.

  /** Called once when the stream turns out unreadable (garbage, corrupt chunk): close its source. */
  onProblem: (message: string) => void = () => {};
  /** Called once when a live session finished (input ended and everything was ingested). */
  onFinished: () => void = () => {};
  private queue: Array<{ offset: number; bytes: Uint8Array }> = [];
  private queuedBytes = 0;
  private ingestOffset = 0;
  private pumping = false;
  private inputEnd: { reason?: string } | undefined;
  private finishedP: Promise<void> | undefined;
  private resolveFinished: (() => void) | undefined;

  /** When the live source ended (Unix ms). */
  inputEndedAt: number | undefined;

  /** Bytes received but not ingested yet. */
  get lagBytes(): number {
    return this.rec ? this.rec.size - this.ingestOffset : 0;
  }

  /**
   * Takes bytes from a live source (written to the recording now, ingested
   * soon). Do not reuse them.
   * @returns the reason to close the source when the stream already proved unreadable
   */
  receive(bytes: Uint8Array): string | undefined {
    if (this.closed) return 'the session is closed';
    if (this.stopped) return this.stopped;
    if (!this.rec || this.inputEnd) return 'the session does not take input';
    const offset = this.rec.append(bytes);
    if (this.queuedBytes + bytes.length <= this.queueLimit) {
      this.queue.push({ offset, bytes });
      this.queuedBytes += bytes.length;
    }
    this.schedule();
    return undefined;
  }

  /** The live source ended; the session finishes once ingest caught up. */
  endInput(reason?: string): void {
    if (this.inputEnd) return;
    this.inputEnd = { reason };
    this.inputEndedAt = Date.now();
    this.schedule();
  }

  /** Resolves when the live session finished. */
  whenFinished(): Promise<void> {
    if (this.status || !this.info.live) return Promise.resolve();
    this.finishedP ??= new Promise((r) => (this.resolveFinished = r));
    return this.finishedP;
  }

  private schedule(): void {
    if (this.pumping) return;
    this.pumping = true;
    setImmediate(() => this.pump());
  }

  private pump(): void {
    this.pumping = false;
    if (this.closed || this.status) return;
    this.ingestQueued(SLICE_MS);
    const rec = this.rec;
    const caughtUp = !rec || this.stopped !== undefined || this.ingestOffset >= rec.size;
    if (!caughtUp) return this.schedule();
    if (this.inputEnd) {
      this.finish(this.inputEnd.reason);
      this.resolveFinished?.();
      this.onFinished();
    }
  }

  /** Ingests received bytes for at most `budgetMs` (Infinity: all of them). */
  private ingestQueued(budgetMs: number): void {
    const t0 = performance.now();
    const rec = this.rec;
    while (rec && !this.stopped && this.ingestOffset < rec.size && performance.now() - t0 < budgetMs) {
      let bytes: Uint8Array;
      while (this.queue.length && this.queue[0].offset + this.queue[0].bytes.length <= this.ingestOffset) {
        this.queuedBytes -= this.queue.shift()!.bytes.length;
      }
      const q = this.queue[0];
      // retention: stop exactly at a part boundary, so its checkpoint sees all before it and nothing after
      const room = this.retained ? this.retained.nextStop(this.ingestOffset) - this.ingestOffset : Infinity;
      if (q && q.offset === this.ingestOffset) {
        if (q.bytes.length > room) {
          bytes = q.bytes.subarray(0, room);
          q.bytes = q.bytes.subarray(room);
          q.offset += room;
          this.queuedBytes -= room;
        } else {
          this.queue.shift();
          this.queuedBytes -= q.bytes.length;
          bytes = q.bytes;
        }
      } else {
        // not kept in memory: read it back from the recording
        const until = q ? q.offset : rec.size;
        const n = Math.min(READ_BACK_BYTES, until - this.ingestOffset, room);
        bytes = new Uint8Array(n);
        rec.read(bytes, this.ingestOffset);
      }
      this.ingestOffset += bytes.length;
      const err = this.decode(bytes);
      if (!err) this.retained?.reached(this.ingestOffset);
      if (err) {
        this.queue = [];
        this.queuedBytes = 0;
        this.onProblem(err);
      }
    }
  }

  /**
   * Reads a stored recording: its files in order (retention.ts: a head and
   * parts, or one file), sealing the timeline where one part ends and the next
   * begins as the live session did. Yields to the event loop between slices.
   */
  async ingestRecording(path: string, slice = 4 << 20): Promise<void> {
    const files = recordingFiles(path);
    if (files.length === 0) files.push(path);
    for (let i = 0; i < files.length; i++) {
      if (i > 0 && !files[i - 1].endsWith('.head')) this.timeline.mark();
      if (!(await this.ingestFile(files[i], slice))) break;
    }
  }

  /** Reads one recording file; false when ingest stopped (a problem). */
  async ingestFile(path: string, slice = 4 << 20): Promise<boolean> {
    const fd = openSync(path, 'r');
    try {
      const buf = Buffer.allocUnsafe(slice);
      for (;;) {
        const n = readSync(fd, buf, 0, slice, null);
        if (n === 0) break;
        const err = this.feed(buf.subarray(0, n));
        if (err && !this.decoder.problem && this.decoder.chunks === 0) throw new FormatError(err);
        if (err) return false;
        await new Promise((r) => setImmediate(r));
      }
    } finally {
      closeSync(fd);
    }
    return true;
  }

  /**
   * Ends ingest: closes open attempts, cuts the recording after its last good
   * chunk when the stream broke off, updates the info.
   */
  finish(reason?: string): DecodeStatus | undefined {
    if (this.status || this.closed) return this.status;
    // what was received but not ingested yet belongs to the session (and must not be cut off below)
    this.ingestQueued(Infinity);
    try {
      this.status = this.decoder.finish();
    } catch (e) {
      this.stopped ??= (e as Error).message;
    }
    this.assembler.flush();
    if (this.rec !== null) {
      // keep the recording up to its last good chunk
      const written = this.rec.size;
      // bytes never fed to the decoder (ingest stopped early) are not part of the session either
      const fed = this.decoder.bytesFed - (this.decoder.problem?.unreadBytes ?? 0);
      const good = !this.decoder.description ? 0 : this.status?.problem ? this.status.problem.offset : this.stopped ? fed : written;
      this.rec.close(good < written ? good : -1);
      this.recSize = this.retained ? -1 : Math.min(good, written);
      this.rec = null;
    }
    const problem = this.stopped ?? this.status?.message;
    this.info.live = false;
    if (problem) this.info.problem = reason ? `${reason}: ${problem}` : problem;
    else if (reason) this.info.problem = reason;
    this.refreshInfo();
    this.version++;
    return this.status;
  }

  /** Recomputes the totals of `info` from the aggregates. */
  refreshInfo(snap: AggregateSnapshot = this.aggregator.snapshot({ topGroups: 0, topHotObjects: 0, advice: false })): void {
    const s = snap.summary;
    const i = this.info;
    i.durationNs = Math.max(snap.durationNs, snap.lastNs);
    i.totals = {
      events: snap.events,
      commits: s.commits,
      aborts: s.aborts,
      timeLostNs: s.abortedNs + s.blockedNs,
      waitNs: s.waitingNs,
      droppedEvents: s.droppedEvents,
      workers: s.workers,
    };
    if (this.retained) {
      i.sizeBytes = this.retained.recordingBytes;
      i.retention = this.retained.info();
    } else if (this.rec) i.sizeBytes = this.rec.size;
    else if (this.recSize >= 0) i.sizeBytes = this.recSize;
    else {
      try {
        i.sizeBytes = this.trimmed ? recordingBytes(this.paths.recording) : statSync(this.paths.recording).size;
      } catch {
        /* not there */
      }
    }
  }

  /** The aggregates for the dashboard. */
  snapshot(opts: SnapshotOptions = { topGroups: 100, topHotObjects: 100 }): AggregateSnapshot {
    return this.aggregator.snapshot(opts);
  }

  /** Releases memory and the timeline's detail file (the recording stays). */
  close(): void {
    if (this.closed) return;
    if (this.rec !== null) this.finish('closed');
    this.closed = true;
    const files = this.timeline.files();
    this.timeline.close();
    for (const f of [this.paths.detail, ...files]) rmSync(f, { force: true });
  }

  /** Unix ms of the recording epoch, when the META says. */
  private epochMs(): number | undefined {
    const m = this.info.meta;
    if (typeof m?.epochUnixMs === 'number') return m.epochUnixMs;
    const t = typeof m?.startTime === 'string' ? Date.parse(m.startTime) : NaN;
    return Number.isFinite(t) ? t : undefined;
  }

  /** whether the recording read was trimmed (a TRIM chunk) */
  private trimmed = false;

  /**
   * A TRIM chunk (a stored session whose oldest detail was dropped): continue
   * from the state at the cut, so aggregates count everything and the timeline
   * answers as the live session did.
   */
  private onTrim(t: RecordingTrim): void {
    let st;
    try {
      st = trimStateOf(t);
      if (st.assembler) this.assembler.loadState(st.assembler);
      if (st.aggregator) this.aggregator.loadState(st.aggregator);
      this.timeline.resumeAfterDrop(st.rows, st.droppedBeforeNs, st.startNs, st.workers);
    } catch (e) {
      this.info.problem ??= `the aggregates of the dropped detail could not be read (${(e as Error).message}): they count only the detail that is left`;
      return;
    }
    this.trimmed = true;
    this.info.retention = retentionInfo(st.maxBytes, st.maxAgeMs, st.droppedBeforeNs, st.droppedBytes, st.reason, undefined, this.epochMs());
  }

  private onMeta(m: RecordingMeta): void {
    const i = this.info;
    i.meta = m;
    if (Array.isArray(m.argv)) {
      i.program = { argv: m.argv.map(String), cwd: typeof m.cwd === 'string' ? m.cwd : '', pid: typeof m.pid === 'number' ? m.pid : 0 };
      if (!i.title || i.title === 'program' || i.title === 'recording' || i.title.startsWith('pid ')) i.title = titleOf(i.program.argv, i.title);
    }
    if (typeof m.startTime === 'string') i.startTime = m.startTime;
  }
}

/** A fresh info record. */
export function newInfo(id: string, source: SessionSource, title: string, program: SessionInfo['program'] = null): SessionRecord {
  return {
    id,
    title,
    program,
    startTime: null,
    durationNs: 0,
    live: false,
    source,
    totals: { events: 0, commits: 0, aborts: 0, timeLostNs: 0, waitNs: 0, droppedEvents: 0, workers: 0 },
    sizeBytes: 0,
  };
}
