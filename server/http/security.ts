/**
 * Local-server security (../shared/reference/style.md §4): loopback by
 * default, `Host` and `Origin` checked before anything else (DNS rebinding,
 * cross-site WebSocket hijacking), a random 128-bit token compared in constant
 * time. Every refusal names what was wrong.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** A fresh 128-bit token (hex). */
export function newToken(): string {
  return randomBytes(16).toString('hex');
}

/** Constant-time token comparison. */
export function tokenMatches(given: unknown, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Whether an address is loopback. */
export function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === '::1' || host === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * The Host values this server answers to: `127.0.0.1:PORT`, `localhost:PORT`,
 * `[::1]:PORT`, plus the bind address when it is not loopback. Only exact
 * literals: Node's inspector learned the hard way that anything looser (octal
 * IPs, `localhost6`, `10.0.2.555`) lets DNS rebinding in (CVE-2018-7160,
 * CVE-2021-22884, CVE-2022-32212, CVE-2022-43548).
 */
export function allowedHosts(bindHost: string, port: number): Set<string> {
  const s = new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);
  if (!isLoopback(bindHost) && bindHost !== '0.0.0.0' && bindHost !== '::') s.add(`${bindHost.includes(':') ? `[${bindHost}]` : bindHost}:${port}`);
  return s;
}

/** Why a request's Host is refused, or undefined when it is fine. */
export function hostProblem(req: IncomingMessage, hosts: Set<string>): string | undefined {
  const h = req.headers.host;
  if (!h) return 'the request has no Host header';
  if (!hosts.has(h.toLowerCase())) return `Host ${JSON.stringify(h)} is not this server (expected one of ${[...hosts].join(', ')}); refused to prevent DNS rebinding`;
  return undefined;
}

/**
 * Why a dashboard WebSocket's Origin is refused: browsers always send Origin,
 * so a page from another site is recognised and refused; clients that are not
 * browsers send none and still need the token.
 */
export function originProblem(req: IncomingMessage, hosts: Set<string>): string | undefined {
  const o = req.headers.origin;
  if (o === undefined) return undefined;
  let u: URL;
  try {
    u = new URL(o);
  } catch {
    return `Origin ${JSON.stringify(o)} is not a URL`;
  }
  if (u.protocol !== 'http:' || !hosts.has(u.host.toLowerCase())) return `Origin ${JSON.stringify(o)} is not the dashboard's origin; refused (cross-site WebSocket hijacking)`;
  return undefined;
}

/** The Bearer token of a request, if any. */
export function bearer(req: IncomingMessage): string | undefined {
  const a = req.headers.authorization;
  if (!a) return undefined;
  const m = /^Bearer\s+(\S+)$/i.exec(a);
  return m ? m[1] : undefined;
}
