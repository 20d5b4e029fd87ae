/**
 * Conflicts: groups sorted by time lost (kind, count, time lost, objects,
 * advice). Opening one shows the victim and culprit stacks side by side with
 * source snippets (the conflicting lines highlighted), the group's objects,
 * a mini timeline and the list of occurrences, each of which jumps to the
 * timeline.
 */
import { useEffect, useMemo, useState } from 'react';
import type { ConflictGroup, GroupSide } from '../../../model/aggregate.ts';
import type { Occurrence } from '../../../model/protocol.ts';
import { useAtom, useHub, useLoc, useThrottled } from '../data/hooks.ts';
import { filterGroups, hasFilters } from '../model/filters.ts';
import { fmtInt, fmtNs } from '../model/figures.ts';
import { useView } from '../state/view.ts';
import { viewForConflict } from '../timeline/controller.ts';
import { fit } from '../model/viewport.ts';
import { EmptyState } from '../components/States.tsx';
import { Snippet } from '../components/Snippet.tsx';
import { MiniHistogram } from '../components/RatesChart.tsx';

export function ConflictsView() {
  const loc = useLoc();
  const hub = useHub();
  const snapshot = useAtom(hub.data, (d) => d?.snapshot);
  const filters = useView((s) => s.filters);
  const open = useView((s) => s.group);
  const openGroup = useView((s) => s.openGroup);
  const groups = useMemo(() => (snapshot ? filterGroups(snapshot, filters) : []), [snapshot, filters]);
  const selected = snapshot?.groups.find((g) => g.key === open);
  useEffect(() => {
    // Open the top group by default so the page never starts empty.
    if (!open && groups.length) openGroup(groups[0].group.key);
  }, [open, groups, openGroup]);
  if (!snapshot) return null;
  if (!snapshot.groups.length)
    return (
      <EmptyState title="No conflicts">
        <p>Every transaction committed on its first attempt{snapshot.summary.commits ? '' : ' (none ran yet)'}.</p>
      </EmptyState>
    );
  return (
    <div className="st-split" data-testid="conflicts">
      <div className="st-split__list">
        {groups.length ? (
          <table className="st-table" data-testid="group-table">
            <thead>
              <tr>
                <th className="num">#</th>
                <th>Conflict</th>
                <th className="num">Count</th>
                <th className="num">Time lost</th>
              </tr>
            </thead>
            <tbody>
              {groups.map((fg) => {
                const g = fg.group;
                return (
                  <tr key={g.key} className="st-row--click" aria-selected={g.key === open} onClick={() => openGroup(g.key)} data-testid="group-row" data-key={g.key}>
                    <td className="num">{fg.rank}</td>
                    <td>
                      <span className={`st-kind st-kind--${g.kind}`}>{g.kind}</span> {g.objects[0] ? <strong>{g.objects[0].label}</strong> : null}
                      {g.distinctObjects > 1 ? <span className="st-muted"> +{g.distinctObjects - 1}</span> : null}
                      <div className="st-small st-mono">
                        {loc(g.victim.location) || '?'} ← {g.culprit ? loc(g.culprit.location) || '?' : 'unknown culprit'}
                      </div>
                      {g.advice ? <div className="st-small st-muted">advice: {g.advice.rule}</div> : null}
                    </td>
                    <td className="num">
                      {fg.approximate ? '≈' : ''}
                      {fmtInt(fg.count)}
                    </td>
                    <td className="num">
                      {fg.approximate ? '≈' : ''}
                      {fmtNs(fg.timeLostNs)}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        ) : (
          <EmptyState title={hasFilters(filters) ? 'No conflict matches the filters' : 'No conflicts'} />
        )}
        {snapshot.groupCount > snapshot.groups.length ? (
          <p className="st-small st-muted" style={{ padding: '0 8px' }}>
            Showing the top {snapshot.groups.length} of {fmtInt(snapshot.groupCount)} groups.
          </p>
        ) : null}
      </div>
      <div>{selected ? <GroupDetail key={selected.key} group={selected} /> : <EmptyState title="Pick a conflict group" />}</div>
    </div>
  );
}

function GroupDetail({ group }: { group: ConflictGroup }) {
  const hub = useHub();
  const snapshot = useAtom(hub.data, (d) => d?.snapshot)!;
  const g = group;
  const workers = [...new Set([...g.victim.workers, ...(g.culprit?.workers ?? [])])].sort((a, b) => a - b);
  return (
    <div className="st-group-detail" data-testid="group-detail">
      <h2>
        <span className={`st-kind st-kind--${g.kind}`}>{g.kind}</span> {g.objects[0]?.label ?? 'conflict'}
      </h2>
      <p className="st-small" style={{ margin: '0 0 6px' }}>
        <strong>{fmtInt(g.count)}</strong> conflicts · <strong>{fmtNs(g.timeLostNs)}</strong> lost · {fmtNs(g.waitNs)} waiting
        {g.blockedNs ? ` · ${fmtNs(g.blockedNs)} blocked by inevitable` : ''} · workers {workers.join(', ')}
      </p>
      {g.advice ? (
        <div className="st-advice" data-testid="advice">
          <strong>Advice ({g.advice.rule})</strong>: <InlineCode text={g.advice.text} />
        </div>
      ) : null}
      <SideBySide group={g} />
      <h3>Over time</h3>
      <MiniHistogram histogram={g.histogram} bucketNs={snapshot.timeline.bucketNs} durationNs={Math.max(snapshot.durationNs, snapshot.lastNs)} startNs={snapshot.firstNs} />
      {g.objects.length ? (
        <>
          <h3 style={{ marginTop: 14 }}>Objects</h3>
          <table className="st-table">
            <thead>
              <tr>
                <th>Object</th>
                <th>Type</th>
                <th>Field / key</th>
                <th className="num">Conflicts</th>
                <th className="num">Time lost</th>
              </tr>
            </thead>
            <tbody>
              {g.objects.map((o) => (
                <tr key={`${o.objectId}:${o.fieldIndex}`}>
                  <td>
                    <code>{o.label}</code>
                  </td>
                  <td>{o.type || '—'}</td>
                  <td>{o.field || '—'}</td>
                  <td className="num">{fmtInt(o.count)}</td>
                  <td className="num">{fmtNs(o.timeLostNs)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {g.distinctObjects > g.objects.length ? <p className="st-small st-muted">{fmtInt(g.distinctObjects - g.objects.length)} more objects not listed.</p> : null}
        </>
      ) : null}
      <h3 style={{ marginTop: 14 }}>Occurrences</h3>
      <Occurrences groupKey={g.key} />
    </div>
  );
}

/** Victim and culprit stacks side by side with snippets. */
export function SideBySide({ group, compact = false }: { group: ConflictGroup; compact?: boolean }) {
  return (
    <div className="st-sides" data-testid="sides">
      <Side side={group.victim} role="victim" compact={compact} />
      {group.culprit ? (
        <Side side={group.culprit} role="culprit" compact={compact} />
      ) : (
        <div className="st-side st-side--culprit">
          <div className="st-side__head">
            <strong>Culprit</strong>
          </div>
          <div className="st-frame st-muted">{group.kind === 'user-abort' ? 'The transaction aborted itself (user abort).' : 'The culprit was not recorded (its worker or events are missing).'}</div>
        </div>
      )}
    </div>
  );
}

function Side({ side, role, compact }: { side: GroupSide; role: 'victim' | 'culprit'; compact: boolean }) {
  const loc = useLoc();
  const [stackIdx, setStackIdx] = useState(0);
  const stack = side.stacks[Math.min(stackIdx, side.stacks.length - 1)];
  const frames = stack?.frames ?? [];
  const openSource = useView((s) => s.openSource);
  const shown = compact ? frames.slice(0, 2) : frames.slice(0, 8);
  return (
    <div className={`st-side st-side--${role}`} data-testid={`side-${role}`}>
      <div className="st-side__head">
        <strong>{role === 'victim' ? 'Victim (aborted)' : 'Culprit (committed first)'}</strong>
        <code data-testid={`${role}-location`}>{loc(side.location) || 'unknown location'}</code>
        <span className="st-small st-muted">workers {side.workers.join(', ') || '?'}</span>
        {side.stacks.length > 1 ? (
          <select className="st-input st-small" value={stackIdx} onChange={(e) => setStackIdx(Number(e.target.value))} aria-label="Stack">
            {side.stacks.map((s, i) => (
              <option key={i} value={i}>
                stack {i + 1} ({fmtInt(s.count)}×)
              </option>
            ))}
          </select>
        ) : null}
      </div>
      {shown.length === 0 ? <div className="st-frame st-muted">No stack was recorded for this side.</div> : null}
      {shown.map((f, i) => (
        <div className="st-frame" key={`${f.file}:${f.line}:${f.column}:${i}`} data-testid="frame">
          <div className="st-frame__loc">
            <span className="st-frame__fn">{f.function || '(anonymous)'}</span>
            <button className="st-link st-mono" onClick={() => openSource(f.file, f.line)} title="Open the file with its conflict heat" data-testid="frame-link">
              {loc(`${f.file}:${f.line}:${f.column}`)}
            </button>
            {i === 0 ? <span className="st-badge">{role === 'victim' ? 'conflicting access' : 'write that won'}</span> : null}
          </div>
          {i === 0 || !compact ? <Snippet frame={f} context={i === 0 ? 3 : 1} /> : null}
        </div>
      ))}
      {frames.length > shown.length ? <div className="st-frame st-small st-muted">{frames.length - shown.length} outer frames not shown</div> : null}
    </div>
  );
}

const PAGE = 50;

function Occurrences({ groupKey }: { groupKey: string }) {
  const hub = useHub();
  const backend = useAtom(hub.current, (c) => c?.backend);
  // Live sessions: the first page refreshes with new data, at most every 2 s.
  const seq = useThrottled(useAtom(hub.data, (d) => d?.seq ?? 0), 2000);
  const [page, setPage] = useState(0);
  const [state, setState] = useState<{ total: number; items: Occurrence[]; error?: string; loading: boolean }>({ total: 0, items: [], loading: true });
  useEffect(() => {
    if (!backend) return;
    let alive = true;
    setState((s) => ({ ...s, loading: true }));
    backend.occurrences(groupKey, page * PAGE, PAGE).then(
      (r) => alive && setState({ total: r.total, items: r.items, loading: false }),
      (e: unknown) => alive && setState({ total: 0, items: [], loading: false, error: e instanceof Error ? e.message : String(e) }),
    );
    return () => {
      alive = false;
    };
  }, [backend, groupKey, page, page === 0 ? seq : 0]);
  const jump = (o: Occurrence) => {
    const st = useView.getState();
    const d = hub.data.get();
    const bounds = d?.bounds ?? { startNs: 0, endNs: o.victimNs + 1000 };
    st.selectConflict(o);
    st.selectAttempt(undefined);
    st.setViewport(viewForConflict(st.viewport ?? fit(bounds), o, bounds));
    st.setView('timeline');
  };
  if (state.error) return <p className="st-error">Could not load occurrences: {state.error}</p>;
  if (state.loading && !state.items.length) return <p className="st-muted">loading…</p>;
  if (!state.items.length) return <p className="st-muted">No occurrences in the recorded events.</p>;
  const pages = Math.ceil(state.total / PAGE);
  return (
    <>
      <table className="st-table" data-testid="occurrences">
        <thead>
          <tr>
            <th className="num">At</th>
            <th>Victim</th>
            <th>Culprit</th>
            <th>Object</th>
            <th className="num">Lost</th>
          </tr>
        </thead>
        <tbody>
          {state.items.map((o) => (
            <tr key={o.id} className="st-row--click" onClick={() => jump(o)} title="Show on the timeline" data-testid="occurrence">
              <td className="num">{fmtNs(o.victimNs)}</td>
              <td>
                w{o.victimWorker} tx {o.victimTxSeq}
                {o.victimAttempt > 1 ? ` (attempt ${o.victimAttempt})` : ''}
              </td>
              <td>{o.culpritWorker >= 0 ? `w${o.culpritWorker} tx ${o.culpritTxSeq}` : 'unknown'}</td>
              <td>
                <code>{o.object}</code>
              </td>
              <td className="num">{fmtNs(o.timeLostNs)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {pages > 1 ? (
        <p className="st-small">
          <button className="st-btn st-btn--small" disabled={page === 0} onClick={() => setPage(page - 1)}>
            ◀
          </button>{' '}
          page {page + 1} of {fmtInt(pages)} ({fmtInt(state.total)} occurrences){' '}
          <button className="st-btn st-btn--small" disabled={page + 1 >= pages} onClick={() => setPage(page + 1)}>
            ▶
          </button>
        </p>
      ) : (
        <p className="st-small st-muted">{fmtInt(state.total)} occurrences</p>
      )}
    </>
  );
}

/** Text with `backtick` spans shown as code (React escapes everything). */
export function InlineCode({ text }: { text: string }) {
  const parts = text.split('`');
  return (
    <>
      {parts.map((p, i) => (i % 2 ? <code key={i}>{p}</code> : <span key={i}>{p}</span>))}
    </>
  );
}
