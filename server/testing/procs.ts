/**
 * Helpers of the server's process-level tests: temporary stmscope homes,
 * child programs that are always reaped, waiting for conditions, and decoding
 * what streams delivered.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RecordingDecoder, type DecodeStatus, type RecordingEnd } from '../../model/format.ts';
import { Ingest } from '../../model/ingest.ts';

export const repo = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const loopProgram = join(repo, 'server/testing/counter-loop.ts');
/** The demo shop (instrumentable: fixtures/ is user code); DEMO_ROUNDS, stops cleanly on SIGTERM. */
export const demoProgram = join(repo, 'fixtures/demo/shop.ts');

/** A temporary STMSCOPE_HOME; `env` points every stmscope location into it. */
export function tempHome(): { home: string; env: NodeJS.ProcessEnv; cleanup(): void } {
  const home = mkdtempSync(join(tmpdir(), 'stmscope-test-'));
  return {
    home,
    // vitest.config.ts turns the agent off for tests' own heaps; programs started here opt in
    env: { ...process.env, STMSCOPE_HOME: home, STMSCOPE_INSTRUMENT: '0', STMSCOPE_AGENT: '1' },
    cleanup: () => rmSync(home, { recursive: true, force: true }),
  };
}

export interface Program {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  /** resolves with the exit code (or 128+signal) */
  exited: Promise<number>;
}

const children = new Set<ChildProcess>();

/** Starts a program (node + tsx) and keeps track of it so {@link killAll} can reap it. */
export function startProgram(args: string[], env: NodeJS.ProcessEnv): Program {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const p: Program = { child, stdout: '', stderr: '', exited: Promise.resolve(0) };
  child.stdout!.on('data', (d) => (p.stdout += d));
  child.stderr!.on('data', (d) => (p.stderr += d));
  p.exited = new Promise((res) => {
    child.on('exit', (code, sig) => {
      children.delete(child);
      res(code ?? 128 + (sig === 'SIGKILL' ? 9 : sig === 'SIGTERM' ? 15 : 1));
    });
  });
  return p;
}

/** Kills every program still running (afterEach/afterAll). */
export async function killAll(): Promise<void> {
  const waits = [...children].map((c) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r()))));
  for (const c of children) c.kill('SIGKILL');
  await Promise.all(waits);
}

/** Polls `fn` until it returns a truthy value. */
export async function waitFor<T>(fn: () => T | Promise<T>, what: string, timeoutMs = 20_000, everyMs = 25): Promise<NonNullable<T>> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The event records (not definitions) of a recording, per worker, each as a string of its 8 words. */
export function eventsByWorker(bytes: Uint8Array): { events: Map<number, string[]>; end: RecordingEnd | undefined; status: DecodeStatus } {
  const events = new Map<number, string[]>();
  let end: RecordingEnd | undefined;
  const dec = new RecordingDecoder({
    records: (w, first, n) => {
      for (let i = first; i < first + n; ) {
        const o = i * 8;
        const code = w[o] & 0xff;
        if (code >= 32) {
          i += Math.max(1, w[o] >>> 16);
          continue;
        }
        const worker = (w[o] >>> 8) & 0xff;
        let l = events.get(worker);
        if (!l) events.set(worker, (l = []));
        l.push(Array.from(w.subarray(o, o + 8)).join(','));
        i++;
      }
    },
    end: (e) => (end = e),
  });
  dec.feed(bytes);
  return { events, end, status: dec.finish() };
}

/** Whether `part` occurs as one contiguous run inside `whole`. */
export function isContiguousRun(part: string[], whole: string[]): boolean {
  if (part.length === 0) return true;
  for (let i = whole.indexOf(part[0]); i >= 0; i = whole.indexOf(part[0], i + 1)) {
    let k = 0;
    while (k < part.length && whole[i + k] === part[k]) k++;
    if (k === part.length) return true;
  }
  return false;
}

/** Ingests a whole recording into a store (definitions, drops, rows). */
export function ingestAll(bytes: Uint8Array) {
  const ing = new Ingest({ store: true });
  ing.feed(bytes);
  const status = ing.finish();
  return { ing, store: ing.store!, snap: ing.aggregator!.snapshot(), status };
}
