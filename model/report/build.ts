/**
 * The report document: the JSON contract of `stmscope report --format json`
 * (schema `stmscope.report/1`, documented field by field in docs/REPORT.md),
 * built from an aggregate snapshot. The text, Markdown and HTML renderers all
 * render this same document, so every format says the same thing.
 *
 * Field names of the contract are never renamed; new fields may be
 * added (readers must ignore fields they do not know).
 */

import type { AggregateSnapshot, ConflictGroup, GroupSide } from '../aggregate.ts';
import type { DecodeStatus, RecordingMeta } from '../format.ts';
import { resample } from '../histogram.ts';

export const REPORT_SCHEMA = 'stmscope.report/1';

/** One stack frame; `text` is the source line ('' when unknown). */
export interface ReportFrame {
  file: string;
  line: number;
  column: number;
  function: string;
  text: string;
}

/** One side of a conflict. */
export interface ReportSide {
  /** The most frequent stack, innermost frame (the conflicting access) first. */
  frames: ReportFrame[];
  /** `file:line:column` of the access ('' unknown). */
  location: string;
  workers: number[];
  /** Up to 3 distinct stacks with their conflict counts, most frequent first. */
  stacks: Array<{ frames: ReportFrame[]; count: number }>;
}

export interface ReportObject {
  label: string;
  type: string;
  field: string;
  count: number;
  shape: string;
  timeLostNs: number;
}

export interface ReportConflict {
  /** 1-based rank by time lost. */
  rank: number;
  kind: string;
  count: number;
  timeLostNs: number;
  waitNs: number;
  blockedNs: number;
  victim: ReportSide;
  culprit: ReportSide | null;
  objects: ReportObject[];
  distinctObjects: number;
  advice: string | null;
  adviceRule: string | null;
  /** Conflicts per column over [0, durationNs] (`timeline.columns` columns; fractional after resampling). */
  timeline: number[];
}

export interface ReportHotObject {
  label: string;
  type: string;
  field: string;
  shape: string;
  conflicts: number;
  timeLostNs: number;
}

export interface ReportWorker {
  id: number;
  commits: number;
  aborts: number;
  fails: number;
  committedNs: number;
  abortedNs: number;
  waitingNs: number;
  inevitableNs: number;
  blockedNs: number;
  droppedEvents: number;
}

/** The whole report. */
export interface Report {
  schema: typeof REPORT_SCHEMA;
  generator: string;
  program: { argv: string[]; cwd: string; pid: number; startTime: string | null };
  durationNs: number;
  summary: {
    workers: number;
    commits: number;
    aborts: number;
    abortRatio: number;
    committedNs: number;
    abortedNs: number;
    waitingNs: number;
    droppedEvents: number;
    fails: number;
    failedNs: number;
    inevitableNs: number;
    blockedNs: number;
    unfinished: number;
    commitsPerSec: number;
    abortsPerSec: number;
    events: number;
    conflictGroups: number;
    /** commits were recorded for 1 transaction in this many (`stmscope record --sample`); commit figures are scaled up */
    sampleEvery: number;
  };
  conflicts: ReportConflict[];
  hotObjects: ReportHotObject[];
  workers: ReportWorker[];
  /** Rates over [0, durationNs] in `columns` equal columns. */
  timeline: { columns: number; columnNs: number; commits: number[]; aborts: number[]; timeLostNs: number[] };
  /** How complete the recording was. */
  recording: { complete: boolean; bytes: number; chunks: number; records: number; warnings: string[]; problem: string | null };
}

