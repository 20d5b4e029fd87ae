/**
 * The agent thread (started by runtime/agent-launch.ts, one per process):
 * makes the program attachable and streams its events, in the recording
 * format, to whoever listens.
 *
 * ```
 *  heap threads ──► rings ──► Drain ──► DefinitionCache
 *                                   └─► RecordingStream ─► FileSink      (STMSCOPE_RECORD_FILE, stmscope record)
 *                                   └─► RecordingStream ─► SocketSink    (a client attached on <pid>.sock)
 *                                   └─► RecordingStream ─► WebSocketSink (STMSCOPE_SERVER, stmscope run)
 * ```
 *
 * - Recording (heap word W_RECORDING) is on while at least one stream exists
 *   and off when the last one ends; each time it goes on it gets a new
 *   session number, so threads re-send their definitions.
 * - A stream that joins while recording is on gets the cached definitions
 *   first (streams.ts), then live events.
 * - With no stream, this thread does nothing at all: no polling, it only
 *   waits for a client on its socket or a flush request from the main thread.
 * - Draining never blocks a transaction: producers drop (and count) when a
 *   ring is full; a slow consumer loses events (counted, marked), never
 *   definitions; nothing here ever waits for a consumer.
 */
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import type { RecordingMeta } from '../../model/format.ts';
import type { SharedHeap } from '../../runtime/heap.ts';
import { W_EPOCH_F64, W_RECORDING } from '../../runtime/layout.ts';
import { A_FINAL, A_FLUSH_ACK, A_FLUSH_REQ, A_READY, A_SESSION, type AgentConfig } from '../../runtime/agent-launch.ts';
import { Drain } from './drain.ts';
import { FileSink, SocketSink, WebSocketSink, type WsLike } from './sinks.ts';
import { Batch, DefinitionCache, RecordingStream, type StreamSink } from './streams.ts';
import { AGENT_PROTOCOL, MAX_REQUEST_BYTES, entryPath, removeEntry, socketPath, writeEntry, type AgentEntry, type AgentInfo } from './discovery.ts';
import { agentsDir, ensurePrivateDir } from './paths.ts';
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
const writer = `stmscope ${VERSION}`;
const startedAt = new Date().toISOString();
/** Most clients attached at once (each costs an encoder pass and a socket). */
const MAX_CLIENTS = 8;
/** Backlog per consumer before its events are dropped. */
const MAX_BACKLOG = Number(process.env.STMSCOPE_AGENT_BACKLOG) || 8 << 20;

function nowNs(): number {
  return Math.max(0, Math.round(Number(process.hrtime.bigint()) - drain.views.f64[W_EPOCH_F64]));
}

function programMeta(mode: string): RecordingMeta {
  const epochHr = drain.views.f64[W_EPOCH_F64];
  const epochUnixMs = Date.now() - (Number(process.hrtime.bigint()) - epochHr) / 1e6;
  const roots = (process.env.STMSCOPE_SOURCE_ROOTS ?? '').split(':').filter(Boolean);
  const meta: RecordingMeta = {
    argv,
    cwd: process.cwd(),
    pid: process.pid,
    startTime: new Date(epochUnixMs).toISOString(),
    epochUnixMs,
    workers: drain.threads,
    version: VERSION,
    sourceRoots: roots,
    mode,
  };
  if (config.sampleEvery && config.sampleEvery > 1) meta.sampleEvery = config.sampleEvery;
  return meta;
}

// ---------------------------------------------------------------------------
// Streams

const defs = new DefinitionCache();
const streams: RecordingStream[] = [];
let sessionCounter = 0;

/** Starts a stream; the first one switches recording on. */
function begin(sink: StreamSink, mode: string, fromStart = false): RecordingStream {
  const s = new RecordingStream(sink, mode, { writer, maxBacklog: MAX_BACKLOG });
  if (streams.length === 0) {
    const running = Atomics.load(heapI32, W_RECORDING);
    if (fromStart && running !== 0) {
      // the launcher switched recording on before this thread ran: keep those events
      sessionCounter = running;
    } else {
      // a fresh recording: stale ring contents belong to nobody
      drain.skipAll();
      drain.namer.reset();
      defs.clear();
      sessionCounter = Math.max(sessionCounter, running) + 1;
      Atomics.store(heapI32, W_RECORDING, sessionCounter);
    }
  } else {
    // a late joiner: bring the definition cache up to date first
    pump();
  }
  s.start(programMeta(mode), defs.all());
  streams.push(s);
  Atomics.store(ctl, A_SESSION, 1);
  wake();
  return s;
}

/** Ends a stream (END chunk unless its consumer is gone); the last one switches recording off. */
function end(s: RecordingStream, reason: string): void {
  if (!streams.includes(s)) return;
  if (!s.sink.closed) pump();
  const i = streams.indexOf(s);
  if (i < 0) return;
  streams.splice(i, 1);
  s.finish({ durationNs: nowNs(), reason });
  if (streams.length === 0) {
    Atomics.store(heapI32, W_RECORDING, 0);
    Atomics.store(ctl, A_SESSION, 0);
  }
}

