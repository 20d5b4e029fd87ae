/**
 * The dashboard shell: header (session, live/pause, views, export, theme),
 * the shared filter bar, the current view, drag & drop of recordings, toasts,
 * the shortcut list, and the URL ⇄ view-state sync.
 */
import { useEffect, useState } from 'react';
import { useAtom, useHub } from './data/hooks.ts';
import { LOCAL_PREFIX } from './data/hub.ts';
import { decodeUrlState, encodeUrlState, type ViewName } from './model/url.ts';
import { useView } from './state/view.ts';
import { applyTheme } from './theme.ts';
import { FilterBar } from './components/FilterBar.tsx';
import { ExportMenu } from './components/ExportMenu.tsx';
import { HelpDialog } from './components/HelpDialog.tsx';
import { Toasts } from './components/Toasts.tsx';
import { ErrorState, LoadingState } from './components/States.tsx';
import { SessionsView } from './views/Sessions.tsx';
import { openLocalFile } from './data/open-file.ts';
import { OverviewView } from './views/Overview.tsx';
import { TimelineView } from './views/Timeline.tsx';
import { ConflictsView } from './views/Conflicts.tsx';
import { HotObjectsView } from './views/HotObjects.tsx';
import { SourceView } from './views/Source.tsx';
import { CompareView } from './views/Compare.tsx';
import { ErrorBoundary } from './components/ErrorBoundary.tsx';
import { Atom } from './model/atom.ts';
import { droppedNote } from './model/retention.ts';
import type { SessionInfo } from '../../model/protocol.ts';

const TABS: Array<{ view: ViewName; label: string; needsSession: boolean }> = [
  { view: 'sessions', label: 'Sessions', needsSession: false },
  { view: 'overview', label: 'Overview', needsSession: true },
  { view: 'timeline', label: 'Timeline', needsSession: true },
  { view: 'conflicts', label: 'Conflicts', needsSession: true },
  { view: 'hot', label: 'Hot objects', needsSession: true },
  { view: 'source', label: 'Source', needsSession: true },
  { view: 'compare', label: 'Compare', needsSession: false },
];

export function App() {
  const hub = useHub();
  const view = useView((s) => s.view);
  const session = useView((s) => s.session);
  const theme = useView((s) => s.theme);
  const current = useAtom(hub.current);
  const hasData = useAtom(hub.data, (d) => d !== null);

  useUrlSync();
  useSessionRouting();
  useDropToOpen();

  useEffect(() => {
    applyTheme(theme);
    localStorage.setItem('stmscope.theme', theme);
  }, [theme]);

  const needsData = view !== 'sessions' && view !== 'compare';
  let body: React.ReactNode;
  if (view === 'compare') body = <CompareView />;
  else if (!needsData) body = <SessionsView />;
  else if (!session) body = <SessionsView />;
  else if (!current || current.id !== session || current.status === 'loading' || (current.status === 'ready' && !hasData))
    body = <LoadingState current={current && current.id === session ? current : null} />;
  else if (current.status === 'error')
    body = (
      <ErrorState title="Could not open this session" message={current.error ?? 'unknown error'}>
        <p>
          <button className="st-btn" onClick={() => useView.getState().setView('sessions')}>
            Back to the sessions
          </button>
        </p>
      </ErrorState>
    );
  else {
    switch (view) {
      case 'overview':
        body = <OverviewView />;
        break;
      case 'timeline':
        body = <TimelineView />;
        break;
      case 'conflicts':
        body = <ConflictsView />;
        break;
      case 'hot':
        body = <HotObjectsView />;
        break;
      case 'source':
        body = <SourceView />;
        break;
    }
  }

  return (
    <div className="st-app" data-view={view}>
      <Header />
      {current && current.status === 'ready' && view !== 'sessions' && view !== 'compare' ? <FilterBar /> : null}
      <Banners />
      <main className="st-main" id="st-main">
        <ErrorBoundary key={`${view}:${session ?? ''}`}>{body}</ErrorBoundary>
      </main>
      <HelpDialog />
      <Toasts />
    </div>
  );
}

