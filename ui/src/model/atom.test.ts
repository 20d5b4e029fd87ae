import { describe, expect, it } from 'vitest';
import { Atom, PauseGate } from './atom.ts';

describe('Atom', () => {
  it('notifies on change only', () => {
    const a = new Atom(1);
    const seen: Array<[number, number]> = [];
    const off = a.subscribe((v, p) => seen.push([v, p]));
    a.set(1);
    a.set(2);
    off();
    a.set(3);
    expect(seen).toEqual([[2, 1]]);
    expect(a.listenerCount).toBe(0);
  });

  it('patches objects into new objects', () => {
    const a = new Atom({ x: 1, y: 2 });
    const before = a.get();
    a.patch({ y: 3 });
    expect(a.get()).toEqual({ x: 1, y: 3 });
    expect(a.get()).not.toBe(before);
  });
});

describe('PauseGate', () => {
  it('holds back data while paused and shows the latest on resume', () => {
    const g = new PauseGate<number | null>(null);
    g.push(1);
    expect(g.shown.get()).toBe(1);
    g.setPaused(true);
    g.push(2);
    g.push(3);
    expect(g.shown.get()).toBe(1);
    expect(g.behind).toBe(true);
    g.setPaused(false);
    expect(g.shown.get()).toBe(3);
    expect(g.behind).toBe(false);
  });
});
