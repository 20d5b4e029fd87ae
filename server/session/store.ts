/**
 * The sessions of a server: one recording per session in the data directory
 * (`<id>.stm`) with a sidecar (`<id>.json`, its {@link SessionRecord}), listed
 * at start-up so sessions reopen after a restart. Sessions are loaded into
 * memory (aggregates + disk-backed timeline) on demand and unloaded, least
 * recently used first, beyond `maxLoaded`; live sessions always stay.
 *
 * ```
 * <data>/                     mode 0700
 *   s-20250102-030405-a1b2c3.stm    the recording (as received)
 *   s-….stm.1, .stm.2 …             its later parts, .stm.head once detail was dropped (retention.ts)
 *   s-20250102-030405-a1b2c3.json   its SessionRecord
 *   .timeline/<id>.tl               timeline detail of loaded sessions (a cache)
 * ```
 *
 * Retention (retention.ts, {@link StoreOptions.retention}): live sessions drop
 * their oldest detail past the per-session cap; {@link sweep} deletes finished
 * sessions past the data directory's age and size caps (at start-up, when a
 * session finishes, and every minute).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MAGIC } from '../../model/format.ts';
import type { SessionInfo, SessionSource } from '../../model/protocol.ts';
import { ensurePrivateDir } from '../../instrumentation/agent/paths.ts';
import { pidAlive } from '../../instrumentation/agent/discovery.ts';
import type { DiskTimelineOptions } from './disk-timeline.ts';
import { Session, newInfo, type SessionRecord } from './session.ts';
import { defaultPolicy, recordingBytes, recordingFiles, removeRecording, removeStaleParts, sweepPlan, type RetentionPolicy } from './retention.ts';

/** Session ids are file name stems: nothing that could leave the data directory. */
export const SESSION_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** Options of {@link SessionStore}. */
export interface StoreOptions {
  /** Finished sessions kept in memory at once. Default 4. */
  maxLoaded?: number;
  timeline?: DiskTimelineOptions;
  /** What is kept (retention.ts). Default {@link defaultPolicy}: 256 MiB per session, 2 GiB and 30 days for the directory. */
  retention?: RetentionPolicy;
  /** Bytes per recording part of a live session (tests). Default retention.ts. */
  partBytes?: number;
  /** Interval of {@link SessionStore.sweep}, ms; 0: only at start-up and when sessions finish. Default 60 000. */
  sweepIntervalMs?: number;
  /** Log lines (sessions deleted by the retention policy). */
  log?: (line: string) => void;
}

/** Thrown for an unknown session; the API answers 404. */
export class NotFoundError extends Error {
  override name = 'NotFoundError';
}

export class SessionStore {
  private readonly records = new Map<string, SessionRecord>();
  /** not persisted (stmscope view) */
  private readonly ephemeral = new Set<string>();
  private readonly loaded = new Map<string, Session>();
  private readonly loading = new Map<string, Promise<Session>>();
  private readonly cacheDir: string;
  private readonly maxLoaded: number;
  /** the retention policy in force */
  readonly policy: RetentionPolicy;
  private readonly sweepTimer: NodeJS.Timeout | undefined;
  /** called when the list of sessions or their info changed */
  onChange: () => void = () => {};

  constructor(
    readonly dataDir: string,
    private readonly opts: StoreOptions = {},
  ) {
    ensurePrivateDir(dataDir);
    // one cache folder per server process: two servers may share a data directory
    const caches = join(dataDir, '.timeline');
    mkdirSync(caches, { recursive: true, mode: 0o700 });
    for (const name of readdirSync(caches)) {
      const pid = Number(/^(\d+)-/.exec(name)?.[1] ?? NaN);
      if (!(pid > 0) || !pidAlive(pid)) rmSync(join(caches, name), { recursive: true, force: true });
    }
    this.cacheDir = join(caches, `${process.pid}-${randomBytes(4).toString('hex')}`);
    mkdirSync(this.cacheDir, { recursive: true, mode: 0o700 });
    this.maxLoaded = opts.maxLoaded ?? 4;
    this.policy = opts.retention ?? defaultPolicy();
    this.scan();
    this.sweep();
    const every = opts.sweepIntervalMs ?? 60_000;
    if (every > 0) {
      this.sweepTimer = setInterval(() => this.sweep(), every);
      this.sweepTimer.unref();
    }
  }

  /** Reads every sidecar of the data directory. */
  private scan(): void {
    for (const name of readdirSync(this.dataDir)) {
      if (!name.endsWith('.json')) continue;
      const id = name.slice(0, -5);
      if (!SESSION_ID.test(id)) continue;
      try {
        const r = JSON.parse(readFileSync(join(this.dataDir, name), 'utf8')) as SessionRecord;
        if (!r || r.id !== id) continue;
        const otherServer = r.live && r.serverPid && r.serverPid !== process.pid && pidAlive(r.serverPid);
        // another live server may be in the middle of a trim of this one: its files are its own
        if (!otherServer) removeStaleParts(this.recordingPath(r));
        if (r.live && !otherServer) {
          r.live = false;
          r.problem ??= 'the server stopped while this session was recording; it ends at the last chunk received';
          this.persistRecord(r);
        }
        this.records.set(id, r);
      } catch {
        /* not a sidecar of ours */
      }
    }
  }