function Header() {
  const hub = useHub();
  const view = useView((s) => s.view);
  const setView = useView((s) => s.setView);
  const paused = useView((s) => s.paused);
  const setPaused = useView((s) => s.setPaused);
  const theme = useView((s) => s.theme);
  const setTheme = useView((s) => s.setTheme);
  const setHelp = useView((s) => s.setHelp);
  const current = useAtom(hub.current);
  const live = useAtom(hub.data, (d) => d?.live ?? false);
  const ready = current?.status === 'ready';
  useEffect(() => hub.setPaused(paused), [hub, paused]);
  const nextTheme = theme === 'system' ? 'light' : theme === 'light' ? 'dark' : 'system';
  return (
    <header className="st-header">
      <div className="st-logo">
        stm<span>scope</span>
      </div>
      {current ? (
        <div className="st-session-title" title={current.title}>
          {live ? <span className="st-badge st-badge--live" data-testid="live-badge">live</span> : null}
          {paused ? <span className="st-badge st-badge--paused">paused</span> : null}
          <span>{current.title}</span>
        </div>
      ) : null}
      <nav className="st-tabs" role="tablist" aria-label="Views">
        {TABS.map((t) => (
          <button
            key={t.view}
            role="tab"
            className="st-tab"
            aria-selected={view === t.view}
            disabled={t.needsSession && !ready}
            data-testid={`tab-${t.view}`}
            onClick={() => setView(t.view)}
          >
            {t.label}
          </button>
        ))}
      </nav>
      <div className="st-spacer" />
      {live ? (
        <button className="st-btn" aria-pressed={paused} data-testid="pause" onClick={() => setPaused(!paused)} title="Freeze the view; data keeps arriving">
          {paused ? '▶ Resume' : '⏸ Pause'}
        </button>
      ) : null}
      {ready ? <ExportMenu /> : null}
      <button className="st-btn" onClick={() => setTheme(nextTheme)} title={`Theme: ${theme} (click for ${nextTheme})`} data-testid="theme">
        {theme === 'system' ? '◐ System' : theme === 'light' ? '☀ Light' : '☾ Dark'}
      </button>
      <button className="st-btn" onClick={() => setHelp(true)} title="Keyboard shortcuts (?)">
        ?
      </button>
    </header>
  );
}

function Banners() {
  const hub = useHub();
  const status = useAtom(hub.server?.status ?? NO_STATUS);
  const current = useAtom(hub.current);
  const behind = useAtom(hub.data) !== null && hub.gate.behind;
  const sessions = useAtom(hub.server?.sessions ?? NO_SESSIONS);
  const out: React.ReactNode[] = [];
  if (hub.server && status.state !== 'connected' && status.state !== 'connecting') {
    out.push(
      <div key="conn" className={`st-banner ${status.state === 'failed' ? 'st-banner--error' : 'st-banner--warn'}`} role="status">
        {status.state === 'reconnecting' ? `Reconnecting to the server… ${status.message ?? ''}` : (status.message ?? 'Not connected to the server.')}
      </div>,
    );
  }
  if (current?.status === 'ready' && current.local?.problem) {
    out.push(
      <div key="problem" className="st-banner st-banner--warn" role="status">
        Part of {current.title} could not be read: {current.local.problem} Everything before that point is shown.
      </div>,
    );
  }
  const dropped = current?.kind === 'server' && current.status === 'ready' ? droppedNote(sessions.find((s) => s.id === current.id)?.retention) : null;
  if (dropped) {
    out.push(
      <div key="retention" className="st-banner st-banner--info" role="status" data-testid="retention-banner">
        {dropped.charAt(0).toUpperCase() + dropped.slice(1)}: totals, conflicts and hot objects still count everything; the timeline shows what is left.
      </div>,
    );
  }
  if (current?.status === 'ready' && current.local?.imported) {
    out.push(
      <div key="imported" className="st-banner st-banner--warn" role="status">
        {current.title} is {current.local.imported}, converted to stmscope's model: markers became one-frame stacks.
        {current.local.warnings.length ? ` ${current.local.warnings.slice(0, 3).join(' ')}` : ''}
      </div>,
    );
  }
  if (behind) {
    out.push(
      <div key="behind" className="st-banner st-banner--warn">
        Paused: newer data is waiting. Resume to see it.
      </div>,
    );
  }
  return <>{out}</>;
}

const NO_SESSIONS = new Atom<SessionInfo[]>([]);
const NO_STATUS = new Atom({ state: 'connected' as const } as { state: 'connected' | 'connecting' | 'reconnecting' | 'failed'; message?: string });

