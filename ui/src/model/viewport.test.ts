import { describe, expect, it } from 'vitest';
import { MIN_SPAN_NS, centreOn, clamp, fit, fitRange, pan, rangeOf, span, tickStep, timeToX, xToTime, zoomAt } from './viewport.ts';

const bounds = { startNs: 0, endNs: 1_000_000 };

describe('viewport', () => {
  it('fits the data with a small margin', () => {
    const v = fit(bounds);
    expect(v.startNs).toBeLessThan(0);
    expect(v.endNs).toBeGreaterThan(1_000_000);
    expect(span(v)).toBeLessThan(1_050_000);
  });

  it('zooms at the anchor, keeping the anchored time in place', () => {
    const v = { startNs: 100_000, endNs: 300_000 };
    const anchorT = xToTime(v, 1000, 250);
    const z = zoomAt(v, 0.5, 0.25, bounds);
    expect(span(z)).toBe(100_000);
    expect(Math.abs(xToTime(z, 1000, 250) - anchorT)).toBeLessThanOrEqual(1);
  });

  it('never zooms below the minimum span nor far beyond the data', () => {
    let v = { startNs: 500_000, endNs: 500_400 };
    for (let i = 0; i < 20; i++) v = zoomAt(v, 0.5, 0.5, bounds);
    expect(span(v)).toBe(MIN_SPAN_NS);
    for (let i = 0; i < 40; i++) v = zoomAt(v, 2, 0.5, bounds);
    expect(span(v)).toBeLessThanOrEqual(1_100_000 + MIN_SPAN_NS);
  });

  it('pans by a fraction of the view and clamps at the data edges', () => {
    const v = { startNs: 100_000, endNs: 200_000 };
    expect(pan(v, 0.5, bounds)).toEqual({ startNs: 150_000, endNs: 250_000 });
    const far = pan(v, 100, bounds);
    expect(far.endNs).toBeLessThanOrEqual(1_050_000);
    expect(span(far)).toBe(100_000);
    const back = pan(v, -100, bounds);
    expect(back.startNs).toBeGreaterThanOrEqual(-50_000);
  });

  it('centres and fits ranges', () => {
    const c = centreOn({ startNs: 0, endNs: 1000 }, 5000, bounds);
    expect((c.startNs + c.endNs) / 2).toBe(5000);
    const f = fitRange({ startNs: 1000, endNs: 2000 }, bounds);
    expect(f.startNs).toBeLessThan(1000);
    expect(f.endNs).toBeGreaterThan(2000);
    expect(span(f)).toBeLessThan(1200);
  });

  it('clamps a too-wide view to the allowed area', () => {
    const v = clamp({ startNs: -10_000_000, endNs: 10_000_000 }, bounds);
    expect(v.startNs).toBe(-50_000);
    expect(v.endNs).toBe(1_050_000);
  });

  it('converts between time and x', () => {
    const v = { startNs: 1000, endNs: 3000 };
    expect(timeToX(v, 200, 2000)).toBe(100);
    expect(xToTime(v, 200, 100)).toBe(2000);
    expect(rangeOf(5, 2)).toEqual({ startNs: 2, endNs: 5 });
  });

  it('picks 1-2-5 tick steps', () => {
    expect(tickStep(1000, 10)).toBe(100);
    expect(tickStep(1_500_000, 10)).toBe(200_000);
    expect(tickStep(4_000, 10)).toBe(500);
  });
});
