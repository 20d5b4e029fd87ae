/**
 * Discovery of attachable programs and the agent's socket protocol (like
 * `jps` + `jcmd` for a JVM, or `/json/list` for `node --inspect`).
 *
 * Every process with an agent writes `<pid>.json` (mode 0600) into the
 * per-user discovery directory (paths.ts, mode 0700) and listens on the Unix
 * socket `<pid>.sock` next to it. Only this user can reach either. The entry
 * is removed when the process exits normally; entries of dead processes (a
 * kill, a crash) are ignored and cleaned by whoever lists them.
 *
 * Socket protocol (version {@link AGENT_PROTOCOL}): the client sends one JSON
 * request line, then
 * - `{"op":"info"}`: the agent answers one JSON line ({@link AgentInfo}) and closes;
 * - `{"op":"attach","client":"…"}`: the agent answers with a recording stream
 *   (header, META, definitions so far, then events as they happen; format in
 *   docs/FORMAT.md). Recording is on while at least one client is attached.
 *   The client ends it with the line `{"op":"detach"}` (the agent writes the
 *   END chunk and closes) or by closing the socket.
 * An error is one JSON line `{"error":"…"}` instead (the first byte is `{`,
 * never the `S` of a recording).
 */
import { existsSync, readFileSync, readdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';

/** Version of the agent socket protocol. */
export const AGENT_PROTOCOL = 1;
/** Longest request line an agent reads. */
export const MAX_REQUEST_BYTES = 4096;

/** A discovery entry (`<pid>.json`). */
export interface AgentEntry {
  pid: number;
  argv: string[];
  cwd: string;
  /** ISO time the agent started (about when the program created its heap) */
  startTime: string;
  /** heap threads when the entry was written (ask the agent for the current count) */
  workers: number;
  /** Unix socket path */
  endpoint: string;
  version: string;
  protocol: number;
}

/** The agent's answer to `info`. */
export interface AgentInfo extends AgentEntry {
  /** clients streaming right now */
  attached: number;
}

export function entryPath(dir: string, pid: number): string {
  return join(dir, `${pid}.json`);
}
export function socketPath(dir: string, pid: number): string {
  return join(dir, `${pid}.sock`);
}

/** Writes an entry atomically (temporary file, then rename), mode 0600. */
export function writeEntry(dir: string, entry: AgentEntry): string {
  const file = entryPath(dir, entry.pid);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(entry) + '\n', { mode: 0o600 });
  renameSync(tmp, file);
  return file;
}

/** Removes a process's entry and socket (missing files are fine). */
export function removeEntry(dir: string, pid: number): void {
  for (const f of [entryPath(dir, pid), socketPath(dir, pid)]) {
    try {
      unlinkSync(f);
    } catch {
      /* already gone */
    }
  }
}

/** Whether a process exists (EPERM: exists, but not ours). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parseEntry(text: string): AgentEntry | undefined {
  try {
    const e = JSON.parse(text) as AgentEntry;
    if (!e || typeof e !== 'object' || !Number.isInteger(e.pid) || e.pid <= 0 || typeof e.endpoint !== 'string') return undefined;
    return {
      pid: e.pid,
      argv: Array.isArray(e.argv) ? e.argv.map(String) : [],
      cwd: typeof e.cwd === 'string' ? e.cwd : '',
      startTime: typeof e.startTime === 'string' ? e.startTime : '',
      workers: Number.isInteger(e.workers) ? e.workers : 0,
      endpoint: e.endpoint,
      version: typeof e.version === 'string' ? e.version : '',
      protocol: Number.isInteger(e.protocol) ? e.protocol : 0,
    };
  } catch {
    return undefined;
  }
}

/**
 * Entries of live processes, by pid. Entries of dead processes and unreadable
 * entries are removed when `clean` (default true).
 */
export function readEntries(dir: string, clean = true): AgentEntry[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: AgentEntry[] = [];
  for (const name of names) {
    const m = /^(\d+)\.json$/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    let text = '';
    try {
      text = readFileSync(join(dir, name), 'utf8');
    } catch {
      continue;
    }
    const e = parseEntry(text);
    if (!e || e.pid !== pid || !pidAlive(pid)) {
      if (clean && (!e || !pidAlive(pid))) removeEntry(dir, pid);
      continue;
    }
    out.push(e);
  }
  // sockets without an entry (an entry removed by hand, a crash in between)
  if (clean) {
    for (const name of names) {
      const m = /^(\d+)\.sock$/.exec(name);
      if (m && !existsSync(join(dir, `${m[1]}.json`)) && !pidAlive(Number(m[1]))) removeEntry(dir, Number(m[1]));
    }
  }
  return out.sort((a, b) => a.pid - b.pid);
}

/** Thrown when an agent cannot be reached or refuses. */
export class AgentError extends Error {
  override name = 'AgentError';
  constructor(
    message: string,
    readonly code: 'unreachable' | 'refused' | 'protocol' | 'timeout',
  ) {
    super(message);
  }
}

