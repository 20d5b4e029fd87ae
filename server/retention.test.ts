/**
 * Retention with a real server (issue #12): a 1 MiB per-session cap, a
 * synthetic stream over the real ingest WebSocket and the demo shop streaming
 * as a real program; the session's files stay under the cap, the aggregates
 * count everything, the dropped range is reported in SessionInfo and in
 * window answers, and all of it survives a restart of the server.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { concatBytes, decodeRecording } from '../model/format.ts';
import { Ingest } from '../model/ingest.ts';
import type { ServerMessage, SessionInfo } from '../model/protocol.ts';
import { writeSyntheticRecording } from '../model/testing/index.ts';
import { startServer, type RunningServer } from './http/server.ts';
import { apiRequest, ingestTarget } from './client.ts';
import { demoProgram, killAll, startProgram, tempHome, waitFor } from './testing/procs.ts';
import { request } from 'node:http';

const MiB = 1 << 20;
const CAP = 1 * MiB;
/** the synthetic stream's chunks: 2048 records = 64 KiB, as a recorder drains */
const CHUNK_RECORDS = 2048;
const CHUNK = CHUNK_RECORDS * 32 + 16;
const retention = { maxSessionBytes: CAP, maxDataBytes: 0, maxAgeMs: 0 };

const h = tempHome();
const dataDir = join(h.home, 'sessions');
let server: RunningServer;
const start = () => startServer({ port: 0, dataDir, agentsDir: join(h.home, 'agents'), stateFile: false, programsIntervalMs: 200, store: { retention } });

beforeAll(async () => {
  server = await start();
});
afterEach(killAll);
afterAll(async () => {
  await server?.close();
  h.cleanup();
});

const api = (method: string, path: string) => apiRequest(server, method, path);
const sessions = () => api('GET', '/api/sessions') as Promise<SessionInfo[]>;

/** Every file of a session: recording parts and head in the data directory, timeline extents in its cache. */
function diskBytes(id: string): number {
  let n = 0;
  const add = (d: string) => {
    for (const f of readdirSync(d)) {
      if (f.startsWith(`${id}.`) && !f.endsWith('.json')) n += statSync(join(d, f)).size;
    }
  };
  add(dataDir);
  const caches = join(dataDir, '.timeline');
  for (const c of readdirSync(caches)) add(join(caches, c));
  return n;
}

/** A dashboard connection that answers requests by id. */
class Dash {
  readonly ws: WebSocket;
  readonly messages: ServerMessage[] = [];
  private id = 1;
  constructor(srv: RunningServer) {
    this.ws = new WebSocket(`ws://127.0.0.1:${srv.port}/ws`);
    this.ws.on('message', (d) => this.messages.push(JSON.parse(d.toString())));
    this.ws.on('error', () => {});
    this.ws.on('open', () => this.ws.send(JSON.stringify({ type: 'hello', token: srv.token, protocol: 1 })));
  }
  async request<T extends ServerMessage>(m: Record<string, unknown>): Promise<T> {
    const id = this.id++;
    await waitFor(() => this.messages.some((m) => m.type === 'welcome'), 'welcome');
    this.ws.send(JSON.stringify({ ...m, id }));
    return (await waitFor(() => this.messages.find((x) => 'id' in x && x.id === id), `answer ${id}`)) as T;
  }
  async finalSnapshot(session: string) {
    await waitFor(() => this.messages.some((m) => m.type === 'welcome'), 'welcome');
    this.ws.send(JSON.stringify({ type: 'subscribe', session }));
    return waitFor(() => this.messages.find((m): m is Extract<ServerMessage, { type: 'snapshot' }> => m.type === 'snapshot' && m.session === session && !m.live), 'a final snapshot');
  }
  close() {
    this.ws.terminate();
  }
}

function download(srv: RunningServer, id: string): Promise<Uint8Array> {
  return new Promise((res, rej) => {
    const req = request({ host: '127.0.0.1', port: srv.port, path: `/api/sessions/${id}/recording`, headers: { host: `127.0.0.1:${srv.port}`, authorization: `Bearer ${srv.token}` } }, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => (r.statusCode === 200 ? res(new Uint8Array(Buffer.concat(chunks))) : rej(new Error(`status ${r.statusCode}`))));
    });
    req.on('error', rej);
    req.end();
  });
}

