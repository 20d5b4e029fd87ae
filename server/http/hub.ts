/**
 * The dashboard WebSocket (`/ws`, docs/PROTOCOL.md): JSON text messages.
 *
 * - The first message must be `hello` with the token (within 10 s); anything
 *   else closes the connection with a reason naming the problem.
 * - After `welcome` the server pushes `sessions` and `programs` when they
 *   change, and `snapshot`s of the subscribed session at most 10 per second
 *   (plus one when it ends); snapshots are computed once per session and sent
 *   to every subscriber.
 * - `window` and `occurrences` are answered in order; a malformed request gets
 *   an `error` with its id, a malformed frame closes only that connection.
 * - Backpressure: a client whose socket holds more than `softQueueBytes`
 *   skips snapshot pushes (it gets the latest later) and gets `error`
 *   answers instead of query results; beyond `hardQueueBytes` it is dropped.
 *   Nothing queues without bound. A ping every 30 s drops dead peers.
 */
import type { WebSocket } from 'ws';
import { PROTOCOL_VERSION, type ClientMessage, type ProgramInfo, type ServerMessage } from '../../model/protocol.ts';
import { QueryError } from '../../model/timeline.ts';
import type { SessionStore } from '../session/store.ts';
import type { Session } from '../session/session.ts';
import { tokenMatches } from './security.ts';

/** Options of {@link Hub}. */
export interface HubOptions {
  token: string;
  version: string;
  /** Per-client queue above which pushes are skipped and queries refused. Default 8 MiB. */
  softQueueBytes?: number;
  /** Per-client queue above which the client is disconnected. Default 64 MiB. */
  hardQueueBytes?: number;
  /** Snapshot pushes per second at most. Default 10. */
  maxSnapshotsPerSec?: number;
}

interface Client {
  ws: WebSocket;
  authed: boolean;
  session: string | undefined;
  alive: boolean;
  /** last session version pushed to this client */
  seen: number;
  /** requests answered in order */
  queue: Promise<void>;
}

/** WebSocket close codes used (RFC 6455 §7.4.1). */
const CLOSE_POLICY = 1008;
const CLOSE_UNSUPPORTED = 1003;
const CLOSE_INVALID = 1007;

/** A close reason fits in 123 bytes. */
function reason(s: string): string {
  const b = Buffer.from(s);
  return b.length <= 123 ? s : `${b.subarray(0, 119).toString('utf8').replace(/\uFFFD$/, '')}...`;
}

export class Hub {
  private readonly clients = new Set<Client>();
  private readonly soft: number;
  private readonly hard: number;
  private readonly snapTimer: NodeJS.Timeout;
  private readonly pingTimer: NodeJS.Timeout;
  private programs: ProgramInfo[] = [];
  private programsJson = '[]';
  private sessionsDirty = false;
  private sessionsTimer: NodeJS.Timeout | undefined;
  /** snapshot sequence number per session */
  private readonly seq = new Map<string, number>();
  /** called when a dashboard authenticated (the server refreshes the program list then) */
  onHello: () => void = () => {};

  constructor(
    private readonly store: SessionStore,
    private readonly opts: HubOptions,
  ) {
    this.soft = opts.softQueueBytes ?? 8 << 20;
    this.hard = opts.hardQueueBytes ?? 64 << 20;
    this.snapTimer = setInterval(() => this.pushSnapshots(), Math.ceil(1000 / (opts.maxSnapshotsPerSec ?? 10)));
    this.pingTimer = setInterval(() => this.ping(), 30_000);
    this.snapTimer.unref();
    this.pingTimer.unref();
  }

  /** Number of connected, authenticated clients. */
  get size(): number {
    let n = 0;
    for (const c of this.clients) if (c.authed) n++;
    return n;
  }

  close(): void {
    clearInterval(this.snapTimer);
    clearInterval(this.pingTimer);
    clearTimeout(this.sessionsTimer);
    for (const c of this.clients) c.ws.terminate();
    this.clients.clear();
  }

