/**
 * The in-process agent with real programs and real sockets: discovery,
 * attach/detach/re-attach against a recording of the same run, backpressure
 * (drops counted, definitions kept), refusals.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { concatBytes } from '../model/format.ts';
import { attachAgent, listPrograms, queryAgent, readEntries, writeEntry } from '../instrumentation/agent/discovery.ts';
import { instrumentationEnv } from './commands/launch-env.ts';
import { demoProgram, eventsByWorker, ingestAll, isContiguousRun, killAll, loopProgram, startProgram, tempHome, waitFor } from './testing/procs.ts';

const homes: Array<ReturnType<typeof tempHome>> = [];
function home() {
  const h = tempHome();
  homes.push(h);
  return h;
}
afterEach(killAll);
afterAll(() => homes.forEach((h) => h.cleanup()));

async function entryOf(agents: string, pid: number) {
  return waitFor(() => readEntries(agents).find((e) => e.pid === pid), `the discovery entry of ${pid}`);
}

/** Attaches, collects bytes until `until` says stop, detaches; returns the stream's bytes. */
async function attachFor(endpoint: string, until: (bytes: number) => boolean): Promise<Uint8Array> {
  const pieces: Uint8Array[] = [];
  let n = 0;
  let ended!: () => void;
  const done = new Promise<void>((r) => (ended = r));
  const s = await attachAgent(endpoint, 'test', {
    data: (b) => {
      pieces.push(b.slice());
      n += b.length;
    },
    end: () => ended(),
  });
  await waitFor(() => until(n), 'stream bytes');
  await s.detach();
  await done;
  return concatBytes(pieces);
}

