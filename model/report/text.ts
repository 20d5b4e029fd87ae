/**
 * `--format text`: the terminal report, in the spirit of PyPy-STM's
 * print_stm_log.py (../shared/reference/pypy-stm.md §7): totals with
 * percentages of wall time (they can exceed 100% with several workers), then
 * the top conflict groups by time lost, each with both stacks and their source
 * lines, a 60-column time line and advice.
 */

import type { Report, ReportConflict, ReportSide } from './build.ts';
import { asciiTimeline, commandLine, fmtInt, fmtNs, fmtPct, fmtRate, workersText } from './util.ts';

/** Options of {@link renderText}. */
export interface TextOptions {
  /** Frames printed per stack. Default 6. */
  maxFrames?: number;
}

export function renderText(r: Report, opts: TextOptions = {}): string {
  const maxFrames = opts.maxFrames ?? 6;
  const out: string[] = [];
  const s = r.summary;
  const wall = r.durationNs;
  const pad = (x: string, n: number) => x.padStart(n);
  const pct = (ns: number) => `(${pad(fmtPct(ns, wall), 6)})`;
  const head = [r.program.argv.length ? commandLine(r.program.argv) : '(unknown program)'];
  if (r.program.pid) head.push(`pid ${r.program.pid}`);
  head.push(`${s.workers} worker${s.workers === 1 ? '' : 's'}`);
  if (r.program.startTime) head.push(r.program.startTime);
  out.push(`stmscope report: ${head.join(', ')}`);
  if (r.recording.problem) out.push(`WARNING: ${r.recording.problem}`);
  for (const w of r.recording.warnings) if (!r.recording.problem) out.push(`warning: ${w}`);
  out.push('');
  const total = s.committedNs + s.abortedNs + s.failedNs + s.waitingNs;
  const t = (ns: number) => pad(fmtNs(ns), 10);
  out.push(`Total real time:       ${t(wall)}`);
  out.push(`CPU time in STM mode:  ${t(s.committedNs)} ${pct(s.committedNs)} committed`);
  out.push(`                       ${t(s.abortedNs)} ${pct(s.abortedNs)} aborted`);
  if (s.failedNs > 0 || s.fails > 0) out.push(`                       ${t(s.failedNs)} ${pct(s.failedNs)} failed (user exceptions)`);
  out.push(`                       ${t(s.waitingNs)} ${pct(s.waitingNs)} waiting`);
  out.push(`                       ${t(total)} ${pct(total)} TOTAL`);
  out.push(`           including   ${t(s.inevitableNs)} ${pct(s.inevitableNs)} inevitable`);
  if (s.blockedNs > 0) out.push(`                 and   ${t(s.blockedNs)} ${pct(s.blockedNs)} blocked by inevitable transactions`);
  const attempts = s.commits + s.aborts + s.fails;
  out.push(
    `Total number of transactions: ${fmtInt(attempts)}  committed: ${fmtPct(s.commits, attempts)}  aborted: ${fmtPct(s.aborts, attempts)}` +
      (s.fails ? `  failed: ${fmtPct(s.fails, attempts)}` : ''),
  );
  out.push(`     transactions per second: ${fmtRate(s.commitsPerSec)} committed, ${fmtRate(s.abortsPerSec)} aborted`);
  if (s.sampleEvery > 1) out.push(`     (commits recorded for 1 transaction in ${s.sampleEvery} and scaled up; every abort was recorded)`);
  out.push(`Events dropped: ${fmtInt(s.droppedEvents)}${s.droppedEvents ? '  (figures below undercount)' : ''}`);
  out.push('');
  if (!r.conflicts.length) {
    out.push('No conflicts.');
  } else {
    out.push(`Top ${r.conflicts.length} of ${s.conflictGroups} conflict group${s.conflictGroups === 1 ? '' : 's'}, by time lost:`);
    for (const c of r.conflicts) {
      out.push('');
      conflictText(out, c, maxFrames);
    }
  }
  if (r.hotObjects.length) {
    out.push('');
    out.push('Hot objects:');
    const w = Math.max(...r.hotObjects.slice(0, 10).map((h) => h.label.length), 6);
    for (const h of r.hotObjects.slice(0, 10)) {
      out.push(`  ${h.label.padEnd(w)}  ${pad(fmtInt(h.conflicts), 9)} conflict${h.conflicts === 1 ? ' ' : 's'}  ${pad(fmtNs(h.timeLostNs), 10)} lost`);
    }
  }
  out.push('');
  return out.join('\n');
}

function conflictText(out: string[], c: ReportConflict, maxFrames: number): void {
  const lost = c.kind === 'inevitable' && c.blockedNs >= c.timeLostNs ? 'blocked' : 'lost in aborts';
  out.push(`[${c.rank}] ${fmtNs(c.timeLostNs)} ${lost}, ${fmtNs(c.waitNs)} waiting (${fmtInt(c.count)}x ${c.kind})`);
  if (c.objects.length) {
    const more = c.distinctObjects - c.objects.length;
    out.push(`    on ${c.objects.slice(0, 5).map((o) => `${o.label} (${fmtInt(o.count)}x)`).join(', ')}${more > 0 ? `, and ${more} more` : ''}`);
  }
  sideText(out, c.kind === 'inevitable' ? 'waiting' : 'victim', c.victim, maxFrames);
  if (c.culprit) sideText(out, c.kind === 'inevitable' ? 'inevitable' : 'culprit', c.culprit, maxFrames);
  else out.push('    culprit: not recorded');
  out.push(`    time line: |${asciiTimeline(c.timeline)}|`);
  if (c.advice) out.push(`    advice: ${c.advice}`);
}

function sideText(out: string[], role: string, s: ReportSide, maxFrames: number): void {
  out.push(`    ${role} (${workersText(s.workers)}):`);
  if (!s.frames.length) {
    out.push(`      ${s.location || '(location unknown: code not instrumented or definition lost)'}`);
    return;
  }
  for (const f of s.frames.slice(0, maxFrames)) {
    const fn = f.function ? `, in ${f.function}` : '';
    out.push(f.line ? `      File "${f.file}", line ${f.line}, column ${f.column}${fn}` : `      ${f.file}${fn}`);
    if (f.text) out.push(`        ${f.text}`);
  }
  if (s.frames.length > maxFrames) out.push(`      … ${s.frames.length - maxFrames} more frames`);
}
