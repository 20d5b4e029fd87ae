/** `--format json`: the report document as JSON (schema `stmscope.report/1`, docs/REPORT.md). */

import type { Report } from './build.ts';

/**
 * Serialises a report.
 * @param indent spaces of indentation (default 2; 0 for one line)
 */
export function renderJson(report: Report, indent = 2): string {
  return JSON.stringify(report, null, indent || undefined) + '\n';
}
