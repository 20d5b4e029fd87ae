/**
 * `--format markdown`: a report to paste into an issue tracker (GitHub-flavoured
 * Markdown). Everything that comes from the recording (paths, labels, source
 * text, argv) is put in code spans or fenced blocks whose fence is longer than
 * any backtick run inside, and table cells escape `|`, so user text can neither
 * break the layout nor inject HTML.
 */

import type { Report, ReportConflict, ReportSide } from './build.ts';
import { asciiTimeline, commandLine, fmtInt, fmtNs, fmtPct, fmtRate, workersText } from './util.ts';

/** Inline code that survives backticks in `s`. */
export function mdCode(s: string): string {
  const one = s.replace(/\r?\n/g, ' ');
  const runs = one.match(/`+/g) ?? [];
  const fence = '`'.repeat(Math.max(0, ...runs.map((r) => r.length)) + 1);
  const padded = one.startsWith('`') || one.endsWith('`') || one === '' ? ` ${one} ` : one;
  return `${fence}${padded}${fence}`;
}

/** A fenced block that survives fences in `body`. */
export function mdBlock(body: string, info = 'text'): string {
  const runs = body.match(/`{3,}/g) ?? [];
  const fence = '`'.repeat(Math.max(2, ...runs.map((r) => r.length)) + 1);
  return `${fence}${info}\n${body}\n${fence}`;
}

/** Escapes a table cell (pipes, newlines). */
function cell(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** Escapes plain prose (HTML and Markdown punctuation). */
function prose(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+!<>&|~]/g, (c) => (c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '&' ? '&amp;' : '\\' + c));
}

/** Options of {@link renderMarkdown}. */
export interface MarkdownOptions {
  /** Frames per stack. Default 6. */
  maxFrames?: number;
}

export function renderMarkdown(r: Report, opts: MarkdownOptions = {}): string {
  const maxFrames = opts.maxFrames ?? 6;
  const s = r.summary;
  const wall = r.durationNs;
  const o: string[] = [];
  o.push(`## stmscope report: ${r.program.argv.length ? mdCode(commandLine(r.program.argv)) : 'unknown program'}`);
  o.push('');
  const facts = [`${s.workers} worker${s.workers === 1 ? '' : 's'}`, `wall time ${fmtNs(wall)}`];
  if (r.program.pid) facts.push(`pid ${r.program.pid}`);
  if (r.program.startTime) facts.push(`started ${mdCode(r.program.startTime)}`);
  o.push(facts.join(' · '));
  o.push('');
  if (r.recording.problem) {
    o.push(`> **Warning:** ${prose(r.recording.problem)}`);
    o.push('');
  }
  o.push('| CPU time | | % of wall time |');
  o.push('|---|---:|---:|');
  const row = (name: string, ns: number) => o.push(`| ${name} | ${fmtNs(ns)} | ${fmtPct(ns, wall)} |`);
  row('committed', s.committedNs);
  row('aborted', s.abortedNs);
  if (s.fails) row('failed (user exceptions)', s.failedNs);
  row('waiting', s.waitingNs);
  row('inevitable (included above)', s.inevitableNs);
  if (s.blockedNs) row('blocked by inevitable (included in waiting)', s.blockedNs);
  o.push('');
  const attempts = s.commits + s.aborts + s.fails;
  o.push(
    `**${fmtInt(s.commits)}** commits, **${fmtInt(s.aborts)}** aborts (${fmtPct(s.aborts, attempts)} of attempts)` +
      `, ${fmtRate(s.commitsPerSec)} commits/s` +
      (s.droppedEvents ? `, **${fmtInt(s.droppedEvents)} events dropped** (figures undercount)` : ''),
  );
  o.push('');
  if (!r.conflicts.length) {
    o.push('No conflicts.');
  } else {
    o.push(`### Top ${r.conflicts.length} of ${s.conflictGroups} conflict groups, by time lost`);
    o.push('');
    o.push('| # | kind | count | time lost | waiting | object | victim | culprit |');
    o.push('|---:|---|---:|---:|---:|---|---|---|');
    for (const c of r.conflicts) {
      o.push(
        `| ${c.rank} | ${c.kind} | ${fmtInt(c.count)} | ${fmtNs(c.timeLostNs)} | ${fmtNs(c.waitNs)} | ` +
          `${c.objects[0] ? cell(mdCode(c.objects[0].label)) : ''} | ${cell(mdCode(c.victim.location || '?'))} | ` +
          `${c.culprit ? cell(mdCode(c.culprit.location || '?')) : '–'} |`,
      );
    }
    for (const c of r.conflicts) {
      o.push('');
      conflictMd(o, c, maxFrames);
    }
  }
  if (r.hotObjects.length) {
    o.push('');
    o.push('### Hot objects');
    o.push('');
    o.push('| object | conflicts | time lost |');
    o.push('|---|---:|---:|');
    for (const h of r.hotObjects.slice(0, 10)) o.push(`| ${cell(mdCode(h.label))} | ${fmtInt(h.conflicts)} | ${fmtNs(h.timeLostNs)} |`);
  }
  o.push('');
  return o.join('\n');
}

function conflictMd(o: string[], c: ReportConflict, maxFrames: number): void {
  o.push(`#### ${c.rank}. ${c.kind}: ${fmtInt(c.count)} conflicts, ${fmtNs(c.timeLostNs)} lost, ${fmtNs(c.waitNs)} waiting`);
  o.push('');
  if (c.objects.length) {
    const more = c.distinctObjects - c.objects.length;
    o.push(`Objects: ${c.objects.slice(0, 5).map((x) => `${mdCode(x.label)} (${fmtInt(x.count)})`).join(', ')}${more > 0 ? `, and ${more} more` : ''}`);
    o.push('');
  }
  const body: string[] = [];
  stack(body, c.kind === 'inevitable' ? 'waiting' : 'victim', c.victim, maxFrames);
  if (c.culprit) stack(body, c.kind === 'inevitable' ? 'inevitable' : 'culprit', c.culprit, maxFrames);
  else body.push('culprit: not recorded');
  body.push(`time line: |${asciiTimeline(c.timeline)}|`);
  o.push(mdBlock(body.join('\n')));
  if (c.advice) {
    o.push('');
    // Advice quotes code in backticks on purpose; everything else in it is ours.
    o.push(`> **Advice:** ${c.advice.replace(/[<>&]/g, (x) => (x === '<' ? '&lt;' : x === '>' ? '&gt;' : '&amp;'))}`);
  }
}

function stack(body: string[], role: string, s: ReportSide, maxFrames: number): void {
  body.push(`${role} (${workersText(s.workers)}):`);
  if (!s.frames.length) body.push(`  ${s.location || '(location unknown)'}`);
  for (const f of s.frames.slice(0, maxFrames)) {
    body.push(`  ${f.line ? `${f.file}:${f.line}:${f.column}` : f.file}${f.function ? ` in ${f.function}` : ''}`);
    if (f.text) body.push(`      ${f.text}`);
  }
}
