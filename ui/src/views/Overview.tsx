/**
 * Overview: totals (commits, aborts, abort ratio, time lost, waiting,
 * effective parallelism), rates over time, the per-worker breakdown and the
 * top five conflicts in one line each.
 */
import { useMemo } from 'react';
import type { AggregateSnapshot, WorkerFigures } from '../../../model/aggregate.ts';
import { useAtom, useHub, useLoc } from '../data/hooks.ts';
import { filterGroups, hasFilters, totalsInRange, type FilteredGroup } from '../model/filters.ts';
import { fmtInt, fmtNs, fmtPct, fmtX, totals, workerTotals } from '../model/figures.ts';
import { useView } from '../state/view.ts';
import { RatesChart } from '../components/RatesChart.tsx';
import { EmptyState } from '../components/States.tsx';

export function OverviewView() {
  const hub = useHub();
  const snapshot = useAtom(hub.data, (d) => d?.snapshot);
  const live = useAtom(hub.data, (d) => d?.live ?? false);
  const filters = useView((s) => s.filters);
  const patch = useView((s) => s.patchFilters);
  const groups = useMemo(() => (snapshot ? filterGroups(snapshot, filters) : []), [snapshot, filters]);
  if (!snapshot) return null;
  const t = filters.workers ? workerTotals(snapshot, filters.workers) : totals(snapshot);
  const nothing = snapshot.summary.commits + snapshot.summary.aborts + snapshot.summary.fails === 0;
  const inRange = filters.range ? totalsInRange(snapshot, filters.range) : undefined;
  const lanes = snapshot.workers.filter((w) => w.id !== 255).length;
  return (
    <div className="st-page" data-testid="overview">
      {nothing ? (
        <EmptyState title={live ? 'Waiting for the first transaction…' : 'No transactions in this recording'}>
          <p>{live ? 'Figures appear here as soon as the program commits or aborts its first transaction.' : 'The program created a heap but ran no transaction while recording.'}</p>
        </EmptyState>
      ) : null}
      <div className="st-cards" data-testid="totals">
        <Card label="Commits" value={fmtInt(t.commits)} sub={`${fmtInt(t.commitsPerSec)}/s`} testid="total-commits" />
        <Card label="Aborts" value={fmtInt(t.aborts)} sub={t.fails ? `${fmtInt(t.fails)} failed` : undefined} testid="total-aborts" />
        <Card label="Abort ratio" value={fmtPct(t.abortRatio, 1)} testid="abort-ratio" />
        <Card label="Time lost" value={fmtNs(t.timeLostNs)} sub="aborted work + blocked" testid="time-lost" />
        <Card label="Waiting" value={fmtNs(t.waitingNs)} sub="backoff, inevitable, locks" />
        <Card
          label="Effective parallelism"
          value={fmtX(t.effectiveParallelism)}
          sub={`of ${t.workers || lanes} worker${(t.workers || lanes) === 1 ? '' : 's'} (committed work ÷ wall time)`}
          testid="parallelism"
        />
        <Card label="Wall time" value={fmtNs(t.durationNs)} />
      </div>
      {filters.workers ? <p className="st-small st-muted">Totals above are for workers {filters.workers.join(', ')} only.</p> : null}
      {inRange ? (
        <p className="st-small" data-testid="range-totals">
          In the selected time range (bucket precision): {fmtInt(inRange.commits)} commits, {fmtInt(inRange.aborts)} aborts, {fmtNs(inRange.timeLostNs)} lost, {fmtNs(inRange.waitNs)}{' '}
          waiting.
        </p>
      ) : null}
      {snapshot.summary.droppedEvents > 0 ? (
        <p className="st-banner st-banner--warn" style={{ borderRadius: 6 }}>
          {fmtInt(snapshot.summary.droppedEvents)} events were dropped while recording (the rings were full): figures are lower bounds.
        </p>
      ) : null}
      <section className="st-section">
        <h2>Rates over time</h2>
        <RatesChart snapshot={snapshot} range={filters.range} onRange={(r) => patch({ range: r })} />
      </section>
      <section className="st-section">
        <h2>Top conflicts</h2>
        <TopConflicts groups={groups.slice(0, 5)} filtered={hasFilters(filters)} total={snapshot.groupCount} />
      </section>
      <section className="st-section">
        <h2>Workers</h2>
        <WorkersTable snapshot={snapshot} only={filters.workers} />
      </section>
    </div>
  );
}

