/** Empty, loading and error states: every view says what is going on instead of showing nothing. */
import type { ReactNode } from 'react';
import type { CurrentSession } from '../data/hub.ts';
import { fmtBytes } from '../model/figures.ts';

export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="st-state" data-testid="empty">
      <h2>{title}</h2>
      {children}
    </div>
  );
}

export function LoadingState({ current }: { current: CurrentSession | null }) {
  const p = current?.progress;
  const pct = p && p.total > 0 ? Math.min(100, (100 * p.bytes) / p.total) : undefined;
  return (
    <div className="st-state" data-testid="loading" aria-busy="true">
      <h2>Opening {current?.title ?? 'session'}…</h2>
      {pct !== undefined ? (
        <>
          <div className="st-progress" role="progressbar" aria-valuenow={Math.round(pct)} aria-valuemin={0} aria-valuemax={100}>
            <div style={{ width: `${pct}%` }} />
          </div>
          <div className="st-small">
            {fmtBytes(p!.bytes)} of {fmtBytes(p!.total)} read
          </div>
        </>
      ) : (
        <div className="st-small">Waiting for the first snapshot from the server.</div>
      )}
    </div>
  );
}

export function ErrorState({ title, message, children }: { title: string; message: string; children?: ReactNode }) {
  return (
    <div className="st-state" data-testid="error" role="alert">
      <h2>{title}</h2>
      <div className="st-error">{message}</div>
      {children}
    </div>
  );
}
