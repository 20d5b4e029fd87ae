/**
 * The server with real programs, real sockets and real dashboard clients:
 * programs streaming (stmscope run), attach through the API, persistence,
 * robustness (server killed, program killed, mid-frame cuts) and every
 * security refusal.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, symlinkSync, mkdirSync } from 'node:fs';
import { request } from 'node:http';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { RecordingEncoder, concatBytes, decodeRecording } from '../model/format.ts';
import type { ServerMessage, SessionInfo } from '../model/protocol.ts';
import { bankSample } from '../model/testing/index.ts';
import { readEntries } from '../instrumentation/agent/discovery.ts';
import { startServer, type RunningServer } from './http/server.ts';
import { apiRequest, ingestTarget, readServerState } from './client.ts';
import { eventsByWorker, killAll, loopProgram, repo, startProgram, tempHome, waitFor } from './testing/procs.ts';

const h = tempHome();
let server: RunningServer;
const dataDir = join(h.home, 'sessions');

beforeAll(async () => {
  server = await startServer({ port: 0, dataDir, agentsDir: join(h.home, 'agents'), stateFile: false, programsIntervalMs: 200 });
});
afterEach(killAll);
afterAll(async () => {
  await server?.close();
  h.cleanup();
});

const api = (method: string, path: string, body?: unknown) => apiRequest(server, method, path, body);
const sessions = () => api('GET', '/api/sessions') as Promise<SessionInfo[]>;

/** A raw HTTP request with chosen headers; resolves with status and JSON body. */
function rawHttp(path: string, headers: Record<string, string>, method = 'GET'): Promise<{ status: number; body: { error?: string } & Record<string, unknown> }> {
  return new Promise((res, rej) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, method, headers }, (r) => {
      let t = '';
      r.on('data', (d) => (t += d));
      r.on('end', () => res({ status: r.statusCode ?? 0, body: t ? JSON.parse(t) : {} }));
    });
    req.on('error', rej);
    req.end();
  });
}

