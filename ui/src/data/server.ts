/**
 * The connection to `stmscope serve` (docs/PROTOCOL.md): one WebSocket for
 * pushes (sessions, programs, snapshots) and pulled timeline windows, plus the
 * HTTP API for everything else. The token comes from the page's `#token=`
 * fragment and travels as `Authorization: Bearer` on HTTP and as the first
 * WebSocket message (`hello`).
 *
 * The socket reconnects with backoff and re-subscribes; a close the server
 * explains (bad token, wrong origin) is shown instead of retried forever.
 */

import {
  PROTOCOL_VERSION,
  type ClientMessage,
  type Occurrence,
  type ProgramInfo,
  type ServerMessage,
  type SessionInfo,
  type WindowQuery,
  type WindowResult,
} from '../../../model/protocol.ts';
import { Atom } from '../model/atom.ts';
import { timed } from './busy.ts';
import { fileStem, REPORT_TYPES, type Download, type ReportFormat, type SessionBackend, type SessionData, type SourceSnippet, type TraceFormat } from './backend.ts';

export type ConnState = 'connecting' | 'connected' | 'reconnecting' | 'failed';

export interface ConnStatus {
  state: ConnState;
  /** what went wrong, for the banner */
  message?: string;
  /** server version from `welcome` */
  version?: string;
}

type Pending = { resolve: (m: ServerMessage) => void; reject: (e: Error) => void; timer: ReturnType<typeof setTimeout> };

