/**
 * Where session data lives on the main thread: the server connection (when
 * the page was opened with `#token=`), the open session (server-held or a
 * local file parsed in the Web Worker) and the data shown, behind a pause
 * gate. All atoms: views subscribe, React never holds the data in state.
 */

import type { SessionInfo } from '../../../model/protocol.ts';
import { Atom, PauseGate } from '../model/atom.ts';
import type { SessionBackend, SessionData } from './backend.ts';
import { LocalBackend } from './local.ts';
import { ServerBackend, ServerConnection, sessionDataOf } from './server.ts';
import type { OpenedInfo } from '../worker/messages.ts';

export interface CurrentSession {
  /** server session id or `local:<file name>` */
  id: string;
  kind: 'server' | 'local';
  title: string;
  status: 'loading' | 'ready' | 'error';
  progress?: { bytes: number; total: number };
  error?: string;
  /** what the worker found in a local file */
  local?: OpenedInfo;
  backend?: SessionBackend;
}

export const LOCAL_PREFIX = 'local:';

export class Hub {
  readonly server: ServerConnection | undefined;
  /** the open session (loading, ready or failed) */
  readonly current = new Atom<CurrentSession | null>(null, 'current');
  /** snapshots of the open session, held back while paused */
  readonly gate = new PauseGate<SessionData | null>(null);
  private unsubscribe: (() => void) | undefined;
  private openSeq = 0;

  constructor(token: string | undefined) {
    if (token) {
      this.server = new ServerConnection(token);
      this.server.connect();
      // A subscribe the server refuses (unknown or unreadable session) ends the loading state with its reason.
      this.server.lastError.subscribe((e) => {
        const c = this.current.get();
        if (e && c && c.kind === 'server' && c.status === 'loading') this.current.set({ ...c, status: 'error', error: e.message });
      });
    }
  }

  /** The data currently shown (null before a session is ready). */
  get data(): Atom<SessionData | null> {
    return this.gate.shown;
  }

  private reset(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.current.get()?.backend?.close();
    this.gate.setPaused(false);
    this.gate.reset(null);
  }

  /** Opens a session held by the server and follows its snapshots. */
  openServerSession(id: string): void {
    const server = this.server;
    const cur = this.current.get();
    if (cur && cur.id === id && cur.status !== 'error') return;
    this.reset();
    const seq = ++this.openSeq;
    if (!server) {
      this.current.set({ id, kind: 'server', title: id, status: 'error', error: 'This page was not opened from `stmscope serve` (no #token= in the address), so server sessions are not available. Open a recording file instead.' });
      return;
    }
    const info = () => server.sessions.get().find((s) => s.id === id);
    const title = () => info()?.title ?? id;
    const backend = new ServerBackend(server, id, title);
    this.current.set({ id, kind: 'server', title: title(), status: 'loading', backend });
    this.unsubscribe = server.subscribe(id, (m) => {
      if (seq !== this.openSeq) return;
      const c = this.current.get();
      if (c && c.status !== 'ready') this.current.set({ ...c, title: title(), status: 'ready' });
      this.gate.push(sessionDataOf(m));
    });
  }

  /** Opens a recording file in the Web Worker. */
  async openFile(file: File | Blob, name = (file as File).name ?? 'recording'): Promise<void> {
    this.reset();
    const seq = ++this.openSeq;
    const id = `${LOCAL_PREFIX}${name}`;
    this.current.set({ id, kind: 'local', title: name, status: 'loading', progress: { bytes: 0, total: file.size } });
    try {
      const r = await LocalBackend.open(file, name, (bytes, total) => {
        const c = this.current.get();
        if (seq === this.openSeq && c && c.status === 'loading') this.current.set({ ...c, progress: { bytes, total } });
      });
      if (seq !== this.openSeq) {
        r.backend.close();
        return;
      }
      this.current.set({ id, kind: 'local', title: name, status: 'ready', local: r.info, backend: r.backend });
      this.gate.push(r.data);
    } catch (e) {
      if (seq !== this.openSeq) return;
      this.current.set({ id, kind: 'local', title: name, status: 'error', error: e instanceof Error ? e.message : String(e) });
    }
  }

  /** Closes the open session. */
  close(): void {
    this.reset();
    ++this.openSeq;
    this.current.set(null);
  }

  setPaused(p: boolean): void {
    this.gate.setPaused(p);
  }

  /** Server info of a session id, if known. */
  sessionInfo(id: string): SessionInfo | undefined {
    return this.server?.sessions.get().find((s) => s.id === id);
  }
}