/** A dashboard client: collects messages, answers requests by id. */
class Dash {
  readonly ws: WebSocket;
  readonly messages: ServerMessage[] = [];
  closed: { code: number; reason: string } | undefined;
  private nextId = 1;
  constructor(opts: { origin?: string; host?: string; token?: string | null } = {}) {
    const headers: Record<string, string> = {};
    if (opts.origin !== undefined) headers.origin = opts.origin;
    if (opts.host !== undefined) headers.host = opts.host;
    this.ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws`, { headers });
    this.ws.on('message', (d) => this.messages.push(JSON.parse(d.toString())));
    this.ws.on('close', (code, reason) => (this.closed = { code, reason: reason.toString() }));
    this.ws.on('error', () => {});
    if (opts.token !== null) this.ws.on('open', () => this.ws.send(JSON.stringify({ type: 'hello', token: opts.token ?? server.token, protocol: 1 })));
  }
  send(m: unknown) {
    this.ws.send(JSON.stringify(m));
  }
  async request<T extends ServerMessage>(m: Record<string, unknown>): Promise<T> {
    const id = this.nextId++;
    this.send({ ...m, id });
    return (await waitFor(() => this.messages.find((x) => 'id' in x && x.id === id), `answer ${id}`)) as T;
  }
  snapshots(session: string) {
    return this.messages.filter((m): m is Extract<ServerMessage, { type: 'snapshot' }> => m.type === 'snapshot' && m.session === session);
  }
  close() {
    this.ws.terminate();
  }
}

function loopEnv(extra: Record<string, string> = {}) {
  return { ...h.env, STMSCOPE_SERVER: ingestTarget(server), ...extra };
}

describe('programs streaming to the server (stmscope run)', () => {
  it('two programs at once, three dashboards subscribed: live snapshots, then complete sessions', async () => {
    const stop = join(h.home, 'stop-two');
    const a = startProgram([loopProgram], loopEnv({ LOOP_STOP: stop }));
    const b = startProgram([loopProgram], loopEnv({ LOOP_STOP: stop }));
    const pids = [a.child.pid!, b.child.pid!];
    const live = await waitFor(async () => {
      const l = (await sessions()).filter((s) => s.live && s.source === 'run' && pids.includes(s.program?.pid ?? -1));
      return l.length === 2 ? l : undefined;
    }, 'two live sessions');
    expect(new Set(live.map((s) => s.program!.pid))).toEqual(new Set(pids));
    expect(live[0].title).toBe('counter-loop.ts');
    const id = live[0].id;
    const dashes = [new Dash(), new Dash(), new Dash()];
    await waitFor(() => dashes.every((d) => d.messages.some((m) => m.type === 'welcome')), 'welcomes');
    for (const d of dashes) d.send({ type: 'subscribe', session: id });
    // live updates: every dashboard sees the session grow
    await waitFor(() => dashes.every((d) => d.snapshots(id).length >= 3), 'three snapshots each');
    for (const d of dashes) {
      const snaps = d.snapshots(id);
      for (let i = 1; i < snaps.length; i++) {
        expect(snaps[i].seq).toBeGreaterThan(snaps[i - 1].seq);
        expect(snaps[i].snapshot.summary.commits).toBeGreaterThanOrEqual(snaps[i - 1].snapshot.summary.commits);
      }
      expect(snaps[0].live).toBe(true);
    }
    writeFileSync(stop, '');
    expect(await a.exited).toBe(0);
    expect(await b.exited).toBe(0);
    const done = await waitFor(async () => {
      const l = (await sessions()).filter((s) => pids.includes(s.program?.pid ?? -1));
      return l.length === 2 && l.every((s) => !s.live) ? l : undefined;
    }, 'both sessions to end');
    for (const [p, s] of [
      [a, done.find((x) => x.program!.pid === a.child.pid)!],
      [b, done.find((x) => x.program!.pid === b.child.pid)!],
    ] as const) {
      const r = JSON.parse(p.stdout.trim().split('\n').pop()!) as { tasks: number; hits: number };
      expect(r.hits).toBe(r.tasks);
      expect(s.problem).toBeUndefined();
      // every task is one committed transaction (plus a few of the program's own)
      expect(s.totals.commits).toBeGreaterThanOrEqual(r.tasks);
      expect(s.totals.droppedEvents).toBe(0);
    }
    // the final snapshot says the session ended
    await waitFor(() => dashes.every((d) => d.snapshots(id).some((m) => !m.live)), 'final snapshots');
    // timeline queries on the finished session
    const w = await dashes[0].request<Extract<ServerMessage, { type: 'window' }>>({ type: 'window', session: id, query: { startNs: 0, endNs: done[0].durationNs + 1, pixels: 200 } });
    expect(w.type).toBe('window');
    expect(w.result.lanes.length).toBeGreaterThanOrEqual(2);
    const snap = dashes[0].snapshots(id).at(-1)!.snapshot;
    if (snap.groups.length) {
      const o = await dashes[1].request<Extract<ServerMessage, { type: 'occurrences' }>>({ type: 'occurrences', session: id, groupKey: snap.groups[0].key, limit: 5 });
      expect(o.total).toBe(snap.groups[0].count);
    }
    const bad = await dashes[2].request<Extract<ServerMessage, { type: 'error' }>>({ type: 'window', session: id, query: { startNs: 5, endNs: 1, pixels: 10 } });
    expect(bad.type).toBe('error');
    expect(bad.message).toMatch(/endNs \(1\) must be greater than startNs \(5\)/);
    dashes.forEach((d) => d.close());
  });

  it('keeps the session up to the last good chunk when the program is killed', async () => {
    const p = startProgram([loopProgram], loopEnv({ LOOP_SPIN: '0' }));
    const s = await waitFor(async () => (await sessions()).find((x) => x.live && x.program?.pid === p.child.pid && x.totals.events > 5000), 'a live session with events');
    p.child.kill('SIGKILL');
    const ended = await waitFor(async () => (await sessions()).find((x) => x.id === s.id && !x.live), 'the session to end');
    expect(ended.problem).toMatch(/stopped streaming|END/);
    expect(ended.totals.events).toBeGreaterThan(5000);
    // the stored recording ends at a chunk boundary: it reads without a problem, just without END
    const st = eventsByWorker(readFileSync(join(dataDir, `${s.id}.stm`))).status;
    expect(st.problem).toBeUndefined();
    expect(st.complete).toBe(false);
    expect((await api('GET', '/api/health')) as { ok: boolean }).toMatchObject({ ok: true });
  });

  it('cuts a stream that stops in the middle of a chunk at the last good chunk', async () => {
    const pieces: Uint8Array[] = [];
    const enc = new RecordingEncoder((b) => pieces.push(b));
    const r = bankSample();
    const words = r.records();
    enc.meta({ argv: ['node', 'cut.js'], pid: 1 });
    const n = words.length / 8;
    enc.records(words, 0, Math.floor(n / 3));
    enc.records(words, Math.floor(n / 3), Math.floor(n / 3));
    const good = concatBytes(pieces);
    enc.records(words, 2 * Math.floor(n / 3));
    const all = concatBytes(pieces);
    const cut = all.subarray(0, good.length + Math.floor((all.length - good.length) / 2));
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ingest`, { headers: { authorization: `Bearer ${server.ingestToken}` } });
    await new Promise((res) => ws.on('open', res));
    ws.send(cut.subarray(0, 1000));
    ws.send(cut.subarray(1000));
    await new Promise((res) => setTimeout(res, 200));
    ws.terminate(); // no close frame: the program died
    const s = await waitFor(async () => (await sessions()).find((x) => x.program?.argv[1] === 'cut.js' && !x.live), 'the cut session');
    expect(s.problem).toMatch(/truncated/);
    const stored = readFileSync(join(dataDir, `${s.id}.stm`));
    expect(stored.length).toBe(good.length);
    let records = 0;
    const st = decodeRecording(stored, { records: (_w, _f, k) => void (records += k) });
    expect(st.problem).toBeUndefined();
    expect(records).toBe(2 * Math.floor(n / 3));
  });

  it('the program finishes with correct results when the server is killed mid-stream', async () => {
    const h2 = tempHome();
    try {
      const srv = spawn(process.execPath, ['--import', 'tsx', join(repo, 'server/cli.ts'), 'serve', '--port', '0'], { cwd: repo, env: h2.env, stdio: ['ignore', 'pipe', 'pipe'] });
      const serverExited = new Promise((r) => srv.on('exit', r));
      try {
        const state = await waitFor(() => readServerState(join(h2.home, 'server.json')), 'the server state file');
        const stop = join(h2.home, 'stop');
        const p = startProgram([loopProgram], { ...h2.env, STMSCOPE_SERVER: ingestTarget(state), LOOP_STOP: stop });
        await waitFor(async () => ((await apiRequest(state, 'GET', '/api/sessions')) as SessionInfo[]).some((s) => s.live && s.totals.events > 2000), 'streaming');
        srv.kill('SIGKILL');
        await serverExited;
        await new Promise((r) => setTimeout(r, 500));
        writeFileSync(stop, '');
        expect(await p.exited).toBe(0);
        const r = JSON.parse(p.stdout.trim().split('\n').pop()!) as { tasks: number; hits: number };
        expect(r.tasks).toBeGreaterThan(0);
        expect(r.hits).toBe(r.tasks);
        expect(p.stderr).toMatch(/stopped streaming/);
      } finally {
        srv.kill('SIGKILL');
      }
    } finally {
      h2.cleanup();
    }
  });
});

