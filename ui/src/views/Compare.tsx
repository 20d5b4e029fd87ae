/**
 * Compare two runs (issue 6's dashboard part): pick two server sessions (the
 * server computes `stmscope.diff/1`) or open two recording files (each parsed
 * in its own Web Worker, compared here with model/diff.ts), then see the
 * totals before/after, every conflict group matched across the runs (new,
 * vanished, improved, regressed), and both timelines one above the other on
 * one time scale.
 */
import { useEffect, useRef, useState } from 'react';
import { diffSnapshots, type DiffFigure, type DiffGroup, type RecordingDiff } from '../../../model/diff.ts';
import type { WindowQuery, WindowResult } from '../../../model/protocol.ts';
import { useAtom, useHub } from '../data/hooks.ts';
import { LocalBackend } from '../data/local.ts';
import { displayPath, fmtInt, fmtNs, fmtPct, shortLocation } from '../model/figures.ts';
import { prepareWindow } from '../model/marks.ts';
import { useView } from '../state/view.ts';
import { currentPalette, palette } from '../theme.ts';
import { layoutFor } from '../timeline/layout.ts';
import { drawTimeline } from '../timeline/renderer.ts';
import { ErrorState } from '../components/States.tsx';

/** One compared run: how to query its timeline, and its extent. */
interface Run {
  label: string;
  /** the program's directory, to show paths relative to it */
  cwd?: string;
  durationNs: number;
  workers: number[];
  window(q: WindowQuery): Promise<WindowResult>;
}

export function CompareView() {
  const hub = useHub();
  return (
    <div className="st-page" data-testid="compare">
      <h2>Compare two runs</h2>
      <p className="st-muted st-small">
        Conflict groups are matched by their code sites (tolerating moved lines), so a fix shows as a vanished or improved group. Same as{' '}
        <code>stmscope diff BEFORE AFTER</code>.
      </p>
      {hub.server ? <ServerCompare /> : null}
      <LocalCompare />
    </div>
  );
}

function ServerCompare() {
  const hub = useHub();
  const server = hub.server!;
  const sessions = useAtom(server.sessions);
  const before = useView((s) => s.before);
  const after = useView((s) => s.after);
  const setCompare = useView((s) => s.setCompare);
  const [state, setState] = useState<{ key: string; diff?: RecordingDiff; error?: string }>({ key: '' });
  const key = `${before ?? ''}|${after ?? ''}`;
  useEffect(() => {
    if (!before || !after) return;
    let alive = true;
    setState({ key });
    server
      .api<RecordingDiff>('GET', `diff?${new URLSearchParams({ before, after })}`)
      .then((diff) => alive && setState({ key, diff }))
      .catch((e: unknown) => alive && setState({ key, error: e instanceof Error ? e.message : String(e) }));
    return () => {
      alive = false;
    };
  }, [server, before, after, key]);
  const runOf = (id: string | undefined): Run | undefined => {
    const s = sessions.find((x) => x.id === id);
    if (!s) return undefined;
    return { label: s.title, cwd: s.program?.cwd, durationNs: s.durationNs, workers: [], window: (q) => server.window(s.id, q) };
  };
  const pick = (which: 'before' | 'after', id: string) => (which === 'before' ? setCompare(id || undefined, after) : setCompare(before, id || undefined));
  const options = sessions.map((s) => (
    <option key={s.id} value={s.id}>
      {s.title} — {s.startTime ? new Date(s.startTime).toLocaleString() : s.id}
      {s.live ? ' (live)' : ''}
    </option>
  ));
  return (
    <section className="st-section">
      <h3>Server sessions</h3>
      {sessions.length < 2 ? <p className="st-muted">The server holds {sessions.length} session{sessions.length === 1 ? '' : 's'}; record or import another run to compare.</p> : null}
      <div style={{ display: 'flex', gap: 12, flexWrap: 'wrap', alignItems: 'center', marginBottom: 12 }}>
        <label>
          Before{' '}
          <select className="st-input" value={before ?? ''} onChange={(e) => pick('before', e.target.value)} data-testid="compare-before">
            <option value="">choose…</option>
            {options}
          </select>
        </label>
        <label>
          After{' '}
          <select className="st-input" value={after ?? ''} onChange={(e) => pick('after', e.target.value)} data-testid="compare-after">
            <option value="">choose…</option>
            {options}
          </select>
        </label>
      </div>
      {state.key === key && state.error ? <ErrorState title="Could not compare" message={state.error} /> : null}
      {state.key === key && state.diff ? <DiffResult diff={state.diff} before={runOf(before)} after={runOf(after)} /> : before && after && !state.error ? <p className="st-muted">comparing…</p> : null}
    </section>
  );
}

interface LocalRun {
  backend: LocalBackend;
  name: string;
  run: Run;
  snapshot: Parameters<typeof diffSnapshots>[0]['snapshot'];
  meta: Parameters<typeof diffSnapshots>[0]['meta'];
}

