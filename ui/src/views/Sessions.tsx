/**
 * Sessions: live sessions, programs that can be attached (attach/detach),
 * recorded sessions, and opening a recording from disk (file picker or drag &
 * drop anywhere on the page; parsed in the browser's worker, never uploaded).
 */
import { useRef, useState } from 'react';
import type { ProgramInfo, SessionInfo } from '../../../model/protocol.ts';
import { openLocalFile } from '../data/open-file.ts';
import { useAtom, useHub } from '../data/hooks.ts';
import { fmtBytes, fmtInt, fmtNs } from '../model/figures.ts';
import { droppedNote } from '../model/retention.ts';
import { useView } from '../state/view.ts';
import { saveDownload } from '../components/download.ts';

export function SessionsView() {
  const hub = useHub();
  const server = hub.server;
  return (
    <div className="st-page" data-testid="sessions">
      <OpenFile />
      {server ? <ServerSessions /> : <Standalone />}
    </div>
  );
}

function OpenFile() {
  const hub = useHub();
  const input = useRef<HTMLInputElement>(null);
  const current = useAtom(hub.current);
  return (
    <div className="st-dropzone">
      <p style={{ margin: '0 0 10px' }}>
        Drop a recording (<code>.stmrec</code>) anywhere on this page, or{' '}
        <button className="st-btn st-btn--primary" onClick={() => input.current?.click()} data-testid="open-file">
          Open a recording…
        </button>
      </p>
      <div className="st-small">It is read in this browser tab only. Record one with <code>stmscope record -o run.stmrec -- node app.js</code>.</div>
      <input
        ref={input}
        type="file"
        hidden
        data-testid="file-input"
        onChange={(e) => {
          const f = e.target.files?.[0];
          if (f) openLocalFile(hub, f);
          e.target.value = '';
        }}
      />
      {current?.kind === 'local' && current.status === 'error' ? (
        <div className="st-error" style={{ marginTop: 12 }} role="alert" data-testid="open-error">
          {current.error}
        </div>
      ) : null}
    </div>
  );
}

function Standalone() {
  return (
    <div className="st-section">
      <h2>No server connected</h2>
      <p className="st-muted">
        This dashboard was opened without a server token, so it can only show recordings you open from disk. For live sessions and attaching to running
        programs start <code>stmscope serve</code> (or <code>stmscope view FILE</code>) and open the address it prints.
      </p>
    </div>
  );
}

function ServerSessions() {
  const hub = useHub();
  const server = hub.server!;
  const sessions = useAtom(server.sessions);
  const programs = useAtom(server.programs);
  const status = useAtom(server.status);
  const live = sessions.filter((s) => s.live);
  const stored = sessions.filter((s) => !s.live);
  return (
    <>
      <section className="st-section">
        <h2>Live sessions</h2>
        {live.length ? <SessionTable sessions={live} /> : <p className="st-muted">No program is streaming right now. Attach to one below, or start one with <code>stmscope run -- node app.js</code>.</p>}
      </section>
      <section className="st-section">
        <h2>Programs you can attach to</h2>
        {programs.length ? (
          <ProgramTable programs={programs} />
        ) : (
          <p className="st-muted">{status.state === 'connected' ? 'No running stmscope program found.' : 'Connecting to the server…'}</p>
        )}
      </section>
      <section className="st-section">
        <h2>Recorded sessions</h2>
        {stored.length ? <SessionTable sessions={stored} /> : <p className="st-muted">No stored sessions yet.</p>}
      </section>
    </>
  );
}

function openSession(id: string) {
  const st = useView.getState();
  if (st.session !== id) {
    st.setSession(id);
    st.clearFilters();
  }
  st.setView('overview');
}