/** Sends `info` to an agent. */
export function queryAgent(endpoint: string, timeoutMs = 1000): Promise<AgentInfo> {
  return new Promise((resolve, reject) => {
    const sock = connect(endpoint);
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new AgentError(`the agent at ${endpoint} did not answer within ${timeoutMs} ms`, 'timeout'));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(JSON.stringify({ op: 'info' }) + '\n'));
    sock.on('data', (d: string) => {
      buf += d;
      if (buf.length > 1 << 20) sock.destroy(new Error('answer too long'));
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new AgentError(`cannot reach the agent at ${endpoint}: ${e.code ?? e.message}`, 'unreachable'));
    });
    sock.on('close', () => {
      clearTimeout(timer);
      const line = buf.split('\n')[0];
      try {
        const v = JSON.parse(line) as AgentInfo & { error?: string };
        if (v.error) reject(new AgentError(v.error, 'refused'));
        else resolve(v);
      } catch {
        reject(new AgentError(`the agent at ${endpoint} answered something that is not JSON`, 'protocol'));
      }
    });
  });
}

/** A live program found in the discovery directory. */
export interface ProgramStatus extends AgentEntry {
  attached: number;
}

/**
 * Live programs: entries whose agent answers `info`. Entries whose socket
 * refuses connections (the process died, or its pid was reused) are cleaned.
 */
export async function listPrograms(dir: string, timeoutMs = 1000): Promise<ProgramStatus[]> {
  const entries = readEntries(dir);
  const answers = await Promise.all(
    entries.map(async (e) => {
      try {
        const info = await queryAgent(e.endpoint, timeoutMs);
        if (info.pid !== e.pid) return undefined;
        return { ...e, ...info } as ProgramStatus;
      } catch (err) {
        if (err instanceof AgentError && err.code === 'unreachable') removeEntry(dir, e.pid);
        return undefined;
      }
    }),
  );
  return answers.filter((p): p is ProgramStatus => !!p);
}

/** Events of an {@link AgentStream}. */
export interface AgentStreamHandlers {
  /** recording bytes, in order */
  data(bytes: Uint8Array): void;
  /** the stream ended: cleanly (after END, `error` undefined) or not */
  end(error?: Error): void;
}

/** A client's recording stream from one agent. */
export interface AgentStream {
  /** Asks the agent to finish the recording (END chunk) and close. Resolves when the stream ended. */
  detach(timeoutMs?: number): Promise<void>;
  /** Drops the connection at once. */
  close(): void;
  readonly socket: Socket;
}

/**
 * Attaches to an agent: resolves once the agent accepted (its first bytes
 * arrived), rejects with a clear error otherwise.
 */
export function attachAgent(endpoint: string, client: string, handlers: AgentStreamHandlers, timeoutMs = 5000): Promise<AgentStream> {
  return new Promise((resolve, reject) => {
    const sock = connect(endpoint);
    let started = false;
    let ended = false;
    let pendingError: Error | undefined;
    let head = '';
    const timer = setTimeout(() => {
      if (!started) fail(new AgentError(`the agent at ${endpoint} did not start a stream within ${timeoutMs} ms`, 'timeout'));
    }, timeoutMs);
    const fail = (e: Error) => {
      clearTimeout(timer);
      sock.destroy();
      if (!started) reject(e);
      else finish(e);
    };
    const finish = (e?: Error) => {
      if (ended) return;
      ended = true;
      handlers.end(e);
    };
    let endWaiters: Array<() => void> = [];
    const stream: AgentStream = {
      socket: sock,
      detach(ms = 5000) {
        return new Promise<void>((done) => {
          if (ended || sock.destroyed) return done();
          endWaiters.push(done);
          sock.write(JSON.stringify({ op: 'detach' }) + '\n');
          setTimeout(() => {
            if (!ended) sock.destroy();
          }, ms).unref();
        });
      },
      close() {
        sock.destroy();
      },
    };
    sock.on('connect', () => sock.write(JSON.stringify({ op: 'attach', client, protocol: AGENT_PROTOCOL }) + '\n'));
    sock.on('data', (d: Buffer) => {
      if (!started) {
        if (d[0] === 0x7b /* { */ || head) {
          head += d.toString('utf8');
          if (head.includes('\n') || head.length > MAX_REQUEST_BYTES) {
            let msg = head.trim();
            try {
              msg = (JSON.parse(head.split('\n')[0]) as { error?: string }).error ?? msg;
            } catch {
              /* keep the raw text */
            }
            fail(new AgentError(`the agent refused: ${msg}`, 'refused'));
          }
          return;
        }
        started = true;
        clearTimeout(timer);
        resolve(stream);
      }
      handlers.data(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      pendingError = new AgentError(`connection to the agent at ${endpoint} failed: ${e.code ?? e.message}`, 'unreachable');
      if (!started) fail(pendingError);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      if (!started) {
        reject(pendingError ?? new AgentError(`the agent at ${endpoint} closed the connection without answering`, 'protocol'));
        return;
      }
      finish(pendingError);
      const w = endWaiters;
      endWaiters = [];
      for (const f of w) f();
    });
  });
}