function LocalCompare() {
  const [runs, setRuns] = useState<{ before?: LocalRun; after?: LocalRun }>({});
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState<string | undefined>();
  const live = useRef(runs);
  live.current = runs;
  useEffect(() => () => {
    live.current.before?.backend.close();
    live.current.after?.backend.close();
  }, []);
  const open = async (which: 'before' | 'after', f: File) => {
    setError(undefined);
    setBusy(which);
    try {
      const r = await LocalBackend.open(f, f.name);
      live.current[which]?.backend.close();
      const d = r.data;
      const lr: LocalRun = {
        backend: r.backend,
        name: f.name,
        snapshot: d.snapshot,
        meta: r.info.meta,
        run: { label: f.name, cwd: typeof r.info.meta.cwd === 'string' ? r.info.meta.cwd : undefined, durationNs: Math.max(d.snapshot.durationNs, d.bounds.endNs), workers: d.workers, window: (q) => r.backend.window(q) },
      };
      setRuns((x) => ({ ...x, [which]: lr }));
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(undefined);
    }
  };
  const diff = runs.before && runs.after ? diffSnapshots({ snapshot: runs.before.snapshot, label: runs.before.name, meta: runs.before.meta }, { snapshot: runs.after.snapshot, label: runs.after.name, meta: runs.after.meta }, { generator: 'stmscope dashboard' }) : undefined;
  const picker = (which: 'before' | 'after') => (
    <label className="st-btn" style={{ display: 'inline-block' }}>
      {busy === which ? 'reading…' : runs[which] ? `${which}: ${runs[which]!.name}` : `Open the ${which} recording…`}
      <input
        type="file"
        hidden
        data-testid={`compare-file-${which}`}
        onChange={(e) => {
          const f = e.target.files?.[0];
          if (f) void open(which, f);
          e.target.value = '';
        }}
      />
    </label>
  );
  return (
    <section className="st-section">
      <h3>Recording files</h3>
      <p className="st-small st-muted">Read in this browser tab only.</p>
      <div style={{ display: 'flex', gap: 12, marginBottom: 12 }}>
        {picker('before')}
        {picker('after')}
      </div>
      {error ? <div className="st-error" role="alert">{error}</div> : null}
      {diff ? <DiffResult diff={diff} before={runs.before!.run} after={runs.after!.run} /> : null}
    </section>
  );
}

const pct = (f: DiffFigure) => (f.changePct === null ? (f.after ? 'new' : '—') : Math.abs(f.changePct) < 0.05 ? '0.0%' : `${f.changePct > 0 ? '+' : ''}${f.changePct.toFixed(1)}%`);
const tone = (f: DiffFigure, lowerIsBetter: boolean) =>
  f.delta === 0 || f.changePct === null || Math.abs(f.changePct) < 0.05 ? undefined : (f.delta < 0) === lowerIsBetter ? 'var(--ok)' : 'var(--danger)';

