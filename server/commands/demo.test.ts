/**
 * `stmscope demo --program http`: the dashboard server plus the HTTP store
 * server fixture under load, streaming live; the server's report on the live
 * session names the hot request counter while the program still runs.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const home = mkdtempSync(join(tmpdir(), 'stmscope-demo-'));
let child: ChildProcess | undefined;
afterAll(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  rmSync(home, { recursive: true, force: true });
});

async function until<T>(f: () => Promise<T | undefined> | T | undefined, what: string, ms = 60_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('stmscope demo --program', () => {
  it('rejects an unknown program', async () => {
    const p = spawn(process.execPath, ['--import', 'tsx', join(root, 'server/cli.ts'), 'demo', '--program', 'nope', '--no-open'], { cwd: root, env: { ...process.env, STMSCOPE_HOME: home } });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((r) => p.on('exit', r));
    expect(code).not.toBe(0);
    expect(err).toMatch(/--program must be one of shop, http, http-fixed/);
  });

  it('http: streams the HTTP server live and the live report names the hot counter', async () => {
    child = spawn(process.execPath, ['--import', 'tsx', join(root, 'server/cli.ts'), 'demo', '--program', 'http', '--no-open', '--port', '0'], {
      cwd: root,
      env: { ...process.env, STMSCOPE_HOME: home, STMSCOPE_AGENT: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    const m = await until(() => /demo session: http:\/\/127\.0\.0\.1:(\d+)\/#token=([0-9a-f]+)&session=([^\s&]+)/.exec(out) ?? undefined, `the session URL (stdout ${out}, stderr ${err})`);
    const [, port, token, session] = m;
    // the session starts with the first transaction (the store's set-up); the server listens a little later
    await until(() => (/http-server: serving on http:\/\/127\.0\.0\.1:\d+/.test(out) ? true : undefined), 'the store server line');
    const api = async (path: string) => {
      const r = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { authorization: `Bearer ${token}` } });
      return r.ok ? ((await r.json()) as Record<string, unknown>) : undefined;
    };
    const group = await until(async () => {
      const rep = (await api(`/api/sessions/${session}/report?format=json`)) as { conflicts?: Array<{ kind: string; objects: Array<{ label: string }>; victim: { frames: Array<{ file: string; line: number }> } }> } | undefined;
      return rep?.conflicts?.find((g) => g.objects.some((o) => o.label === 'stats.requests'));
    }, 'a conflict group on stats.requests');
    expect(group.kind).toBe('write-write');
    expect(group.victim.frames[0].file.endsWith('fixtures/http-server/tasks.ts')).toBe(true);
    expect(group.victim.frames[0].line).toBe(19);
    const info = (await api(`/api/sessions/${session}`)) as { live?: boolean; state?: string } | undefined;
    expect(info).toBeDefined();
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child!.on('exit', r));
    expect(code).toBe(0);
    // the program stopped at the end of a round and printed its summary: every request answered and counted
    const s = /http-server: (\d+) requests, (\d+) ok, 0 errors; counted (\d+) \(expected (\d+)\)/.exec(out);
    expect(s, out + err).not.toBeNull();
    expect(s![1]).toBe(s![2]);
    expect(s![3]).toBe(s![4]);
  });
});
