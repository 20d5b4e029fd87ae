/**
 * Source snippets around a frame's line, the line highlighted. Text comes from
 * the server's source endpoint (the program's own file, only below its cwd or
 * source roots) or, for a local recording or an unreadable file, from the
 * `text` the recorder stored with the site. React escapes all of it.
 */
import { useEffect, useState } from 'react';
import type { Frame } from '../../../model/defs.ts';
import type { SessionBackend, SourceSnippet } from '../data/backend.ts';
import { useAtom, useHub } from '../data/hooks.ts';

const cache = new WeakMap<SessionBackend, Map<string, Promise<SourceSnippet | null>>>();

/** Fetches (once per backend, file, line, context) a snippet. */
export function fetchSnippet(backend: SessionBackend, file: string, line: number, context: number): Promise<SourceSnippet | null> {
  let m = cache.get(backend);
  if (!m) cache.set(backend, (m = new Map()));
  const k = `${file}\u0000${line}\u0000${context}`;
  let p = m.get(k);
  if (!p) {
    p = backend.source(file, line, context).catch(() => null);
    m.set(k, p);
  }
  return p;
}

export function useSnippet(file: string, line: number, context: number): { snippet: SourceSnippet | null; loading: boolean } {
  const hub = useHub();
  const backend = useAtom(hub.current, (c) => c?.backend);
  const [state, setState] = useState<{ key: string; snippet: SourceSnippet | null; loading: boolean }>({ key: '', snippet: null, loading: true });
  const key = `${file}:${line}:${context}`;
  useEffect(() => {
    if (!backend || !file || line <= 0) {
      setState({ key, snippet: null, loading: false });
      return;
    }
    let alive = true;
    setState({ key, snippet: null, loading: true });
    fetchSnippet(backend, file, line, context).then((s) => {
      if (alive) setState({ key, snippet: s, loading: false });
    });
    return () => {
      alive = false;
    };
  }, [backend, file, line, context, key]);
  return state.key === key ? state : { snippet: null, loading: true };
}

export function Snippet({ frame, context = 3 }: { frame: Frame; context?: number }) {
  const { snippet, loading } = useSnippet(frame.file, frame.line, context);
  let lines: Array<{ no: number; text: string }>;
  if (snippet && snippet.lines.length) lines = snippet.lines.map((text, i) => ({ no: snippet.startLine + i, text }));
  else if (frame.text) lines = [{ no: frame.line, text: frame.text }];
  else lines = [];
  if (!lines.length) return <div className="st-small st-muted">{loading ? 'loading source…' : frame.line > 0 ? 'source not available' : ''}</div>;
  return (
    <div className="st-snippet" data-testid="snippet">
      {lines.map((l) => (
        <div key={l.no} className={`st-snippet__line ${l.no === frame.line ? 'st-snippet__line--hl' : ''}`} data-line={l.no} data-hl={l.no === frame.line ? '1' : undefined}>
          <span className="st-snippet__no">{l.no}</span>
          <span>{l.text}</span>
        </div>
      ))}
    </div>
  );
}