describe('attach through the API', () => {
  it('attaches, detaches and re-attaches a running program', async () => {
    const stop = join(h.home, 'stop-attach');
    const p = startProgram([loopProgram], { ...h.env, LOOP_STOP: stop });
    const pid = p.child.pid!;
    await waitFor(() => readEntries(join(h.home, 'agents')).some((e) => e.pid === pid), 'the program to be attachable');
    const dash = new Dash();
    await waitFor(() => dash.messages.some((m) => m.type === 'programs' && m.programs.some((x) => x.pid === pid)), 'the program in the pushed list');
    const ids: string[] = [];
    for (let round = 0; round < 2; round++) {
      const { session } = (await api('POST', '/api/attach', { pid })) as { session: string };
      ids.push(session);
      await waitFor(async () => (await sessions()).find((s) => s.id === session && s.totals.commits > 100), 'events');
      await expect(api('POST', '/api/attach', { pid })).rejects.toThrow(/already attached/);
      const progs = (await api('GET', '/api/programs')) as Array<{ pid: number; sessionId?: string }>;
      expect(progs.find((x) => x.pid === pid)?.sessionId).toBe(session);
      await api('POST', '/api/detach', { session });
      const s = await waitFor(async () => (await sessions()).find((x) => x.id === session && !x.live), 'detached');
      expect(s.problem).toBeUndefined();
      expect(s.source).toBe('attach');
      expect(s.program?.pid).toBe(pid);
    }
    expect(ids[0]).not.toBe(ids[1]);
    await expect(api('POST', '/api/attach', { pid: 1 })).rejects.toThrow(/no attachable program with pid 1/);
    await expect(api('POST', '/api/attach', { pid: 'x' })).rejects.toThrow(/attach needs/);
    writeFileSync(stop, '');
    expect(await p.exited).toBe(0);
    dash.close();
  });
});

