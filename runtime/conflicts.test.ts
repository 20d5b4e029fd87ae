import { describe, expect, it } from 'vitest';
import { createHeap, setRoot, type Heap } from './index.ts';
import { Cell } from './testing/cell.ts';
import { runInWorkers } from './testing/workers.ts';
import type { Outcome } from './testing/conflict-scenarios.ts';

const SCENARIOS = new URL('./testing/conflict-scenarios.ts', import.meta.url);

function setup(): Heap {
  const heap = createHeap({ size: 2 << 20 });
  setRoot('A', Cell.create({}, { label: 'A' }));
  setRoot('B', Cell.create({}, { label: 'B' }));
  return heap;
}

describe('conflict facts recorded by the runtime (one deterministic test per kind)', () => {
  it('write-read: names the object, field and culprit transaction', async () => {
    const heap = setup();
    const [victim, culprit] = await runInWorkers<Outcome>(heap, SCENARIOS, 'writeRead', 2);
    expect(victim.attempts).toBe(2);
    expect(victim.info).toMatchObject({
      kind: 'write-read',
      label: 'A.x',
      type: 'Cell',
      field: 'x',
      culprit: { worker: culprit.worker, txSeq: culprit.txSeq, inevitable: false },
      worker: victim.worker,
      txSeq: victim.txSeq,
      attempt: 0,
    });
    expect(victim.info!.timeLostNs).toBeGreaterThan(0);
  });

  it('write-write: a transaction that read and wrote the slot lost the race', async () => {
    const heap = setup();
    const [victim, culprit] = await runInWorkers<Outcome>(heap, SCENARIOS, 'writeWrite', 2);
    expect(victim.attempts).toBe(2);
    expect(victim.info).toMatchObject({
      kind: 'write-write',
      label: 'A.x',
      field: 'x',
      culprit: { worker: culprit.worker, txSeq: culprit.txSeq, inevitable: false },
    });
  });

  it('inevitable: blocked by an inevitable transaction, then invalidated by it', async () => {
    const heap = setup();
    const [victim, culprit] = await runInWorkers<Outcome>(heap, SCENARIOS, 'inevitable', 2);
    expect(victim.attempts).toBe(2);
    expect(victim.info).toMatchObject({
      kind: 'inevitable',
      label: 'A.x',
      culprit: { worker: culprit.worker, txSeq: culprit.txSeq, inevitable: true },
    });
    expect(victim.info!.waitNs).toBeGreaterThan(0);
  });

  it('user abort: tx.retry() records a user abort and reruns after another commit', async () => {
    const heap = setup();
    const [victim] = await runInWorkers<Outcome>(heap, SCENARIOS, 'userAbort', 2);
    expect(victim.attempts).toBe(2);
    expect(victim.info).toMatchObject({ kind: 'user-abort', culprit: null, objectId: 0 });
  });
});
