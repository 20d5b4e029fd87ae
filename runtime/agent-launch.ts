/**
 * Starts the in-process stmscope agent: one worker thread per process that
 * drains the event rings of the first heap created here and streams them
 * (recording format) to a file (`stmscope record`), to a server (`stmscope
 * run`) or to a client that attaches later (`stmscope attach`, the dashboard).
 *
 * The runtime only knows the agent's entry by URL (it lives in
 * instrumentation/), so importing the runtime never loads profiler code.
 * The thread is unref'd: it never keeps a program alive.
 *
 * Environment (set by the stmscope CLI; a program may also set them itself):
 * - `STMSCOPE_RECORD_FILE`  record from the first transaction into this file
 * - `STMSCOPE_SERVER`       stream to this server URL from the first transaction
 * - `STMSCOPE_AGENT=0`      no agent at all (nothing can attach)
 */
import { unlinkSync } from 'node:fs';
import type { Worker } from 'node:worker_threads';
import type { SharedHeap } from './heap-options.ts';
import { launchWorker } from './worker-launch.ts';
import { W_RECORDING } from './layout.ts';

export interface AgentConfig {
  recordFile?: string;
  server?: string;
  /** listen for attach requests (discovery entry + socket); default true unless STMSCOPE_AGENT=0 */
  listen: boolean;
  sampleEvery?: number;
}

/** Control words shared with the agent thread. */
export const A_FLUSH_REQ = 0;
export const A_FLUSH_ACK = 1;
/** 1 once the agent thread is ready to serve flush requests */
export const A_READY = 2;
/** 1 while a recording session streams somewhere */
export const A_SESSION = 3;
/** set to 1 with a flush request when the process is about to end: the agent closes the recording */
export const A_FINAL = 4;

let agent: { worker: Worker; control: Int32Array; config: AgentConfig } | null = null;
let disabledForProcess = false;

/** The agent configuration from the environment, or null when no agent should run. */
export function agentConfigFromEnv(env: NodeJS.ProcessEnv = process.env): AgentConfig | null {
  const recordFile = env.STMSCOPE_RECORD_FILE || undefined;
  const server = env.STMSCOPE_SERVER || undefined;
  const listen = env.STMSCOPE_AGENT !== '0';
  if (!recordFile && !server && !listen) return null;
  const sample = env.STMSCOPE_SAMPLE ? Number(env.STMSCOPE_SAMPLE) : undefined;
  return { recordFile, server, listen, sampleEvery: sample && sample > 1 ? Math.floor(sample) : undefined };
}

/**
 * Resolves true once the agent thread is up (false when no agent runs or it
 * did not start within `timeoutMs`). Benchmarks wait for it so they measure
 * the steady state, not the agent's start-up.
 */
export async function agentReady(timeoutMs = 10_000): Promise<boolean> {
  if (agent === null) return false;
  const end = Date.now() + timeoutMs;
  while (Atomics.load(agent.control, A_READY) !== 1) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}

/** Whether an agent runs in this process. */
export function agentRunning(): boolean {
  return agent !== null;
}

/**
 * Starts the agent for `shared` unless one runs already (the first heap of a
 * process is the one that can be recorded) or the environment disables it.
 * @param force start even when the environment says STMSCOPE_AGENT=0 (tests)
 */
export function startAgent(shared: SharedHeap, config: AgentConfig | null = agentConfigFromEnv()): boolean {
  if (agent !== null || disabledForProcess || config === null) return false;
  const control = new Int32Array(new SharedArrayBuffer(64));
  const here = import.meta.url;
  const ext = here.endsWith('.ts') ? '.ts' : '.js';
  // dist/runtime/agent-launch.js -> dist/instrumentation/agent/agent-thread.js; same for sources
  const entry = new URL(`../instrumentation/agent/agent-thread${ext}`, here);
  let worker: Worker;
  try {
    worker = launchWorker(entry, {
      workerData: { shared, control: control.buffer, config, argv: process.argv, execArgv: process.execArgv },
      // the agent must not inherit loader hooks meant for user code
      execArgv: [],
      stdout: false,
      stderr: false,
    });
  } catch (e) {
    disabledForProcess = true;
    process.emitWarning(`stmscope agent not started: ${(e as Error).message}`);
    return false;
  }
  worker.unref();
  worker.on('error', (e) => {
    process.emitWarning(`stmscope agent stopped: ${e instanceof Error ? e.message : String(e)}`);
    agent = null;
    disabledForProcess = true;
  });
  agent = { worker, control, config };
  // The agent thread names its discovery entry and socket; it cannot remove them
  // itself at exit (worker threads stop first), so this thread does.
  let agentFiles: string[] = [];
  worker.on('message', (m: { type?: string; paths?: unknown }) => {
    if (m && m.type === 'stmscope-agent-files' && Array.isArray(m.paths)) agentFiles = m.paths.map(String);
  });
  // a 'message' listener refs the worker again: the agent must never keep the program alive
  worker.unref();
  const fromStart = !!(config.recordFile || config.server);
  if (fromStart) {
    // Record from the very first transaction: threads fill their rings while
    // the agent thread is still starting (the rings absorb the first ~16k events).
    Atomics.store(new Int32Array(shared.heap), W_RECORDING, 1);
    installExitFlush(control);
  }
  process.on('exit', () => {
    // a client attached later (stmscope attach) gets its last events and END too
    if (!fromStart && Atomics.load(control, A_SESSION) === 1) flushAgent(1000, true);
    for (const f of agentFiles) {
      try {
        unlinkSync(f);
      } catch {
        /* already gone */
      }
    }
  });
  return true;
}

/**
 * Asks the agent to drain every ring and write out what it holds, waiting at
 * most `timeoutMs`. Called synchronously at exit so `stmscope record` leaves a
 * complete file.
 */
export function flushAgent(timeoutMs = 2000, final = false): boolean {
  if (agent === null) return false;
  const c = agent.control;
  if (final) Atomics.store(c, A_FINAL, 1);
  if (Atomics.load(c, A_READY) !== 1) {
    // the agent thread is still starting: give it a moment
    const end = Date.now() + timeoutMs;
    while (Atomics.load(c, A_READY) !== 1 && Date.now() < end) Atomics.wait(c, A_READY, 0, 10);
    if (Atomics.load(c, A_READY) !== 1) return false;
  }
  const ack = Atomics.load(c, A_FLUSH_ACK);
  Atomics.add(c, A_FLUSH_REQ, 1);
  Atomics.notify(c, A_FLUSH_REQ);
  const end = Date.now() + timeoutMs;
  while (Atomics.load(c, A_FLUSH_ACK) === ack) {
    const left = end - Date.now();
    if (left <= 0) return false;
    Atomics.wait(c, A_FLUSH_ACK, ack, Math.min(left, 50));
  }
  return true;
}

function installExitFlush(control: Int32Array): void {
  process.on('exit', () => {
    flushAgent(2000, true);
  });
  // Ctrl+C / kill: flush, then let the signal do what it would have done
  // (unless the program handles the signal itself and keeps running).
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const handler = () => {
      const alone = process.listenerCount(sig) === 1;
      flushAgent(2000, alone);
      if (alone) {
        process.removeListener(sig, handler);
        process.kill(process.pid, sig);
      }
    };
    process.on(sig, handler);
  }
  void control;
}
