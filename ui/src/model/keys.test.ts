import { describe, expect, it } from 'vitest';
import { applyHeld, keyAction, stepKey } from './keys.ts';
import { span } from './viewport.ts';

const bounds = { startNs: 0, endNs: 1_000_000 };

describe('keys', () => {
  it('reads WASD by physical code, whatever the layout prints', () => {
    // AZERTY: the key at the W position prints "z".
    expect(keyAction({ code: 'KeyW', key: 'z' })).toBe('zoom-in');
    expect(keyAction({ code: 'KeyA', key: 'q' })).toBe('pan-left');
    expect(keyAction({ code: 'KeyS', key: 's' })).toBe('zoom-out');
    expect(keyAction({ code: 'KeyD', key: 'd' })).toBe('pan-right');
    expect(keyAction({ code: 'KeyZ', key: 'w' })).toBe('zoom-selection');
  });

  it('maps brackets, F, Esc and ?', () => {
    expect(keyAction({ code: 'BracketRight', key: ']' })).toBe('next-conflict');
    expect(keyAction({ code: 'BracketLeft', key: '[' })).toBe('prev-conflict');
    expect(keyAction({ code: 'KeyF', key: 'f' })).toBe('fit');
    expect(keyAction({ code: 'Escape', key: 'Escape' })).toBe('clear');
    expect(keyAction({ code: 'Minus', key: '?', shiftKey: true })).toBe('help');
  });

  it('leaves browser shortcuts alone', () => {
    expect(keyAction({ code: 'KeyW', key: 'w', ctrlKey: true })).toBeUndefined();
    expect(keyAction({ code: 'KeyF', key: 'f', metaKey: true })).toBeUndefined();
  });

  it('moves in proportion to frame time', () => {
    const v = { startNs: 400_000, endNs: 600_000 };
    const a = applyHeld(v, new Set(['zoom-in']), 16, bounds);
    const b = applyHeld(v, new Set(['zoom-in']), 32, bounds);
    expect(span(a)).toBeLessThan(span(v));
    expect(span(b)).toBeLessThan(span(a));
    const p = applyHeld(v, new Set(['pan-right']), 100, bounds);
    expect(p.startNs).toBeGreaterThan(v.startNs);
    expect(span(p)).toBe(span(v));
    expect(applyHeld(v, new Set(), 16, bounds)).toBe(v);
  });

  it('a tap moves one step', () => {
    const v = { startNs: 400_000, endNs: 600_000 };
    expect(stepKey(v, 'pan-left', bounds).startNs).toBeLessThan(v.startNs);
    expect(span(stepKey(v, 'zoom-out', bounds))).toBeGreaterThan(span(v));
  });
});
