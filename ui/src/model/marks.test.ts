import { describe, expect, it } from 'vitest';
import type { AttemptMark, ConflictArrow, WindowResult } from '../../../model/protocol.ts';
import { MarkKind, MarkList, hitArrowEnd, hitAttempt, laneMarks, laneWaits, prepareWindow, summaryRuns, walkArrow } from './marks.ts';

function att(id: number, worker: number, startNs: number, endNs: number, outcome: AttemptMark['outcome'] = 'commit', conflict = -1): AttemptMark {
  return { id, worker, txSeq: id, attempt: 1, startNs, endNs, outcome, inevitable: false, conflict, waitNs: 0 };
}
function arrow(id: number, victimWorker: number, victimNs: number, culpritWorker: number, culpritNs: number, kind = 'write-write', groupKey = 'g1'): ConflictArrow {
  return { id, kind, groupKey, victimWorker, victimTxSeq: id, victimNs, culpritWorker, culpritTxSeq: id, culpritNs, object: 'Stats#1.count', timeLostNs: 100 };
}
function window(attempts: AttemptMark[], arrows: ConflictArrow[] = []): WindowResult {
  return { startNs: 0, endNs: 10_000, pixels: 10, bucketNs: 1000, lanes: [], attempts, waits: [{ worker: 1, startNs: 500, endNs: 700, reason: 'backoff' }], arrows, truncated: false };
}

describe('marks', () => {
  it('keeps wide marks and merges sub-pixel neighbours with a count', () => {
    // 1000 px for 10 000 ns: 10 ns per px.
    const marks: AttemptMark[] = [att(1, 1, 0, 500)];
    for (let i = 0; i < 10; i++) marks.push(att(10 + i, 1, 1000 + i * 8, 1000 + i * 8 + 5, i === 3 ? 'abort' : 'commit'));
    marks.push(att(30, 1, 5000, 5004, 'abort'));
    const p = prepareWindow(window(marks));
    const out = laneMarks(p, 1, { startNs: 0, endNs: 10_000 }, 1000, new MarkList(2));
    expect(out.n).toBe(3);
    expect(out.kind[0]).toBe(MarkKind.Commit);
    expect(out.w[0]).toBeCloseTo(50);
    expect(out.kind[1]).toBe(MarkKind.MergedAbort);
    expect(out.count[1]).toBe(10);
    // A lone sub-pixel mark keeps its own colour, widened to a pixel.
    expect(out.kind[2]).toBe(MarkKind.Abort);
    expect(out.count[2]).toBe(1);
    expect(out.w[2]).toBe(1);
  });

  it('finds marks in view even when they start before it', () => {
    const p = prepareWindow(window([att(1, 2, 0, 9000), att(2, 2, 9500, 9900)]));
    const out = laneMarks(p, 2, { startNs: 5000, endNs: 6000 }, 100, new MarkList());
    expect(out.n).toBe(1);
    expect(out.first[0]).toBe(0);
  });

  it('hit tests attempts, arrow ends and walks arrows in time order', () => {
    const arrows = [arrow(7, 1, 3000, 2, 2500), arrow(3, 2, 1000, 1, 900, 'write-read', 'g2'), arrow(9, 1, 3000, 2, 2000)];
    const p = prepareWindow(window([att(1, 1, 2000, 3000, 'abort', 7), att(2, 2, 2000, 2500)], arrows));
    expect(hitAttempt(p, 1, 2500, 10)).toBe(0);
    expect(hitAttempt(p, 1, 3005, 10)).toBe(0);
    expect(hitAttempt(p, 1, 3500, 10)).toBe(-1);
    expect(p.result.arrows[hitArrowEnd(p, 2, 2498, 10)].id).toBe(7);
    expect(p.result.arrows[walkArrow(p, 0, -1, 1)].id).toBe(3);
    expect(p.result.arrows[walkArrow(p, 1000, 3, 1)].id).toBe(7);
    expect(p.result.arrows[walkArrow(p, 3000, 7, 1)].id).toBe(9);
    expect(walkArrow(p, 3000, 9, 1)).toBe(-1);
    expect(p.result.arrows[walkArrow(p, 3000, 7, -1)].id).toBe(3);
    expect(p.result.arrows[walkArrow(p, 0, -1, 1, (a) => a.kind === 'write-write')].id).toBe(7);
  });

  it('lists waits and summary runs', () => {
    const p = prepareWindow(window([]));
    const w = laneWaits(p, 1, { startNs: 0, endNs: 1000 }, 100, []);
    expect(w).toEqual([50, 20]);
    const r: WindowResult = {
      startNs: 0,
      endNs: 4000,
      pixels: 4,
      bucketNs: 1000,
      lanes: [{ worker: 1, committedNs: [500, 1000, 0, 300], abortedNs: [0, 0, 0, 0], waitingNs: [0, 0, 0, 0], inevitableNs: [0, 0, 0, 0], commits: [1, 2, 0, 1], aborts: [1, 0, 0, 0] }],
      arrows: [],
      truncated: false,
    };
    const runs = summaryRuns(prepareWindow(r), 1, { startNs: 0, endNs: 4000 }, 400);
    expect(runs).toEqual([
      { x: 0, w: 200, count: 4, aborts: 1 },
      { x: 300, w: 100, count: 1, aborts: 0 },
    ]);
  });
});
