/**
 * The dashboard's Web Worker: decodes and aggregates a recording opened from
 * disk (file picker or drag & drop) off the main thread, keeps every event in
 * a columnar EventStore, and then answers timeline windows, occurrence pages
 * and report requests, the same queries the server answers for its sessions.
 *
 * Perfetto runs its trace processor in a worker for the same reason
 * (ui/src/trace_processor/wasm_engine_proxy.ts; ../shared/reference/style.md §1):
 * a 50 MB recording must never freeze the page.
 */

import { Ingest } from '../../../model/ingest.ts';
import { FormatError, type DecodeStatus } from '../../../model/format.ts';
import { InputError, RecordingInput, PypyFormatError, type InputStatus } from '../../../model/input.ts';
import { StoreTimeline } from '../../../model/timeline.ts';
import { buildReport } from '../../../model/report/build.ts';
import { renderJson } from '../../../model/report/json.ts';
import { renderMarkdown } from '../../../model/report/markdown.ts';
import { renderHtml } from '../../../model/report/html.ts';
import { renderText } from '../../../model/report/text.ts';
import { chromeTraceChunks } from '../../../model/export/chrome.ts';
import { speedscopeFromStore } from '../../../model/export/speedscope.ts';
import type { AggregateSnapshot } from '../../../model/aggregate.ts';
import type { TimelineSource } from '../../../model/protocol.ts';
import type { FromWorker, OpenedInfo, ToWorker } from './messages.ts';

interface Opened {
  ingest: Ingest;
  status: DecodeStatus;
  snapshot: AggregateSnapshot;
  timeline: TimelineSource;
  name: string;
  /** the recording bytes when the input was converted (a PyPy-STM log) */
  converted?: Blob;
}

let opened: Opened | undefined;