  /** Sessions, newest first (what `GET /api/sessions` returns). */
  list(): SessionInfo[] {
    const out = [...this.records.values()].map(publicInfo);
    return out.sort((a, b) => (b.startTime ?? '').localeCompare(a.startTime ?? '') || b.id.localeCompare(a.id));
  }

  has(id: string): boolean {
    return this.records.has(id);
  }

  info(id: string): SessionInfo {
    const r = this.records.get(id);
    if (!r) throw new NotFoundError(`no session ${JSON.stringify(id)} (GET /api/sessions lists them)`);
    return publicInfo(r);
  }

  /** The session if it is in memory. */
  loadedSession(id: string): Session | undefined {
    return this.loaded.get(id);
  }

  /** Live sessions. */
  live(): Session[] {
    return [...this.loaded.values()].filter((s) => s.info.live);
  }

  private newId(): string {
    const d = new Date();
    const p = (n: number, w = 2) => String(n).padStart(w, '0');
    const stamp = `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
    return `s-${stamp}-${randomBytes(3).toString('hex')}`;
  }

  recordingPath(r: SessionRecord): string {
    return r.recordingPath ?? join(this.dataDir, `${r.id}.stm`);
  }

  /**
   * Starts a session that receives a stream (attach, run, import): feed it
   * with `receive`, end it with {@link finishLive}.
   * @param opts.dropIfUnreadable forget the session when not one chunk of it could be read (garbage input)
   */
  createLive(source: SessionSource, title: string, program: SessionInfo['program'] = null, opts: { dropIfUnreadable?: boolean } = {}): Session {
    const id = this.newId();
    const r = newInfo(id, source, title, program);
    r.live = true;
    r.serverPid = process.pid;
    r.startTime = new Date().toISOString();
    const p = this.policy;
    const retention = { maxBytes: p.maxSessionBytes > 0 && p.maxDataBytes > 0 ? Math.min(p.maxSessionBytes, p.maxDataBytes) : p.maxSessionBytes || p.maxDataBytes, maxAgeMs: p.maxAgeMs, partBytes: this.opts.partBytes };
    const s = new Session(r, { recording: this.recordingPath(r), record: join(this.dataDir, `${id}.json`), detail: join(this.cacheDir, `${id}.tl`) }, { timeline: this.opts.timeline, retention });
    s.openForWriting();
    s.onRetention = () => {
      this.persistRecord(s.info);
      this.onChange();
    };
    s.onFinished = () => {
      if (opts.dropIfUnreadable && s.chunks === 0 && s.stopped && this.records.has(id)) {
        this.remove(id);
        return;
      }
      this.persistRecord(s.info);
      this.evict();
      this.onChange();
      this.sweep();
    };
    this.records.set(id, r);
    this.loaded.set(id, s);
    this.persistRecord(r);
    this.onChange();
    return s;
  }

  /**
   * Registers a recording file in place (stmscope view): not copied, not
   * persisted, never deleted by the server.
   * @throws Error when the file is not a recording
   */
  registerFile(path: string, source: SessionSource = 'view'): SessionRecord {
    const abs = resolve(path);
    const st = statSync(abs);
    if (!st.isFile()) throw new Error(`${path} is not a file`);
    const head = Buffer.alloc(8);
    const fd = openSync(abs, 'r');
    try {
      readSync(fd, head, 0, 8, 0);
    } finally {
      closeSync(fd);
    }
    if (head.toString('latin1') !== MAGIC) throw new Error(`${path} is not an stmscope recording (it does not start with "${MAGIC}")`);
    const id = `view-${randomBytes(4).toString('hex')}`;
    const r = newInfo(id, source, path.split('/').pop() ?? path);
    r.recordingPath = abs;
    r.sizeBytes = st.size;
    r.startTime = st.mtime.toISOString();
    this.records.set(id, r);
    this.ephemeral.add(id);
    this.onChange();
    return r;
  }

  /** The session in memory, loading it from its recording if needed. */
  open(id: string): Promise<Session> {
    const s = this.loaded.get(id);
    if (s) {
      this.touch(id, s);
      return Promise.resolve(s);
    }
    const pending = this.loading.get(id);
    if (pending) return pending;
    const r = this.records.get(id);
    if (!r) return Promise.reject(new NotFoundError(`no session ${JSON.stringify(id)} (GET /api/sessions lists them)`));
    const p = (async () => {
      const session = new Session(r, { recording: this.recordingPath(r), record: this.ephemeral.has(id) ? undefined : join(this.dataDir, `${id}.json`), detail: join(this.cacheDir, `${id}.tl`) }, { timeline: this.opts.timeline });
      try {
        await session.ingestRecording(this.recordingPath(r));
      } catch (e) {
        session.close();
        r.problem = (e as Error).message;
        throw new Error(`session ${id} cannot be read: ${(e as Error).message}`);
      } finally {
        this.loading.delete(id);
      }
      const hadProblem = r.problem;
      session.finish();
      if (hadProblem && !r.problem) r.problem = hadProblem;
      if (!this.records.has(id)) {
        session.close();
        throw new NotFoundError(`session ${id} was deleted while it loaded`);
      }
      this.loaded.set(id, session);
      this.evict();
      if (!this.ephemeral.has(id)) this.persistRecord(r);
      this.onChange();
      return session;
    })();
    this.loading.set(id, p);
    return p;
  }

  private touch(id: string, s: Session): void {
    this.loaded.delete(id);
    this.loaded.set(id, s);
  }

  private evict(): void {
    const finished = [...this.loaded.values()].filter((s) => !s.info.live);
    while (finished.length > this.maxLoaded) {
      const s = finished.shift()!;
      this.loaded.delete(s.id);
      s.close();
    }
  }

  /** The live session's source ended: it finishes (and is stored) once ingest caught up. */
  finishLive(s: Session, reason?: string): void {
    if (!s.info.live) return;
    s.endInput(reason);
  }

  /** Writes the sidecar of a session (atomically). */
  persist(s: Session): void {
    this.persistRecord(s.info);
  }

  private persistRecord(r: SessionRecord): void {
    if (this.ephemeral.has(r.id)) return;
    const file = join(this.dataDir, `${r.id}.json`);
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, JSON.stringify(r) + '\n', { mode: 0o600 });
    renameSync(tmp, file);
  }

  /** Deletes a session: its recording and sidecar (a viewed file is only forgotten). */
  remove(id: string): void {
    const r = this.records.get(id);
    if (!r) throw new NotFoundError(`no session ${JSON.stringify(id)}`);
    const s0 = this.loaded.get(id);
    if (r.live && !(s0 && s0.status)) throw new Error(`session ${id} is live: detach it first`);
    this.records.delete(id);
    const s = this.loaded.get(id);
    this.loaded.delete(id);
    s?.close();
    if (!this.ephemeral.has(id)) {
      removeRecording(this.recordingPath(r));
      rmSync(join(this.dataDir, `${id}.json`), { force: true });
    }
    this.ephemeral.delete(id);
    this.onChange();
  }

  /**
   * Applies the retention policy to the data directory: deletes finished
   * sessions older than its age, then the oldest finished ones while the
   * directory holds more than its size (never a live one, never the newest
   * finished one); lets live sessions drop detail past the age cap.
   * @returns the ids deleted
   */
  sweep(now = Date.now()): string[] {
    for (const s of this.live()) s.enforceRetention();
    const facts = [];
    for (const r of this.records.values()) {
      if (this.ephemeral.has(r.id)) continue;
      const path = this.recordingPath(r);
      const live = r.live || this.loading.has(r.id);
      const s = this.loaded.get(r.id);
      let endMs = 0;
      for (const f of recordingFiles(path)) {
        try {
          endMs = Math.max(endMs, statSync(f).mtimeMs);
        } catch {
          /* gone */
        }
      }
      const bytes = live && s ? (s.info.retention?.diskBytes ?? s.info.sizeBytes) : recordingBytes(path);
      facts.push({ id: r.id, live, endMs: endMs || now, bytes });
    }
    const plan = sweepPlan(facts, this.policy, now);
    for (const { id, why } of plan) {
      try {
        this.remove(id);
        this.opts.log?.(`deleted session ${id} (${why})`);
      } catch (e) {
        this.opts.log?.(`could not delete session ${id} (${why}): ${(e as Error).message}`);
      }
    }
    return plan.map((p) => p.id);
  }

  /** Unloads everything (server shutdown); live sessions end as they are. */
  close(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    for (const s of this.loaded.values()) {
      if (s.info.live) {
        s.finish('the server stopped');
        this.persistRecord(s.info);
      }
      s.close();
    }
    this.loaded.clear();
    rmSync(this.cacheDir, { recursive: true, force: true });
  }

  /** Bytes of memory held by loaded sessions' timelines. */
  memoryBytes(): number {
    let n = 0;
    for (const s of this.loaded.values()) n += s.timeline.memoryBytes;
    return n;
  }
}

/** The protocol view of a record (no server-side fields). */
export function publicInfo(r: SessionRecord): SessionInfo {
  const { recordingPath: _p, meta: _m, serverPid: _s, ...info } = r;
  const out: SessionInfo = { ...info, totals: { ...info.totals }, program: info.program ? { ...info.program, argv: [...info.program.argv] } : null };
  if (info.retention) out.retention = { ...info.retention };
  return out;
}
