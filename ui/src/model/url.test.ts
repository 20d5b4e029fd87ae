import { describe, expect, it } from 'vitest';
import { decodeUrlState, encodeUrlState, tokenFromHash } from './url.ts';

describe('URL state', () => {
  it('round-trips a full state', () => {
    const s = {
      view: 'timeline' as const,
      session: 's-2025-01',
      viewport: { startNs: 1000, endNs: 250_000 },
      filters: { range: { startNs: 0, endNs: 90_000 }, workers: [1, 2], kinds: ['write-write'], search: 'bank.ts' },
      group: '1:3:3',
      conflict: 42,
      file: 'src/bank.ts',
      line: 14,
      before: 'run-1',
      after: 'run-2',
    };
    const q = encodeUrlState(s);
    expect(q).toMatch(/^\?v=1&/);
    expect(decodeUrlState(q)).toEqual(s);
  });

  it('drops bad values instead of failing', () => {
    const s = decodeUrlState('?v=1&view=nope&t=9-3&w=1,x,999&k=<script>&line=-4&c=abc');
    expect(s.view).toBe('overview');
    expect(s.viewport).toBeUndefined();
    expect(s.filters).toEqual({ workers: [1] });
    expect(s.line).toBeUndefined();
    expect(s.conflict).toBeUndefined();
  });

  it('upgrades a URL without a version', () => {
    expect(decodeUrlState('?view=conflicts&session=abc')).toMatchObject({ view: 'conflicts', session: 'abc' });
  });

  it('reads the token from the fragment only', () => {
    expect(tokenFromHash('#token=0123456789abcdef0123456789abcdef')).toBe('0123456789abcdef0123456789abcdef');
    expect(tokenFromHash('#token=bad token')).toBeUndefined();
    expect(tokenFromHash('')).toBeUndefined();
  });
});
