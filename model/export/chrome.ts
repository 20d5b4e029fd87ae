/**
 * A recording as Chrome Trace Event JSON, the format Perfetto UI
 * (ui.perfetto.dev) and chrome://tracing open
 * (../shared/reference/style.md §2).
 *
 * ```
 * {"displayTimeUnit":"ns","otherData":{…},"traceEvents":[
 *   M process_name / thread_name / thread_sort_index      one track (tid) per worker
 *   X "transfer"        ts dur  args {outcome, attempt, retries, object, victimStack, culpritStack, …}
 *     X "wait: backoff" nested in its attempt, or between attempts
 *     X "abort: write-write on stats.hits"  dur 0 at the abort, flow_in  ◄──┐
 *   X "transfer" (the culprit's attempt)     bind_id, flow_out ───────────────┘
 * ]}
 * ```
 *
 * Arrows use the v2 flow fields on X slices (`bind_id` + `flow_out` on the
 * culprit's attempt, `bind_id` + `flow_in` on the victim's zero-length abort
 * slice): Perfetto begins a flow at `flow_out` and ends it at `flow_in`
 * without closing it (json_trace_parser_impl.cc, MaybeAddFlow), so one
 * culprit commit fans out to all the aborts it caused with one id; B/E slices
 * do not carry flows in chrome://tracing (catapult #2394). The arrow ends on a
 * zero-length slice at the abort, not on the victim's attempt, because Perfetto
 * reads events in timestamp order: the victim often started before the
 * culprit. Events are written in timestamp order too (attempts before the
 * abort and blocked slices of the same instant), so readers that bind flows
 * in file order agree. Perfetto ignores `stackFrames`, so stacks go in `args`.
 * Timestamps are µs with ns precision (three decimals), exact decimal text.
 * `args: 'brief'` keeps only classifying args, for speedscope, which names a
 * frame `name + JSON(args)` and ignores flows (docs/EXPORTS.md §1).
 *
 * The output is produced in pieces ({@link chromeTraceChunks}) so a CLI can
 * stream a big trace to a file without building one giant string.
 */

import type { Frame } from '../defs.ts';
import type { RecordingMeta } from '../format.ts';
import { Outcome } from '../assemble.ts';
import { CONFLICT_KIND_NAMES, TxFlag, WAIT_REASON_NAMES } from '../records.ts';
import type { EventStore } from '../store.ts';

/** Options of {@link chromeTraceChunks}. */
export interface ChromeTraceOptions {
  /** The recording's META (program name, pid, `workerNames`). */
  meta?: RecordingMeta;
  /** Frames kept per stack in `args`. Default 16. */
  maxFrames?: number;
  /** Trace events per yielded piece. Default 2000. */
  chunkEvents?: number;
  /** Write waits as slices. Default true. */
  waits?: boolean;
  /** `otherData.generator`. Default "stmscope". */
  generator?: string;
  /**
   * Slice `args`. `full` (default): everything in docs/EXPORTS.md §1, for
   * Perfetto's details panel. `brief`: only what classifies a slice
   * (attempts: `outcome`, and for aborts `conflict` + the innermost `victim`
   * frame; waits and markers: none), for viewers that key slices by name and
   * args: speedscope names a frame `name + JSON(args)`, so with per-attempt
   * ids every attempt is its own frame and Sandwich lists thousands of rows.
   * Flows are written either way.
   */
  args?: 'full' | 'brief';
}

/** Counts of what was written (filled while the chunks are consumed). */
export interface ChromeTraceStats {
  /** X slices (attempts, waits, abort and blocked markers). */
  slices: number;
  /** Flow arrows (victims bound to a culprit). */
  flows: number;
  /** Aborts/blocked waits whose culprit transaction was not found (not recorded, dropped, never committed). */
  unboundConflicts: number;
  /** Metadata events. */
  metadata: number;
}

/** Phases this exporter writes. */
export type ChromePhase = 'X' | 'M' | 'i';

