/** Shared helpers of the benchmarks: child processes, medians, result records. */
import { spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  better: 'higher' | 'lower';
  detail: string;
}

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * Runs `node <args>` from the repository root and returns the last JSON line it
 * printed on stdout. Each measurement gets a fresh process: no JIT feedback
 * from one configuration leaks into another.
 */
export function runJson<T>(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 300_000): Promise<T> {
  return runJsonLines<T>(args, env, timeoutMs).then((lines) => lines[lines.length - 1]);
}

/** Like runJson, but every JSON line the process printed, in order. */
export function runJsonLines<T>(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 300_000): Promise<T[]> {
  return new Promise((resolveP, reject) => {
    const child = spawn(process.execPath, args, { cwd: repo, env: { ...process.env, STMSCOPE_AGENT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => {
      clearTimeout(timer);
      const lines = out
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('{'));
      if (code !== 0 || lines.length === 0) reject(new Error(`node ${args.join(' ')} failed (${code}): ${err.slice(-2000) || out.slice(-500)}`));
      else resolveP(lines.map((l) => JSON.parse(l) as T));
    });
  });
}