/** An HTTP API error with the server's explanation. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

const REQUEST_TIMEOUT_MS = 30_000;

export class ServerConnection {
  /** socket state, for the status badge and banners */
  readonly status = new Atom<ConnStatus>({ state: 'connecting' }, 'status');
  /** sessions, newest first (pushed by the server) */
  readonly sessions = new Atom<SessionInfo[]>([], 'sessions');
  /** attachable programs (pushed by the server) */
  readonly programs = new Atom<ProgramInfo[]>([], 'programs');
  /** the last error the server sent that answers no request (a failed subscribe, …) */
  readonly lastError = new Atom<{ message: string; at: number } | null>(null, 'lastError');

  private ws: WebSocket | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private subscribed: { session: string; onSnapshot: (m: Extract<ServerMessage, { type: 'snapshot' }>) => void } | undefined;
  private retryMs = 500;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  private welcomed = false;
  private readonly queue: ClientMessage[] = [];

  constructor(
    readonly token: string,
    private readonly base: string = location.href,
  ) {}

  /** `ws://host/ws` next to the page (works under a sub-path too). */
  private wsUrl(): string {
    const u = new URL('ws', new URL('./', this.base));
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    u.hash = '';
    u.search = '';
    return u.href;
  }

  private apiUrl(path: string): string {
    return new URL(`api/${path}`, new URL('./', this.base)).href.replace(/#.*$/, '');
  }

  connect(): void {
    if (this.stopped) return;
    this.welcomed = false;
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.wsUrl());
    } catch (e) {
      this.status.set({ state: 'failed', message: `Cannot open the dashboard socket: ${(e as Error).message}` });
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      ws.send(JSON.stringify({ type: 'hello', token: this.token, protocol: PROTOCOL_VERSION } satisfies ClientMessage));
    };
    ws.onmessage = (ev) =>
      timed(() => {
        if (typeof ev.data !== 'string') return;
        let m: ServerMessage;
        try {
          m = JSON.parse(ev.data) as ServerMessage;
        } catch {
          return;
        }
        this.onMessage(m);
      });
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      const err = new Error(ev.reason ? `The server closed the connection: ${ev.reason}` : 'The connection to the server was lost.');
      for (const p of this.pending.values()) {
        clearTimeout(p.timer);
        p.reject(err);
      }
      this.pending.clear();
      if (this.stopped) return;
      // Policy violations (1008) and auth failures are not worth retrying forever.
      if (ev.code === 1008 || ev.code === 4001 || ev.code === 4003 || /token|origin|host|protocol/i.test(ev.reason)) {
        this.status.set({ state: 'failed', message: err.message });
        return;
      }
      this.status.set({ state: 'reconnecting', message: err.message });
      this.retryTimer = setTimeout(() => this.connect(), this.retryMs);
      this.retryMs = Math.min(5000, this.retryMs * 2);
    };
  }

  private onMessage(m: ServerMessage): void {
    switch (m.type) {
      case 'welcome':
        this.welcomed = true;
        this.retryMs = 500;
        this.status.set({ state: 'connected', version: m.version });
        if (this.subscribed) this.send({ type: 'subscribe', session: this.subscribed.session });
        for (const q of this.queue.splice(0)) this.send(q);
        return;
      case 'sessions':
        this.sessions.set(m.sessions);
        return;
      case 'programs':
        this.programs.set(m.programs);
        return;
      case 'snapshot':
        if (this.subscribed && this.subscribed.session === m.session) this.subscribed.onSnapshot(m);
        return;
      case 'window':
      case 'occurrences':
      case 'error': {
        if (m.type === 'error' && m.id === undefined) {
          this.lastError.set({ message: m.message, at: Date.now() });
          return;
        }
        const id = m.id!;
        const p = this.pending.get(id);
        if (!p) return;
        this.pending.delete(id);
        clearTimeout(p.timer);
        if (m.type === 'error') p.reject(new Error(m.message));
        else p.resolve(m);
      }
    }
  }

  private send(m: ClientMessage): void {
    if (this.ws && this.welcomed && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(m));
    else if (m.type === 'window' || m.type === 'occurrences') this.queue.push(m);
  }

  private request(m: ClientMessage & { id: number }): Promise<ServerMessage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(m.id);
        reject(new Error('The server did not answer in time.'));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(m.id, { resolve, reject, timer });
      this.send(m);
    });
  }

  /** Subscribes to one session's snapshots (replacing any previous subscription). */
  subscribe(session: string, onSnapshot: (m: Extract<ServerMessage, { type: 'snapshot' }>) => void): () => void {
    if (this.subscribed && this.subscribed.session !== session) this.send({ type: 'unsubscribe', session: this.subscribed.session });
    const sub = { session, onSnapshot };
    this.subscribed = sub;
    this.send({ type: 'subscribe', session });
    return () => {
      if (this.subscribed === sub) {
        this.subscribed = undefined;
        this.send({ type: 'unsubscribe', session });
      }
    };
  }

  async window(session: string, query: WindowQuery): Promise<WindowResult> {
    const m = await this.request({ type: 'window', id: this.nextId++, session, query });
    if (m.type !== 'window') throw new Error('unexpected answer');
    return m.result;
  }

  async occurrences(session: string, groupKey: string, offset: number, limit: number): Promise<{ total: number; items: Occurrence[] }> {
    const m = await this.request({ type: 'occurrences', id: this.nextId++, session, groupKey, offset, limit });
    if (m.type !== 'occurrences') throw new Error('unexpected answer');
    return { total: m.total, items: m.items };
  }

  private async fetchApi(method: string, path: string, body?: unknown): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(this.apiUrl(path), {
        method,
        headers: { Authorization: `Bearer ${this.token}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
        body: body === undefined ? undefined : body instanceof Blob ? body : JSON.stringify(body),
      });
    } catch (e) {
      throw new ApiError(`Cannot reach the server: ${(e as Error).message}`, 0);
    }
    if (!res.ok) {
      let msg = `${res.status} ${res.statusText}`;
      try {
        const j = (await res.json()) as { error?: string };
        if (j && typeof j.error === 'string') msg = j.error;
      } catch {
        /* not JSON */
      }
      throw new ApiError(msg, res.status);
    }
    return res;
  }

  async api<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.fetchApi(method, path, body);
    return (await res.json()) as T;
  }

  /** A binary or text download through the API (the token cannot go in a plain link). */
  async download(path: string, fallbackName: string, type: string): Promise<Download> {
    const res = await this.fetchApi('GET', path);
    const cd = res.headers.get('Content-Disposition') ?? '';
    const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(cd);
    const name = m ? decodeURIComponent(m[1]) : fallbackName;
    return { name: name.replace(/[\\/]/g, '_'), type: res.headers.get('Content-Type') ?? type, blob: await res.blob() };
  }

  attach(pid: number): Promise<{ session: string }> {
    return this.api('POST', 'attach', { pid });
  }

  detach(session: string): Promise<unknown> {
    return this.api('POST', 'detach', { session });
  }

  remove(session: string): Promise<unknown> {
    return this.api('DELETE', `sessions/${encodeURIComponent(session)}`);
  }

  close(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.ws?.close();
    this.ws = undefined;
  }
}

/** A server-held session. */
export class ServerBackend implements SessionBackend {
  readonly kind = 'server' as const;
  constructor(
    private readonly conn: ServerConnection,
    readonly session: string,
    private readonly title: () => string,
  ) {}

  window(q: WindowQuery): Promise<WindowResult> {
    return this.conn.window(this.session, q);
  }

  occurrences(groupKey: string, offset: number, limit: number): Promise<{ total: number; items: Occurrence[] }> {
    return this.conn.occurrences(this.session, groupKey, offset, limit);
  }

  async source(file: string, line: number, context: number): Promise<SourceSnippet | null> {
    try {
      const q = new URLSearchParams({ file, line: String(line), context: String(context) });
      const r = await this.conn.api<{ file: string; startLine: number; lines: string[]; line: number }>('GET', `sessions/${encodeURIComponent(this.session)}/source?${q}`);
      if (!r || !Array.isArray(r.lines)) return null;
      return { file: r.file ?? file, startLine: r.startLine ?? line, lines: r.lines.map(String), line: r.line ?? line, origin: 'file' };
    } catch {
      return null;
    }
  }

  report(format: ReportFormat): Promise<Download> {
    const t = REPORT_TYPES[format];
    return this.conn.download(`sessions/${encodeURIComponent(this.session)}/report?format=${format}`, `${fileStem(this.title())}.report.${t.ext}`, t.type);
  }

  recording(): Promise<Download> {
    return this.conn.download(`sessions/${encodeURIComponent(this.session)}/recording`, `${fileStem(this.title())}.stmrec`, 'application/octet-stream');
  }

  traceExport(format: TraceFormat): Promise<Download> {
    return this.conn.download(
      `sessions/${encodeURIComponent(this.session)}/export?format=${format}`,
      `${fileStem(this.title())}.${format === 'chrome' ? 'trace' : 'speedscope'}.json`,
      'application/json',
    );
  }

  close(): void {}
}

/** Turns a `snapshot` push into {@link SessionData}. */
export function sessionDataOf(m: Extract<ServerMessage, { type: 'snapshot' }>): SessionData {
  return { seq: m.seq, live: m.live, snapshot: m.snapshot, bounds: m.bounds, workers: m.workers };
}
