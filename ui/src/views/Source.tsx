/**
 * Source: one file with per-line conflict heat, reachable from any frame. The
 * text comes from the server's source endpoint (whole file, within the
 * program's cwd or source roots); without it (a local recording, or a file
 * the server may not read) the lines the recording named are listed with the
 * text the recorder stored.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { useAtom, useCwd, useHub, useLoc } from '../data/hooks.ts';
import type { SourceSnippet } from '../data/backend.ts';
import { filterGroups } from '../model/filters.ts';
import { fileHeat, filesOf, heatLevel, type FileHeat, type LineHeat } from '../model/heat.ts';
import { displayPath, fmtInt, fmtNs } from '../model/figures.ts';
import { useView } from '../state/view.ts';
import { EmptyState } from '../components/States.tsx';
import { fetchSnippet } from '../components/Snippet.tsx';

/** Lines each side of the target line (the server's limit is 500). */
const WHOLE_FILE_CONTEXT = 500;

export function SourceView() {
  const hub = useHub();
  const snapshot = useAtom(hub.data, (d) => d?.snapshot);
  const backend = useAtom(hub.current, (c) => c?.backend);
  const filters = useView((s) => s.filters);
  const fileParam = useView((s) => s.file);
  const lineParam = useView((s) => s.line);
  const openSource = useView((s) => s.openSource);
  const cwd = useCwd();
  const groups = useMemo(() => (snapshot ? filterGroups(snapshot, filters) : []), [snapshot, filters]);
  const files = useMemo(() => filesOf(groups), [groups]);
  const file = fileParam ?? files[0]?.file;
  const heat = useMemo(() => (file ? fileHeat(file, groups) : undefined), [file, groups]);
  const [text, setText] = useState<{ file: string; snippet: SourceSnippet | null; loading: boolean }>({ file: '', snippet: null, loading: false });
  // Around the asked line, else the hottest line of the file.
  const around = useMemo(() => lineParam ?? (heat ? [...heat.lines.values()].sort((a, b) => b.selfNs - a.selfNs || b.totalNs - a.totalNs)[0]?.line : undefined) ?? 1, [lineParam, heat]);
  useEffect(() => {
    if (!file || !backend) return;
    let alive = true;
    setText({ file, snippet: null, loading: true });
    fetchSnippet(backend, file, around, WHOLE_FILE_CONTEXT).then((s) => alive && setText({ file, snippet: s && s.origin === 'file' ? s : null, loading: false }));
    return () => {
      alive = false;
    };
  }, [file, backend, around]);
  if (!snapshot) return null;
  if (!file)
    return (
      <EmptyState title="No source to show">
        <p>No conflict has a recorded location yet. Frames in Conflicts link here.</p>
      </EmptyState>
    );
  return (
    <div className="st-page" data-testid="source">
      <div style={{ display: 'flex', gap: 10, alignItems: 'center', marginBottom: 10, flexWrap: 'wrap' }}>
        <label className="st-muted" htmlFor="st-file">
          File
        </label>
        <select id="st-file" className="st-input st-mono" value={file} onChange={(e) => openSource(e.target.value)} style={{ maxWidth: '60ch' }} data-testid="source-file">
          {!files.some((f) => f.file === file) ? <option value={file}>{file}</option> : null}
          {files.map((f) => (
            <option key={f.file} value={f.file}>
              {displayPath(f.file, cwd)} — {fmtNs(f.selfNs)} here, {fmtNs(f.totalNs)} through
            </option>
          ))}
        </select>
        {heat ? <span className="st-small st-muted">{fmtNs(heat.totalNs)} lost at conflicting accesses in this file</span> : null}
      </div>
      {text.loading && text.file === file ? <p className="st-muted">loading…</p> : null}
      {heat ? <Listing heat={heat} snippet={text.file === file ? text.snippet : null} target={lineParam} /> : null}
    </div>
  );
}

