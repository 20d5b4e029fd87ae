/**
 * Hot objects: (object, field) pairs ranked by conflicts and time lost, with
 * their type, field or key, and the code sites that conflicted on them; each
 * jumps to its conflicts.
 */
import { useMemo } from 'react';
import { useAtom, useHub, useLoc } from '../data/hooks.ts';
import { filterGroups, filterHotObjects, hasFilters, type HotObjectRow } from '../model/filters.ts';
import { fmtInt, fmtNs, parseLocation } from '../model/figures.ts';
import { useView } from '../state/view.ts';
import { EmptyState } from '../components/States.tsx';

export function HotObjectsView() {
  const hub = useHub();
  const snapshot = useAtom(hub.data, (d) => d?.snapshot);
  const filters = useView((s) => s.filters);
  const rows = useMemo(() => (snapshot ? filterHotObjects(snapshot, filters, filterGroups(snapshot, filters)) : []), [snapshot, filters]);
  if (!snapshot) return null;
  if (!snapshot.hotObjects.length)
    return (
      <EmptyState title="No hot objects">
        <p>No conflict named an object yet.</p>
      </EmptyState>
    );
  if (!rows.length) return <EmptyState title={hasFilters(filters) ? 'No hot object matches the filters' : 'No hot objects'} />;
  const approximate = rows.some((r) => r.approximate);
  return (
    <div className="st-page" data-testid="hot-objects">
      <table className="st-table" data-testid="hot-table">
        <thead>
          <tr>
            <th className="num">#</th>
            <th>Object</th>
            <th>Type</th>
            <th>Field / key</th>
            <th>Shape</th>
            <th className="num">Conflicts</th>
            <th className="num">Time lost</th>
            <th>Code sites</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <Row key={`${r.object.objectId}:${r.object.fieldIndex}`} r={r} rank={i + 1} />
          ))}
        </tbody>
      </table>
      {approximate ? <p className="st-small st-muted">≈ With kind, worker or time filters, figures are rebuilt from each conflict group's top objects and time buckets.</p> : null}
    </div>
  );
}

function Row({ r, rank }: { r: HotObjectRow; rank: number }) {
  const loc = useLoc();
  const o = r.object;
  const openSource = useView((s) => s.openSource);
  const showConflicts = () => {
    const st = useView.getState();
    st.patchFilters({ search: o.label });
    st.openGroup(r.groupKeys[0]);
    st.setView('conflicts');
  };
  return (
    <tr data-testid="hot-row">
      <td className="num">{rank}</td>
      <td>
        <code>{o.label}</code>
      </td>
      <td>{o.type || '—'}</td>
      <td>{o.field || '—'}</td>
      <td>{o.shape}</td>
      <td className="num">
        {r.approximate ? '≈' : ''}
        {fmtInt(r.conflicts)}
      </td>
      <td className="num">
        {r.approximate ? '≈' : ''}
        {fmtNs(r.timeLostNs)}
      </td>
      <td className="st-small">
        {r.sites.slice(0, 4).map((s) => {
          const at = parseLocation(s.location);
          return (
            <div key={`${s.role}:${s.location}`}>
              <span className="st-muted">{s.role === 'victim' ? 'aborted at' : 'won at'}</span>{' '}
              {at ? (
                <button className="st-link st-mono" onClick={() => openSource(at.file, at.line)}>
                  {loc(s.location)}
                </button>
              ) : (
                <code>{s.location}</code>
              )}
            </div>
          );
        })}
        {r.sites.length > 4 ? <div className="st-muted">+{r.sites.length - 4} more</div> : null}
      </td>
      <td>
        <button className="st-btn st-btn--small" onClick={showConflicts} disabled={!r.groupKeys.length} data-testid="hot-conflicts">
          Conflicts →
        </button>
      </td>
    </tr>
  );
}