/** Keeps the URL in step with the view state (replaceState for small moves, pushState for new places) and back/forward working. */
function useUrlSync() {
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let lastPlace = '';
    const write = () => {
      const s = useView.getState();
      const search = encodeUrlState({
        view: s.view,
        session: s.session,
        viewport: s.view === 'timeline' ? s.viewport : undefined,
        filters: s.filters,
        group: s.group,
        conflict: s.conflict,
        file: s.view === 'source' ? s.file : undefined,
        line: s.view === 'source' ? s.line : undefined,
        before: s.view === 'compare' ? s.before : undefined,
        after: s.view === 'compare' ? s.after : undefined,
      });
      if (search === location.search) return;
      const place = `${s.view}|${s.session ?? ''}|${s.group ?? ''}|${s.file ?? ''}|${s.before ?? ''}|${s.after ?? ''}`;
      const url = `${location.pathname}${search}${location.hash}`;
      if (place !== lastPlace && lastPlace !== '') history.pushState(null, '', url);
      else history.replaceState(null, '', url);
      lastPlace = place;
    };
    const unsub = useView.subscribe((s, p) => {
      if (s === p) return;
      clearTimeout(timer);
      timer = setTimeout(write, 200);
    });
    const onPop = () => {
      const u = decodeUrlState(location.search);
      useView.setState({
        view: u.session || u.view === 'compare' ? u.view : 'sessions',
        session: u.session,
        filters: u.filters,
        viewport: u.viewport,
        group: u.group,
        conflict: u.conflict,
        conflictArrow: undefined,
        file: u.file,
        line: u.line,
        before: u.before,
        after: u.after,
      });
    };
    window.addEventListener('popstate', onPop);
    return () => {
      unsub();
      clearTimeout(timer);
      window.removeEventListener('popstate', onPop);
    };
  }, []);
}

/** Opens what the view state names: a server session through the hub; a local file cannot reopen itself after a reload. */
function useSessionRouting() {
  const hub = useHub();
  const session = useView((s) => s.session);
  useEffect(() => {
    if (!session) return;
    const cur = hub.current.get();
    if (cur && cur.id === session) return;
    if (session.startsWith(LOCAL_PREFIX)) {
      hub.current.set({
        id: session,
        kind: 'local',
        title: session.slice(LOCAL_PREFIX.length),
        status: 'error',
        error: `${session.slice(LOCAL_PREFIX.length)} was opened from your disk; the browser cannot reopen it by itself after a reload. Drop the file here again or pick it on the Sessions page.`,
      });
      return;
    }
    hub.openServerSession(session);
  }, [hub, session]);
}

/** Drag & drop a recording anywhere on the page. */
function useDropToOpen() {
  const hub = useHub();
  const [, force] = useState(0);
  useEffect(() => {
    let depth = 0;
    let overlay: HTMLDivElement | null = null;
    const show = (on: boolean) => {
      if (on && !overlay) {
        overlay = document.createElement('div');
        overlay.className = 'st-drop';
        overlay.textContent = 'Drop a recording (.stmrec) to open it';
        document.body.appendChild(overlay);
      } else if (!on && overlay) {
        overlay.remove();
        overlay = null;
      }
    };
    const hasFiles = (e: DragEvent) => !!e.dataTransfer && [...e.dataTransfer.types].includes('Files');
    const enter = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      depth++;
      show(true);
    };
    const leave = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      depth = Math.max(0, depth - 1);
      if (depth === 0) show(false);
    };
    const over = (e: DragEvent) => {
      if (hasFiles(e)) e.preventDefault();
    };
    const drop = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth = 0;
      show(false);
      const f = e.dataTransfer?.files[0];
      if (f) openLocalFile(hub, f);
      force((x) => x + 1);
    };
    window.addEventListener('dragenter', enter);
    window.addEventListener('dragleave', leave);
    window.addEventListener('dragover', over);
    window.addEventListener('drop', drop);
    return () => {
      window.removeEventListener('dragenter', enter);
      window.removeEventListener('dragleave', leave);
      window.removeEventListener('dragover', over);
      window.removeEventListener('drop', drop);
      show(false);
    };
  }, [hub]);
}

