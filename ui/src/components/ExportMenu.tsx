/** Export from the UI: reports (JSON, Markdown, HTML), the raw recording, trace formats. */
import { useEffect, useRef, useState } from 'react';
import { useAtom, useHub } from '../data/hooks.ts';
import type { Download } from '../data/backend.ts';
import { useView } from '../state/view.ts';
import { saveDownload } from './download.ts';

export function ExportMenu() {
  const hub = useHub();
  const current = useAtom(hub.current);
  const toast = useView((s) => s.toast);
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const close = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) setOpen(false);
    };
    window.addEventListener('mousedown', close);
    return () => window.removeEventListener('mousedown', close);
  }, [open]);
  const backend = current?.backend;
  if (!backend) return null;
  const run = (what: string, f: () => Promise<Download>) => async () => {
    setOpen(false);
    setBusy(true);
    try {
      const d = await f();
      saveDownload(d);
      toast('info', `Saved ${d.name}`);
    } catch (e) {
      toast('error', `${what} failed: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="st-menu" ref={ref}>
      <button className="st-btn" aria-haspopup="menu" aria-expanded={open} onClick={() => setOpen(!open)} disabled={busy} data-testid="export">
        {busy ? 'Exporting…' : 'Export ▾'}
      </button>
      {open ? (
        <div className="st-menu__list" role="menu">
          <button role="menuitem" className="st-menu__item" data-testid="export-json" onClick={run('JSON report', () => backend.report('json'))}>
            Report (JSON)
          </button>
          <button role="menuitem" className="st-menu__item" data-testid="export-markdown" onClick={run('Markdown report', () => backend.report('markdown'))}>
            Report (Markdown)
          </button>
          <button role="menuitem" className="st-menu__item" data-testid="export-html" onClick={run('HTML report', () => backend.report('html'))}>
            Report (HTML, standalone)
          </button>
          <div className="st-menu__sep" />
          <button role="menuitem" className="st-menu__item" data-testid="export-recording" onClick={run('Recording download', () => backend.recording())}>
            Raw recording (.stmrec)
          </button>
          <div className="st-menu__sep" />
          <button
            role="menuitem"
            className="st-menu__item"
            data-testid="export-chrome"
            title="Chrome Trace Event JSON with culprit → victim flow arrows, for Perfetto UI and chrome://tracing"
            onClick={run('Trace export', () => backend.traceExport('chrome'))}
          >
            Perfetto / Chrome trace
          </button>
          <button
            role="menuitem"
            className="st-menu__item"
            data-testid="export-speedscope"
            title="Time lost by victim stack, for speedscope"
            onClick={run('speedscope export', () => backend.traceExport('speedscope'))}
          >
            speedscope profile
          </button>
        </div>
      ) : null}
    </div>
  );
}
