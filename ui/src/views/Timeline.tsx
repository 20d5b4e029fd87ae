/**
 * Timeline: one lane per worker on a canvas driven by {@link TimelineController}
 * (outside React); the toolbar, legend and the details drawer of the selected
 * transaction or conflict are React.
 */
import { useEffect, useRef } from 'react';
import { useAtom, useHub } from '../data/hooks.ts';
import { TimelineController, describeArrow } from '../timeline/controller.ts';
import { useView } from '../state/view.ts';
import { fmtNs } from '../model/figures.ts';
import { fit, zoomAt } from '../model/viewport.ts';
import { SideBySide } from './Conflicts.tsx';

export function TimelineView() {
  const hub = useHub();
  const canvas = useRef<HTMLCanvasElement>(null);
  const wrap = useRef<HTMLDivElement>(null);
  const tip = useRef<HTMLDivElement>(null);
  const hint = useRef<HTMLDivElement>(null);
  const ctl = useRef<TimelineController | null>(null);
  useEffect(() => {
    const c = new TimelineController(canvas.current!, wrap.current!, tip.current!, hint.current!, hub);
    ctl.current = c;
    wrap.current!.focus({ preventScroll: true });
    return () => {
      c.destroy();
      ctl.current = null;
    };
  }, [hub]);
  return (
    <div className="st-timeline" data-testid="timeline">
      <Toolbar ctl={ctl} />
      <div className="st-timeline__canvas-wrap" ref={wrap} tabIndex={0} aria-label="Timeline: W/S zoom, A/D pan, [ ] walk conflicts, ? for all keys">
        <canvas ref={canvas} data-testid="timeline-canvas" />
        <div className="st-hint" ref={hint} hidden>
          Zoom with Ctrl + scroll (⌘ + scroll on a Mac), or W / S
        </div>
      </div>
      <div className="st-tooltip" ref={tip} hidden data-testid="tooltip" />
      <Details ctl={ctl} />
    </div>
  );
}

function Toolbar({ ctl }: { ctl: React.RefObject<TimelineController | null> }) {
  const hub = useHub();
  const live = useAtom(hub.data, (d) => d?.live ?? false);
  const bounds = useAtom(hub.data, (d) => d?.bounds);
  const follow = useView((s) => s.follow);
  const setFollow = useView((s) => s.setFollow);
  const selection = useView((s) => s.selection);
  const patch = useView((s) => s.patchFilters);
  const setSelection = useView((s) => s.setSelection);
  const group = useView((s) => s.group);
  const zoom = (f: number) => {
    const st = useView.getState();
    if (!bounds || !st.viewport) return;
    st.setViewport(zoomAt(st.viewport, f, 0.5, bounds));
  };
  return (
    <div className="st-timeline__toolbar">
      <button className="st-btn st-btn--small" onClick={() => zoom(0.5)} title="Zoom in (W)">
        +
      </button>
      <button className="st-btn st-btn--small" onClick={() => zoom(2)} title="Zoom out (S)">
        −
      </button>
      <button className="st-btn st-btn--small" onClick={() => bounds && useView.getState().setViewport(fit(bounds))} title="Fit everything (F)">
        Fit
      </button>
      <button className="st-btn st-btn--small" onClick={() => void ctl.current?.walk(-1)} title="Previous conflict ([)">
        ◀ conflict
      </button>
      <button className="st-btn st-btn--small" onClick={() => void ctl.current?.walk(1)} title="Next conflict (])" data-testid="next-conflict">
        conflict ▶
      </button>
      {group ? (
        <span className="st-chip" aria-pressed="true" title="[ and ] walk the conflict group open in Conflicts">
          [ ] within one group
          <button aria-label="Walk every conflict" onClick={() => useView.getState().openGroup(undefined)}>
            ✕
          </button>
        </span>
      ) : null}
      {live ? (
        <button className="st-btn st-btn--small" aria-pressed={follow} onClick={() => setFollow(!follow)} title="Keep the newest data in view">
          Follow live
        </button>
      ) : null}
      {selection ? (
        <>
          <span className="st-small">Selected {fmtNs(selection.endNs - selection.startNs)}</span>
          <button className="st-btn st-btn--small" onClick={() => useView.getState().setViewport(selection)} title="Zoom to the selection (Z)">
            Zoom to selection
          </button>
          <button
            className="st-btn st-btn--small"
            onClick={() => {
              patch({ range: selection });
              setSelection(undefined);
            }}
            title="Use the selection as the time filter of every view"
            data-testid="selection-to-filter"
          >
            Filter to selection
          </button>
        </>
      ) : (
        <span className="st-small st-muted">Drag to select a range · Ctrl+wheel zooms · ? for keys</span>
      )}
      <span className="st-spacer" />
      <span className="st-legend">
        <span>
          <span className="st-swatch" style={{ background: 'var(--c-commit)' }} />
          committed
        </span>
        <span>
          <span className="st-swatch" style={{ background: 'var(--c-abort)' }} />
          aborted
        </span>
        <span>
          <span className="st-swatch" style={{ background: 'var(--c-wait)' }} />
          waiting
        </span>
        <span>
          <span className="st-swatch" style={{ background: 'var(--c-inevitable)' }} />
          inevitable
        </span>
        <span>
          <span className="st-swatch" style={{ background: 'var(--c-merged)' }} />
          merged (×N)
        </span>
        <span>
          <span className="st-swatch" style={{ background: 'var(--c-arrow)' }} />
          culprit → victim
        </span>
      </span>
    </div>
  );
}

function Details({ ctl }: { ctl: React.RefObject<TimelineController | null> }) {
  const hub = useHub();
  const attempt = useView((s) => s.attempt);
  const arrow = useView((s) => s.conflictArrow);
  const snapshot = useAtom(hub.data, (d) => d?.snapshot);
  if (!attempt && !arrow) return null;
  const group = arrow && snapshot ? snapshot.groups.find((g) => g.key === arrow.groupKey) : undefined;
  const openGroup = () => {
    if (!arrow) return;
    const st = useView.getState();
    st.openGroup(arrow.groupKey);
    st.setView('conflicts');
  };
  return (
    <div className="st-drawer" data-testid="details">
      {attempt ? (
        <p style={{ marginTop: 0 }}>
          <strong>
            {attempt.name ? `${attempt.name} · ` : ''}worker {attempt.worker} · transaction {attempt.txSeq}, attempt {attempt.attempt}
          </strong>{' '}
          — {attempt.outcome === 'commit' ? 'committed' : attempt.outcome === 'abort' ? 'aborted' : attempt.outcome === 'fail' ? 'failed' : 'unfinished'}
          {attempt.inevitable ? ', inevitable' : ''}, {fmtNs(attempt.endNs - attempt.startNs)} from {fmtNs(attempt.startNs)}
          {attempt.waitNs ? `, waited ${fmtNs(attempt.waitNs)}` : ''}.
        </p>
      ) : null}
      {arrow ? (
        <>
          <p style={{ whiteSpace: 'pre-line', margin: '0 0 6px' }} data-testid="conflict-details">
            {describeArrow(arrow)}
          </p>
          <p style={{ margin: '0 0 6px' }}>
            <button className="st-btn st-btn--small" onClick={openGroup}>
              Open its conflict group
            </button>{' '}
            <button className="st-btn st-btn--small" onClick={() => ctl.current?.jumpTo(arrow)}>
              Centre
            </button>
          </p>
          {group ? <SideBySide group={group} compact /> : null}
        </>
      ) : null}
    </div>
  );
}
