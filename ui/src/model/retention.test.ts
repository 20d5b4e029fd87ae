import { describe, expect, it } from 'vitest';
import { droppedLabel, droppedNote, droppedRange } from './retention.ts';

describe('the dropped-detail indicator', () => {
  it('names the wall-clock time and the cap when the epoch is known', () => {
    const r = { maxBytes: 256 * 1024 * 1024, droppedBeforeNs: 190_000_000_000, droppedBeforeTime: '2025-01-02T12:03:10.250Z', droppedBytes: 5e8, reason: 'size' as const };
    expect(droppedNote(r, { utc: true })).toBe('detail before 12:03:10 dropped (cap 256 MiB)');
    expect(droppedLabel(r)).toBe('detail dropped (cap 256 MiB)');
    expect(droppedRange({ retention: r })).toEqual({ beforeNs: 190_000_000_000 });
  });

  it('falls back to session time, and says when the age cap dropped it', () => {
    expect(droppedNote({ maxBytes: 1024 * 1024, droppedBeforeNs: 1_250_000_000, reason: 'size' })).toBe('detail before 1.250s dropped (cap 1 MiB)');
    expect(droppedNote({ maxBytes: 1.5 * 1024 * 1024, droppedBeforeNs: 5e9, reason: 'size' })).toMatch(/\(cap 1\.5 MiB\)$/);
    expect(droppedNote({ maxBytes: 0, maxAgeMs: 7 * 86400_000, droppedBeforeNs: 5e9, reason: 'age' })).toMatch(/\(older than 7 days\)$/);
  });

  it('says nothing while nothing was dropped', () => {
    expect(droppedNote(undefined)).toBeNull();
    expect(droppedNote({ maxBytes: 256 * 1024 * 1024 })).toBeNull();
    expect(droppedLabel({ maxBytes: 1 })).toBeNull();
    expect(droppedRange({})).toBeUndefined();
  });
});