/** Moves what the rings hold to every stream; returns the records moved. */
function pump(): number {
  if (streams.length === 0) return 0;
  const b = drain.poll();
  if (b.count > 0) {
    defs.add(b.words, b.count);
    const batch = new Batch(b.words, b.count);
    for (const s of streams) s.push(batch);
  }
  // consumers that went away
  for (const s of [...streams]) if (s.sink.closed) end(s, 'gone');
  return b.count;
}

// ---------------------------------------------------------------------------
// The loop: poll while streams exist, sleep otherwise

let timer: NodeJS.Timeout | undefined;
let lastFlushReq = Atomics.load(ctl, A_FLUSH_REQ);
let flushing = false;

function tick(): void {
  timer = undefined;
  const moved = pump();
  checkFlush();
  if (streams.length > 0) timer = setTimeout(tick, moved > 0 ? 1 : 5);
  else idle();
}

function wake(): void {
  if (timer === undefined) timer = setTimeout(tick, 1);
}

let idleWaiting = false;
// Node 20 has Atomics.waitAsync; the ES2022 lib this repository compiles against does not declare it.
const waitAsync = (Atomics as unknown as {
  waitAsync(a: Int32Array, i: number, v: number): { async: boolean; value: Promise<string> | string };
}).waitAsync;

/** With no stream: wait for a flush request only (clients wake us through the socket). */
function idle(): void {
  if (idleWaiting) return;
  const w = waitAsync(ctl, A_FLUSH_REQ, lastFlushReq);
  if (w.async) {
    idleWaiting = true;
    void (w.value as Promise<string>).then(() => {
      idleWaiting = false;
      checkFlush();
      if (streams.length > 0) wake();
      else if (!flushing) idle();
    });
  } else {
    checkFlush();
    setTimeout(() => (streams.length > 0 ? wake() : idle()), 1);
  }
}

function checkFlush(): void {
  const req = Atomics.load(ctl, A_FLUSH_REQ);
  if (req === lastFlushReq || flushing) return;
  lastFlushReq = req;
  // drain until the rings are empty (threads may still be finishing)
  let moved = pump();
  for (let i = 0; i < 100 && moved > 0; i++) moved = pump();
  const ack = () => {
    Atomics.store(ctl, A_FLUSH_ACK, req);
    Atomics.notify(ctl, A_FLUSH_ACK);
  };
  if (Atomics.load(ctl, A_FINAL) === 1) {
    const sinks = streams.map((s) => s.sink);
    for (const s of [...streams]) end(s, 'exit');
    Atomics.store(heapI32, W_RECORDING, 0);
    // let sockets hand their last bytes to the OS before the process goes
    flushing = true;
    void Promise.race([Promise.all(sinks.map((k) => k.drained?.())), new Promise((r) => setTimeout(r, 1500))]).then(() => {
      flushing = false;
      ack();
      idle();
    });
    return;
  }
  for (const s of streams) s.sink.flush?.();
  ack();
}

// ---------------------------------------------------------------------------
// Consumers

if (config.recordFile) {
  try {
    begin(new FileSink(config.recordFile), 'record', true);
  } catch (e) {
    process.stderr.write(`stmscope: cannot record to ${config.recordFile}: ${(e as Error).message}\n`);
  }
}

if (config.server) connectOut(config.server);

/** Streams to a server from the first transaction (`stmscope run`); the program goes on if the server goes away. */
function connectOut(target: string): void {
  let url: URL;
  try {
    url = new URL(target);
    if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new Error(`expected a ws:// URL, got ${url.protocol}`);
  } catch (e) {
    process.stderr.write(`stmscope: STMSCOPE_SERVER=${JSON.stringify(target)} is not usable (${(e as Error).message}); not streaming\n`);
    return;
  }
  const token = url.searchParams.get('token') ?? '';
  url.searchParams.delete('token');
  const shown = `${url.protocol}//${url.host}`;
  const sink = new WebSocketSink((why) => {
    if (why) process.stderr.write(`stmscope: stopped streaming to ${shown}: ${why}; the program continues unrecorded\n`);
  });
  begin(sink, 'run', true);
  import('ws').then(
    (mod) => {
      const WebSocket = (mod as unknown as { WebSocket: new (u: string, o: object) => WsLike }).WebSocket ?? (mod as unknown as { default: new (u: string, o: object) => WsLike }).default;
      const ws = new WebSocket(url.href, {
        headers: { authorization: `Bearer ${token}` },
        perMessageDeflate: false,
        // Masking protects browsers' proxies from forged frames; this client is
        // not a browser, and an all-zero mask lets both ends skip the XOR loop
        // (node-costs.md: masking is the bottleneck of `ws` without bufferutil).
        generateMask: (mask: Uint8Array) => mask.fill(0),
        maxPayload: 1 << 20,
        handshakeTimeout: 5000,
      });
      sink.connect(ws);
    },
    (e: Error) => sink.fail(`cannot load the ws module (${e.message})`),
  );
}

