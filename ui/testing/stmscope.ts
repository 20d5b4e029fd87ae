/**
 * Runs the real `stmscope` CLI for the dashboard's browser tests: records
 * fixture programs with the real runtime, starts `stmscope view FILE` /
 * `stmscope serve`, and long-running fixture programs to attach to.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './browser.ts';

const CLI = ['--import', 'tsx', join(REPO, 'server', 'cli.ts')];

/** Records `fixtures/<name>/main.ts` (or any program path) into `out` with `stmscope record`. */
export function recordProgram(program: string, out: string, env: Record<string, string> = {}): void {
  const path = existsSync(join(REPO, 'fixtures', program, 'main.ts')) ? join(REPO, 'fixtures', program, 'main.ts') : program;
  const r = spawnSync(process.execPath, [...CLI, 'record', '-o', out, '--', process.execPath, '--import', 'tsx', path], {
    cwd: REPO,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
  if (r.status !== 0 || !existsSync(out)) throw new Error(`stmscope record ${program} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
}

export interface RunningServer {
  /** dashboard URL with its #token= fragment */
  url: string;
  /** the same without the fragment */
  base: string;
  token: string;
  proc: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** True when this checkout's CLI has the command (the server may land later than the dashboard). */
export function hasCommand(name: string): boolean {
  return existsSync(join(REPO, 'server', 'commands', `${name}.ts`));
}

/**
 * Starts `stmscope <args>` (e.g. `view FILE --no-open --port 0`) and waits for
 * the dashboard URL it prints (`http://127.0.0.1:PORT/…#token=…`).
 */
export function startServer(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<RunningServer> {
  const proc = spawn(process.execPath, [...CLI, ...args], { cwd: REPO, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGTERM');
      reject(new Error(`stmscope ${args.join(' ')} printed no dashboard URL in ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = (b: Buffer) => {
      out += b.toString();
      const m = /(http:\/\/(?:127\.0\.0\.1|localhost|\[::1\]):\d+\/[^\s#]*)#(token=([0-9A-Za-z_-]+)[^\s]*)/.exec(out);
      if (m) {
        clearTimeout(timer);
        proc.stdout!.off('data', onData);
        proc.stderr!.off('data', onData);
        proc.stdout!.on('data', (x: Buffer) => (out += x.toString()));
        proc.stderr!.on('data', (x: Buffer) => (out += x.toString()));
        resolve({
          url: `${m[1]}#${m[2]}`,
          base: m[1],
          token: m[3],
          proc,
          output: () => out,
          stop: () => stopProcess(proc),
        });
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`stmscope ${args.join(' ')} exited (${code}) before printing a dashboard URL:\n${out}`));
    });
  });
}

/** Starts a program (no recording) and resolves once it printed `ready`. */
export function startProgram(path: string, env: Record<string, string> = {}, readyPattern = /ready/): Promise<{ proc: ChildProcess; stop(): Promise<void>; output(): string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', path], { cwd: REPO, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${path} did not get ready:\n${out}`)), 60_000);
    const onData = (b: Buffer) => {
      out += b.toString();
      if (readyPattern.test(out)) {
        clearTimeout(timer);
        resolve({ proc, stop: () => stopProcess(proc), output: () => out });
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${path} exited (${code}) before it was ready:\n${out}`));
    });
  });
}

/** SIGTERM, then SIGKILL after 5 s. */
export function stopProcess(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => p.kill('SIGKILL'), 5000);
    p.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    p.kill('SIGTERM');
  });
}
