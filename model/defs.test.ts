import { describe, expect, it } from 'vitest';
import { ingestBytes } from './ingest.ts';
import { rec } from './testing/builder.ts';

function defsOf(r: ReturnType<typeof rec>) {
  return ingestBytes(r.bytes()).ingest.defs;
}

describe('Definitions', () => {
  it('labels struct fields, array elements and map entries by the records.ts rule', () => {
    const r = rec();
    const acct = r.object('Account', { serial: 17, fields: ['id', 'balance'] });
    const arr = r.object('Int32Array', { label: 'arr', shape: 'array' });
    const orders = r.object('TMap', { label: 'orders', shape: 'map' });
    const e1 = r.mapEntry(orders, 'x42');
    const e2 = r.mapEntry(orders, 7);
    const named = r.object('Config', { label: 'config', fields: ['flag'] });
    const d = defsOf(r);
    expect(d.objectLabel(acct.id, 1)).toBe('Account#17.balance');
    expect(d.objectLabel(acct.id, -1)).toBe('Account#17');
    expect(d.objectLabel(acct.id, 9)).toBe('Account#17.#9');
    expect(d.objectLabel(arr.id, 5)).toBe('arr[5]');
    expect(d.objectLabel(e1.id, -1)).toBe('orders["x42"]');
    expect(d.objectLabel(e2.id, 0)).toBe('orders[7]');
    expect(d.objectLabel(named.id, 0)).toBe('config.flag');
    expect(d.objectInfo(e1.id, -1)).toEqual({ label: 'orders["x42"]', type: 'TMap.entry', field: 'x42', shape: 'map-entry' });
    expect(d.objectInfo(arr.id, 5)).toEqual({ label: 'arr[5]', type: 'Int32Array', field: '5', shape: 'array' });
    expect(d.objectLabel(424242, 3)).toBe('obj@424242.#3');
    expect(d.objectLabel(0, -1)).toBe('(unknown object)');
  });

  it('resolves sites per worker into one location for the same code', () => {
    const r = rec();
    const main = r.site('main.ts:30:3', { fn: 'run' });
    const s = r.site('bank.ts:10:5', { fn: 'transfer', text: 'a.balance -= x', callers: [main] });
    r.worker(1).start(0, { site: s }).commit(1);
    r.worker(2).start(0, { site: main }).commit(1).start(2, { site: s }).commit(3);
    const ing = ingestBytes(r.bytes({})).ingest;
    const d = ing.defs;
    // Different ids on the two workers (the builder offsets them), one location.
    const id1 = 101 + 1; // worker 1 defines main (callers first) then s
    const id2 = 201 + 1; // worker 2 defines main, then s
    expect(d.site(1, id1)?.line).toBe(10);
    expect(d.site(2, id2)?.line).toBe(10);
    expect(d.siteLocation(1, id1)).toBe(d.siteLocation(2, id2));
    expect(d.locationLabel(d.siteLocation(1, id1))).toBe('bank.ts:10:5');
    expect(d.siteFrames(2, id2).map((f) => `${f.function}@${f.line}`)).toEqual(['transfer@10', 'run@30']);
    expect(d.siteInfo(2, id2)).toMatchObject({ file: 'bank.ts', line: 10, column: 5, function: 'transfer', text: 'a.balance -= x' });
    expect(d.siteInfo(2, id2)?.frames.length).toBe(2);
    expect(d.siteInfo(2, 0)).toBeUndefined();
    expect(d.siteLocation(1, 0)).toBe(0);
    expect(d.locationLabel(d.siteLocation(7, 99))).toBe('(unknown site 99 of worker 7)');
    expect(d.site(7, 99)).toBeUndefined();
    expect(d.siteFrames(7, 99)).toEqual([]);
  });
});
