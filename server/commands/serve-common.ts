/** Helpers shared by the commands that run a server (serve, view, run, demo). */
import { spawn } from 'node:child_process';
import type { CommandIO } from './index.ts';
import type { OptionSpec, Parsed } from './args.ts';
import { UsageError } from './args.ts';
import { isLoopback } from '../http/security.ts';
import { describePolicy, policyFromOptions, type RetentionPolicy } from '../session/retention.ts';

/** The retention options of the commands that start a server (server/session/retention.ts). */
export const RETENTION_SPECS: OptionSpec[] = [
  { name: 'max-session-mb', value: true, help: 'cap on one session\'s stored detail in MiB; past it the oldest detail is dropped, aggregates kept (default 256; 0: no cap)' },
  { name: 'retain', value: true, help: 'data directory: delete finished sessions older than AGE / the oldest past SIZE, e.g. 7d, 2GiB, 7d,2GiB, off (default 30d,2GiB)' },
];

/** The retention policy of parsed {@link RETENTION_SPECS} options (defaults otherwise). */
export function retentionOption(options: Parsed['options']): RetentionPolicy {
  try {
    return policyFromOptions(options['max-session-mb'], options.retain);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** Whether any retention option was given. */
export function retentionGiven(options: Parsed['options']): boolean {
  return options['max-session-mb'] !== undefined || options.retain !== undefined;
}

/** Prints the policy in force (stderr). */
export function announcePolicy(p: RetentionPolicy, io: CommandIO): void {
  io.stderr.write(`stmscope: ${describePolicy(p)}\n`);
}

/** Resolves on the first SIGINT/SIGTERM (Ctrl+C). */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((res) => {
    const on = (sig: NodeJS.Signals) => {
      process.removeListener('SIGINT', on);
      process.removeListener('SIGTERM', on);
      res(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

/** Opens a URL in the desktop's browser, best effort (never throws). */
export function openBrowser(url: string): void {
  const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  try {
    const p = spawn(cmd, [url], { stdio: 'ignore', detached: true });
    p.on('error', () => {});
    p.unref();
  } catch {
    /* no browser: the URL is printed anyway */
  }
}

/** Warns when the server is reachable from other machines. */
export function warnExposure(host: string, io: CommandIO): void {
  if (isLoopback(host)) return;
  io.stderr.write(
    `stmscope: WARNING: listening on ${host}, not loopback: anyone who can reach this machine and learns the token can read your sessions and source snippets\n`,
  );
}

/** A --port value. */
export function portOption(v: string | boolean | undefined, dflt: number): number {
  if (v === undefined || v === false) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--port must be an integer from 0 to 65535, got ${JSON.stringify(v)}`);
  return n;
}
