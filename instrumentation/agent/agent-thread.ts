/**
 * The agent thread (started by runtime/agent-launch.ts): drains the heap's
 * event rings and streams them, in the recording format, to the sinks of the
 * active session. Sessions:
 * - file (STMSCOPE_RECORD_FILE): from the first transaction to process exit;
 * - more kinds (attach socket, outbound server) plug in through `Sink`.
 *
 * Draining never blocks a transaction: producers write to their rings and
 * drop (counted) when a ring is full; this thread polls every few ms and
 * faster while rings are busy.
 */
import { workerData } from 'node:worker_threads';
import { RecordingEncoder, type RecordingMeta } from '../../model/format.ts';
import type { SharedHeap } from '../../runtime/heap.ts';
import { W_EPOCH_F64, W_RECORDING } from '../../runtime/layout.ts';
import { A_FINAL, A_FLUSH_ACK, A_FLUSH_REQ, A_READY, A_SESSION, type AgentConfig } from '../../runtime/agent-launch.ts';
import { Drain } from './drain.ts';
import { FileSink, type Sink } from './sinks.ts';
import { VERSION } from '../version.ts';

interface Data {
  shared: SharedHeap;
  control: SharedArrayBuffer;
  config: AgentConfig;
  argv: string[];
  execArgv: string[];
}

const { shared, control, config, argv } = workerData as Data;
const ctl = new Int32Array(control);
const drain = new Drain(shared.heap, shared.rings);
const heapI32 = drain.views.i32;

/** One recording stream to one sink. */
class Session {
  readonly encoder: RecordingEncoder;
  private closed = false;
  constructor(
    readonly sink: Sink,
    mode: string,
  ) {
    this.encoder = new RecordingEncoder((b) => this.sink.write(b), { writer: `stmscope ${VERSION}` });
    this.encoder.meta(programMeta(mode));
  }
  write(words: Uint32Array, count: number): void {
    if (!this.closed && count > 0) this.encoder.records(words, 0, count);
  }
  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.encoder.end({ durationNs: nowNs(), dropped: drain.dropped, reason });
    this.sink.close();
  }
}

function nowNs(): number {
  return Math.max(0, Math.round(Number(process.hrtime.bigint()) - drain.views.f64[W_EPOCH_F64]));
}

function programMeta(mode: string): RecordingMeta {
  const epochHr = drain.views.f64[W_EPOCH_F64];
  const epochUnixMs = Date.now() - (Number(process.hrtime.bigint()) - epochHr) / 1e6;
  const roots = (process.env.STMSCOPE_SOURCE_ROOTS ?? '').split(':').filter(Boolean);
  return {
    argv,
    cwd: process.cwd(),
    pid: process.pid,
    startTime: new Date(epochUnixMs).toISOString(),
    epochUnixMs,
    workers: drain.threads,
    version: VERSION,
    sourceRoots: roots,
    mode,
    // commits are a 1/sampleEvery sample (aborts, waits and failures are complete)
    sampleEvery: Math.max(1, Number(process.env.STMSCOPE_SAMPLE) || 1),
  };
}

let sessionCounter = 0;
const sessions: Session[] = [];

function startSession(sink: Sink, mode: string, fromStart = false): Session {
  const s = new Session(sink, mode);
  if (sessions.length === 0) {
    const running = Atomics.load(heapI32, W_RECORDING);
    if (fromStart && running !== 0) {
      // the launcher switched recording on before this thread ran: keep those events
      sessionCounter = running;
    } else {
      // a fresh stream: stale ring contents belong to nobody
      drain.skipAll();
      drain.namer.reset();
      sessionCounter = Math.max(sessionCounter, running) + 1;
      Atomics.store(heapI32, W_RECORDING, sessionCounter);
    }
  }
  sessions.push(s);
  Atomics.store(ctl, A_SESSION, 1);
  return s;
}

function pump(): number {
  const batch = drain.poll();
  if (batch.count > 0) for (const s of sessions) s.write(batch.words, batch.count);
  return batch.count;
}

if (config.recordFile) {
  try {
    startSession(new FileSink(config.recordFile), 'record', true);
  } catch (e) {
    process.stderr.write(`stmscope: cannot record to ${config.recordFile}: ${(e as Error).message}\n`);
  }
}

let lastFlushReq = Atomics.load(ctl, A_FLUSH_REQ);
Atomics.store(ctl, A_READY, 1);

function tick(): void {
  let moved = pump();
  const req = Atomics.load(ctl, A_FLUSH_REQ);
  if (req !== lastFlushReq) {
    lastFlushReq = req;
    // drain until the rings are empty (threads may still be finishing)
    for (let i = 0; i < 100 && moved > 0; i++) moved = pump();
    pump();
    if (Atomics.load(ctl, A_FINAL) === 1) {
      Atomics.store(heapI32, W_RECORDING, 0);
      for (const s of sessions.splice(0)) s.close('exit');
    } else {
      for (const s of sessions) s.sink.flush?.();
    }
    Atomics.store(ctl, A_FLUSH_ACK, req);
    Atomics.notify(ctl, A_FLUSH_ACK);
  }
  // poll fast while events flow, slowly when idle
  setTimeout(tick, moved > 0 ? 1 : 5);
}
tick();
