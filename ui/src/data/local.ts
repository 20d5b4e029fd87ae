/**
 * A recording opened from disk: parsed and queried in the dashboard's Web
 * Worker (ui/src/worker/local.worker.ts). Nothing is uploaded anywhere.
 */

import type { Occurrence, WindowQuery, WindowResult } from '../../../model/protocol.ts';
import type { FromWorker, OpenedInfo, ToWorker } from '../worker/messages.ts';
import { fileStem, type Download, type ReportFormat, type SessionBackend, type SessionData, type SourceSnippet, type TraceFormat } from './backend.ts';
import type { AggregateSnapshot } from '../../../model/aggregate.ts';
import { timed } from './busy.ts';

type Pending = { resolve: (m: FromWorker) => void; reject: (e: Error) => void };

export interface LocalOpenResult {
  backend: LocalBackend;
  info: OpenedInfo;
  data: SessionData;
}

export class LocalBackend implements SessionBackend {
  readonly kind = 'local' as const;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closed = false;
  private snapshot: AggregateSnapshot | undefined;
  /** the input was converted (PyPy-STM log): the recording comes from the worker */
  private converted = false;

  private constructor(
    private readonly worker: Worker,
    private readonly file: Blob,
    readonly name: string,
    private readonly onProgress: (bytes: number, total: number) => void,
  ) {
    worker.onmessage = (ev: MessageEvent<FromWorker>) => timed(() => this.onMessage(ev));
    worker.onerror = (ev) => {
      const err = new Error(`The dashboard's worker failed: ${ev.message || 'unknown error'}`);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
  }

  private onMessage(ev: MessageEvent<FromWorker>): void {
    const m = ev.data;
    if (m.type === 'progress') {
      this.onProgress(m.bytes, m.total);
      return;
    }
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.type === 'error') p.reject(new Error(m.message));
    else p.resolve(m);
  }

  /** Starts a worker and opens `file` in it. */
  static async open(file: Blob, name: string, onProgress: (bytes: number, total: number) => void = () => {}): Promise<LocalOpenResult> {
    const worker = new Worker(new URL('../worker/local.worker.ts', import.meta.url), { type: 'module', name: 'stmscope-local' });
    const b = new LocalBackend(worker, file, name, onProgress);
    try {
      const m = await b.request({ type: 'open', id: 0, file, name });
      if (m.type !== 'opened') throw new Error('unexpected answer from the worker');
      b.snapshot = m.snapshot;
      b.converted = !!m.info.imported;
      return { backend: b, info: m.info, data: { seq: 1, live: false, snapshot: m.snapshot, bounds: m.bounds, workers: m.workers } };
    } catch (e) {
      b.close();
      throw e;
    }
  }

  private request(msg: ToWorker): Promise<FromWorker> {
    if (this.closed) return Promise.reject(new Error('this recording was closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...msg, id });
    });
  }

  async window(query: WindowQuery): Promise<WindowResult> {
    const m = await this.request({ type: 'window', id: 0, query });
    if (m.type !== 'window') throw new Error('unexpected answer');
    return m.result;
  }

  async occurrences(groupKey: string, offset: number, limit: number): Promise<{ total: number; items: Occurrence[] }> {
    const m = await this.request({ type: 'occurrences', id: 0, groupKey, offset, limit });
    if (m.type !== 'occurrences') throw new Error('unexpected answer');
    return { total: m.total, items: m.items };
  }

  /** A recording carries only the text of the lines it names: one line, no context. */
  async source(file: string, line: number): Promise<SourceSnippet | null> {
    const snap = this.snapshot;
    if (!snap) return null;
    for (const g of snap.groups) {
      for (const side of [g.victim, g.culprit]) {
        if (!side) continue;
        for (const st of side.stacks) for (const f of st.frames) if (f.file === file && f.line === line && f.text) return { file, startLine: line, lines: [f.text], line, origin: 'recording' };
      }
    }
    return null;
  }

  async report(format: ReportFormat): Promise<Download> {
    const m = await this.request({ type: 'report', id: 0, format });
    if (m.type !== 'file') throw new Error('unexpected answer');
    return { name: m.name, type: m.mime, blob: m.data instanceof Blob ? m.data : new Blob([m.data], { type: m.mime }) };
  }

  async recording(): Promise<Download> {
    if (this.converted) {
      const m = await this.request({ type: 'recording', id: 0 });
      if (m.type !== 'file') throw new Error('unexpected answer');
      return { name: m.name, type: m.mime, blob: m.data instanceof Blob ? m.data : new Blob([m.data], { type: m.mime }) };
    }
    return { name: `${fileStem(this.name)}.stmrec`, type: 'application/octet-stream', blob: this.file };
  }

  async traceExport(format: TraceFormat): Promise<Download> {
    const m = await this.request({ type: 'trace', id: 0, format });
    if (m.type !== 'file') throw new Error('unexpected answer');
    return { name: m.name, type: m.mime, blob: m.data instanceof Blob ? m.data : new Blob([m.data], { type: m.mime }) };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.worker.terminate();
    const err = new Error('this recording was closed');
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
