import { describe, expect, it } from 'vitest';
import type { WindowResult } from '../../../model/protocol.ts';
import { MAX_PIXELS, canDraw, planWindow, pow2ceil } from './lod.ts';

const bounds = { startNs: 0, endNs: 10_000_000 };

function result(plan: { startNs: number; endNs: number; pixels: number; bucketNs: number }, attempts = false, truncated = false): WindowResult {
  return { startNs: plan.startNs, endNs: plan.endNs, pixels: plan.pixels, bucketNs: plan.bucketNs, lanes: [], arrows: [], truncated, ...(attempts ? { attempts: [] } : {}) };
}

describe('level of detail planning', () => {
  it('uses power-of-two buckets no wider than a pixel', () => {
    const p = planWindow({ startNs: 1_000_000, endNs: 2_000_000 }, 1000, bounds);
    expect(p.bucketNs).toBe(1024);
    expect(pow2ceil(1000)).toBe(1024);
    expect(p.pixels * p.bucketNs).toBe(p.endNs - p.startNs);
  });

  it('fetches about three views around the visible one', () => {
    const v = { startNs: 4_000_000, endNs: 5_000_000 };
    const p = planWindow(v, 1000, bounds);
    expect(p.startNs).toBeLessThanOrEqual(v.startNs - 900_000);
    expect(p.endNs).toBeGreaterThanOrEqual(v.endNs + 900_000);
    expect(p.endNs - p.startNs).toBeLessThan(4 * 1_000_000);
  });

  it('keeps the same key while panning inside the fetched window', () => {
    const a = planWindow({ startNs: 4_000_000, endNs: 5_000_000 }, 1000, bounds);
    const r = result(a);
    // A small pan stays drawable from the same result.
    expect(canDraw(r, { startNs: 4_100_000, endNs: 5_100_000 }, planWindow({ startNs: 4_100_000, endNs: 5_100_000 }, 1000, bounds))).toBe(true);
    // Zooming in 4× needs finer buckets.
    const zin = { startNs: 4_400_000, endNs: 4_650_000 };
    expect(canDraw(r, zin, planWindow(zin, 1000, bounds))).toBe(false);
  });

  it('draws any zoom inside a result that carries every attempt', () => {
    const a = planWindow({ startNs: 4_000_000, endNs: 5_000_000 }, 1000, bounds);
    const zin = { startNs: 4_400_000, endNs: 4_401_000 };
    expect(canDraw(result(a, true), zin, planWindow(zin, 1000, bounds))).toBe(true);
  });

  it('stays within the protocol limit on wide canvases', () => {
    for (const w of [300, 1280, 2560, 4000]) {
      const p = planWindow({ startNs: 0, endNs: 10_000_000 }, w, bounds);
      expect(p.pixels).toBeLessThanOrEqual(MAX_PIXELS);
      expect(p.endNs).toBeGreaterThanOrEqual(10_000_000);
    }
  });

  it('includes the worker subset in the key', () => {
    const v = { startNs: 0, endNs: 1000 };
    expect(planWindow(v, 500, bounds, { workers: [1, 2] }).key).not.toBe(planWindow(v, 500, bounds).key);
  });
});
