/**
 * Messages between the dashboard and its Web Worker (ui/src/worker/local.worker.ts),
 * which decodes and aggregates a recording opened from disk and then answers
 * the same queries the server answers for its sessions.
 */

import type { AggregateSnapshot } from '../../../model/aggregate.ts';
import type { Occurrence, WindowQuery, WindowResult } from '../../../model/protocol.ts';
import type { RecordingMeta } from '../../../model/format.ts';
import type { ReportFormat, TraceFormat } from '../data/backend.ts';

export type ToWorker =
  | { type: 'open'; id: number; file: Blob; name: string }
  | { type: 'window'; id: number; query: WindowQuery }
  | { type: 'occurrences'; id: number; groupKey: string; offset: number; limit: number }
  | { type: 'report'; id: number; format: ReportFormat }
  | { type: 'trace'; id: number; format: TraceFormat }
  /** the recording as stmscope bytes (the converted one for a PyPy-STM log) */
  | { type: 'recording'; id: number };

export interface OpenedInfo {
  name: string;
  bytes: number;
  meta: RecordingMeta;
  /** what could not be read, if anything */
  problem: string | null;
  warnings: string[];
  complete: boolean;
  /** ms spent decoding + aggregating */
  loadMs: number;
  /** the input was a PyPy-STM log, not a stmscope recording */
  imported?: string;
}

export type FromWorker =
  | { type: 'progress'; id: number; bytes: number; total: number }
  | { type: 'opened'; id: number; info: OpenedInfo; snapshot: AggregateSnapshot; bounds: { startNs: number; endNs: number }; workers: number[] }
  | { type: 'window'; id: number; result: WindowResult }
  | { type: 'occurrences'; id: number; total: number; items: Occurrence[] }
  | { type: 'file'; id: number; name: string; mime: string; data: string | Blob }
  | { type: 'error'; id: number; message: string };
