/**
 * What a view needs from an open session, whichever side holds the data: the
 * server (a live or stored session, over HTTP + WebSocket) or the dashboard's
 * own Web Worker (a recording opened from disk). Both answer the same
 * protocol types (model/protocol.ts).
 */

import type { AggregateSnapshot } from '../../../model/aggregate.ts';
import type { Occurrence, WindowQuery, WindowResult } from '../../../model/protocol.ts';

/** A source excerpt: `lines[i]` is line `startLine + i`; `line` is the one asked for. */
export interface SourceSnippet {
  file: string;
  startLine: number;
  lines: string[];
  line: number;
  /** where the text came from: the program's file, or the recording's site text only */
  origin: 'file' | 'recording';
}

export type ReportFormat = 'json' | 'markdown' | 'html' | 'text';
export type TraceFormat = 'chrome' | 'speedscope';

/** A file to save: name, MIME type and bytes. */
export interface Download {
  name: string;
  type: string;
  blob: Blob;
}

/** What is shown of one session (pushed on open and, for live sessions, up to 10×/s). */
export interface SessionData {
  seq: number;
  live: boolean;
  snapshot: AggregateSnapshot;
  bounds: { startNs: number; endNs: number };
  workers: number[];
}

export interface SessionBackend {
  readonly kind: 'server' | 'local';
  window(q: WindowQuery): Promise<WindowResult>;
  occurrences(groupKey: string, offset: number, limit: number): Promise<{ total: number; items: Occurrence[] }>;
  /** Source lines around `line` (null when the file cannot be read: the caller falls back to frame text). */
  source(file: string, line: number, context: number): Promise<SourceSnippet | null>;
  report(format: ReportFormat): Promise<Download>;
  recording(): Promise<Download>;
  /** Trace export; rejects with a clear message when this side cannot export yet. */
  traceExport(format: TraceFormat): Promise<Download>;
  close(): void;
}

/** A safe file name stem from a session title. */
export function fileStem(title: string): string {
  const s = title
    .replace(/\.stmrec$/i, '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return s.slice(0, 80) || 'stmscope';
}

export const REPORT_TYPES: Record<ReportFormat, { ext: string; type: string }> = {
  json: { ext: 'json', type: 'application/json' },
  markdown: { ext: 'md', type: 'text/markdown' },
  html: { ext: 'html', type: 'text/html' },
  text: { ext: 'txt', type: 'text/plain' },
};
