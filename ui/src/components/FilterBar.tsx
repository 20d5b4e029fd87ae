/** The filters every view shares: time range, workers, conflict kinds, search. */
import { useEffect, useState } from 'react';
import { useAtom, useHub } from '../data/hooks.ts';
import { hasFilters, kindsOf } from '../model/filters.ts';
import { fmtNs } from '../model/figures.ts';
import { useView } from '../state/view.ts';

export function FilterBar() {
  const hub = useHub();
  const filters = useView((s) => s.filters);
  const patch = useView((s) => s.patchFilters);
  const clear = useView((s) => s.clearFilters);
  const workers = useAtom(hub.data, (d) => d?.workers);
  const snapshot = useAtom(hub.data, (d) => d?.snapshot);
  const [search, setSearch] = useState(filters.search ?? '');
  useEffect(() => setSearch(filters.search ?? ''), [filters.search]);
  useEffect(() => {
    const t = setTimeout(() => {
      if ((filters.search ?? '') !== search) patch({ search: search || undefined });
    }, 200);
    return () => clearTimeout(t);
  }, [search, filters.search, patch]);
  const lanes = (workers ?? []).filter((w) => w !== 255);
  const kinds = snapshot ? kindsOf(snapshot) : [];
  const toggle = <T,>(list: T[] | undefined, v: T): T[] | undefined => {
    const cur = list ?? [];
    const next = cur.includes(v) ? cur.filter((x) => x !== v) : [...cur, v];
    return next.length ? next : undefined;
  };
  return (
    <div className="st-filters" role="search" data-testid="filters">
      <label>Time</label>
      {filters.range ? (
        <span className="st-chip" aria-pressed="true" data-testid="range-chip">
          {fmtNs(filters.range.startNs)} – {fmtNs(filters.range.endNs)}
          <button aria-label="Clear time range" onClick={() => patch({ range: undefined })}>
            ✕
          </button>
        </span>
      ) : (
        <span className="st-muted st-small" title="Drag on the timeline or the rates chart to pick a range">
          all
        </span>
      )}
      {lanes.length > 1 ? (
        <>
          <label>Workers</label>
          {lanes.map((w) => (
            <button key={w} className="st-chip" aria-pressed={!!filters.workers?.includes(w)} onClick={() => patch({ workers: toggle(filters.workers, w) })}>
              {w}
            </button>
          ))}
        </>
      ) : null}
      {kinds.length ? (
        <>
          <label>Kind</label>
          {kinds.map((k) => (
            <button key={k} className="st-chip" aria-pressed={!!filters.kinds?.includes(k)} onClick={() => patch({ kinds: toggle(filters.kinds, k) })}>
              {k}
            </button>
          ))}
        </>
      ) : null}
      <input
        className="st-input"
        type="search"
        placeholder="Search file, function, object"
        aria-label="Search file, function or object"
        value={search}
        onChange={(e) => setSearch(e.target.value)}
        style={{ width: 240 }}
        data-testid="search"
      />
      {hasFilters(filters) ? (
        <button className="st-btn st-btn--small" onClick={clear}>
          Clear filters
        </button>
      ) : null}
    </div>
  );
}