function DiffResult({ diff, before, after }: { diff: RecordingDiff; before?: Run; after?: Run }) {
  const t = diff.totals;
  const rows: Array<[string, DiffFigure, (n: number) => string, boolean]> = [
    ['wall time', t.durationNs, fmtNs, true],
    ['commits/s', t.commitsPerSec, (n) => fmtInt(n), false],
    ['commits', t.commits, fmtInt, false],
    ['aborts', t.aborts, fmtInt, true],
    ['abort ratio', t.abortRatio, (n) => fmtPct(n, 1), true],
    ['time lost', t.timeLostNs, fmtNs, true],
    ['time lost per commit', t.timeLostPerCommitNs, fmtNs, true],
    ['waiting', t.waitingNs, fmtNs, true],
    ['conflict groups', t.conflictGroups, fmtInt, true],
  ];
  return (
    <div data-testid="diff">
      <p className="st-small">
        <strong>{diff.before.label}</strong> → <strong>{diff.after.label}</strong>: {diff.counts.vanished} vanished, {diff.counts.new} new, {diff.counts.improved} improved,{' '}
        {diff.counts.regressed} regressed, {diff.counts.unchanged} unchanged groups.
      </p>
      <table className="st-table" style={{ maxWidth: 720 }} data-testid="diff-totals">
        <thead>
          <tr>
            <th />
            <th className="num">Before</th>
            <th className="num">After</th>
            <th className="num">Change</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(([name, f, fmt, lower]) => (
            <tr key={name}>
              <td>{name}</td>
              <td className="num">{fmt(f.before)}</td>
              <td className="num">{fmt(f.after)}</td>
              <td className="num" style={{ color: tone(f, lower) }}>
                {name === 'abort ratio' ? `${f.delta > 0 ? '+' : ''}${(f.delta * 100).toFixed(1)} pts` : pct(f)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3 style={{ marginTop: 16 }}>Conflict groups</h3>
      <DiffGroups groups={diff.groups} cwd={after?.cwd ?? before?.cwd} />
      {before && after ? <Timelines before={before} after={after} /> : null}
    </div>
  );
}

const STATUS_COLOUR: Record<string, string> = { vanished: 'var(--ok)', improved: 'var(--ok)', new: 'var(--danger)', regressed: 'var(--danger)', unchanged: 'var(--muted)' };

function DiffGroups({ groups, cwd }: { groups: DiffGroup[]; cwd?: string }) {
  const loc = (l: string) => displayPath(shortLocation(l), cwd);
  if (!groups.length) return <p className="st-muted">Neither run had conflicts.</p>;
  return (
    <table className="st-table" data-testid="diff-groups">
      <thead>
        <tr>
          <th>Status</th>
          <th>Conflict</th>
          <th className="num">Time lost before → after</th>
          <th className="num">Count before → after</th>
        </tr>
      </thead>
      <tbody>
        {groups.map((g, i) => {
          const v = g.victim.after ?? g.victim.before;
          const c = g.culprit ? (g.culprit.after ?? g.culprit.before) : null;
          const objs = (g.after ?? g.before)?.objects ?? [];
          return (
            <tr key={i} data-testid="diff-group" data-status={g.status}>
              <td>
                <span className="st-badge" style={{ color: STATUS_COLOUR[g.status] }}>
                  {g.status}
                </span>
                {g.match && g.match !== 'exact' ? <div className="st-small st-muted">matched by {g.match}</div> : null}
              </td>
              <td>
                <span className={`st-kind st-kind--${g.kind}`}>{g.kind}</span> {objs[0] ? <strong>{objs[0]}</strong> : null}
                <div className="st-small st-mono">
                  {v ? loc(v.location) : '?'} ← {c ? loc(c.location) : 'unknown culprit'}
                </div>
              </td>
              <td className="num">
                {g.before ? fmtNs(g.before.timeLostNs) : '—'} → {g.after ? fmtNs(g.after.timeLostNs) : '—'}
                <div className="st-small" style={{ color: tone(g.timeLostNs, true) }}>
                  {pct(g.timeLostNs)}
                </div>
              </td>
              <td className="num">
                {g.before ? fmtInt(g.before.count) : '—'} → {g.after ? fmtInt(g.after.count) : '—'}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** Both runs' timelines, one above the other, on one time scale (each from its own start). */
function Timelines({ before, after }: { before: Run; after: Run }) {
  const end = Math.max(before.durationNs, after.durationNs, 1000);
  return (
    <section className="st-section" style={{ marginTop: 16 }}>
      <h3>Timelines on one scale</h3>
      <LaneStrip run={before} title="before" endNs={end} />
      <LaneStrip run={after} title="after" endNs={end} />
    </section>
  );
}

function LaneStrip({ run, title, endNs }: { run: Run; title: string; endNs: number }) {
  const ref = useRef<HTMLCanvasElement>(null);
  const [result, setResult] = useState<WindowResult | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [width, setWidth] = useState(1000);
  useAtom(palette);
  useEffect(() => {
    const el = ref.current?.parentElement;
    if (!el) return;
    const ro = new ResizeObserver(() => setWidth(Math.max(300, el.clientWidth)));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  useEffect(() => {
    let alive = true;
    const pixels = Math.max(1, Math.min(8192, Math.round(width - 86)));
    run.window({ startNs: 0, endNs, pixels, maxMarks: 0 }).then(
      (r) => alive && setResult(r),
      (e: unknown) => alive && setError(e instanceof Error ? e.message : String(e)),
    );
    return () => {
      alive = false;
    };
  }, [run, endNs, width]);
  useEffect(() => {
    const c = ref.current;
    if (!c || !result) return;
    const lanes = result.lanes.map((l) => l.worker).filter((w) => w !== 255);
    const layout = layoutFor(width, lanes);
    c.width = layout.width;
    c.height = layout.height;
    c.style.width = `${layout.width}px`;
    c.style.height = `${layout.height}px`;
    const ctx = c.getContext('2d')!;
    drawTimeline(ctx, {
      layout,
      view: { startNs: 0, endNs },
      prepared: prepareWindow(result),
      palette: currentPalette(),
      arrowFilter: () => false,
      summaryOnly: true,
      loading: false,
      bounds: { startNs: 0, endNs: run.durationNs },
    });
  });
  return (
    <div style={{ marginBottom: 10 }} data-testid={`compare-timeline-${title}`}>
      <div className="st-small">
        <strong>{title}</strong> {run.label} · {fmtNs(run.durationNs)}
      </div>
      {error ? <div className="st-error">{error}</div> : result ? null : <div className="st-muted st-small">loading…</div>}
      <canvas ref={ref} />
    </div>
  );
}


