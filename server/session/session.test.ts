import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { concatBytes, decodeRecording } from '../../model/format.ts';
import { bankSample, writeSyntheticRecording } from '../../model/testing/index.ts';
import { Session, newInfo } from './session.ts';
import { waitFor } from '../testing/procs.ts';

const dir = mkdtempSync(join(tmpdir(), 'stmscope-session-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function live(queueBytes?: number): Session {
  const id = `t${n++}`;
  const info = newInfo(id, 'run', 'test');
  info.live = true;
  const s = new Session(info, { recording: join(dir, `${id}.stm`), detail: join(dir, `${id}.tl`) }, { queueBytes });
  s.openForWriting();
  return s;
}

describe('Session (live input)', () => {
  it('persists at once, ingests behind, and finishing ingests everything first', () => {
    const pieces: Uint8Array[] = [];
    const { records } = writeSyntheticRecording((b) => pieces.push(b), { events: 100_000, workers: 2 });
    const s = live();
    for (const p of pieces) expect(s.receive(p)).toBeUndefined();
    // nothing ingested yet: the pump runs on a later turn
    expect(s.assembler.events).toBe(0);
    expect(s.lagBytes).toBe(concatBytes(pieces).length);
    s.finish();
    expect(s.info.live).toBe(false);
    expect(s.info.problem).toBeUndefined();
    expect(s.status?.complete).toBe(true);
    expect(s.status?.records).toBe(records);
    s.close();
    expect(readFileSync(s.paths.recording)).toEqual(Buffer.from(concatBytes(pieces)));
  });

  it('reads back from the recording what did not fit in the memory queue', async () => {
    const pieces: Uint8Array[] = [];
    const { records } = writeSyntheticRecording((b) => pieces.push(b), { events: 200_000, workers: 3, chunkRecords: 1000 });
    const s = live(64 * 1024);
    for (const p of pieces) s.receive(p);
    expect(s.lagBytes).toBeGreaterThan(1 << 20);
    s.endInput();
    await s.whenFinished();
    expect(s.info.problem).toBeUndefined();
    expect(s.status?.records).toBe(records);
    expect(s.info.totals.events).toBe(s.assembler.events);
    s.close();
  });

  it('ingests in the background and finishes when the input ends', async () => {
    const bytes = bankSample().bytes();
    const s = live();
    let finished = 0;
    s.onFinished = () => finished++;
    for (let i = 0; i < bytes.length; i += 777) s.receive(bytes.slice(i, i + 777));
    s.endInput();
    await s.whenFinished();
    expect(finished).toBe(1);
    expect(s.info.totals.aborts).toBeGreaterThan(0);
    expect(s.snapshot().groups.length).toBeGreaterThan(0);
    s.close();
  });

  it('reports an unreadable stream once and keeps nothing of it', async () => {
    const s = live();
    const problems: string[] = [];
    s.onProblem = (m) => problems.push(m);
    s.receive(new TextEncoder().encode('{"not": "a recording"}'));
    await new Promise((r) => setImmediate(r));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/not an stmscope recording.*JSON text/);
    expect(s.receive(new Uint8Array(10))).toMatch(/not an stmscope recording/);
    s.endInput('closed by the server');
    await s.whenFinished();
    expect(s.chunks).toBe(0);
    expect(s.info.problem).toMatch(/closed by the server: not an stmscope recording/);
    s.close();
    // the cut happens once the last background write landed
    await waitFor(() => readFileSync(s.paths.recording).length === 0, 'the cut');
  });

  it('cuts the recording after its last good chunk when the input stops mid-chunk', async () => {
    const r = bankSample();
    const full = r.bytes({ chunkRecords: 40, end: null });
    const s = live();
    const cut = full.length - 100;
    s.receive(full.slice(0, cut));
    s.endInput('the program stopped streaming');
    await s.whenFinished();
    expect(s.info.problem).toMatch(/the program stopped streaming: The recording is truncated/);
    s.close();
    await waitFor(() => readFileSync(s.paths.recording).length < cut, 'the cut');
    const kept = readFileSync(s.paths.recording);
    expect(kept.length).toBe(s.info.sizeBytes);
    const st = decodeRecording(kept, { records() {} });
    expect(st.problem).toBeUndefined();
    expect(st.records).toBe(s.status!.records);
  });
});
