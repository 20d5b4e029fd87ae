/** Formatting helpers shared by the report renderers. */

import type { ReportFrame } from './build.ts';

/**
 * A duration for humans: `1.234s`, `12.345ms`, `12.3µs`, `850ns`. Seconds keep
 * three decimals like print_stm_log.
 */
export function fmtNs(ns: number): string {
  const a = Math.abs(ns);
  if (a >= 1e9) return `${(ns / 1e9).toFixed(3)}s`;
  if (a >= 1e6) return `${(ns / 1e6).toFixed(3)}ms`;
  if (a >= 1e3) return `${(ns / 1e3).toFixed(1)}µs`;
  return `${Math.round(ns)}ns`;
}

/** `12.3%` of `whole` (0 when whole is 0). */
export function fmtPct(part: number, whole: number): string {
  return `${(whole > 0 ? (100 * part) / whole : 0).toFixed(1)}%`;
}

/** Integer with thousands separators. */
export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** A rate per second, 3 significant digits past 1000 rounded. */
export function fmtRate(n: number): string {
  return n >= 100 ? fmtInt(n) : n.toFixed(1);
}

/**
 * print_stm_log's time line: one character per column, `' '` when empty, else
 * `'_xX'[floor(v / (max + 0.1) * 3)]` (max of this line).
 */
export function asciiTimeline(columns: readonly number[]): string {
  let max = 0;
  for (const v of columns) if (v > max) max = v;
  let s = '';
  for (const v of columns) s += v <= 0 ? ' ' : '_xX'[Math.min(2, Math.floor((v / (max + 0.1)) * 3))];
  return s;
}

/** `path:line:column` of a frame. */
export function frameLocation(f: ReportFrame): string {
  return f.line ? `${f.file}:${f.line}:${f.column}` : f.file;
}

/** A program's argv as one shell-like line (`node app.js --x`), paths kept. */
export function commandLine(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

/** The workers list as text: `worker 1`, `workers 1, 2, 3`. */
export function workersText(ws: readonly number[]): string {
  if (!ws.length) return 'worker ?';
  return ws.length === 1 ? `worker ${ws[0]}` : `workers ${ws.join(', ')}`;
}