function SessionTable({ sessions }: { sessions: SessionInfo[] }) {
  const hub = useHub();
  const toast = useView((s) => s.toast);
  const [busy, setBusy] = useState<string | null>(null);
  const act = async (id: string, what: string, f: () => Promise<unknown>) => {
    setBusy(id);
    try {
      await f();
    } catch (e) {
      toast('error', `${what} failed: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      setBusy(null);
    }
  };
  return (
    <table className="st-table" data-testid="session-table">
      <thead>
        <tr>
          <th>Session</th>
          <th>Started</th>
          <th className="num">Duration</th>
          <th className="num">Commits</th>
          <th className="num">Aborts</th>
          <th className="num">Time lost</th>
          <th className="num">Size</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {sessions.map((s) => (
          <tr key={s.id} className="st-row--click" onClick={() => openSession(s.id)} data-testid="session-row" data-session={s.id}>
            <td>
              {s.live ? <span className="st-badge st-badge--live">live</span> : null} <strong>{s.title}</strong>
              <div className="st-small st-muted">
                {s.source}
                {s.program ? ` · pid ${s.program.pid}` : ''}
                {s.problem ? <span title={s.problem}> · ⚠ {s.problem}</span> : null}
                {droppedNote(s.retention) ? (
                  <span data-testid="session-retention" title="The server's retention policy dropped the oldest detail; totals, conflicts and hot objects still count everything">
                    {' '}
                    · ✂ {droppedNote(s.retention)}
                  </span>
                ) : null}
              </div>
            </td>
            <td className="st-small">{s.startTime ? new Date(s.startTime).toLocaleString() : '—'}</td>
            <td className="num">{fmtNs(s.durationNs)}</td>
            <td className="num">{fmtInt(s.totals.commits)}</td>
            <td className="num">{fmtInt(s.totals.aborts)}</td>
            <td className="num">{fmtNs(s.totals.timeLostNs)}</td>
            <td className="num">{fmtBytes(s.sizeBytes)}</td>
            <td className="num" onClick={(e) => e.stopPropagation()}>
              <button className="st-btn st-btn--small" onClick={() => openSession(s.id)}>
                Open
              </button>{' '}
              {s.live ? (
                <button className="st-btn st-btn--small" disabled={busy === s.id} onClick={() => act(s.id, 'Detach', () => hub.server!.detach(s.id))}>
                  Detach
                </button>
              ) : (
                <>
                  <button
                    className="st-btn st-btn--small"
                    disabled={busy === s.id}
                    onClick={() =>
                      act(s.id, 'Download', async () => saveDownload(await hub.server!.download(`sessions/${encodeURIComponent(s.id)}/recording`, `${s.id}.stmrec`, 'application/octet-stream')))
                    }
                  >
                    Download
                  </button>{' '}
                  <button
                    className="st-btn st-btn--small"
                    disabled={busy === s.id}
                    onClick={() => {
                      if (confirm(`Delete the stored session “${s.title}”?`)) void act(s.id, 'Delete', () => hub.server!.remove(s.id));
                    }}
                  >
                    Delete
                  </button>
                </>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function ProgramTable({ programs }: { programs: ProgramInfo[] }) {
  const hub = useHub();
  const toast = useView((s) => s.toast);
  const [busy, setBusy] = useState<number | null>(null);
  const attach = async (pid: number) => {
    setBusy(pid);
    try {
      const r = await hub.server!.attach(pid);
      openSession(r.session);
    } catch (e) {
      toast('error', `Attach failed: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      setBusy(null);
    }
  };
  const detach = async (session: string, pid: number) => {
    setBusy(pid);
    try {
      await hub.server!.detach(session);
    } catch (e) {
      toast('error', `Detach failed: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      setBusy(null);
    }
  };
  return (
    <table className="st-table" data-testid="program-table">
      <thead>
        <tr>
          <th>Program</th>
          <th className="num">pid</th>
          <th>Started</th>
          <th className="num">Workers</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {programs.map((p) => (
          <tr key={p.pid} data-testid="program-row" data-pid={p.pid}>
            <td>
              <code>{p.argv.join(' ')}</code>
              <div className="st-small st-muted">{p.cwd}</div>
            </td>
            <td className="num">{p.pid}</td>
            <td className="st-small">{p.startTime ? new Date(p.startTime).toLocaleString() : '—'}</td>
            <td className="num">{p.workers}</td>
            <td className="num">
              {p.sessionId ? (
                <>
                  <button className="st-btn st-btn--small" onClick={() => openSession(p.sessionId!)}>
                    Open
                  </button>{' '}
                  <button className="st-btn st-btn--small" disabled={busy === p.pid} onClick={() => detach(p.sessionId!, p.pid)} data-testid="detach">
                    Detach
                  </button>
                </>
              ) : (
                <button className="st-btn st-btn--small st-btn--primary" disabled={busy === p.pid} onClick={() => attach(p.pid)} data-testid="attach">
                  {busy === p.pid ? 'Attaching…' : 'Attach'}
                </button>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