/** The shape of one written event (for readers and tests). */
export interface ChromeTraceEvent {
  name: string;
  cat?: string;
  ph: ChromePhase;
  ts?: number;
  dur?: number;
  pid: number;
  tid: number;
  s?: 't' | 'p' | 'g';
  args?: Record<string, unknown>;
  bind_id?: number;
  flow_in?: boolean;
  flow_out?: boolean;
}

/** tid of a worker: tid 0 is the idle/swapper thread in Perfetto's model, so workers start at 1. */
export const workerTid = (worker: number): number => worker + 1;

/** Exact µs text of an integer ns time: 1234567 → "1234.567". */
export function usText(ns: number): string {
  const n = Math.max(0, Math.round(ns));
  const us = Math.floor(n / 1000);
  const frac = n - us * 1000;
  if (frac === 0) return String(us);
  return `${us}.${String(frac).padStart(3, '0').replace(/0+$/, '')}`;
}

const q = JSON.stringify;

function frameText(f: Frame): string {
  const loc = f.line ? `${f.file}:${f.line}:${f.column}` : f.file;
  return f.function ? `${f.function} (${loc})` : loc;
}

function basename(p: string): string {
  const i = Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\'));
  return i >= 0 ? p.slice(i + 1) : p;
}

/** Rows of a table grouped per worker, each list in row order (= time order per worker). */
function rowsByWorker(n: number, worker: ArrayLike<number>): Int32Array[] {
  const counts = new Int32Array(256);
  for (let r = 0; r < n; r++) counts[worker[r]]++;
  const lists = Array.from(counts, (c) => new Int32Array(c));
  const fill = new Int32Array(256);
  for (let r = 0; r < n; r++) {
    const w = worker[r];
    lists[w][fill[w]++] = r;
  }
  return lists;
}

/** Merges per-worker row lists into one list ordered by `time` (stable per worker). */
function mergeByTime(lists: Int32Array[], time: ArrayLike<number>): Int32Array {
  let total = 0;
  for (const l of lists) total += l.length;
  const out = new Int32Array(total);
  const live = lists.filter((l) => l.length > 0);
  const pos = new Int32Array(live.length);
  // A small binary heap over the workers' heads.
  const heap: number[] = [];
  const key = (i: number) => time[live[i][pos[i]]];
  const less = (a: number, b: number) => key(a) < key(b) || (key(a) === key(b) && a < b);
  const up = (k: number) => {
    while (k > 0) {
      const p = (k - 1) >> 1;
      if (!less(heap[k], heap[p])) break;
      [heap[k], heap[p]] = [heap[p], heap[k]];
      k = p;
    }
  };
  const down = (k: number) => {
    for (;;) {
      const l = 2 * k + 1;
      if (l >= heap.length) break;
      let m = l;
      if (l + 1 < heap.length && less(heap[l + 1], heap[l])) m = l + 1;
      if (!less(heap[m], heap[k])) break;
      [heap[k], heap[m]] = [heap[m], heap[k]];
      k = m;
    }
  };
  for (let i = 0; i < live.length; i++) {
    heap.push(i);
    up(heap.length - 1);
  }
  let o = 0;
  while (heap.length) {
    const i = heap[0];
    out[o++] = live[i][pos[i]++];
    if (pos[i] < live[i].length) down(0);
    else {
      const last = heap.pop()!;
      if (heap.length) {
        heap[0] = last;
        down(0);
      }
    }
  }
  return out;
}

/**
 * The trace as JSON text pieces; concatenated they are one JSON document.
 * `stats` (optional) is filled as the pieces are consumed.
 */