/** Options of {@link buildReport}. */
export interface BuildReportOptions {
  meta?: RecordingMeta;
  status?: DecodeStatus;
  /** Conflict groups listed. Default 10. */
  top?: number;
  /** Hot objects listed. Default 20. */
  topHotObjects?: number;
  /** Timeline columns. Default 60 (print_stm_log's time line). */
  columns?: number;
  /** `generator` field. Default "stmscope". */
  generator?: string;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** Builds the report document from a snapshot. */
export function buildReport(snap: AggregateSnapshot, opts: BuildReportOptions = {}): Report {
  const meta = opts.meta ?? {};
  const top = opts.top ?? 10;
  const columns = opts.columns ?? 60;
  const duration = Math.max(snap.durationNs, snap.lastNs);
  const bucketNs = snap.timeline.bucketNs;
  const cols = (s: number[]) => Array.from(resample(s, bucketNs, duration, columns), round2);
  const st = opts.status;
  // `--sample N` recordings hold every abort but only 1/N of the commits
  const sample = typeof meta.sampleEvery === 'number' && meta.sampleEvery > 1 ? Math.floor(meta.sampleEvery) : 1;
  const commits = snap.summary.commits * sample;
  return {
    schema: REPORT_SCHEMA,
    generator: opts.generator ?? 'stmscope',
    program: {
      argv: Array.isArray(meta.argv) ? meta.argv.map(String) : [],
      cwd: typeof meta.cwd === 'string' ? meta.cwd : '',
      pid: typeof meta.pid === 'number' ? meta.pid : 0,
      startTime: typeof meta.startTime === 'string' ? meta.startTime : null,
    },
    durationNs: snap.durationNs,
    summary: {
      workers: snap.summary.workers,
      commits,
      aborts: snap.summary.aborts,
      abortRatio: sample === 1 ? snap.summary.abortRatio : snap.summary.aborts / Math.max(1, commits + snap.summary.aborts),
      committedNs: snap.summary.committedNs * sample,
      abortedNs: snap.summary.abortedNs,
      waitingNs: snap.summary.waitingNs,
      droppedEvents: snap.summary.droppedEvents,
      fails: snap.summary.fails,
      failedNs: snap.summary.failedNs,
      inevitableNs: snap.summary.inevitableNs,
      blockedNs: snap.summary.blockedNs,
      unfinished: snap.summary.unfinished,
      commitsPerSec: snap.summary.commitsPerSec * sample,
      abortsPerSec: snap.summary.abortsPerSec,
      events: snap.events,
      conflictGroups: snap.groupCount,
      sampleEvery: sample,
    },
    conflicts: snap.groups.slice(0, top).map((g, i) => conflict(g, i + 1, (h) => cols(h))),
    hotObjects: snap.hotObjects.slice(0, opts.topHotObjects ?? 20).map((h) => ({
      label: h.label,
      type: h.type,
      field: h.field,
      shape: h.shape,
      conflicts: h.conflicts,
      timeLostNs: h.timeLostNs,
    })),
    workers: snap.workers.map((w) => ({
      id: w.id,
      commits: w.commits * sample,
      aborts: w.aborts,
      fails: w.fails,
      committedNs: w.committedNs * sample,
      abortedNs: w.abortedNs,
      waitingNs: w.waitingNs,
      inevitableNs: w.inevitableNs,
      blockedNs: w.blockedNs,
      droppedEvents: w.droppedEvents,
    })),
    timeline: {
      columns,
      columnNs: duration / columns,
      commits: cols(snap.timeline.commits).map((c) => c * sample),
      aborts: cols(snap.timeline.aborts),
      timeLostNs: cols(snap.timeline.timeLostNs).map(Math.round),
    },
    recording: {
      complete: st ? st.complete : true,
      bytes: st?.bytes ?? 0,
      chunks: st?.chunks ?? 0,
      records: st?.records ?? 0,
      warnings: st?.warnings ?? [],
      problem: st?.problem ? (st.message ?? st.problem.message) : null,
    },
  };
}

function side(s: GroupSide): ReportSide {
  const stacks = s.stacks.map((x) => ({ frames: x.frames.map((f) => ({ ...f })), count: x.count }));
  return { frames: stacks[0]?.frames ?? [], location: s.location, workers: s.workers, stacks };
}

function conflict(g: ConflictGroup, rank: number, cols: (h: number[]) => number[]): ReportConflict {
  return {
    rank,
    kind: g.kind,
    count: g.count,
    timeLostNs: g.timeLostNs,
    waitNs: g.waitNs,
    blockedNs: g.blockedNs,
    victim: side(g.victim),
    culprit: g.culprit ? side(g.culprit) : null,
    objects: g.objects.map((o) => ({ label: o.label, type: o.type, field: o.field, count: o.count, shape: o.shape, timeLostNs: o.timeLostNs })),
    distinctObjects: g.distinctObjects,
    advice: g.advice?.text ?? null,
    adviceRule: g.advice?.rule ?? null,
    timeline: cols(g.histogram),
  };
}

/** Every frame of a report (to fill in missing source text, for instance). */
export function* reportFrames(r: Report): Generator<ReportFrame> {
  for (const c of r.conflicts) {
    for (const s of [c.victim, c.culprit]) {
      if (!s) continue;
      for (const st of s.stacks) yield* st.frames;
      yield* s.frames;
    }
  }
}