let server: Server | undefined;
if (config.listen) listen();

function listen(): void {
  let dir: string;
  try {
    dir = ensurePrivateDir(agentsDir());
  } catch (e) {
    process.stderr.write(`stmscope: attach is unavailable: ${(e as Error).message}\n`);
    return;
  }
  const endpoint = socketPath(dir, process.pid);
  if (Buffer.byteLength(endpoint) > 100) {
    process.stderr.write(`stmscope: attach is unavailable: the socket path ${endpoint} is too long; set STMSCOPE_HOME to a shorter directory\n`);
    return;
  }
  // a socket left by an earlier process with our pid
  if (existsSync(endpoint)) {
    try {
      unlinkSync(endpoint);
    } catch {
      /* listen will say why */
    }
  }
  server = createServer((sock) => onClient(sock));
  server.on('error', (e) => process.stderr.write(`stmscope: attach is unavailable: ${e.message}\n`));
  server.listen(endpoint, () => {
    try {
      chmodSync(endpoint, 0o600);
      const entry: AgentEntry = {
        pid: process.pid,
        argv,
        cwd: process.cwd(),
        startTime: startedAt,
        workers: drain.threads,
        endpoint,
        version: VERSION,
        protocol: AGENT_PROTOCOL,
      };
      writeEntry(dir, entry);
      // the main thread removes these at exit (this thread cannot: it is stopped first)
      parentPort?.postMessage({ type: 'stmscope-agent-files', paths: [entryPath(dir, process.pid), endpoint] });
    } catch (e) {
      process.stderr.write(`stmscope: attach is unavailable: ${(e as Error).message}\n`);
      server?.close();
      removeEntry(dir, process.pid);
    }
  });
}

function info(): AgentInfo {
  return {
    pid: process.pid,
    argv,
    cwd: process.cwd(),
    startTime: startedAt,
    workers: drain.threads,
    endpoint: server?.address()?.toString() ?? '',
    version: VERSION,
    protocol: AGENT_PROTOCOL,
    attached: streams.filter((s) => s.mode === 'attach').length,
  };
}

function onClient(sock: Socket): void {
  let buf = '';
  let stream: RecordingStream | undefined;
  const refuse = (msg: string) => {
    sock.end(JSON.stringify({ error: msg }) + '\n');
  };
  const timer = setTimeout(() => {
    if (!stream) refuse('no request within 5 s');
  }, 5000);
  sock.setEncoding('utf8');
  sock.on('error', () => {
    /* the client went away; 'close' follows */
  });
  sock.on('close', () => {
    clearTimeout(timer);
    if (stream) end(stream, 'gone');
  });
  sock.on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      if (nl > MAX_REQUEST_BYTES && !stream) return refuse(`request longer than ${MAX_REQUEST_BYTES} bytes`);
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      handle(line);
      if (sock.destroyed) return;
    }
    if (buf.length > MAX_REQUEST_BYTES) {
      sock.removeAllListeners('data');
      if (stream) sock.destroy();
      else refuse(`request longer than ${MAX_REQUEST_BYTES} bytes`);
    }
  });
  const handle = (line: string) => {
    let req: { op?: unknown; protocol?: unknown };
    try {
      req = JSON.parse(line) as typeof req;
    } catch {
      return stream ? undefined : refuse('the request is not JSON (expected {"op":"attach"} or {"op":"info"})');
    }
    if (stream) {
      if (req.op === 'detach') {
        clearTimeout(timer);
        end(stream, 'detach');
        stream = undefined;
      }
      return;
    }
    clearTimeout(timer);
    if (req.protocol !== undefined && req.protocol !== AGENT_PROTOCOL) {
      return refuse(`this agent speaks protocol ${AGENT_PROTOCOL}, the client ${String(req.protocol)}: use the stmscope version of the program (${VERSION})`);
    }
    if (req.op === 'info') return void sock.end(JSON.stringify(info()) + '\n');
    if (req.op === 'attach') {
      if (streams.length >= MAX_CLIENTS) return refuse(`too many clients attached (${MAX_CLIENTS}); detach one first`);
      sock.setNoDelay(true);
      stream = begin(new SocketSink(sock), 'attach');
      return;
    }
    refuse(`unknown request ${JSON.stringify(req.op)} (expected "attach" or "info")`);
  };
}

// This thread must outlive its last client (the main thread unref'd it, so it
// never keeps the program alive): one idle timer keeps its event loop open.
setInterval(() => {}, 1 << 30);
Atomics.store(ctl, A_READY, 1);
if (streams.length > 0) wake();
else idle();