const post = (m: FromWorker, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(m, transfer);

/**
 * Reads a Blob in slices (no 512M-char string limit, progress as it goes)
 * through model/input: a recording passes through, a PyPy-STM log is
 * converted to one on the fly.
 */
async function readInto(id: number, file: Blob, ingest: Ingest, keep: Uint8Array[] | undefined): Promise<InputStatus> {
  const SLICE = 8 << 20;
  let last = 0;
  const input = new RecordingInput((b) => {
    ingest.feed(b);
    if (keep && input.kind?.kind !== 'stmscope') keep.push(b.slice());
  });
  // The next slice is read while this one decodes (the read is I/O in the browser process).
  const read = (off: number) => (off < file.size ? file.slice(off, Math.min(file.size, off + SLICE)).arrayBuffer() : undefined);
  let next = read(0);
  for (let off = 0; next; off += SLICE) {
    const buf = new Uint8Array(await next);
    next = read(off + SLICE);
    input.feed(buf);
    const now = performance.now();
    if (now - last > 100) {
      last = now;
      post({ type: 'progress', id, bytes: Math.min(file.size, off + SLICE), total: file.size });
    }
  }
  return input.finish();
}

function describeError(e: unknown, name: string): string {
  if (e instanceof InputError || e instanceof FormatError || e instanceof PypyFormatError)
    return `${name} cannot be opened: ${e.message}. stmscope opens its own recordings (stmscope record -o run.stmrec -- node app.js) and PyPy-STM logs.`;
  return `Could not read ${name}: ${e instanceof Error ? e.message : String(e)}`;
}

async function open(id: number, file: Blob, name: string): Promise<void> {
  const t0 = performance.now();
  opened = undefined;
  const ingest = new Ingest({ store: { initialCapacity: 1 << 16 } });
  const kept: Uint8Array[] = [];
  let input: InputStatus;
  try {
    input = await readInto(id, file, ingest, kept);
  } catch (e) {
    post({ type: 'error', id, message: describeError(e, name) });
    return;
  }
  const status = ingest.finish();
  if (status.records === 0 && !ingest.meta && status.problem) {
    post({ type: 'error', id, message: `${name}: ${status.message ?? 'nothing could be read'}` });
    return;
  }
  const snapshot = ingest.aggregator!.snapshot();
  const timeline = new StoreTimeline(ingest.store!);
  const imported = input.kind === 'stmscope' ? undefined : input.description;
  opened = { ingest, status, snapshot, timeline, name, ...(imported ? { converted: new Blob(kept as BlobPart[]) } : {}) };
  const warnings = [...(input.pypy?.warnings ?? []), ...status.warnings].slice(0, 20);
  const info: OpenedInfo = {
    name,
    bytes: file.size,
    meta: ingest.meta ?? {},
    problem: status.problem ? (status.message ?? 'the recording is damaged') : null,
    warnings,
    complete: status.complete,
    loadMs: performance.now() - t0,
    ...(imported ? { imported } : {}),
  };
  const b = timeline.bounds();
  post({
    type: 'opened',
    id,
    info,
    snapshot,
    bounds: { startNs: Math.min(b.startNs, snapshot.firstNs), endNs: Math.max(b.endNs, snapshot.durationNs) },
    workers: timeline.workers(),
  });
}

function need(): Opened {
  if (!opened) throw new Error('no recording is open');
  return opened;
}

function report(id: number, format: string): void {
  const o = need();
  const r = buildReport(o.snapshot, { meta: o.ingest.meta, status: o.status, generator: 'stmscope dashboard', top: 50 });
  const stem = o.name.replace(/\.[^.]*$/, '') || 'stmscope';
  switch (format) {
    case 'json':
      post({ type: 'file', id, name: `${stem}.report.json`, mime: 'application/json', data: renderJson(r) });
      return;
    case 'markdown':
      post({ type: 'file', id, name: `${stem}.report.md`, mime: 'text/markdown', data: renderMarkdown(r) });
      return;
    case 'html':
      post({ type: 'file', id, name: `${stem}.report.html`, mime: 'text/html', data: renderHtml(r) });
      return;
    case 'text':
      post({ type: 'file', id, name: `${stem}.report.txt`, mime: 'text/plain', data: renderText(r) });
      return;
  }
  throw new Error(`unknown report format ${format}`);
}

self.onmessage = (ev: MessageEvent<ToWorker>) => {
  const m = ev.data;
  const run = async () => {
    switch (m.type) {
      case 'open':
        return open(m.id, m.file, m.name);
      case 'window':
        return post({ type: 'window', id: m.id, result: need().timeline.query(m.query) });
      case 'occurrences': {
        const r = need().timeline.occurrences(m.groupKey, m.offset, m.limit);
        return post({ type: 'occurrences', id: m.id, total: r.total, items: r.items });
      }
      case 'report':
        return report(m.id, m.format);
      case 'recording': {
        const o = need();
        if (!o.converted) throw new Error('the original file is the recording');
        return post({ type: 'file', id: m.id, name: `${o.name.replace(/\.[^.]*$/, '') || 'imported'}.stmrec`, mime: 'application/octet-stream', data: o.converted });
      }
      case 'trace': {
        const o = need();
        const stem = o.name.replace(/\.[^.]*$/, '') || 'stmscope';
        if (m.format === 'chrome') {
          // Streamed in pieces into a Blob: no single giant string.
          const parts = [...chromeTraceChunks(o.ingest.store!, { meta: o.ingest.meta, generator: 'stmscope dashboard' })];
          return post({ type: 'file', id: m.id, name: `${stem}.trace.json`, mime: 'application/json', data: new Blob(parts, { type: 'application/json' }) });
        }
        const file = speedscopeFromStore(o.ingest.store!, { name: `${o.name}: time lost to conflicts`, exporter: 'stmscope dashboard' });
        return post({ type: 'file', id: m.id, name: `${stem}.speedscope.json`, mime: 'application/json', data: JSON.stringify(file) });
      }
    }
  };
  run().catch((e: unknown) => post({ type: 'error', id: m.id, message: e instanceof Error ? e.message : String(e) }));
};