describe('a 1 MiB session cap', () => {
  const pieces: Uint8Array[] = [];
  writeSyntheticRecording((b) => pieces.push(b), { events: 400_000, workers: 4, chunkRecords: CHUNK_RECORDS });
  const stream = concatBytes(pieces);
  const reference = new Ingest();
  reference.feed(stream);
  reference.finish();
  const expected = reference.aggregator!.snapshot({ topGroups: 100, topHotObjects: 100 });
  let id = '';
  let peak = 0;

  it('keeps a streamed session under the cap + one chunk, live, while its aggregates count everything', async () => {
    expect(stream.length).toBeGreaterThan(10 * CAP);
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ingest`, { headers: { authorization: `Bearer ${server.ingestToken}` } });
    await new Promise((r, j) => ws.on('open', r).on('error', j));
    // chunk-sized frames, split across chunk boundaries now and then, paced like a recorder draining
    let at = 0;
    let frame = 0;
    while (at < stream.length) {
      const n = frame++ % 7 === 3 ? 40_000 : CHUNK;
      ws.send(stream.subarray(at, Math.min(stream.length, at + n)));
      at += n;
      await new Promise((r) => setTimeout(r, 2));
      if (!id) id = (await waitFor(async () => (await sessions()).find((s) => s.live && s.source === 'run'), 'the live session')).id;
      const d = diskBytes(id);
      peak = Math.max(peak, d);
    }
    const live = await waitFor(async () => (await sessions()).find((s) => s.id === id && s.retention?.droppedBeforeNs !== undefined), 'detail to be dropped');
    expect(live.retention).toMatchObject({ maxBytes: CAP, reason: 'size' });
    ws.close();
    const done = await waitFor(async () => (await sessions()).find((s) => s.id === id && !s.live), 'the session to end');
    peak = Math.max(peak, diskBytes(id));
    expect(peak).toBeLessThanOrEqual(CAP + CHUNK);
    expect(done.problem).toBeUndefined();
    expect(done.retention!.droppedBytes).toBeGreaterThan(stream.length - 2 * CAP);
    expect(done.sizeBytes).toBeLessThan(CAP);
    // everything counted: the totals of the whole stream
    expect(done.totals).toMatchObject({ events: expected.events, commits: expected.summary.commits, aborts: expected.summary.aborts, workers: 4 });
    const dash = new Dash(server);
    const snap = await dash.finalSnapshot(id);
    expect(snap.snapshot.summary).toEqual(expected.summary);
    expect(snap.snapshot.groups).toEqual(expected.groups);
    expect(snap.snapshot.hotObjects).toEqual(expected.hotObjects);
    expect(snap.snapshot.workers).toEqual(expected.workers);
    expect(snap.bounds.startNs).toBe(0);
    dash.close();
  });

  it('answers window queries into the dropped range with nothing but the marker', async () => {
    const info = (await api('GET', `/api/sessions/${id}`)) as SessionInfo;
    const floor = info.retention!.droppedBeforeNs!;
    const dash = new Dash(server);
    const dropped = await dash.request<Extract<ServerMessage, { type: 'window' }>>({ type: 'window', session: id, query: { startNs: 0, endNs: floor / 2, pixels: 100 } });
    expect(dropped.result.droppedBeforeNs).toBe(floor);
    expect(dropped.result.attempts).toEqual([]);
    expect(dropped.result.arrows).toEqual([]);
    expect(dropped.result.lanes.flatMap((l) => [...l.commits, ...l.committedNs, ...l.aborts]).every((v) => v === 0)).toBe(true);
    const all = await dash.request<Extract<ServerMessage, { type: 'window' }>>({ type: 'window', session: id, query: { startNs: 0, endNs: info.durationNs + 1, pixels: 400 } });
    expect(all.result.droppedBeforeNs).toBe(floor);
    const commits = all.result.lanes.reduce((n, l) => n + l.commits.reduce((a, b) => a + b, 0), 0);
    expect(commits).toBeGreaterThan(0);
    expect(commits).toBeLessThan(expected.summary.commits / 4);
    const after = await dash.request<Extract<ServerMessage, { type: 'window' }>>({ type: 'window', session: id, query: { startNs: floor, endNs: info.durationNs + 1, pixels: 400 } });
    expect(after.result.droppedBeforeNs).toBeUndefined();
    dash.close();
  });

  it('reopens the trimmed session after a restart: same aggregates, same marker, same files', async () => {
    const before = (await api('GET', `/api/sessions/${id}`)) as SessionInfo;
    const dash0 = new Dash(server);
    const q = { startNs: before.retention!.droppedBeforeNs! - 50_000, endNs: before.retention!.droppedBeforeNs! + 400_000, pixels: 300 };
    const w0 = await dash0.request<Extract<ServerMessage, { type: 'window' }>>({ type: 'window', session: id, query: q });
    dash0.close();
    await server.close();
    server = await start();
    const listed = (await sessions()).find((s) => s.id === id)!;
    expect(listed.retention).toMatchObject({ maxBytes: CAP, droppedBeforeNs: before.retention!.droppedBeforeNs });
    const dash = new Dash(server);
    const snap = await dash.finalSnapshot(id);
    expect(snap.snapshot.summary).toEqual(expected.summary);
    expect(snap.snapshot.groups).toEqual(expected.groups);
    const w = await dash.request<Extract<ServerMessage, { type: 'window' }>>({ type: 'window', session: id, query: q });
    expect(w.result).toEqual(w0.result);
    expect(w.result.droppedBeforeNs).toBe(before.retention!.droppedBeforeNs);
    const after = (await api('GET', `/api/sessions/${id}`)) as SessionInfo;
    expect(after.totals).toEqual(before.totals);
    expect(after.retention?.droppedBeforeNs).toBe(before.retention!.droppedBeforeNs);
    expect(diskBytes(id)).toBeLessThanOrEqual(CAP + CHUNK);
    // the download is one valid recording whose TRIM chunk carries the dropped aggregates
    const rec = await download(server, id);
    expect(rec.length).toBe(after.sizeBytes);
    const ing = new Ingest();
    ing.feed(rec);
    expect(ing.finish().problem).toBeUndefined();
    expect(ing.aggregator!.snapshot().summary).toEqual(expected.summary);
    expect(decodeRecording(rec, { records() {} }).message ?? '').not.toMatch(/unknown type/);
    dash.close();
  });

  it('caps an import too, pacing the upload to ingest', async () => {
    const before = new Set((await sessions()).map((x) => x.id));
    let importPeak = 0;
    const sampler = setInterval(() => {
      for (const f of readdirSync(dataDir)) {
        const sid = f.split('.')[0];
        if (f.endsWith('.json') && !before.has(sid)) importPeak = Math.max(importPeak, diskBytes(sid));
      }
    }, 5);
    const res = await fetch(`http://127.0.0.1:${server.port}/api/import?title=big`, { method: 'POST', headers: { authorization: `Bearer ${server.token}` }, body: new Uint8Array(stream) });
    clearInterval(sampler);
    expect(res.status).toBe(200);
    const { session } = (await res.json()) as { session: string };
    const info = (await api('GET', `/api/sessions/${session}`)) as SessionInfo;
    expect(info.retention?.droppedBeforeNs).toBeGreaterThan(0);
    expect(info.totals).toMatchObject({ events: expected.events, commits: expected.summary.commits, aborts: expected.summary.aborts });
    // paced: at most the 8 MiB the upload may run ahead of ingest, not the whole upload
    if (process.env.STMSCOPE_TEST_FIGURES) console.log(`retention: import peak ${importPeak} bytes of a ${stream.length}-byte upload`);
    expect(importPeak).toBeLessThan(CAP + 9 * MiB);
    expect(diskBytes(session)).toBeLessThanOrEqual(CAP + CHUNK);
  });

  it('keeps the demo shop (a real program) under the cap, counting every transaction it ran', async () => {
    const p = startProgram([demoProgram], { ...h.env, STMSCOPE_SERVER: ingestTarget(server), DEMO_ROUNDS: '500', DEMO_PAUSE_MS: '0' });
    let shopId = '';
    let shopPeak = 0;
    const exited = p.exited;
    let code: number | undefined;
    void exited.then((c) => (code = c));
    while (code === undefined) {
      if (!shopId) shopId = (await sessions()).find((s) => s.program?.pid === p.child.pid)?.id ?? '';
      if (shopId) shopPeak = Math.max(shopPeak, diskBytes(shopId));
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(code).toBe(0);
    const orders = Number(/shop: (\d+) orders/.exec(p.stdout)?.[1]);
    expect(orders).toBe(50_000);
    const done = await waitFor(async () => (await sessions()).find((s) => s.id === shopId && !s.live), 'the shop session to end');
    shopPeak = Math.max(shopPeak, diskBytes(shopId));
    expect(done.retention?.droppedBeforeNs).toBeGreaterThan(0);
    if (process.env.STMSCOPE_TEST_FIGURES) console.log(`retention: synthetic peak ${peak} bytes, demo shop peak ${shopPeak} bytes (cap ${CAP})`);
    expect(shopPeak).toBeLessThanOrEqual(CAP + 256 * 1024);
    // every order and payment committed once, restocks and audits too, all counted although most detail is gone
    expect(done.totals.commits).toBeGreaterThanOrEqual(orders * 2 + orders / 4 + orders / 50);
    const dash = new Dash(server);
    const snap = await dash.finalSnapshot(shopId);
    const counter = snap.snapshot.hotObjects.find((o) => o.label.startsWith('stats'));
    expect(counter?.conflicts).toBeGreaterThan(0);
    const occ = await dash.request<Extract<ServerMessage, { type: 'occurrences' }>>({ type: 'occurrences', session: shopId, groupKey: snap.snapshot.groups[0].key, limit: 5 });
    // the occurrence list holds what is left; the group still counts everything
    expect(occ.total).toBeLessThanOrEqual(snap.snapshot.groups[0].count);
    dash.close();
  });
});