describe('sessions', () => {
  it('imports a recording, serves its report, recording and source, and reopens it after a restart', async () => {
    const bytes = bankSample().bytes();
    const id = await new Promise<string>((res, rej) => {
      const req = request({ host: '127.0.0.1', port: server.port, path: '/api/import?title=bank', method: 'POST', headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/octet-stream' } }, (r) => {
        let t = '';
        r.on('data', (d) => (t += d));
        r.on('end', () => (r.statusCode === 200 ? res(JSON.parse(t).session) : rej(new Error(t))));
      });
      req.end(bytes);
    });
    const info = (await api('GET', `/api/sessions/${id}`)) as SessionInfo;
    expect(info.source).toBe('import');
    expect(info.totals.aborts).toBeGreaterThan(0);
    const report = (await api('GET', `/api/sessions/${id}/report?format=json`)) as { schema: string; conflicts: unknown[] };
    expect(report.schema).toBe('stmscope.report/1');
    expect(report.conflicts.length).toBeGreaterThan(0);
    const rec = await new Promise<Buffer>((res) => {
      request({ host: '127.0.0.1', port: server.port, path: `/api/sessions/${id}/recording`, headers: { authorization: `Bearer ${server.token}` } }, (r) => {
        const c: Buffer[] = [];
        r.on('data', (d) => c.push(d));
        r.on('end', () => res(Buffer.concat(c)));
      }).end();
    });
    expect(Buffer.compare(rec, Buffer.from(bytes))).toBe(0);
    await expect(api('GET', `/api/sessions/${id}/report?format=pdf`)).rejects.toThrow(/unknown report format "pdf"/);

    // a restart: a new server on the same data directory lists it and reopens it
    const before = await sessions();
    const again = await startServer({ port: 0, dataDir, agentsDir: join(h.home, 'agents'), stateFile: false });
    try {
      const list = (await apiRequest(again, 'GET', '/api/sessions')) as SessionInfo[];
      expect(list.map((s) => s.id)).toEqual(before.map((s) => s.id));
      const mine = list.find((s) => s.id === id)!;
      expect(mine.totals).toEqual(info.totals);
      const ws = new WebSocket(`ws://127.0.0.1:${again.port}/ws`);
      const got: ServerMessage[] = [];
      ws.on('message', (m) => got.push(JSON.parse(m.toString())));
      await new Promise((r) => ws.on('open', r));
      ws.send(JSON.stringify({ type: 'hello', token: again.token, protocol: 1 }));
      ws.send(JSON.stringify({ type: 'window', id: 7, session: id, query: { startNs: 0, endNs: info.durationNs + 1, pixels: 50 } }));
      const w = await waitFor(() => got.find((m) => m.type === 'window'), 'the window answer');
      expect(w.type === 'window' && w.result.attempts!.length).toBeGreaterThan(10);
      ws.terminate();
    } finally {
      await again.close();
    }
    await api('DELETE', `/api/sessions/${id}`);
    expect((await sessions()).some((s) => s.id === id)).toBe(false);
  });

  it('serves source lines only below the program directory', async () => {
    const proj = join(h.home, 'proj');
    mkdirSync(join(proj, 'src'), { recursive: true });
    writeFileSync(join(proj, 'src', 'a.ts'), 'line 1\nline 2\nline 3\nline 4\n');
    writeFileSync(join(h.home, 'secret.txt'), 'top secret\n');
    symlinkSync(join(h.home, 'secret.txt'), join(proj, 'src', 'link.ts'));
    const pieces: Uint8Array[] = [];
    const enc = new RecordingEncoder((b) => pieces.push(b));
    enc.meta({ argv: ['node', 'src/a.ts'], cwd: proj, pid: 2 });
    enc.end({});
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ingest`, { headers: { authorization: `Bearer ${server.ingestToken}` } });
    await new Promise((res) => ws.on('open', res));
    ws.send(concatBytes(pieces));
    ws.close();
    const s = await waitFor(async () => (await sessions()).find((x) => x.program?.cwd === proj && !x.live), 'the session');
    const src = (q: string) => rawHttp(`/api/sessions/${s.id}/source?${q}`, { authorization: `Bearer ${server.token}` });
    const ok = await src('file=src/a.ts&line=3&context=1');
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ file: 'src/a.ts', startLine: 2, lines: ['line 2', 'line 3', 'line 4'], line: 3 });
    const up = await src(`file=${encodeURIComponent('../secret.txt')}&line=1`);
    expect(up.status).toBe(403);
    expect(up.body.error).toMatch(/path traversal refused/);
    const abs = await src(`file=${encodeURIComponent(join(h.home, 'secret.txt'))}&line=1`);
    expect(abs.status).toBe(403);
    expect(abs.body.error).toMatch(/outside the program's directory/);
    const link = await src('file=src/link.ts&line=1');
    expect(link.status).toBe(403);
    expect(link.body.error).toMatch(/outside/);
  });
});

describe('security', () => {
  it('refuses a wrong or missing token on the API and the socket', async () => {
    expect((await rawHttp('/api/sessions', {})).body.error).toMatch(/missing token/);
    const wrong = await rawHttp('/api/sessions', { authorization: 'Bearer 0123' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toBe('wrong token');
    const d = new Dash({ token: 'f'.repeat(32) });
    await waitFor(() => d.closed, 'the close');
    expect(d.closed).toEqual({ code: 1008, reason: expect.stringMatching(/wrong token/) });
    expect(d.messages.some((m) => m.type === 'welcome')).toBe(false);
    const silent = new Dash({ token: null });
    await new Promise((r) => silent.ws.on('open', r));
    silent.send({ type: 'subscribe', session: 'x' });
    await waitFor(() => silent.closed, 'the close');
    expect(silent.closed!.reason).toMatch(/first message must be hello/);
  });

  it('refuses foreign Origins and non-local Hosts before the handshake', async () => {
    const upgrade = (headers: Record<string, string>, path = '/ws') =>
      new Promise<{ status: number; body: string }>((res) => {
        const s = netConnect(server.port, '127.0.0.1', () => {
          const lines = [`GET ${path} HTTP/1.1`, 'Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=='];
          for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
          s.write(lines.join('\r\n') + '\r\n\r\n');
        });
        let t = '';
        s.on('data', (d) => (t += d));
        s.on('close', () => res({ status: Number(t.split(' ')[1]), body: t.split('\r\n\r\n')[1] ?? '' }));
      });
    const local = `127.0.0.1:${server.port}`;
    const foreign = await upgrade({ Host: local, Origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    expect(JSON.parse(foreign.body).error).toMatch(/Origin "https:\/\/evil.example" is not the dashboard's origin/);
    const rebinding = await upgrade({ Host: `evil.example:${server.port}`, Origin: `http://evil.example:${server.port}` });
    expect(rebinding.status).toBe(403);
    expect(JSON.parse(rebinding.body).error).toMatch(/Host "evil.example:\d+" is not this server/);
    const octal = await rawHttp('/api/health', { host: `0177.0.0.1:${server.port}`, authorization: `Bearer ${server.token}` });
    expect(octal.status).toBe(403);
    const browserIngest = await upgrade({ Host: local, Origin: `http://${local}`, Authorization: `Bearer ${server.ingestToken}` }, '/ingest');
    expect(browserIngest.status).toBe(403);
    const noToken = await upgrade({ Host: local }, '/ingest');
    expect(noToken.status).toBe(401);
    // the dashboard's own origin is welcome
    const mine = new Dash({ origin: `http://localhost:${server.port}` });
    await waitFor(() => mine.messages.some((m) => m.type === 'welcome'), 'welcome');
    mine.close();
  });

  it('closes only the offending connection on oversized and garbage frames', async () => {
    const good = new Dash();
    await waitFor(() => good.messages.some((m) => m.type === 'welcome'), 'welcome');
    const cases: Array<[string, (d: Dash) => void, number, RegExp]> = [
      ['oversized', (d) => d.ws.send('x'.repeat(2 << 20)), 1009, /Max payload size exceeded/],
      ['not JSON', (d) => d.ws.send('{{{ garbage'), 1007, /not JSON/],
      ['binary', (d) => d.ws.send(Buffer.from([1, 2, 3])), 1003, /binary messages are not accepted/],
      ['no type', (d) => d.ws.send('[1,2]'), 1007, /expected an object/],
    ];
    for (const [what, act, code, why] of cases) {
      const d = new Dash();
      await waitFor(() => d.messages.some((m) => m.type === 'welcome'), `welcome (${what})`);
      act(d);
      await waitFor(() => d.closed, `the close (${what})`);
      expect(d.closed!.code).toBe(code);
      if (code !== 1009) expect(d.closed!.reason).toMatch(why);
      else expect(d.closed!.code).toBe(1009);
    }
    // garbage on the ingest socket: refused with the decoder's reason, no session kept
    const before = (await sessions()).length;
    const ing = new WebSocket(`ws://127.0.0.1:${server.port}/ingest`, { headers: { authorization: `Bearer ${server.ingestToken}` } });
    const closed = new Promise<{ code: number; reason: string }>((r) => ing.on('close', (c, rs) => r({ code: c, reason: rs.toString() })));
    await new Promise((r) => ing.on('open', r));
    ing.send(Buffer.from('GET / HTTP/1.1\r\n\r\nthis is not a recording at all'));
    expect(await closed).toEqual({ code: 1007, reason: expect.stringMatching(/not an stmscope recording/) });
    await new Promise((r) => setTimeout(r, 300));
    expect((await sessions()).length).toBe(before);
    // the well-behaved client never noticed
    const r = await good.request<ServerMessage>({ type: 'occurrences', session: 'nope', groupKey: 'x' });
    expect(r).toMatchObject({ type: 'error', message: expect.stringMatching(/no session "nope"/) });
    expect(good.closed).toBeUndefined();
    good.close();
  });
});