function Card({ label, value, sub, testid }: { label: string; value: string; sub?: string; testid?: string }) {
  return (
    <div className="st-card" data-testid={testid}>
      <div className="st-card__label">{label}</div>
      <div className="st-card__value">{value}</div>
      {sub ? <div className="st-card__sub">{sub}</div> : null}
    </div>
  );
}

function TopConflicts({ groups, filtered, total }: { groups: FilteredGroup[]; filtered: boolean; total: number }) {
  const loc = useLoc();
  const open = (key: string) => {
    const st = useView.getState();
    st.openGroup(key);
    st.setView('conflicts');
  };
  if (!groups.length) return <p className="st-muted">{filtered ? 'No conflict matches the filters.' : 'No conflicts: every transaction committed on its first attempt.'}</p>;
  return (
    <>
      <ol style={{ paddingLeft: 22, margin: 0 }} data-testid="top-conflicts">
        {groups.map((fg) => {
          const g = fg.group;
          const obj = g.objects[0]?.label;
          return (
            <li key={g.key} style={{ marginBottom: 4 }}>
              <button className="st-link" onClick={() => open(g.key)} data-testid="top-conflict">
                <span className={`st-kind st-kind--${g.kind}`}>{g.kind}</span> {obj ? <strong>{obj}</strong> : null} <code>{loc(g.victim.location) || '?'}</code>
                {g.culprit ? (
                  <>
                    {' '}
                    ← <code>{loc(g.culprit.location) || '?'}</code>
                  </>
                ) : null}{' '}
                — {fg.approximate ? '≈' : ''}
                {fmtInt(fg.count)}× · {fmtNs(fg.timeLostNs)} lost
                {g.advice ? <span className="st-muted"> · advice: {g.advice.rule}</span> : null}
              </button>
            </li>
          );
        })}
      </ol>
      {total > groups.length ? <p className="st-small st-muted">{fmtInt(total)} conflict groups in all; see Conflicts.</p> : null}
    </>
  );
}

function WorkersTable({ snapshot, only }: { snapshot: AggregateSnapshot; only?: number[] }) {
  const wall = Math.max(snapshot.durationNs, snapshot.lastNs, 1);
  const rows = snapshot.workers.filter((w) => w.id !== 255 && (!only || only.includes(w.id)));
  const bar = (w: WorkerFigures) => {
    const seg = (ns: number, colour: string, title: string) => (ns > 0 ? <span style={{ width: `${Math.min(100, (100 * ns) / wall)}%`, background: colour }} title={`${title}: ${fmtNs(ns)}`} /> : null);
    return (
      <div className="st-bar">
        {seg(w.committedNs, 'var(--c-commit)', 'committed')}
        {seg(w.abortedNs, 'var(--c-abort)', 'aborted')}
        {seg(Math.max(0, w.waitingNs), 'var(--c-wait)', 'waiting')}
      </div>
    );
  };
  return (
    <table className="st-table" data-testid="workers-table">
      <thead>
        <tr>
          <th>Worker</th>
          <th className="num">Commits</th>
          <th className="num">Aborts</th>
          <th className="num">Abort ratio</th>
          <th className="num">Committed</th>
          <th className="num">Aborted</th>
          <th className="num">Waiting</th>
          <th className="num">Blocked</th>
          <th style={{ width: '28%' }}>Share of wall time</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((w) => {
          const n = w.commits + w.aborts + w.fails;
          return (
            <tr key={w.id}>
              <td>{w.id === 0 ? 'main (0)' : `worker ${w.id}`}</td>
              <td className="num">{fmtInt(w.commits)}</td>
              <td className="num">{fmtInt(w.aborts)}</td>
              <td className="num">{fmtPct(w.aborts, n)}</td>
              <td className="num">{fmtNs(w.committedNs)}</td>
              <td className="num">{fmtNs(w.abortedNs)}</td>
              <td className="num">{fmtNs(w.waitingNs)}</td>
              <td className="num">{fmtNs(w.blockedNs)}</td>
              <td>{bar(w)}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
