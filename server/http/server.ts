/**
 * The stmscope server: HTTP API + dashboard WebSocket + program ingest, on
 * one loopback port (docs/PROTOCOL.md).
 *
 * ```
 *            ┌─ GET /…             dist/ui (no token)
 *  HTTP ─────┼─ /api/…             JSON API (Bearer token)
 *            ├─ upgrade /ws        dashboard (Host+Origin checked, hello+token)  ─► Hub
 *            └─ upgrade /ingest    programs of `stmscope run` (Host checked, no Origin, ingest token) ─► Session
 *  Unix sockets of agents ◄──────  POST /api/attach (the server is the attaching client) ─► Session
 * ```
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ProgramInfo } from '../../model/protocol.ts';
import { attachAgent, listPrograms, readEntries, type AgentStream } from '../../instrumentation/agent/discovery.ts';
import { agentsDir, ensurePrivateDir, sessionsDir, serverStateFile } from '../../instrumentation/agent/paths.ts';
import { VERSION } from '../../instrumentation/version.ts';
import { NotFoundError, SESSION_ID, SessionStore, type StoreOptions } from '../session/store.ts';
import { titleOf, type Session } from '../session/session.ts';
import { readRecording, recordingSnapshot } from '../session/retention.ts';
import { Readable } from 'node:stream';
import { Hub } from './hub.ts';
import { allowedHosts, bearer, hostProblem, isLoopback, newToken, originProblem, tokenMatches } from './security.ts';
import { defaultUiDir, serveStatic } from './static.ts';
import { readSnippet, SourceError } from './source.ts';
import { dirname } from 'node:path';

/** Options of {@link startServer}. */
export interface ServerOptions {
  /** Bind address. Default 127.0.0.1. */
  host?: string;
  /** Port; 0 picks a free one. Default 7300. */
  port?: number;
  /** Sessions directory. Default paths.ts `sessionsDir()`. */
  dataDir?: string;
  /** Built dashboard. Default dist/ui. */
  uiDir?: string;
  /** Discovery directory of attachable programs. Default paths.ts `agentsDir()`. */
  agentsDir?: string;
  /** Write the state file other commands find the server by (path, or false). Default paths.ts `serverStateFile()`. */
  stateFile?: string | false;
  /** Largest dashboard message (bytes). Default 1 MiB. */
  maxClientMessage?: number;
  /** Largest ingest frame (bytes). Default 32 MiB. */
  maxIngestFrame?: number;
  /** Largest import body (bytes). Default 4 GiB. */
  maxImportBytes?: number;
  /** Interval between discovery scans. Default 2000 ms. */
  programsIntervalMs?: number;
  store?: StoreOptions;
  /** Tokens (tests); default: fresh random ones. */
  token?: string;
  ingestToken?: string;
  /** Log lines (default: none). */
  log?: (line: string) => void;
}

/** A running server. */
export interface RunningServer {
  host: string;
  port: number;
  /** `http://host:port/` */
  url: string;
  token: string;
  ingestToken: string;
  store: SessionStore;
  hub: Hub;
  /** Attaches to a program by pid; resolves with the session id. */
  attach(pid: number): Promise<string>;
  /** Detaches a live attached session. */
  detach(session: string): Promise<void>;
  /** Stops everything: live sessions end, clients are disconnected. */
  close(): Promise<void>;
}