export function* chromeTraceChunks(store: EventStore, opts: ChromeTraceOptions = {}, stats?: ChromeTraceStats): Generator<string> {
  const st: ChromeTraceStats = stats ?? { slices: 0, flows: 0, unboundConflicts: 0, metadata: 0 };
  const defs = store.defs;
  const meta = opts.meta ?? {};
  const maxFrames = opts.maxFrames ?? 16;
  const brief = opts.args === 'brief';
  const chunkEvents = Math.max(1, opts.chunkEvents ?? 2000);
  const pid = typeof meta.pid === 'number' && meta.pid > 0 ? meta.pid : 1;
  const A = store.attempts.cols;
  const nA = store.attempts.length;
  const AB = store.aborts.cols;
  const nAB = store.aborts.length;
  const WT = store.waits.cols;
  const nW = opts.waits === false ? 0 : store.waits.length;
  const BL = store.blockedWaits.cols;
  const nBL = store.blockedWaits.length;

  // -- culprits: which attempt is the source of each abort's / blocked wait's arrow --
  const attemptsByWorker = rowsByWorker(nA, A.worker);
  const posInWorker = new Int32Array(nA);
  for (const list of attemptsByWorker) for (let i = 0; i < list.length; i++) posInWorker[list[i]] = i;
  /**
   * The source of a conflict's arrow: the culprit transaction's committed
   * attempt when it started by time t, else the earlier attempt of the same
   * transaction that was running at t (the one that held the object, before
   * it was retried), else none.
   */
  const sourceAttempt = (worker: number, txSeq: number, t: number): number => {
    if (worker < 0 || worker > 254) return -1;
    const committed = store.committedAttempt(worker, txSeq);
    if (committed < 0) return -1;
    if (A.start[committed] <= t) return committed;
    const list = attemptsByWorker[worker];
    for (let p = posInWorker[committed] - 1; p >= 0; p--) {
      const r = list[p];
      if (A.txSeq[r] !== txSeq) break;
      if (A.start[r] <= t) return A.end[r] >= t ? r : -1;
    }
    return -1;
  };
  const abortSource = new Int32Array(nAB).fill(-1);
  const blockedSource = new Int32Array(nBL).fill(-1);
  const isSource = new Uint8Array(nA);
  for (let r = 0; r < nAB; r++) {
    const s = sourceAttempt(AB.culpritWorker[r], AB.culpritTxSeq[r], AB.time[r]);
    abortSource[r] = s;
    if (s >= 0) isSource[s] = 1;
    else st.unboundConflicts++;
  }
  for (let r = 0; r < nBL; r++) {
    const s = sourceAttempt(BL.blockerWorker[r], BL.blockerTxSeq[r], BL.time[r]);
    blockedSource[r] = s;
    if (s >= 0) isSource[s] = 1;
    else st.unboundConflicts++;
  }

  // -- cached text -------------------------------------------------------------
  const stackCache = new Map<number, string>();
  const stackJson = (worker: number, site: number): string => {
    if (worker < 0 || site === 0) return '[]';
    const k = worker * 4294967296 + site;
    let s = stackCache.get(k);
    if (s === undefined) {
      const frames = defs.siteFrames(worker, site).slice(0, maxFrames);
      s = q(frames.map(frameText));
      stackCache.set(k, s);
    }
    return s;
  };
  /** Innermost frame of a site as text, `""` when unknown. */
  const leafCache = new Map<number, string>();
  const leafText = (worker: number, site: number): string => {
    if (worker < 0 || site === 0) return '';
    const k = worker * 4294967296 + site;
    let s = leafCache.get(k);
    if (s === undefined) {
      const f = defs.siteFrames(worker, site)[0];
      s = f ? frameText(f) : '';
      leafCache.set(k, s);
    }
    return s;
  };
  const siteCache = new Map<number, string>();
  const siteLabel = (worker: number, site: number, short: boolean): string => {
    if (site === 0) return '';
    const k = (worker * 4294967296 + site) * 2 + (short ? 1 : 0);
    let s = siteCache.get(k);
    if (s === undefined) {
      const f = defs.site(worker, site);
      s = !f ? `(unknown site ${site})` : f.line ? `${short ? basename(f.file) : f.file}:${f.line}${short ? '' : `:${f.column}`}` : f.file;
      siteCache.set(k, s);
    }
    return s;
  };
  const objCache = new Map<string, string>();
  const objectLabel = (obj: number, field: number): string => {
    const k = `${obj}:${field}`;
    let s = objCache.get(k);
    if (s === undefined) {
      s = obj === 0 && field < 0 ? '' : defs.objectLabel(obj, field);
      objCache.set(k, s);
    }
    return s;
  };
  const kindName = (k: number) => CONFLICT_KIND_NAMES[k] ?? `kind-${k}`;
  const workerNames = (meta.workerNames && typeof meta.workerNames === 'object' ? meta.workerNames : {}) as Record<string, unknown>;

  // -- header and metadata -----------------------------------------------------
  const argv = Array.isArray(meta.argv) ? meta.argv.map(String) : [];
  const program = argv.length ? argv.slice(1).map((a) => basename(a)).join(' ') || argv[0] : '';
  const processName = program ? `stmscope: ${program}` : 'stmscope recording';
  const otherData: Record<string, unknown> = { generator: opts.generator ?? 'stmscope', timeUnit: 'traceEvents ts/dur are µs with ns precision' };
  if (argv.length) otherData.argv = argv.join(' ');
  if (typeof meta.startTime === 'string') otherData.startTime = meta.startTime;
  yield `{"displayTimeUnit":"ns","otherData":${q(otherData)},"traceEvents":[\n`;

  let buf: string[] = [];
  let first = true;
  const push = (ev: string) => {
    buf.push(first ? ev : `,\n${ev}`);
    first = false;
  };
  const metaEv = (name: string, tid: number, args: Record<string, unknown>) => {
    push(`{"name":${q(name)},"ph":"M","pid":${pid},"tid":${tid},"args":${q(args)}}`);
    st.metadata++;
  };
  const seen = new Set<number>();
  for (let w = 0; w < 256; w++) if (attemptsByWorker[w].length) seen.add(w);
  for (let r = 0; r < nW; r++) seen.add(WT.worker[r]);
  for (let r = 0; r < store.drops.length; r++) if (store.drops.cols.worker[r] !== 255) seen.add(store.drops.cols.worker[r]);
  const workers = [...seen].sort((a, b) => a - b);
  metaEv('process_name', workerTid(workers[0] ?? 0), { name: processName });
  for (const w of workers) {
    const given = workerNames[String(w)];
    metaEv('thread_name', workerTid(w), { name: typeof given === 'string' ? `worker ${w}: ${given}` : `worker ${w}` });
    metaEv('thread_sort_index', workerTid(w), { sort_index: w });
  }

  // -- events in timestamp order -------------------------------------------------
  // Three per-worker-ordered streams merged by time: attempts (by start), waits
  // (by begin), conflict markers (aborts and blocked waits, by time).
  const attemptOrder = mergeByTime(attemptsByWorker, A.start);
  const waitOrder = nW ? mergeByTime(rowsByWorker(nW, WT.worker), WT.begin) : new Int32Array(0);
  const abortOrder = mergeByTime(rowsByWorker(nAB, AB.worker), AB.time);
  const blockedOrder = mergeByTime(rowsByWorker(nBL, BL.worker), BL.time);
  let ia = 0;
  let iw = 0;
  let ic = 0;
  let ib = 0;
  const INF = Infinity;
  let count = 0;
  for (;;) {
    const ta = ia < attemptOrder.length ? A.start[attemptOrder[ia]] : INF;
    const tw = iw < waitOrder.length ? WT.begin[waitOrder[iw]] : INF;
    const tc = ic < abortOrder.length ? AB.time[abortOrder[ic]] : INF;
    const tb = ib < blockedOrder.length ? BL.time[blockedOrder[ib]] : INF;
    const t = Math.min(ta, tw, tc, tb);
    if (t === INF) break;
    if (ta === t) attemptEvent(attemptOrder[ia++]);
    else if (tw === t) waitEvent(waitOrder[iw++]);
    else if (tc === t) abortEvent(abortOrder[ic++]);
    else blockedEvent(blockedOrder[ib++]);
    if (++count % chunkEvents === 0) {
      yield buf.join('');
      buf = [];
    }
  }
  for (let r = 0; r < store.drops.length; r++) {
    const D = store.drops.cols;
    const w = D.worker[r];
    push(
      `{"name":"events dropped","cat":"recording","ph":"i","s":${w === 255 ? '"p"' : '"t"'},"ts":${usText(D.time[r])},"pid":${pid},"tid":${workerTid(w === 255 ? (workers[0] ?? 0) : w)},"args":{"count":${D.count[r]}}}`,
    );
  }
  buf.push('\n]}\n');
  yield buf.join('');

  function attemptEvent(r: number): void {
    const w = A.worker[r];
    const outcome = A.outcome[r];
    const nameStr = store.attemptName(r);
    const site = siteLabel(w, A.site[r], true);
    const name = nameStr || (site ? `tx ${site}` : 'transaction');
    const flow = isSource[r] ? `,"bind_id":${r + 1},"flow_out":true` : '';
    const head = `{"name":${q(name)},"cat":"tx,${['committed', 'aborted', 'failed', 'unfinished'][outcome] ?? 'unknown'}","ph":"X","ts":${usText(A.start[r])},"dur":${usText(A.end[r] - A.start[r])},"pid":${pid},"tid":${workerTid(w)}${flow}`;
    st.slices++;
    if (brief) {
      const args = [`"outcome":${q(['committed', 'aborted', 'failed', 'unfinished'][outcome] ?? 'unknown')}`];
      const ab = A.abort[r];
      if (ab >= 0) {
        args.push(`"conflict":${q(kindName(AB.kind[ab]))}`);
        const v = leafText(w, AB.victimSite[ab]);
        if (v) args.push(`"victim":${q(v)}`);
      }
      push(`${head},"args":{${args.join(',')}}}`);
      return;
    }
    const args: string[] = [
      `"outcome":${q(['committed', 'aborted', 'failed', 'unfinished'][outcome] ?? 'unknown')}`,
      `"txSeq":${A.txSeq[r]}`,
      `"attempt":${A.attempt[r]}`,
      `"retries":${Math.max(0, A.attempt[r] - 1)}`,
    ];
    if (A.site[r]) args.push(`"site":${q(siteLabel(w, A.site[r], false))}`);
    if (outcome === Outcome.Committed) args.push(`"reads":${A.reads[r]}`, `"writes":${A.writes[r]}`);
    if (A.waitNs[r] > 0) args.push(`"waitNs":${A.waitNs[r]}`);
    if (A.flags[r] & TxFlag.Inevitable) args.push(`"inevitable":true`, `"inevitableNs":${A.inevitableNs[r]}`);
    const ab = A.abort[r];
    if (ab >= 0) {
      args.push(`"conflict":${q(kindName(AB.kind[ab]))}`);
      const obj = objectLabel(AB.object[ab], AB.field[ab]);
      if (obj) args.push(`"object":${q(obj)}`);
      args.push(`"timeLostNs":${AB.timeLostNs[ab]}`);
      args.push(`"victimStack":${stackJson(w, AB.victimSite[ab])}`);
      const cw = AB.culpritWorker[ab];
      if (cw >= 0) {
        args.push(`"culprit":{"worker":${cw},"txSeq":${AB.culpritTxSeq[ab]}}`);
        args.push(`"culpritStack":${stackJson(cw, AB.culpritSite[ab])}`);
      }
    }
    push(`${head},"args":{${args.join(',')}}}`);
  }

  function waitEvent(r: number): void {
    const w = WT.worker[r];
    const reason = WAIT_REASON_NAMES[WT.reason[r]] ?? `wait-${WT.reason[r]}`;
    st.slices++;
    const head = `{"name":${q(`wait: ${reason}`)},"cat":"wait","ph":"X","ts":${usText(WT.begin[r])},"dur":${usText(WT.end[r] - WT.begin[r])},"pid":${pid},"tid":${workerTid(w)}`;
    if (brief) {
      push(`${head}}`);
      return;
    }
    const args: string[] = [`"reason":${q(reason)}`, `"inAttempt":${WT.inAttempt[r] === 1}`];
    if (WT.site[r]) args.push(`"site":${q(siteLabel(w, WT.site[r], false))}`);
    if (WT.blockerWorker[r] >= 0) args.push(`"blocker":{"worker":${WT.blockerWorker[r]},"txSeq":${WT.blockerTxSeq[r]}}`);
    push(`${head},"args":{${args.join(',')}}}`);
  }

  function abortEvent(r: number): void {
    const w = AB.worker[r];
    const kind = kindName(AB.kind[r]);
    const obj = objectLabel(AB.object[r], AB.field[r]);
    const args: string[] = [`"conflict":${q(kind)}`, `"timeLostNs":${AB.timeLostNs[r]}`];
    if (obj) args.push(`"object":${q(obj)}`);
    if (AB.victimSite[r]) args.push(`"victim":${q(siteLabel(w, AB.victimSite[r], false))}`);
    const cw = AB.culpritWorker[r];
    if (cw >= 0) {
      args.push(`"culprit":{"worker":${cw},"txSeq":${AB.culpritTxSeq[r]}${AB.culpritSite[r] ? `,"site":${q(siteLabel(cw, AB.culpritSite[r], false))}` : ''}}`);
    }
    const s = abortSource[r];
    const flow = s >= 0 ? `,"bind_id":${s + 1},"flow_in":true` : '';
    if (s >= 0) st.flows++;
    const head = `{"name":${q(`abort: ${kind}${obj ? ` on ${obj}` : ''}`)},"cat":"conflict","ph":"X","ts":${usText(AB.time[r])},"dur":0,"pid":${pid},"tid":${workerTid(w)}${flow}`;
    push(brief ? `${head}}` : `${head},"args":{${args.join(',')}}}`);
    st.slices++;
  }

  function blockedEvent(r: number): void {
    const w = BL.worker[r];
    const args: string[] = [`"conflict":"inevitable"`, `"blockedNs":${BL.waitNs[r]}`];
    if (BL.waiterSite[r]) args.push(`"waiter":${q(siteLabel(w, BL.waiterSite[r], false))}`);
    const bw = BL.blockerWorker[r];
    if (bw >= 0) {
      args.push(`"blocker":{"worker":${bw},"txSeq":${BL.blockerTxSeq[r]}${BL.blockerSite[r] ? `,"site":${q(siteLabel(bw, BL.blockerSite[r], false))}` : ''}}`);
      args.push(`"blockerStack":${stackJson(bw, BL.blockerSite[r])}`);
    }
    args.push(`"waiterStack":${stackJson(w, BL.waiterSite[r])}`);
    const s = blockedSource[r];
    const flow = s >= 0 ? `,"bind_id":${s + 1},"flow_in":true` : '';
    if (s >= 0) st.flows++;
    const head = `{"name":"blocked by inevitable transaction","cat":"conflict","ph":"X","ts":${usText(BL.time[r])},"dur":0,"pid":${pid},"tid":${workerTid(w)}${flow}`;
    push(brief ? `${head}}` : `${head},"args":{${args.join(',')}}}`);
    st.slices++;
  }
}

/** The whole trace as one string (small recordings, tests, the dashboard's download button). */
export function chromeTrace(store: EventStore, opts: ChromeTraceOptions = {}, stats?: ChromeTraceStats): string {
  let s = '';
  for (const piece of chromeTraceChunks(store, opts, stats)) s += piece;
  return s;
}
