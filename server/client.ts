/**
 * Finding and calling a running `stmscope serve` from the other commands
 * (`attach`, `run`, `view`): the server writes its state file (paths.ts
 * `serverStateFile`, mode 0600 in a 0700 directory) with its port and tokens.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { pidAlive } from '../instrumentation/agent/discovery.ts';
import { serverStateFile } from '../instrumentation/agent/paths.ts';

/** What a running server tells the other commands about itself. */
export interface ServerState {
  pid: number;
  host: string;
  port: number;
  /** `http://host:port/` */
  url: string;
  /** dashboard / API token */
  token: string;
  /** token programs use to stream to `/ingest` (STMSCOPE_SERVER) */
  ingestToken: string;
  dataDir: string;
  version: string;
}

/** The dashboard URL (token in the fragment, never sent to a server). */
export function dashboardUrl(s: Pick<ServerState, 'url' | 'token'>): string {
  return `${s.url}#token=${s.token}`;
}

/** The dashboard URL that opens one session. */
export function sessionUrl(s: Pick<ServerState, 'url' | 'token'>, session: string): string {
  return `${dashboardUrl(s)}&session=${encodeURIComponent(session)}`;
}

/** The value of STMSCOPE_SERVER for a program that should stream to this server. */
export function ingestTarget(s: Pick<ServerState, 'host' | 'port' | 'ingestToken'>): string {
  const host = s.host.includes(':') ? `[${s.host}]` : s.host;
  return `ws://${host}:${s.port}/ingest?token=${s.ingestToken}`;
}

/** Reads the state file of a server started by this user, if any (not checked). */
export function readServerState(file = serverStateFile()): ServerState | undefined {
  try {
    const s = JSON.parse(readFileSync(file, 'utf8')) as ServerState;
    if (!s || !Number.isInteger(s.port) || typeof s.token !== 'string') return undefined;
    return s;
  } catch {
    return undefined;
  }
}

/** A running server answering its API, if any. */
export async function findServer(file = serverStateFile()): Promise<ServerState | undefined> {
  const s = readServerState(file);
  if (!s || !pidAlive(s.pid)) return undefined;
  try {
    await apiRequest(s, 'GET', '/api/health', undefined, 1500);
    return s;
  } catch {
    return undefined;
  }
}

/** Thrown for a non-2xx answer; `message` is the server's `error`. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** Calls the JSON API of a server. */
export function apiRequest(s: Pick<ServerState, 'host' | 'port' | 'token'>, method: string, path: string, body?: unknown, timeoutMs = 10_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const host = s.host.includes(':') ? `[${s.host}]` : s.host;
    const req = request(
      {
        host: s.host,
        port: s.port,
        method,
        path,
        timeout: timeoutMs,
        headers: {
          host: `${host}:${s.port}`,
          authorization: `Bearer ${s.token}`,
          ...(data ? { 'content-type': 'application/json', 'content-length': String(data.length) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let v: unknown = text;
          try {
            v = JSON.parse(text);
          } catch {
            /* not JSON */
          }
          if ((res.statusCode ?? 500) >= 300) {
            const msg = v && typeof v === 'object' && 'error' in v ? String((v as { error: unknown }).error) : text || `HTTP ${res.statusCode}`;
            reject(new ApiError(msg, res.statusCode ?? 500));
          } else resolve(v);
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`the server at ${s.host}:${s.port} did not answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(data);
  });
}