describe('agent', () => {
  it('registers a private discovery entry and removes it at exit', async () => {
    const h = home();
    const stop = join(h.home, 'stop');
    const p = startProgram([loopProgram], { ...h.env, LOOP_STOP: stop });
    const agents = join(h.home, 'agents');
    const e = await entryOf(agents, p.child.pid!);
    expect(statSync(agents).mode & 0o777).toBe(0o700);
    expect(statSync(join(agents, `${e.pid}.json`)).mode & 0o777).toBe(0o600);
    expect(statSync(e.endpoint).mode & 0o777).toBe(0o600);
    expect(e.argv.some((a) => a.endsWith('counter-loop.ts'))).toBe(true);
    expect(e.cwd).toBeTruthy();
    const info = await queryAgent(e.endpoint);
    expect(info.pid).toBe(e.pid);
    expect(info.workers).toBeGreaterThanOrEqual(1);
    expect(info.attached).toBe(0);
    const listed = await listPrograms(agents);
    expect(listed.map((x) => x.pid)).toEqual([e.pid]);
    writeFileSync(stop, '');
    expect(await p.exited).toBe(0);
    expect(existsSync(join(agents, `${e.pid}.json`))).toBe(false);
    expect(existsSync(e.endpoint)).toBe(false);
  });

  it('ignores and cleans the entries of dead processes', async () => {
    const h = home();
    const agents = join(h.home, 'agents');
    // a process that existed and is gone: its pid is dead
    const gone = startProgram(['-e', '0'], h.env);
    await gone.exited;
    const { ensurePrivateDir } = await import('../instrumentation/agent/paths.ts');
    ensurePrivateDir(agents);
    writeEntry(agents, { pid: gone.child.pid!, argv: ['node', 'x.js'], cwd: '/', startTime: '', workers: 1, endpoint: join(agents, `${gone.child.pid}.sock`), version: '0', protocol: 1 });
    writeFileSync(join(agents, '999999999.json'), 'not json');
    expect(readEntries(agents)).toEqual([]);
    expect(existsSync(join(agents, `${gone.child.pid}.json`))).toBe(false);
    expect(existsSync(join(agents, '999999999.json'))).toBe(false);
  });

  it('streams attach, detach and re-attach as gap-free parts of a recording of the same run', async () => {
    const h = home();
    const file = join(h.home, 'full.stm');
    // an instrumented program (sites, names, objects, inevitable waits) recorded from its start
    const env = { ...h.env, ...instrumentationEnv(h.env, true), STMSCOPE_RECORD_FILE: file, DEMO_PAUSE_MS: '0' };
    const p = startProgram([demoProgram], env);
    const e = await entryOf(join(h.home, 'agents'), p.child.pid!);
    const first = await attachFor(e.endpoint, (n) => n > 300_000);
    const second = await attachFor(e.endpoint, (n) => n > 300_000);
    p.child.kill('SIGTERM'); // the demo stops at the end of its round
    expect(await p.exited).toBe(0);
    const m = /shop: (\d+) orders, fees (\d+)/.exec(p.stdout);
    expect(m).not.toBeNull();
    expect(m![1]).toBe(m![2]);

    const full = eventsByWorker(readFileSync(file));
    expect(full.status.complete).toBe(true);
    for (const part of [first, second]) {
      const got = eventsByWorker(part);
      // a complete recording of its own: header, META, END (reason: detach), no loss
      expect(got.status.complete).toBe(true);
      expect(got.end?.reason).toBe('detach');
      expect(got.end?.dropped).toBe(0);
      let events = 0;
      for (const [w, list] of got.events) {
        events += list.length;
        expect(isContiguousRun(list, full.events.get(w) ?? [])).toBe(true);
      }
      expect(events).toBeGreaterThan(1000);
      // a late joiner still resolves every site and object it sees (definitions were sent before)
      const { store } = ingestAll(part);
      expect(store.droppedTotal).toBe(0);
      const at = store.attempts.cols;
      let sites = 0;
      for (let i = 0; i < store.attempts.length; i++) {
        if (at.site[i] === 0) continue;
        sites++;
        expect(store.defs.siteRowOf(at.worker[i], at.site[i])).toBeGreaterThanOrEqual(0);
      }
      expect(sites).toBeGreaterThan(100);
      const a = store.aborts.cols;
      for (let i = 0; i < store.aborts.length; i++) {
        expect(store.defs.hasObject(a.object[i])).toBe(true);
        if (a.victimSite[i]) expect(store.defs.siteRowOf(a.worker[i], a.victimSite[i])).toBeGreaterThanOrEqual(0);
      }
    }
    // the two attachments did not overlap
    const k1 = eventsByWorker(first).events.get(1)!;
    const k2 = new Set(eventsByWorker(second).events.get(1)!);
    expect(k1.some((x) => k2.has(x))).toBe(false);
  });

  it('drops events (counted and marked) but no definition when the reader falls behind; the program goes on', async () => {
    const h = home();
    const stop = join(h.home, 'stop');
    const p = startProgram([loopProgram], { ...h.env, LOOP_STOP: stop, LOOP_SPIN: '0', STMSCOPE_AGENT_BACKLOG: String(64 * 1024) });
    const e = await entryOf(join(h.home, 'agents'), p.child.pid!);
    const pieces: Buffer[] = [];
    const sock = connect(e.endpoint);
    sock.on('data', (d: Buffer) => pieces.push(d));
    sock.write(JSON.stringify({ op: 'attach', client: 'slow' }) + '\n');
    await waitFor(() => pieces.length > 0, 'the first bytes');
    sock.pause(); // a reader that stops reading: the socket buffers fill up
    await new Promise((r) => setTimeout(r, 1500));
    sock.resume();
    await new Promise((r) => setTimeout(r, 300));
    const closed = new Promise((r) => sock.on('close', r));
    sock.write(JSON.stringify({ op: 'detach' }) + '\n');
    await closed;
    writeFileSync(stop, '');
    expect(await p.exited).toBe(0);
    const result = JSON.parse(p.stdout.trim().split('\n').pop()!) as { tasks: number; hits: number };
    expect(result.hits).toBe(result.tasks);

    const bytes = Buffer.concat(pieces);
    const { store, status, snap } = ingestAll(bytes);
    expect(status.complete).toBe(true);
    expect(store.droppedTotal).toBeGreaterThan(0);
    expect(store.drops.length).toBeGreaterThan(0);
    expect(status.problem).toBeUndefined();
    const end = eventsByWorker(bytes).end!;
    expect(end.dropped).toBe(store.droppedTotal);
    expect(snap.summary.droppedEvents).toBe(store.droppedTotal);
    // every object named by an abort was defined despite the drops
    const a = store.aborts.cols;
    for (let i = 0; i < store.aborts.length; i++) expect(store.defs.hasObject(a.object[i])).toBe(true);
  });

  it('refuses malformed requests with a clear error and keeps serving', async () => {
    const h = home();
    const stop = join(h.home, 'stop');
    const p = startProgram([loopProgram], { ...h.env, LOOP_STOP: stop });
    const e = await entryOf(join(h.home, 'agents'), p.child.pid!);
    const ask = (line: string) =>
      new Promise<string>((res) => {
        let out = '';
        const s = connect(e.endpoint, () => s.write(line));
        s.setEncoding('utf8');
        s.on('data', (d: string) => (out += d));
        s.on('close', () => res(out));
      });
    expect(JSON.parse(await ask('hello\n')).error).toMatch(/not JSON/);
    expect(JSON.parse(await ask('{"op":"format-disk"}\n')).error).toMatch(/unknown request "format-disk"/);
    expect(JSON.parse(await ask('{"op":"attach","protocol":99}\n')).error).toMatch(/protocol/);
    expect(JSON.parse(await ask(`${'x'.repeat(5000)}\n`)).error).toMatch(/longer than 4096/);
    await expect(attachAgent(join(h.home, 'agents', 'nope.sock'), 't', { data() {}, end() {} })).rejects.toThrow(/cannot|failed/);
    expect((await queryAgent(e.endpoint)).pid).toBe(e.pid);
    writeFileSync(stop, '');
    expect(await p.exited).toBe(0);
  });
});
