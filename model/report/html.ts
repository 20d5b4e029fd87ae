/**
 * `--format html`: one self-contained file (inline CSS, inline SVG time lines,
 * no scripts, no external requests) that can be attached to an issue or
 * mailed. Every string from the recording goes through {@link esc}; the report
 * JSON is embedded for tools in a `<script type="application/json">` block with
 * `<` escaped as `\u003c`, so no label can close it.
 */

import type { Report, ReportConflict, ReportSide } from './build.ts';
import { asciiTimeline, commandLine, fmtInt, fmtNs, fmtPct, fmtRate, workersText } from './util.ts';

/** Escapes text for HTML content and double- or single-quoted attributes. */
export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Advice is ours, with code in backticks: escape, then render the backticks as <code>. */
function adviceHtml(s: string): string {
  return esc(s).replace(/`([^`]*)`/g, '<code>$1</code>');
}

const CSS = `
:root{--bg:#fff;--fg:#1d1f23;--mute:#667;--line:#dde;--card:#f6f7f9;--bad:#c0392b;--warn:#b9770e;--ok:#1e8449;--bar:#c0392b}
@media (prefers-color-scheme:dark){:root{--bg:#16181c;--fg:#e6e6e6;--mute:#99a;--line:#333844;--card:#1f2228;--bad:#ff6b5b;--warn:#f5b041;--ok:#58d68d;--bar:#ff6b5b}}
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;background:var(--bg);color:var(--fg);margin:2rem auto;max-width:72rem;padding:0 1rem}
h1{font-size:1.35rem;margin:.2rem 0}h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid var(--line)}
code,pre{font:12.5px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
table{border-collapse:collapse;margin:.5rem 0}td,th{padding:.2rem .6rem;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.mute{color:var(--mute)}.warn{border-left:4px solid var(--warn);padding:.4rem .8rem;background:var(--card)}
.card{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:.6rem 1rem;margin:1rem 0}
.card h3{font-size:1rem;margin:.2rem 0 .4rem}.kind{color:var(--bad);font-weight:600}
.sides{display:grid;grid-template-columns:1fr 1fr;gap:1rem}@media (max-width:50rem){.sides{grid-template-columns:1fr}}
.frame{margin:.15rem 0}.frame .src{display:block;padding-left:1.2rem;color:var(--mute);white-space:pre-wrap}
.advice{border-left:4px solid var(--ok);padding:.3rem .8rem;margin-top:.5rem}
svg.tl{display:block;width:100%;height:28px;margin-top:.4rem}svg.tl rect{fill:var(--bar)}svg.tl line{stroke:var(--line)}
`;

/** Options of {@link renderHtml}. */
export interface HtmlOptions {
  /** Frames per stack. Default 8. */
  maxFrames?: number;
  /** Embed the JSON report. Default true. */
  embedJson?: boolean;
}

export function renderHtml(r: Report, opts: HtmlOptions = {}): string {
  const maxFrames = opts.maxFrames ?? 8;
  const s = r.summary;
  const wall = r.durationNs;
  const cmd = r.program.argv.length ? commandLine(r.program.argv) : 'unknown program';
  const h: string[] = [];
  h.push('<!doctype html>');
  h.push('<html lang="en"><head><meta charset="utf-8">');
  h.push('<meta name="viewport" content="width=device-width, initial-scale=1">');
  h.push(`<title>stmscope report: ${esc(cmd)}</title>`);
  h.push(`<style>${CSS}</style></head><body>`);
  h.push(`<h1>stmscope report: <code>${esc(cmd)}</code></h1>`);
  const facts = [`${s.workers} worker${s.workers === 1 ? '' : 's'}`, `wall time ${fmtNs(wall)}`];
  if (r.program.pid) facts.push(`pid ${r.program.pid}`);
  if (r.program.cwd) facts.push(`in <code>${esc(r.program.cwd)}</code>`);
  if (r.program.startTime) facts.push(`started ${esc(r.program.startTime)}`);
  h.push(`<p class="mute">${facts.map((f) => (f.startsWith('in <code>') ? f : esc(f))).join(' · ')}</p>`);
  if (r.recording.problem) h.push(`<p class="warn"><strong>Warning:</strong> ${esc(r.recording.problem)}</p>`);
  for (const w of r.recording.problem ? [] : r.recording.warnings) h.push(`<p class="warn">${esc(w)}</p>`);

  h.push('<h2>Summary</h2><table><tr><th>CPU time</th><th class="n"></th><th class="n">% of wall time</th></tr>');
  const row = (name: string, ns: number) => h.push(`<tr><td>${esc(name)}</td><td class="n">${fmtNs(ns)}</td><td class="n">${fmtPct(ns, wall)}</td></tr>`);
  row('committed', s.committedNs);
  row('aborted', s.abortedNs);
  if (s.fails) row('failed (user exceptions)', s.failedNs);
  row('waiting', s.waitingNs);
  row('inevitable (included above)', s.inevitableNs);
  if (s.blockedNs) row('blocked by inevitable (included in waiting)', s.blockedNs);
  h.push('</table>');
  const attempts = s.commits + s.aborts + s.fails;
  h.push(
    `<p><strong>${fmtInt(s.commits)}</strong> commits, <strong>${fmtInt(s.aborts)}</strong> aborts (${fmtPct(s.aborts, attempts)} of attempts), ` +
      `${fmtRate(s.commitsPerSec)} commits/s, ${fmtInt(s.droppedEvents)} events dropped.</p>`,
  );
  h.push(`<div title="aborts over time">${svgTimeline(r.timeline.aborts)}</div>`);

  h.push(`<h2>Conflicts <span class="mute">(top ${r.conflicts.length} of ${s.conflictGroups}, by time lost)</span></h2>`);
  if (!r.conflicts.length) h.push('<p>No conflicts.</p>');
  for (const c of r.conflicts) conflictHtml(h, c, maxFrames);

  if (r.hotObjects.length) {
    h.push('<h2>Hot objects</h2><table><tr><th>object</th><th>type</th><th class="n">conflicts</th><th class="n">time lost</th></tr>');
    for (const o of r.hotObjects) {
      h.push(`<tr><td><code>${esc(o.label)}</code></td><td>${esc(o.type)}</td><td class="n">${fmtInt(o.conflicts)}</td><td class="n">${fmtNs(o.timeLostNs)}</td></tr>`);
    }
    h.push('</table>');
  }
  if (r.workers.length) {
    h.push('<h2>Workers</h2><table><tr><th class="n">worker</th><th class="n">commits</th><th class="n">aborts</th><th class="n">committed</th><th class="n">aborted</th><th class="n">waiting</th><th class="n">dropped</th></tr>');
    for (const w of r.workers) {
      h.push(
        `<tr><td class="n">${w.id === 255 ? 'recorder' : w.id}</td><td class="n">${fmtInt(w.commits)}</td><td class="n">${fmtInt(w.aborts)}</td>` +
          `<td class="n">${fmtNs(w.committedNs)}</td><td class="n">${fmtNs(w.abortedNs)}</td><td class="n">${fmtNs(w.waitingNs)}</td><td class="n">${fmtInt(w.droppedEvents)}</td></tr>`,
      );
    }
    h.push('</table>');
  }
  if (opts.embedJson !== false) {
    const json = JSON.stringify(r).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
    h.push(`<script type="application/json" id="stmscope-report">${json}</script>`);
  }
  h.push(`<p class="mute">Generated by ${esc(r.generator)} (${esc(r.schema)}).</p>`);
  h.push('</body></html>');
  return h.join('\n') + '\n';
}

function conflictHtml(h: string[], c: ReportConflict, maxFrames: number): void {
  h.push('<div class="card">');
  h.push(
    `<h3>${c.rank}. <span class="kind">${esc(c.kind)}</span> · ${fmtInt(c.count)} conflicts · ${fmtNs(c.timeLostNs)} lost · ${fmtNs(c.waitNs)} waiting</h3>`,
  );
  if (c.objects.length) {
    const more = c.distinctObjects - c.objects.length;
    h.push(
      `<div>on ${c.objects
        .slice(0, 8)
        .map((o) => `<code>${esc(o.label)}</code> <span class="mute">(${fmtInt(o.count)})</span>`)
        .join(', ')}${more > 0 ? ` and ${more} more` : ''}</div>`,
    );
  }
  h.push('<div class="sides">');
  sideHtml(h, c.kind === 'inevitable' ? 'waiting' : 'victim', c.victim, maxFrames);
  if (c.culprit) sideHtml(h, c.kind === 'inevitable' ? 'inevitable' : 'culprit', c.culprit, maxFrames);
  else h.push('<div><strong>culprit</strong>: not recorded</div>');
  h.push('</div>');
  h.push(`<div title="${esc('time line: ' + asciiTimeline(c.timeline))}">${svgTimeline(c.timeline)}</div>`);
  if (c.advice) h.push(`<div class="advice"><strong>Advice:</strong> ${adviceHtml(c.advice)}</div>`);
  h.push('</div>');
}

function sideHtml(h: string[], role: string, s: ReportSide, maxFrames: number): void {
  h.push(`<div><strong>${esc(role)}</strong> <span class="mute">(${esc(workersText(s.workers))})</span>`);
  if (!s.frames.length) h.push(`<div class="frame"><code>${esc(s.location || '(location unknown)')}</code></div>`);
  for (const f of s.frames.slice(0, maxFrames)) {
    const loc = f.line ? `${f.file}:${f.line}:${f.column}` : f.file;
    h.push(
      `<div class="frame"><code>${esc(loc)}</code>${f.function ? ` <span class="mute">in</span> <code>${esc(f.function)}</code>` : ''}` +
        (f.text ? `<code class="src">${esc(f.text)}</code>` : '') +
        '</div>',
    );
  }
  h.push('</div>');
}

/** Bars of a series as inline SVG (viewBox units: one column = 10). */
function svgTimeline(cols: readonly number[]): string {
  const n = Math.max(1, cols.length);
  let max = 0;
  for (const v of cols) if (v > max) max = v;
  const bars: string[] = [];
  cols.forEach((v, i) => {
    if (v <= 0 || max <= 0) return;
    const hgt = Math.max(1, Math.round((v / max) * 28));
    bars.push(`<rect x="${i * 10 + 1}" y="${28 - hgt}" width="8" height="${hgt}"/>`);
  });
  return `<svg class="tl" viewBox="0 0 ${n * 10} 28" preserveAspectRatio="none" role="img" aria-label="time line"><line x1="0" y1="27.5" x2="${n * 10}" y2="27.5"/>${bars.join('')}</svg>`;
}
