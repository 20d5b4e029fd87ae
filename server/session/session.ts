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
import { basename } from 'node:path';
import { Aggregator, type AggregateSnapshot, type SnapshotOptions } from '../../model/aggregate.ts';
import { EventAssembler, TeeSink } from '../../model/assemble.ts';
import { Definitions } from '../../model/defs.ts';
import { FormatError, RecordingDecoder, type DecodeStatus, type RecordingMeta } from '../../model/format.ts';
import type { SessionInfo, SessionSource } from '../../model/protocol.ts';
import { DiskTimeline, type DiskTimelineOptions } from './disk-timeline.ts';

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
  private rec: FileAppender | null = null;
  /** bumped whenever something new was ingested (snapshot pushes compare it) */
  version = 0;
  status: DecodeStatus | undefined;
  /** why ingest stopped early (a corrupt or foreign stream) */
  stopped: string | undefined;
  private closed = false;
  private recSize = -1;

  constructor(
    readonly info: SessionRecord,
    readonly paths: SessionPaths,
    opts: SessionOptions = {},
  ) {
    this.aggregator = new Aggregator(this.defs);
    this.timeline = new DiskTimeline(paths.detail, this.defs, opts.timeline);
    this.assembler = new EventAssembler(this.defs, new TeeSink(this.aggregator, this.timeline));
    this.aggregator.useAssembler(this.assembler);
    this.decoder = new RecordingDecoder({
      records: (w, f, n) => this.assembler.records(w, f, n),
      meta: (m) => this.onMeta(m),
      end: (e) => this.aggregator.setEnd(e),
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
    this.rec = new FileAppender(this.paths.recording, 'w');
  }

  /**
   * Appends received bytes to the recording and ingests them. The bytes are
   * written in the background: do not reuse them.
   * @returns an error message when the stream is not (or no longer) a readable recording: close its source
   */
  feed(bytes: Uint8Array): string | undefined {
    if (this.closed) return 'the session is closed';
    if (this.stopped) return this.stopped;
    this.rec?.append(bytes);
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

  /** Reads a whole recording file (a stored session, an import), yielding to the event loop between slices. */
  async ingestFile(path: string, slice = 4 << 20): Promise<void> {
    const fd = openSync(path, 'r');
    try {
      const buf = Buffer.allocUnsafe(slice);
      for (;;) {
        const n = readSync(fd, buf, 0, slice, null);
        if (n === 0) break;
        const err = this.feed(buf.subarray(0, n));
        if (err && !this.decoder.problem && this.decoder.chunks === 0) throw new FormatError(err);
        if (err) break;
        await new Promise((r) => setImmediate(r));
      }
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Ends ingest: closes open attempts, cuts the recording after its last good
   * chunk when the stream broke off, updates the info.
   */
  finish(reason?: string): DecodeStatus | undefined {
    if (this.status || this.closed) return this.status;
    try {
      this.status = this.decoder.finish();
    } catch (e) {
      this.stopped ??= (e as Error).message;
    }
    this.assembler.flush();
    if (this.rec !== null) {
      // keep the recording up to its last good chunk
      const written = this.rec.size;
      const good = this.status?.problem ? this.status.problem.offset : this.stopped ? this.decoder.bytesFed - (this.decoder.problem?.unreadBytes ?? 0) : written;
      this.rec.close(good < written ? good : -1);
      this.recSize = Math.min(good, written);
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
    if (this.rec) i.sizeBytes = this.rec.size;
    else if (this.recSize >= 0) i.sizeBytes = this.recSize;
    else {
      try {
        i.sizeBytes = statSync(this.paths.recording).size;
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
    this.timeline.close();
    rmSync(this.paths.detail, { force: true });
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
