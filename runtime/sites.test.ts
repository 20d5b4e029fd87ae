import { describe, expect, it } from 'vitest';
import { SITE_STRIDE, siteRegistry, SITES_GLOBAL_KEY, type ModuleSites } from './sites.ts';

function mod(url: string, n: number): ModuleSites {
  const sites: number[] = [];
  for (let k = 0; k < n; k++) sites.push(0, k + 1, 3, 0, k === 0 ? -1 : 1);
  return { url, sources: ['/src/a.ts'], names: ['fn', 'o.p = 1;'], sites };
}

describe('site registry', () => {
  it('lives on globalThis under the well-known symbol, one per thread', () => {
    const r = siteRegistry();
    expect(siteRegistry()).toBe(r);
    expect((globalThis as Record<symbol, unknown>)[Symbol.for(SITES_GLOBAL_KEY)]).toBe(r);
    expect(r.cell).toBeInstanceOf(Int32Array);
    expect(r.cell.length).toBe(1);
  });

  it('hands out dense bases and resolves sites', () => {
    const r = siteRegistry();
    const start = r.count;
    const a = r.register(mod('file:///t/sites-a.js', 3));
    const b = r.register(mod('file:///t/sites-b.js', 2));
    expect(a).toBe(start);
    expect(b).toBe(start + 3);
    expect(r.count).toBe(start + 5);
    expect(r.site(a + 1)).toEqual({ file: '/src/a.ts', line: 2, column: 3, functionName: 'fn', text: 'o.p = 1;' });
    expect(r.site(a)).toMatchObject({ line: 1, text: '' });
    expect(r.site(0)).toBeUndefined();
    expect(r.site(r.count)).toBeUndefined();
    expect(SITE_STRIDE).toBe(5);
  });

  it('registers a URL once (a module evaluated twice keeps its ids)', () => {
    const r = siteRegistry();
    const m = mod('file:///t/sites-once.js', 1);
    const base = r.register(m);
    expect(r.register(mod('file:///t/sites-once.js', 4))).toBe(base);
    expect(r.module('file:///t/sites-once.js')).toBe(m);
  });

  it('tells listeners about new modules', () => {
    const r = siteRegistry();
    const seen: Array<[number, string]> = [];
    r.onRegister((base, info) => seen.push([base, info.url]));
    const base = r.register(mod('file:///t/sites-listen.js', 1));
    expect(seen).toContainEqual([base, 'file:///t/sites-listen.js']);
  });

  it('falls back to the module URL for an unknown source index', () => {
    const r = siteRegistry();
    const base = r.register({ url: 'file:///t/sites-nosrc.js', sources: [], names: [], sites: [5, 1, 1, -1, -1] });
    expect(r.site(base)).toEqual({ file: 'file:///t/sites-nosrc.js', line: 1, column: 1, functionName: '', text: '' });
  });
});