function Listing({ heat, snippet, target }: { heat: FileHeat; snippet: SourceSnippet | null; target?: number }) {
  const [picked, setPicked] = useState<number | undefined>(target);
  const targetRef = useRef<HTMLDivElement>(null);
  useEffect(() => setPicked(target), [target]);
  useEffect(() => {
    targetRef.current?.scrollIntoView({ block: 'center' });
  }, [snippet, target]);
  const rows: Array<{ no: number; text: string } | { gap: number }> = [];
  if (snippet) {
    snippet.lines.forEach((t, i) => rows.push({ no: snippet.startLine + i, text: t }));
  } else {
    const nums = [...heat.lines.keys()].sort((a, b) => a - b);
    if (target && !heat.lines.has(target)) nums.push(target);
    nums.sort((a, b) => a - b);
    let prev = 0;
    for (const n of nums) {
      if (n > prev + 1) rows.push({ gap: n - prev - 1 });
      rows.push({ no: n, text: heat.lines.get(n)?.text ?? '' });
      prev = n;
    }
  }
  const info = picked !== undefined ? heat.lines.get(picked) : undefined;
  return (
    <>
      {!snippet ? (
        <p className="st-small st-muted" data-testid="source-sparse">
          The file itself is not available here; showing the lines the recording names, with the text the recorder stored.
        </p>
      ) : null}
      <div className="st-source" data-testid="source-listing">
        {rows.map((r, i) =>
          'gap' in r ? (
            <div key={`g${i}`} className="st-source__gap">
              ⋯ {r.gap} line{r.gap === 1 ? '' : 's'}
            </div>
          ) : (
            <SourceLine key={r.no} no={r.no} text={r.text} h={heat.lines.get(r.no)} heat={heat} isTarget={r.no === target} onPick={setPicked} refEl={r.no === target ? targetRef : undefined} />
          ),
        )}
      </div>
      {info ? <LineGroups h={info} /> : null}
    </>
  );
}

function SourceLine({
  no,
  text,
  h,
  heat,
  isTarget,
  onPick,
  refEl,
}: {
  no: number;
  text: string;
  h: LineHeat | undefined;
  heat: FileHeat;
  isTarget: boolean;
  onPick(n: number): void;
  refEl?: React.RefObject<HTMLDivElement | null>;
}) {
  const level = heatLevel(h, heat);
  return (
    <div
      ref={refEl}
      className={`st-source__line ${level ? `st-heat-${level}` : ''} ${isTarget ? 'st-source__line--target' : ''}`}
      data-line={no}
      data-heat={level || undefined}
      onClick={() => h && onPick(no)}
      style={h ? { cursor: 'pointer' } : undefined}
      title={h ? `${fmtNs(h.selfNs)} lost here (${fmtInt(h.selfCount)} conflicts: ${fmtInt(h.asVictim)} as victim, ${fmtInt(h.asCulprit)} as culprit); ${fmtNs(h.totalNs)} with callees` : undefined}
    >
      <span className="st-source__no">{no}</span>
      <span className="st-source__heat">{h && h.selfNs > 0 ? fmtNs(h.selfNs) : h && h.totalNs > 0 ? `(${fmtNs(h.totalNs)})` : ''}</span>
      <span>{text}</span>
    </div>
  );
}

function LineGroups({ h }: { h: LineHeat }) {
  const loc = useLoc();
  const hub = useHub();
  const snapshot = useAtom(hub.data, (d) => d?.snapshot);
  const groups = (snapshot?.groups ?? []).filter((g) => h.groupKeys.includes(g.key));
  return (
    <div className="st-section" style={{ marginTop: 12 }} data-testid="line-groups">
      <h3>Line {h.line}: conflicts through this line</h3>
      <ul>
        {groups.map((g) => (
          <li key={g.key}>
            <button
              className="st-link"
              onClick={() => {
                const st = useView.getState();
                st.openGroup(g.key);
                st.setView('conflicts');
              }}
            >
              <span className={`st-kind st-kind--${g.kind}`}>{g.kind}</span> {g.objects[0]?.label ?? ''} {loc(g.victim.location)} ← {g.culprit ? loc(g.culprit.location) : '?'} ·{' '}
              {fmtInt(g.count)}× · {fmtNs(g.timeLostNs)}
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}
