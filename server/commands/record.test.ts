/**
 * `stmscope record` end to end: real program, real agent, real signals.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ingestBytes } from '../../model/ingest.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const cli = join(repo, 'server/cli.ts');

function runCli(args: string[], env: NodeJS.ProcessEnv = {}, detached = false) {
  const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], { cwd: repo, env: { ...process.env, ...env }, detached, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number>((r) => child.on('exit', (code, sig) => r(code ?? (sig === 'SIGINT' ? 130 : 128))));
  return { child, exited, out: () => stdout, err: () => stderr };
}

async function until(cond: () => boolean, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('stmscope record', () => {
  it('Ctrl+C stops the program and still leaves a complete recording', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stmscope-record-'));
    const file = join(dir, 'interrupted.stmrec');
    try {
      // detached: its own process group, which gets the SIGINT as a terminal's Ctrl+C would
      const run = runCli(['record', '-o', file, '--', process.execPath, '--import', 'tsx', 'server/testing/counter-loop.ts'], { LOOP_TASKS: '100' }, true);
      await until(() => run.out().includes('ready'), 'the program to start');
      await new Promise((r) => setTimeout(r, 600));
      process.kill(-run.child.pid!, 'SIGINT');
      const code = await run.exited;
      expect(code).toBe(130);
      expect(existsSync(file)).toBe(true);
      const { ingest, status } = ingestBytes(new Uint8Array(readFileSync(file)));
      expect(status.problem).toBeUndefined();
      expect(status.complete).toBe(true);
      expect(ingest.end?.reason).toBeDefined();
      const snap = ingest.aggregator!.snapshot();
      expect(snap.summary.commits).toBeGreaterThan(100);
      // the counter hot spot is there, with both sides' code
      expect(snap.groups[0].objects[0].label).toBe('stats.hits');
      expect(run.err()).toMatch(/recorded .* to .*interrupted\.stmrec/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses bad usage with a clear error', async () => {
    const a = runCli(['record', '--', 'node', '-e', '1']);
    expect(await a.exited).toBe(2);
    expect(a.err()).toMatch(/-o FILE is required/);
    const b = runCli(['record', '-o', '/tmp/x.stmrec']);
    expect(await b.exited).toBe(2);
    expect(b.err()).toMatch(/no command to run: put it after --/);
    const c = runCli(['record', '--frob', '-o', 'x']);
    expect(await c.exited).toBe(2);
    expect(c.err()).toMatch(/unknown option --frob/);
  });

  it('says so when the program never created a heap', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stmscope-record-'));
    try {
      const r = runCli(['record', '-o', join(dir, 'none.stmrec'), '--', process.execPath, '-e', 'console.log(1)']);
      expect(await r.exited).toBe(1);
      expect(r.err()).toMatch(/no recording was written: the program created no stmscope heap/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