describe('CLI', () => {
  const cli = join(repo, 'server/cli.ts');

  it('stmscope run -- <program>: streams from the first transaction, prints the session URL, passes the exit code on', async () => {
    const h3 = tempHome();
    try {
      const p = startProgram([cli, 'run', '--port', '0', '--exit', '--', process.execPath, '--import', 'tsx', loopProgram], { ...h3.env, LOOP_ROUNDS: '20' });
      expect(await p.exited).toBe(0);
      expect(p.stdout).toMatch(/^stmscope dashboard: http:\/\/127\.0\.0\.1:\d+\/#token=[0-9a-f]{32}$/m);
      const m = /^session: (http:\/\/127\.0\.0\.1:\d+\/#token=[0-9a-f]{32}&session=(s-[\w-]+))$/m.exec(p.stdout);
      expect(m).not.toBeNull();
      const r = JSON.parse(p.stdout.split('\n').find((l) => l.startsWith('{'))!) as { tasks: number; hits: number };
      expect(r.tasks).toBe(4000);
      // the stored session holds every task's transaction, from the first one on
      const rec = JSON.parse(readFileSync(join(h3.home, 'sessions', `${m![2]}.json`), 'utf8')) as SessionInfo;
      expect(rec.live).toBe(false);
      expect(rec.problem).toBeUndefined();
      expect(rec.totals.commits).toBeGreaterThanOrEqual(4000);
      expect(rec.totals.droppedEvents).toBe(0);
      const failing = startProgram([cli, 'run', '--port', '0', '--exit', '--', process.execPath, '-e', 'process.exit(3)'], h3.env);
      expect(await failing.exited).toBe(3);
    } finally {
      h3.cleanup();
    }
  });

  it('stmscope ps and stmscope attach -o FILE', async () => {
    const h4 = tempHome();
    const stop = join(h4.home, 'stop');
    try {
      const p = startProgram([loopProgram], { ...h4.env, LOOP_STOP: stop });
      await waitFor(() => readEntries(join(h4.home, 'agents')).some((e) => e.pid === p.child.pid), 'the entry');
      const ps = startProgram([cli, 'ps', '--json'], h4.env);
      expect(await ps.exited).toBe(0);
      const listed = JSON.parse(ps.stdout) as Array<{ pid: number; argv: string[] }>;
      expect(listed.map((x) => x.pid)).toEqual([p.child.pid]);
      const file = join(h4.home, 'attached.stm');
      const at = startProgram([cli, 'attach', String(p.child.pid), '--duration', '1', '-o', file], h4.env);
      expect(await at.exited).toBe(0);
      expect(at.stderr).toMatch(/detached: [\d,]+ bytes, [\d,]+ records written/);
      const { status, end, events } = eventsByWorker(readFileSync(file));
      expect(status.complete).toBe(true);
      expect(end?.reason).toBe('detach');
      expect([...events.values()].reduce((n, l) => n + l.length, 0)).toBeGreaterThan(100);
      const nobody = startProgram([cli, 'attach', '999999999', '-o', file], h4.env);
      expect(await nobody.exited).toBe(1);
      expect(nobody.stderr).toMatch(/no attachable program with pid 999999999/);
      const noServer = startProgram([cli, 'attach', String(p.child.pid)], h4.env);
      expect(await noServer.exited).toBe(1);
      expect(noServer.stderr).toMatch(/no stmscope server is running/);
      writeFileSync(stop, '');
      expect(await p.exited).toBe(0);
    } finally {
      h4.cleanup();
    }
  });
});