  /** Takes a connection accepted by the upgrade handler (Host and Origin already checked). */
  accept(ws: WebSocket): void {
    const c: Client = { ws, authed: false, session: undefined, alive: true, seen: -1, queue: Promise.resolve() };
    this.clients.add(c);
    const helloTimer = setTimeout(() => {
      if (!c.authed) this.refuse(c, CLOSE_POLICY, 'no hello with the token within 10 s');
    }, 10_000);
    ws.on('pong', () => (c.alive = true));
    ws.on('close', () => {
      clearTimeout(helloTimer);
      this.clients.delete(c);
    });
    ws.on('error', () => {
      /* 'close' follows; ws has already closed the socket with a status code */
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) return this.refuse(c, CLOSE_UNSUPPORTED, 'binary messages are not accepted on /ws: send JSON text');
      let msg: ClientMessage;
      try {
        msg = JSON.parse(data.toString()) as ClientMessage;
      } catch {
        return this.refuse(c, CLOSE_INVALID, 'malformed message: not JSON');
      }
      if (!msg || typeof msg !== 'object' || typeof (msg as { type?: unknown }).type !== 'string') {
        return this.refuse(c, CLOSE_INVALID, 'malformed message: expected an object with a "type"');
      }
      if (!c.authed) {
        clearTimeout(helloTimer);
        return this.hello(c, msg);
      }
      c.queue = c.queue.then(() => this.handle(c, msg)).catch((e: Error) => this.send(c, { type: 'error', message: e.message }));
    });
  }

  private refuse(c: Client, code: number, why: string): void {
    this.send(c, { type: 'error', message: why });
    c.ws.close(code, reason(why));
    // a peer that ignores the close handshake is cut off
    setTimeout(() => c.ws.terminate(), 2000).unref();
  }

  private hello(c: Client, msg: ClientMessage): void {
    if (msg.type !== 'hello') return this.refuse(c, CLOSE_POLICY, `the first message must be hello with the token, got ${JSON.stringify(msg.type)}`);
    if (!tokenMatches(msg.token, this.opts.token)) return this.refuse(c, CLOSE_POLICY, 'wrong token: open the URL the server printed (it carries #token=…)');
    if (msg.protocol !== PROTOCOL_VERSION) {
      return this.refuse(c, CLOSE_POLICY, `protocol ${String(msg.protocol)} is not supported: this server speaks ${PROTOCOL_VERSION} (reload the dashboard)`);
    }
    c.authed = true;
    this.send(c, { type: 'welcome', protocol: PROTOCOL_VERSION, version: this.opts.version });
    this.send(c, { type: 'sessions', sessions: this.store.list() });
    this.sendRaw(c, `{"type":"programs","programs":${this.programsJson}}`);
    this.onHello();
  }

  private async handle(c: Client, msg: ClientMessage): Promise<void> {
    const id = (msg as { id?: unknown }).id;
    const reqId = typeof id === 'number' ? id : undefined;
    const fail = (message: string) => this.send(c, reqId === undefined ? { type: 'error', message } : { type: 'error', id: reqId, message });
    try {
      switch (msg.type) {
        case 'hello':
          return fail('already authenticated');
        case 'subscribe': {
          if (typeof msg.session !== 'string') return fail('subscribe needs a session id');
          c.session = msg.session;
          c.seen = -1;
          const s = await this.store.open(msg.session);
          if (c.session === msg.session) this.pushSnapshot(s, [c]);
          return;
        }
        case 'unsubscribe':
          if (c.session === msg.session) c.session = undefined;
          return;
        case 'window': {
          if (reqId === undefined) return fail('window needs a numeric id');
          if (typeof msg.session !== 'string') return fail('window needs a session id');
          if (this.tooFull(c)) return fail(`the connection is behind (${c.ws.bufferedAmount} bytes queued): query again later`);
          const s = await this.store.open(msg.session);
          const result = s.timeline.query(msg.query);
          return this.send(c, { type: 'window', id: reqId, result });
        }
        case 'occurrences': {
          if (reqId === undefined) return fail('occurrences needs a numeric id');
          if (typeof msg.session !== 'string') return fail('occurrences needs a session id');
          if (this.tooFull(c)) return fail(`the connection is behind (${c.ws.bufferedAmount} bytes queued): query again later`);
          const s = await this.store.open(msg.session);
          const r = s.timeline.occurrences(msg.groupKey, msg.offset ?? 0, msg.limit ?? 100);
          return this.send(c, { type: 'occurrences', id: reqId, total: r.total, items: r.items });
        }
        default:
          return fail(`unknown message type ${JSON.stringify((msg as { type: string }).type)}`);
      }
    } catch (e) {
      if (e instanceof QueryError) return fail(e.message);
      return fail((e as Error).message);
    }
  }

  private tooFull(c: Client): boolean {
    if (c.ws.bufferedAmount > this.hard) {
      c.ws.terminate();
      return true;
    }
    return c.ws.bufferedAmount > this.soft;
  }

  private send(c: Client, m: ServerMessage): void {
    this.sendRaw(c, JSON.stringify(m));
  }

  private sendRaw(c: Client, text: string): void {
    if (c.ws.readyState !== c.ws.OPEN) return;
    if (c.ws.bufferedAmount > this.hard) return void c.ws.terminate();
    c.ws.send(text);
  }

  // -- pushes ---------------------------------------------------------------------

  /** The session list changed: push it (coalesced). */
  sessionsChanged(): void {
    this.sessionsDirty = true;
    if (this.sessionsTimer) return;
    this.sessionsTimer = setTimeout(() => {
      this.sessionsTimer = undefined;
      if (!this.sessionsDirty) return;
      this.sessionsDirty = false;
      const text = JSON.stringify({ type: 'sessions', sessions: this.store.list() } satisfies ServerMessage);
      for (const c of this.clients) if (c.authed && c.ws.bufferedAmount <= this.soft) this.sendRaw(c, text);
    }, 200);
  }

  /** New list of attachable programs: push it when it differs. */
  setPrograms(programs: ProgramInfo[]): void {
    const json = JSON.stringify(programs);
    if (json === this.programsJson) return;
    this.programs = programs;
    this.programsJson = json;
    const text = `{"type":"programs","programs":${json}}`;
    for (const c of this.clients) if (c.authed) this.sendRaw(c, text);
  }

  get programList(): ProgramInfo[] {
    return this.programs;
  }

  private pushSnapshots(): void {
    const bySession = new Map<string, Client[]>();
    for (const c of this.clients) {
      if (!c.authed || !c.session) continue;
      const l = bySession.get(c.session);
      if (l) l.push(c);
      else bySession.set(c.session, [c]);
    }
    for (const [id, cs] of bySession) {
      const s = this.store.loadedSession(id);
      if (!s) continue;
      const due = cs.filter((c) => c.seen !== s.version && c.ws.bufferedAmount <= this.soft);
      if (due.length) this.pushSnapshot(s, due);
    }
  }

  private pushSnapshot(s: Session, cs: Client[]): void {
    const seq = (this.seq.get(s.id) ?? 0) + 1;
    this.seq.set(s.id, seq);
    const text = JSON.stringify({
      type: 'snapshot',
      session: s.id,
      seq,
      live: s.info.live,
      snapshot: s.snapshot(),
      bounds: s.timeline.bounds(),
      workers: s.timeline.workers(),
    } satisfies ServerMessage);
    for (const c of cs) {
      c.seen = s.version;
      this.sendRaw(c, text);
    }
  }

  private ping(): void {
    for (const c of this.clients) {
      if (!c.alive) {
        c.ws.terminate();
        continue;
      }
      c.alive = false;
      c.ws.ping();
    }
  }
}