const JSON_LIMIT = 64 * 1024;
/** Bytes an import may run ahead of ingest before the upload is paused. */
const IMPORT_LAG_BYTES = 8 << 20;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Security headers on every answer. */
function securityHeaders(): Record<string, string> {
  return {
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'cross-origin-resource-policy': 'same-origin',
    'content-security-policy':
      "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  };
}

/** Starts the server; resolves once it listens. */
export async function startServer(opts: ServerOptions = {}): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  const token = opts.token ?? newToken();
  const ingestToken = opts.ingestToken ?? newToken();
  const dataDir = opts.dataDir ?? sessionsDir();
  const discovery = opts.agentsDir ?? agentsDir();
  const uiDir = opts.uiDir ?? defaultUiDir();
  const log = opts.log ?? (() => {});
  const store = new SessionStore(dataDir, { log, ...opts.store });
  const hub = new Hub(store, { token, version: VERSION });
  store.onChange = () => hub.sessionsChanged();
  const headers = securityHeaders();
  const attached = new Map<string, { stream: AgentStream; pid: number }>();
  let hosts = new Set<string>();
  let closing = false;

  // -- HTTP --------------------------------------------------------------------

  const http: Server = createServer((req, res) => {
    handle(req, res).catch((e: Error) => {
      const status = e instanceof HttpError ? e.status : e instanceof NotFoundError ? 404 : e instanceof SourceError ? e.status : 500;
      if (status === 500) log(`error: ${req.method} ${req.url}: ${e.stack ?? e.message}`);
      if (!res.headersSent) sendJson(res, status, { error: e.message });
      else res.destroy();
    });
  });
  http.headersTimeout = 20_000;
  http.requestTimeout = 0; // imports and downloads may take long; headers may not

  const sendJson = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)), 'cache-control': 'no-store' });
    res.end(text);
  };

  async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of req as AsyncIterable<Buffer>) {
      n += c.length;
      if (n > JSON_LIMIT) throw new HttpError(413, `request body over ${JSON_LIMIT} bytes`);
      chunks.push(c);
    }
    try {
      const v = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
      return v as Record<string, unknown>;
    } catch (e) {
      throw new HttpError(400, `the request body is not a JSON object (${(e as Error).message})`);
    }
  }

  const sessionIdOf = (raw: string): string => {
    const id = decodeURIComponent(raw);
    if (!SESSION_ID.test(id)) throw new HttpError(400, `malformed session id ${JSON.stringify(id)}`);
    if (!store.has(id)) throw new NotFoundError(`no session ${JSON.stringify(id)} (GET /api/sessions lists them)`);
    return id;
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const hp = hostProblem(req, hosts);
    if (hp) return sendJson(res, 403, { error: hp });
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (!path.startsWith('/api/')) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: `${req.method} is not allowed here` });
      return serveStatic(req, res, uiDir, headers);
    }
    if (!tokenMatches(bearer(req), token)) {
      return sendJson(res, 401, { error: bearer(req) ? 'wrong token' : 'missing token: send Authorization: Bearer <token> (the #token= of the dashboard URL)' });
    }
    const m = req.method ?? 'GET';
    const parts = path.split('/').filter(Boolean); // ['api', …]
    const route = `${m} /${parts.slice(1, 2).join('/')}${parts.length > 2 ? '/:id' : ''}${parts.length > 3 ? `/${parts.slice(3).join('/')}` : ''}`;
    switch (route) {
      case 'GET /health':
        return sendJson(res, 200, { ok: true, version: VERSION, sessions: store.list().length, clients: hub.size });
      case 'GET /sessions':
        return sendJson(res, 200, store.list());
      case 'GET /programs':
        return sendJson(res, 200, await programs());
      case 'POST /attach': {
        const body = await readJson(req);
        const pid = body.pid;
        if (!Number.isInteger(pid) || (pid as number) <= 0) throw new HttpError(400, `attach needs {"pid": <a process id>}, got ${JSON.stringify(pid)}`);
        return sendJson(res, 200, { session: await attach(pid as number) });
      }
      case 'POST /detach': {
        const body = await readJson(req);
        if (typeof body.session !== 'string') throw new HttpError(400, 'detach needs {"session": <id>}');
        await detach(body.session);
        return sendJson(res, 200, { session: body.session });
      }
      case 'POST /import':
        return sendJson(res, 200, { session: await importBody(req, url.searchParams.get('title') ?? 'import') });
      case 'GET /sessions/:id':
        return sendJson(res, 200, store.info(sessionIdOf(parts[2])));
      case 'DELETE /sessions/:id': {
        const id = sessionIdOf(parts[2]);
        if (attached.has(id)) throw new HttpError(409, `session ${id} is attached: detach it first`);
        store.remove(id);
        return sendJson(res, 200, { deleted: id });
      }
      case 'GET /sessions/:id/recording': {
        const id = sessionIdOf(parts[2]);
        const s = await store.open(id);
        // a recording may be parts and a head (session/retention.ts): sent as one
        const files = recordingSnapshot(s.paths.recording);
        const size = files.reduce((n, f) => n + f.bytes, 0);
        res.writeHead(200, {
          ...headers,
          'content-type': 'application/octet-stream',
          'content-length': String(size),
          'content-disposition': `attachment; filename="${id}.stm"`,
          'cache-control': 'no-store',
        });
        Readable.from(readRecording(s.paths.recording, files))
          .on('error', () => res.destroy())
          .pipe(res);
        return;
      }
      case 'GET /sessions/:id/report':
        return report(res, sessionIdOf(parts[2]), url.searchParams.get('format') ?? 'json');
      case 'GET /sessions/:id/export':
        return exportTrace(res, sessionIdOf(parts[2]), url.searchParams.get('format') ?? 'chrome');
      case 'GET /sessions/:id/source': {
        const s = await store.open(sessionIdOf(parts[2]));
        const snippet = readSnippet(s.info.meta, url.searchParams.get('file') ?? '', Number(url.searchParams.get('line') ?? NaN), Number(url.searchParams.get('context') ?? 5));
        return sendJson(res, 200, snippet);
      }
      case 'GET /diff':
        return diff(res, url.searchParams.get('before') ?? '', url.searchParams.get('after') ?? '');
      default:
        return sendJson(res, 404, { error: `no API route ${m} ${path}` });
    }
  }

  async function report(res: ServerResponse, id: string, format: string): Promise<void> {
    const formats: Record<string, string> = { json: 'application/json; charset=utf-8', markdown: 'text/markdown; charset=utf-8', html: 'text/html; charset=utf-8', text: 'text/plain; charset=utf-8' };
    if (!formats[format]) throw new HttpError(400, `unknown report format ${JSON.stringify(format)}: use json, markdown, html or text`);
    const s = await store.open(id);
    const { buildReport } = await import('../../model/report/build.ts');
    const { fillSourceText } = await import('../commands/report.ts');
    const r = buildReport(s.aggregator.snapshot({ topGroups: 20 }), { meta: s.info.meta, status: s.status, top: 20, generator: 'stmscope server' });
    await fillSourceText(r, s.info.meta);
    let text: string;
    if (format === 'json') text = (await import('../../model/report/json.ts')).renderJson(r);
    else if (format === 'markdown') text = (await import('../../model/report/markdown.ts')).renderMarkdown(r);
    else if (format === 'html') text = (await import('../../model/report/html.ts')).renderHtml(r);
    else text = (await import('../../model/report/text.ts')).renderText(r);
    const ext = { json: 'json', markdown: 'md', html: 'html', text: 'txt' }[format];
    res.writeHead(200, {
      ...headers,
      'content-type': formats[format],
      'content-length': String(Buffer.byteLength(text)),
      'content-disposition': `inline; filename="${id}-report.${ext}"`,
      'cache-control': 'no-store',
    });
    res.end(text);
  }

  async function exportTrace(res: ServerResponse, id: string, format: string): Promise<void> {
    if (format !== 'chrome' && format !== 'speedscope') throw new HttpError(400, `unknown export format ${JSON.stringify(format)}: use chrome or speedscope`);
    const s = await store.open(id);
    const events = s.info.totals.events;
    const { Ingest } = await import('../../model/ingest.ts');
    const path = s.paths.recording;
    const disposition = `attachment; filename="${id}.${format === 'chrome' ? 'trace.json' : 'speedscope.json'}"`;
    if (format === 'speedscope') {
      const { AbortProfileCollector, buildSpeedscope } = await import('../../model/export/speedscope.ts');
      const { EventAssembler } = await import('../../model/assemble.ts');
      const { RecordingDecoder } = await import('../../model/format.ts');
      const { Definitions } = await import('../../model/defs.ts');
      const defs = new Definitions();
      const collector = new AbortProfileCollector(defs);
      const asm = new EventAssembler(defs, collector);
      const dec = new RecordingDecoder({ records: (w, f, n) => asm.records(w, f, n) });
      for await (const c of readRecording(path)) dec.feed(c);
      dec.finish();
      asm.flush();
      const text = JSON.stringify(buildSpeedscope(collector, { name: s.info.title }));
      res.writeHead(200, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-disposition': disposition, 'cache-control': 'no-store' });
      res.end(text);
      return;
    }
    const MAX_EXPORT_EVENTS = 20_000_000;
    if (events > MAX_EXPORT_EVENTS) {
      throw new HttpError(413, `session ${id} has ${events.toLocaleString('en-US')} events, more than the ${MAX_EXPORT_EVENTS.toLocaleString('en-US')} a Chrome trace export holds in memory here; use \`stmscope export\` on the recording`);
    }
    const ing = new Ingest({ store: true, aggregate: false });
    for await (const c of readRecording(path)) ing.feed(c);
    ing.finish();
    const { chromeTraceChunks } = await import('../../model/export/chrome.ts');
    res.writeHead(200, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-disposition': disposition, 'cache-control': 'no-store' });
    for (const piece of chromeTraceChunks(ing.store!, { meta: ing.meta, generator: 'stmscope server' })) {
      if (!res.write(piece)) await new Promise((r) => res.once('drain', r));
    }
    res.end();
  }

  async function diff(res: ServerResponse, before: string, after: string): Promise<void> {
    if (!before || !after) throw new HttpError(400, 'diff needs ?before=<session>&after=<session>');
    const a = await store.open(sessionIdOf(before));
    const b = await store.open(sessionIdOf(after));
    const { diffSnapshots } = await import('../../model/diff.ts');
    const d = diffSnapshots(
      { snapshot: a.aggregator.snapshot(), label: a.info.title, meta: a.info.meta },
      { snapshot: b.aggregator.snapshot(), label: b.info.title, meta: b.info.meta },
      { generator: 'stmscope server' },
    );
    sendJson(res, 200, d);
  }

  async function importBody(req: IncomingMessage, title: string): Promise<string> {
    const max = opts.maxImportBytes ?? 4 * 1024 ** 3;
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > max) throw new HttpError(413, `the upload is ${declared} bytes, over the ${max}-byte limit`);
    const { RecordingInput } = await import('../../model/input.ts');
    const s = store.createLive('import', title.slice(0, 200) || 'import');
    let error: string | undefined;
    s.onProblem = (e) => (error ??= e);
    const input = new RecordingInput((bytes) => {
      if (!error) error = s.receive(bytes);
    });
    let n = 0;
    try {
      for await (const c of req as AsyncIterable<Buffer>) {
        n += c.length;
        if (n > max) throw new HttpError(413, `the upload is over the ${max}-byte limit`);
        input.feed(c);
        if (error) break;
        // an upload (unlike a live program) can wait: stay close to ingest, so the session's
        // retention can drop detail as it goes instead of holding the whole upload on disk first
        while (s.lagBytes > IMPORT_LAG_BYTES && !error && !s.stopped) await new Promise((r) => setTimeout(r, 2));
      }
      if (!error) input.finish();
    } catch (e) {
      error ??= (e as Error).message;
      if (e instanceof HttpError) {
        store.finishLive(s, e.message);
        await s.whenFinished();
        store.remove(s.id);
        throw e;
      }
    }
    store.finishLive(s);
    await s.whenFinished();
    error ??= s.stopped;
    if (error && s.chunks === 0) {
      store.remove(s.id);
      throw new HttpError(400, `cannot import: ${error}`);
    }
    return s.id;
  }

  // -- programs and attach -------------------------------------------------------

  async function programs(): Promise<ProgramInfo[]> {
    const list = await listPrograms(discovery, 1000);
    const bySessionPid = new Map<number, string>();
    for (const [id, a] of attached) bySessionPid.set(a.pid, id);
    for (const s of store.live()) if (s.info.source === 'run' && s.info.program) bySessionPid.set(s.info.program.pid, s.id);
    return list
      .filter((p) => p.pid !== process.pid)
      .map((p) => {
        const info: ProgramInfo = { pid: p.pid, argv: p.argv, cwd: p.cwd, startTime: p.startTime, workers: p.workers };
        const sid = bySessionPid.get(p.pid);
        if (sid) info.sessionId = sid;
        return info;
      });
  }

  async function attach(pid: number): Promise<string> {
    for (const [id, a] of attached) if (a.pid === pid) throw new HttpError(409, `already attached to ${pid} (session ${id})`);
    const entry = readEntries(discovery).find((e) => e.pid === pid);
    if (!entry) throw new HttpError(404, `no attachable program with pid ${pid} (GET /api/programs lists them)`);
    const s = store.createLive('attach', titleOf(entry.argv, `pid ${pid}`), { argv: entry.argv, cwd: entry.cwd, pid });
    let stream: AgentStream | undefined;
    s.onProblem = (err) => {
      log(`session ${s.id}: ${err}; detaching`);
      stream?.close();
    };
    try {
      stream = await attachAgent(entry.endpoint, 'stmscope-server', {
        data: (b) => {
          if (s.receive(b)) stream?.close();
        },
        end: (e) => {
          attached.delete(s.id);
          store.finishLive(s, e ? e.message : undefined);
          void refreshPrograms();
        },
      });
    } catch (e) {
      s.finish((e as Error).message);
      store.remove(s.id);
      throw new HttpError(502, (e as Error).message);
    }
    attached.set(s.id, { stream, pid });
    log(`attached to ${pid} (session ${s.id})`);
    void refreshPrograms();
    return s.id;
  }

  async function detach(id: string): Promise<void> {
    const a = attached.get(id);
    if (!a) {
      if (store.has(id)) throw new HttpError(409, `session ${id} is not attached (only sessions attached through the server can be detached)`);
      throw new NotFoundError(`no session ${JSON.stringify(id)}`);
    }
    await a.stream.detach();
  }

  let programsTimer: NodeJS.Timeout | undefined;
  let refreshing = false;
  async function refreshPrograms(): Promise<void> {
    if (refreshing || closing) return;
    refreshing = true;
    try {
      hub.setPrograms(await programs());
    } catch (e) {
      log(`discovery: ${(e as Error).message}`);
    } finally {
      refreshing = false;
    }
  }

  // live sessions' totals: refresh for the list every second, persist every 5 s
  let tickCount = 0;
  const infoTimer = setInterval(() => {
    const live = store.live();
    if (!live.length) return;
    tickCount++;
    for (const s of live) {
      s.refreshInfo();
      if (tickCount % 5 === 0) store.persist(s);
    }
    hub.sessionsChanged();
  }, 1000);
  infoTimer.unref();

  // -- WebSockets ------------------------------------------------------------------

  const wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxClientMessage ?? 1 << 20, perMessageDeflate: false });
  const ingestWss = new WebSocketServer({ noServer: true, maxPayload: opts.maxIngestFrame ?? 32 << 20, perMessageDeflate: false });

  const refuseUpgrade = (socket: Duplex, status: number, message: string) => {
    const body = JSON.stringify({ error: message });
    socket.end(
      `HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 404 ? 'Not Found' : 'Forbidden'}\r\n` +
        `Connection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  };

  http.on('upgrade', (req, socket, head) => {
    socket.on('error', () => {});
    // Authenticate in 'upgrade', before the handshake (ws doc/ws.md, style.md §4).
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const hp = hostProblem(req, hosts);
    if (hp) return refuseUpgrade(socket, 403, hp);
    if (path === '/ws') {
      const op = originProblem(req, hosts);
      if (op) return refuseUpgrade(socket, 403, op);
      wss.handleUpgrade(req, socket, head, (ws) => hub.accept(ws));
      return;
    }
    if (path === '/ingest') {
      if (req.headers.origin !== undefined) return refuseUpgrade(socket, 403, 'browsers may not stream recordings to /ingest');
      if (!tokenMatches(bearer(req), ingestToken)) return refuseUpgrade(socket, 401, 'wrong or missing ingest token (STMSCOPE_SERVER carries it)');
      ingestWss.handleUpgrade(req, socket, head, (ws) => {
        try {
          acceptIngest(ws);
        } catch (e) {
          log(`ingest: ${(e as Error).message}`);
          ws.close(1011, `the server cannot store the session: ${(e as Error).message}`.slice(0, 120));
        }
      });
      return;
    }
    refuseUpgrade(socket, 404, `no WebSocket endpoint ${path} (use /ws)`);
  });

  function acceptIngest(ws: WebSocket): void {
    const s: Session = store.createLive('run', 'program', null, { dropIfUnreadable: true });
    log(`program streaming (session ${s.id})`);
    let failed: string | undefined;
    const fail = (code: number, why: string) => {
      if (failed) return;
      failed = why;
      log(`session ${s.id}: ${why}`);
      ws.close(code, why.slice(0, 120));
    };
    s.onProblem = (err) => fail(1007, `malformed recording: ${err}`);
    ws.on('message', (data, isBinary) => {
      if (failed) return;
      if (!isBinary) return fail(1003, 'text messages are not accepted on /ingest: send the recording as binary frames');
      const buf = data as Buffer;
      const err = s.receive(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength));
      if (err) fail(1007, `malformed recording: ${err}`);
    });
    ws.on('error', (e) => {
      failed ??= e.message;
    });
    ws.on('close', (code) => {
      const why = failed ?? (code === 1000 || code === 1005 ? undefined : `the program stopped streaming (WebSocket ${code})`);
      store.finishLive(s, why);
      void s.whenFinished().then(() => refreshPrograms());
    });
    void refreshPrograms();
  }

  // -- listen ------------------------------------------------------------------------

  const port = await new Promise<number>((resolve, reject) => {
    http.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') reject(new Error(`port ${opts.port ?? 7300} on ${host} is in use (another stmscope serve?): choose one with --port`));
      else reject(e);
    });
    http.listen(opts.port ?? 7300, host, () => {
      const a = http.address();
      resolve(typeof a === 'object' && a ? a.port : 0);
    });
  });
  hosts = allowedHosts(host, port);
  const shownHost = isLoopback(host) ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const url = `http://${shownHost === '0.0.0.0' || shownHost === '[::]' ? '127.0.0.1' : shownHost}:${port}/`;

  const stateFile = opts.stateFile === undefined ? serverStateFile() : opts.stateFile;
  if (stateFile) {
    ensurePrivateDir(dirname(stateFile));
    const tmp = `${stateFile}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ pid: process.pid, host: isLoopback(host) ? '127.0.0.1' : host, port, url, token, ingestToken, dataDir, version: VERSION }) + '\n', { mode: 0o600 });
    renameSync(tmp, stateFile);
  }

  // asking every agent for its info costs them a wake-up: only while a dashboard watches
  programsTimer = setInterval(() => {
    if (hub.size > 0) void refreshPrograms();
  }, opts.programsIntervalMs ?? 2000);
  hub.onHello = () => void refreshPrograms();
  programsTimer.unref();
  void refreshPrograms();

  const running: RunningServer = {
    host,
    port,
    url,
    token,
    ingestToken,
    store,
    hub,
    attach,
    detach,
    async close() {
      if (closing) return;
      closing = true;
      clearInterval(programsTimer);
      clearInterval(infoTimer);
      await Promise.all([...attached.values()].map((a) => a.stream.detach(1000).catch(() => {})));
      for (const c of ingestWss.clients) c.terminate();
      hub.close();
      wss.close();
      ingestWss.close();
      await new Promise<void>((r) => {
        http.close(() => r());
        http.closeAllConnections();
      });
      store.close();
      if (stateFile && existsSync(stateFile)) {
        try {
          const cur = JSON.parse(readFileSync(stateFile, 'utf8')) as { pid?: number; port?: number };
          if (cur.pid === process.pid && cur.port === port) rmSync(stateFile, { force: true });
        } catch {
          /* not ours any more */
        }
      }
    },
  };
  return running;
}
