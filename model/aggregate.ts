/**
 * Streaming aggregation of a recording: summary figures, per-worker figures,
 * conflict groups, hot objects and rates per time bucket, in memory bounded by
 * the program (its sites, objects and workers), not by the number of events, so
 * `stmscope report` reads files larger than memory and the server keeps live
 * aggregates of long sessions.
 *
 * Definitions of the figures (also in docs/REPORT.md):
 *
 * - run time of an attempt = end − start − its waits (outermost waits inside it).
 * - `committedNs` / `abortedNs` / `failedNs` = Σ run time of committed / aborted /
 *   failed attempts ("CPU time" as PyPy's print_stm_log counts it).
 * - `waitingNs` = Σ every wait (inside attempts, between them such as backoff).
 * - `inevitableNs` = Σ time attempts ran inevitable (overlaps committedNs).
 * - `blockedNs` = Σ time blocked by another worker's inevitable transaction.
 * - `abortRatio` = aborts / (commits + aborts + fails), 0 when nothing ran.
 * - per second figures divide by the wall time `durationNs`.
 * - `durationNs` = the END chunk's durationNs, or the last timestamp when the
 *   recording has no END (cut short); time 0 is the recording epoch.
 * - a conflict group = all aborts with the same (kind, victim location, culprit
 *   location), locations resolved to file:line:column, so the same code on two
 *   workers (different site ids) is one group. Blocked-by-inevitable waits form
 *   groups of kind `inevitable` (victim = where the waiter waited, culprit =
 *   where the blocker became inevitable).
 * - group `timeLostNs` = Σ run time of its aborted attempts (+ Σ blocked time
 *   for blocked-by-inevitable waits); `waitNs` = Σ waits inside those attempts
 *   + backoff waits that followed them before the retry (+ blocked time).
 *
 * Site ids are resolved only when a snapshot is taken: raw groups are keyed by
 * per-worker site ids while streaming, because a definition may arrive after
 * the event that uses it.
 */

import { CONFLICT_KIND_NAMES, ConflictKind } from './records.ts';
import { Definitions, type Frame } from './defs.ts';
import { EventAssembler, Outcome, type AssemblyAnomalies, type AttemptSink } from './assemble.ts';
import { TimeAxis } from './histogram.ts';
import type { RecordingEnd } from './format.ts';
import { adviseGroup } from './advice.ts';
import type { ConflictGroup, GroupObject, GroupSide, HotObject, StackExample } from './groups.ts';
import { CheckpointError, numbers, packArray, packNumber, unpackArray, unpackNumber, type PackedArray } from './checkpoint.ts';

/** Options of {@link Aggregator}. */
export interface AggregatorOptions {
  /** Distinct (object, field) pairs tracked per raw group; more are counted as overflow. Default 256. */
  maxObjectsPerGroup?: number;
  /** Distinct (object, field) pairs tracked for hot objects. Default 100 000. */
  maxHotObjects?: number;
  /** Buckets of the shared time axis. Default 512. */
  timeBuckets?: number;
}

/** One worker's figures. */
export interface WorkerFigures {
  id: number;
  commits: number;
  aborts: number;
  fails: number;
  committedNs: number;
  abortedNs: number;
  failedNs: number;
  waitingNs: number;
  inevitableNs: number;
  blockedNs: number;
  droppedEvents: number;
}

/** Whole-recording figures (see the module doc for definitions). */
export interface Summary {
  workers: number;
  commits: number;
  aborts: number;
  fails: number;
  unfinished: number;
  abortRatio: number;
  committedNs: number;
  abortedNs: number;
  failedNs: number;
  waitingNs: number;
  inevitableNs: number;
  blockedNs: number;
  droppedEvents: number;
  commitsPerSec: number;
  abortsPerSec: number;
  /** Times a transaction became inevitable. */
  inevitableSwitches: number;
}

export type { StackExample, GroupSide, GroupObject, ConflictGroup, HotObject } from './groups.ts';

/** Rates per time bucket over [0, durationNs]. */
export interface Timeline {
  bucketNs: number;
  commits: number[];
  aborts: number[];
  timeLostNs: number[];
  waitNs: number[];
  blockedNs: number[];
}

/** Everything the reports and the dashboard show, as plain data. */
export interface AggregateSnapshot {
  durationNs: number;
  firstNs: number;
  lastNs: number;
  /** Events read (a multi-record definition counts once), when known. */
  events: number;
  summary: Summary;
  workers: WorkerFigures[];
  /** Conflict groups, most time lost first (the first `topGroups` when limited). */
  groups: ConflictGroup[];
  /** Number of conflict groups before any `topGroups` limit. */
  groupCount: number;
  /** Hot objects, most conflicts first. */
  hotObjects: HotObject[];
  timeline: Timeline;
  anomalies?: AssemblyAnomalies;
}

/** What {@link Aggregator.saveState} returns: plain JSON (see model/checkpoint.ts). */
export interface AggregatorState {
  v: 1;
  axis: { bucketNs: number; size: number };
  limits: number[];
  totals: Array<number | string>;
  workers: PackedArray[];
  lastAbortGroup: number[];
  series: PackedArray[];
  sites: number[];
  groups: Array<{ k: number[]; n: number[]; o: number[][]; h: PackedArray }>;
  hot: number[][];
  hotOverflow: number;
  end: RecordingEnd | null;
}

/** Options of {@link Aggregator.snapshot}. */
export interface SnapshotOptions {
  /** Keep only the first N groups (by time lost). Default all. */
  topGroups?: number;
  /** Keep only the first N hot objects. Default 50. */
  topHotObjects?: number;
  /** Objects listed per group. Default 10. */
  objectsPerGroup?: number;
  /** Compute advice. Default true. */
  advice?: boolean;
}

const TWO32 = 4294967296;
const W = 256;
// Local copies: imported bindings are getter calls under tsx.
const COMMITTED = Outcome.Committed;
const ABORTED = Outcome.Aborted;
const FAILED = Outcome.Failed;
const KIND_INEVITABLE = ConflictKind.Inevitable;

/** Key of an (object, field) pair: a number when exact, else a string. */
function objKey(obj: number, field: number): number | string {
  const f = field + 1;
  return f >= 0 && f < 2097152 ? obj + f * TWO32 : `${obj}:${field}`;
}

class RawGroup {
  count = 0;
  timeLost = 0;
  wait = 0;
  blocked = 0;
  /** blocked events whose blocker ran inevitable because it hit the retry limit */
  retryLimitBlocks = 0;
  readonly objIndex = new Map<number | string, number>();
  readonly objId: number[] = [];
  readonly objField: number[] = [];
  readonly objCount: number[] = [];
  readonly objLost: number[] = [];
  objOverflow = 0;
  objOverflowDistinct = 0;
  constructor(
    readonly kind: number,
    readonly vw: number,
    readonly vs: number,
    readonly cw: number,
    readonly cs: number,
    readonly hist: Float64Array,
  ) {}
}

/**
 * Streaming aggregator. Feed it decoded records ({@link addRecords}) or use it
 * as the {@link AttemptSink} of a shared {@link EventAssembler}; call
 * {@link snapshot} any time (live) or at the end.
 */
export class Aggregator implements AttemptSink {
  private readonly axis: TimeAxis;
  private readonly maxObjects: number;
  private readonly maxHot: number;
  private assembler: EventAssembler | undefined;
  private end: RecordingEnd | undefined;

  // Totals.
  private commits = 0;
  private aborts = 0;
  private fails = 0;
  private unfinished = 0;
  private committedNs = 0;
  private abortedNs = 0;
  private failedNs = 0;
  private waitingNs = 0;
  private inevitableNs = 0;
  private blockedNs = 0;
  private droppedTotal = 0;
  private inevitableSwitches = 0;
  private firstNs = Infinity;
  private lastNs = 0;

  // Per worker.
  private readonly wSeen = new Uint8Array(W);
  private readonly wCommits = new Float64Array(W);
  private readonly wAborts = new Float64Array(W);
  private readonly wFails = new Float64Array(W);
  private readonly wCommittedNs = new Float64Array(W);
  private readonly wAbortedNs = new Float64Array(W);
  private readonly wFailedNs = new Float64Array(W);
  private readonly wWaitingNs = new Float64Array(W);
  private readonly wInevNs = new Float64Array(W);
  private readonly wBlockedNs = new Float64Array(W);
  private readonly wDropped = new Float64Array(W);
  private readonly lastAbortGroup: Array<RawGroup | undefined> = new Array(W);

  // Timeline series.
  private readonly tCommits: Float64Array;
  private readonly tAborts: Float64Array;
  private readonly tLost: Float64Array;
  private readonly tWait: Float64Array;
  private readonly tBlocked: Float64Array;

  // Raw groups keyed by (kind, worker-site victim, worker-site culprit).
  private readonly siteIndex = new Map<number, number>();
  private readonly groups = new Map<number, RawGroup>();
  private readonly groupList: RawGroup[] = [];

  // Hot objects.
  private readonly hotIndex = new Map<number | string, number>();
  private readonly hotObj: number[] = [];
  private readonly hotField: number[] = [];
  private readonly hotCount: number[] = [];
  private readonly hotLost: number[] = [];
  private hotOverflow = 0;

  constructor(
    readonly defs: Definitions = new Definitions(),
    opts: AggregatorOptions = {},
  ) {
    this.axis = new TimeAxis(opts.timeBuckets);
    this.maxObjects = opts.maxObjectsPerGroup ?? 256;
    this.maxHot = opts.maxHotObjects ?? 100_000;
    this.tCommits = this.axis.newSeries();
    this.tAborts = this.axis.newSeries();
    this.tLost = this.axis.newSeries();
    this.tWait = this.axis.newSeries();
    this.tBlocked = this.axis.newSeries();
  }

  /** Adds decoded records (runs a private {@link EventAssembler} on this aggregator's definitions). */
  addRecords(words: Uint32Array, first = 0, count = (words.length >>> 3) - first): void {
    if (!this.assembler) this.assembler = new EventAssembler(this.defs, this);
    this.assembler.records(words, first, count);
  }

  /** Ends a recording fed by {@link addRecords}: closes open attempts as unfinished. */
  finish(): void {
    this.assembler?.flush();
  }

  /**
   * Shares an assembler fed elsewhere (a pipeline with a store) so snapshots
   * report its event count and anomalies. {@link addRecords} then feeds it too.
   */
  useAssembler(asm: EventAssembler): void {
    this.assembler = asm;
  }

  /** The END chunk's totals (its durationNs defines the wall time). */
  setEnd(totals: RecordingEnd | undefined): void {
    this.end = totals;
  }

  // -- AttemptSink ----------------------------------------------------------

  attempt(worker: number, _txSeq: number, _attempt: number, startNs: number, endNs: number, outcome: number, _flags: number, _name: number, _site: number, waitNs: number, inevitableNs: number): void {
    this.wSeen[worker] = 1;
    if (startNs < this.firstNs) this.firstNs = startNs;
    if (endNs > this.lastNs) this.lastNs = endNs;
    const run = Math.max(0, endNs - startNs - waitNs);
    this.inevitableNs += inevitableNs;
    this.wInevNs[worker] += inevitableNs;
    switch (outcome) {
      case COMMITTED:
        this.commits++;
        this.committedNs += run;
        this.wCommits[worker]++;
        this.wCommittedNs[worker] += run;
        this.tCommits[this.axis.index(endNs)]++;
        this.lastAbortGroup[worker] = undefined;
        break;
      case ABORTED:
        this.aborts++;
        this.abortedNs += run;
        this.wAborts[worker]++;
        this.wAbortedNs[worker] += run;
        break;
      case FAILED:
        this.fails++;
        this.failedNs += run;
        this.wFails[worker]++;
        this.wFailedNs[worker] += run;
        this.lastAbortGroup[worker] = undefined;
        break;
      default:
        this.unfinished++;
        this.lastAbortGroup[worker] = undefined;
    }
  }

  abort(worker: number, _txSeq: number, timeNs: number, kind: number, object: number, field: number, victimSite: number, culpritWorker: number, _culpritTxSeq: number, culpritSite: number, waitNs: number, timeLostNs: number): void {
    const g = this.group(kind, worker, victimSite, culpritWorker, culpritSite);
    const b = this.axis.index(timeNs);
    g.count++;
    g.timeLost += timeLostNs;
    g.wait += waitNs;
    g.hist[b]++;
    this.tAborts[b]++;
    this.tLost[b] += timeLostNs;
    this.lastAbortGroup[worker] = g;
    if (object !== 0 || field >= 0) {
      this.groupObject(g, object, field, timeLostNs);
      this.hotObject(object, field, timeLostNs);
    }
  }

  wait(worker: number, _txSeq: number, beginNs: number, endNs: number, _reason: number, _bw: number, _btx: number, _site: number, inAttempt: boolean): void {
    const d = endNs - beginNs;
    this.wSeen[worker] = 1;
    if (endNs > this.lastNs) this.lastNs = endNs;
    this.waitingNs += d;
    this.wWaitingNs[worker] += d;
    this.tWait[this.axis.index(endNs)] += d;
    // A wait between an abort and the retry (backoff) is charged to that conflict.
    if (!inAttempt) {
      const g = this.lastAbortGroup[worker];
      if (g) g.wait += d;
    }
  }

  blocked(
    worker: number,
    _txSeq: number,
    timeNs: number,
    blockerWorker: number,
    _blockerTxSeq: number,
    blockerSite: number,
    waitNs: number,
    waiterSite: number,
    blockerReason = -1,
  ): void {
    const g = this.group(KIND_INEVITABLE, worker, waiterSite, blockerWorker, blockerSite);
    const b = this.axis.index(timeNs);
    g.count++;
    if (blockerReason === 1) g.retryLimitBlocks++;
    g.timeLost += waitNs;
    g.wait += waitNs;
    g.blocked += waitNs;
    g.hist[b]++;
    this.tBlocked[b] += waitNs;
    this.tLost[b] += waitNs;
    this.blockedNs += waitNs;
    this.wBlockedNs[worker] += waitNs;
  }

  inevitable(): void {
    this.inevitableSwitches++;
  }

  fail(): void {}

  dropped(worker: number, timeNs: number, count: number): void {
    this.droppedTotal += count;
    this.wDropped[worker] += count;
    if (timeNs > this.lastNs) this.lastNs = timeNs;
  }

  // -- internals ------------------------------------------------------------

  private siteIdx(worker: number, site: number): number {
    const k = (worker & 0x1ff) * TWO32 + site;
    let i = this.siteIndex.get(k);
    if (i === undefined) {
      i = this.siteIndex.size;
      this.siteIndex.set(k, i);
    }
    return i;
  }

  private group(kind: number, vw: number, vs: number, cw: number, cs: number): RawGroup {
    // kind < 2^11, site indexes < 2^21 each: the key stays an exact double.
    const key = (kind & 0x7ff) * 4398046511104 + this.siteIdx(vw, vs) * 2097152 + this.siteIdx(cw, cw < 0 ? 0 : cs);
    let g = this.groups.get(key);
    if (!g) {
      g = new RawGroup(kind, vw, vs, cw, cw < 0 ? 0 : cs, this.axis.newSeries());
      this.groups.set(key, g);
      this.groupList.push(g);
    }
    return g;
  }

  private groupObject(g: RawGroup, obj: number, field: number, lost: number): void {
    const k = objKey(obj, field);
    let i = g.objIndex.get(k);
    if (i === undefined) {
      if (g.objId.length >= this.maxObjects) {
        g.objOverflow++;
        return;
      }
      i = g.objId.length;
      g.objIndex.set(k, i);
      g.objId.push(obj);
      g.objField.push(field);
      g.objCount.push(0);
      g.objLost.push(0);
    }
    g.objCount[i]++;
    g.objLost[i] += lost;
  }

  private hotObject(obj: number, field: number, lost: number): void {
    const k = objKey(obj, field);
    let i = this.hotIndex.get(k);
    if (i === undefined) {
      if (this.hotObj.length >= this.maxHot) {
        this.hotOverflow++;
        return;
      }
      i = this.hotObj.length;
      this.hotIndex.set(k, i);
      this.hotObj.push(obj);
      this.hotField.push(field);
      this.hotCount.push(0);
      this.hotLost.push(0);
    }
    this.hotCount[i]++;
    this.hotLost[i] += lost;
  }

  // -- checkpoint -------------------------------------------------------------

  /**
   * Everything counted so far as plain JSON (sparse typed arrays): with
   * {@link loadState} a fresh aggregator continues exactly where this one is,
   * although the events before were dropped (server/session/retention.ts).
   * Definitions are not included: they travel as records. The result shares
   * nothing with the aggregator (later events do not change it).
   */
  saveState(): AggregatorState {
    const totals = [
      this.commits, this.aborts, this.fails, this.unfinished, this.committedNs, this.abortedNs, this.failedNs,
      this.waitingNs, this.inevitableNs, this.blockedNs, this.droppedTotal, this.inevitableSwitches, this.firstNs, this.lastNs,
    ].map(packNumber);
    const index = new Map(this.groupList.map((g, i) => [g, i]));
    const last: number[] = [];
    for (let w = 0; w < W; w++) last.push(this.lastAbortGroup[w] ? index.get(this.lastAbortGroup[w]!)! : -1);
    return {
      v: 1,
      axis: this.axis.saveState(),
      limits: [this.maxObjects, this.maxHot],
      totals,
      workers: [this.wSeen, this.wCommits, this.wAborts, this.wFails, this.wCommittedNs, this.wAbortedNs, this.wFailedNs, this.wWaitingNs, this.wInevNs, this.wBlockedNs, this.wDropped].map(packArray),
      lastAbortGroup: last,
      series: [this.tCommits, this.tAborts, this.tLost, this.tWait, this.tBlocked].map(packArray),
      sites: [...this.siteIndex.entries()].sort((a, b) => a[1] - b[1]).map(([k]) => k),
      groups: this.groupList.map((g) => ({
        k: [g.kind, g.vw, g.vs, g.cw, g.cs],
        n: [g.count, g.timeLost, g.wait, g.blocked, g.retryLimitBlocks, g.objOverflow, g.objOverflowDistinct],
        o: [g.objId.slice(), g.objField.slice(), g.objCount.slice(), g.objLost.slice()],
        h: packArray(g.hist),
      })),
      hot: [this.hotObj.slice(), this.hotField.slice(), this.hotCount.slice(), this.hotLost.slice()],
      hotOverflow: this.hotOverflow,
      end: this.end ? { ...this.end } : null,
    };
  }

  /**
   * Replaces everything counted with a {@link saveState} result (of an
   * aggregator with the same options).
   * @throws CheckpointError when the state is malformed or does not fit
   */
  loadState(s: AggregatorState): void {
    if (!s || s.v !== 1) throw new CheckpointError('not an aggregator checkpoint of version 1');
    if (!Array.isArray(s.limits) || s.limits[0] !== this.maxObjects || s.limits[1] !== this.maxHot) {
      throw new CheckpointError(`aggregator checkpoint limits ${JSON.stringify(s.limits)} differ from this aggregator's [${this.maxObjects},${this.maxHot}]`);
    }
    this.axis.loadState(s.axis);
    const t = (s.totals ?? []).map((x, i) => unpackNumber(x, `totals[${i}]`));
    if (t.length !== 14) throw new CheckpointError('aggregator checkpoint totals are incomplete');
    [this.commits, this.aborts, this.fails, this.unfinished, this.committedNs, this.abortedNs, this.failedNs, this.waitingNs, this.inevitableNs, this.blockedNs, this.droppedTotal, this.inevitableSwitches, this.firstNs, this.lastNs] = t;
    const wa = [this.wSeen, this.wCommits, this.wAborts, this.wFails, this.wCommittedNs, this.wAbortedNs, this.wFailedNs, this.wWaitingNs, this.wInevNs, this.wBlockedNs, this.wDropped];
    if (!Array.isArray(s.workers) || s.workers.length !== wa.length) throw new CheckpointError('aggregator checkpoint workers are incomplete');
    wa.forEach((a, i) => unpackArray(s.workers[i], a, `workers[${i}]`));
    const ts = [this.tCommits, this.tAborts, this.tLost, this.tWait, this.tBlocked];
    if (!Array.isArray(s.series) || s.series.length !== ts.length) throw new CheckpointError('aggregator checkpoint series are incomplete');
    ts.forEach((a, i) => unpackArray(s.series[i], a, `series[${i}]`));
    this.siteIndex.clear();
    numbers(s.sites, 'sites').forEach((k, i) => this.siteIndex.set(k, i));
    this.groups.clear();
    this.groupList.length = 0;
    for (const [gi, p] of (s.groups ?? []).entries()) {
      const [kind, vw, vs, cw, cs] = numbers(p.k, `groups[${gi}].k`);
      const g = this.group(kind, vw, vs, cw, cs);
      const n = numbers(p.n, `groups[${gi}].n`);
      [g.count, g.timeLost, g.wait, g.blocked, g.retryLimitBlocks, g.objOverflow, g.objOverflowDistinct] = n;
      const [ids, fields, counts, lost] = (p.o ?? []).map((x, i) => numbers(x, `groups[${gi}].o[${i}]`));
      for (let i = 0; i < (ids?.length ?? 0); i++) {
        g.objIndex.set(objKey(ids[i], fields[i]), i);
        g.objId.push(ids[i]);
        g.objField.push(fields[i]);
        g.objCount.push(counts[i]);
        g.objLost.push(lost[i]);
      }
      unpackArray(p.h, g.hist, `groups[${gi}].h`);
    }
    for (let w = 0; w < W; w++) {
      const i = s.lastAbortGroup?.[w] ?? -1;
      this.lastAbortGroup[w] = i >= 0 ? this.groupList[i] : undefined;
    }
    this.hotIndex.clear();
    const [ho, hf, hc, hl] = (s.hot ?? []).map((x, i) => numbers(x, `hot[${i}]`));
    this.hotObj.length = this.hotField.length = this.hotCount.length = this.hotLost.length = 0;
    for (let i = 0; i < (ho?.length ?? 0); i++) {
      this.hotIndex.set(objKey(ho[i], hf[i]), i);
      this.hotObj.push(ho[i]);
      this.hotField.push(hf[i]);
      this.hotCount.push(hc[i]);
      this.hotLost.push(hl[i]);
    }
    this.hotOverflow = unpackNumber(s.hotOverflow, 'hotOverflow');
    this.end = s.end ?? undefined;
  }

  // -- snapshot -------------------------------------------------------------

  /** Wall time: END's durationNs, else the last timestamp seen. */
  get durationNs(): number {
    const d = this.end?.durationNs;
    return typeof d === 'number' && d > 0 ? Math.max(d, 0) : this.lastNs;
  }

  /**
   * Resolves and merges everything seen so far into plain data. Cheap enough
   * to call a few times per second on a live session (work ∝ groups and
   * objects, not events).
   */
  snapshot(opts: SnapshotOptions = {}): AggregateSnapshot {
    const defs = this.defs;
    const duration = this.durationNs;
    const secs = duration / 1e9;
    const used = this.axis.used(Math.max(duration, this.lastNs));
    const slice = (s: Float64Array) => Array.from(s.subarray(0, used));

    const workers: WorkerFigures[] = [];
    for (let w = 0; w < W; w++) {
      if (!this.wSeen[w] && !this.wDropped[w]) continue;
      workers.push({
        id: w,
        commits: this.wCommits[w],
        aborts: this.wAborts[w],
        fails: this.wFails[w],
        committedNs: this.wCommittedNs[w],
        abortedNs: this.wAbortedNs[w],
        failedNs: this.wFailedNs[w],
        waitingNs: this.wWaitingNs[w],
        inevitableNs: this.wInevNs[w],
        blockedNs: this.wBlockedNs[w],
        droppedEvents: this.wDropped[w],
      });
    }
    const attempts = this.commits + this.aborts + this.fails;
    const summary: Summary = {
      workers: workers.filter((w) => w.id !== 255 && this.wSeen[w.id]).length,
      commits: this.commits,
      aborts: this.aborts,
      fails: this.fails,
      unfinished: this.unfinished,
      abortRatio: attempts ? this.aborts / attempts : 0,
      committedNs: this.committedNs,
      abortedNs: this.abortedNs,
      failedNs: this.failedNs,
      waitingNs: this.waitingNs,
      inevitableNs: this.inevitableNs,
      blockedNs: this.blockedNs,
      droppedEvents: this.droppedTotal,
      commitsPerSec: secs > 0 ? this.commits / secs : 0,
      abortsPerSec: secs > 0 ? this.aborts / secs : 0,
      inevitableSwitches: this.inevitableSwitches,
    };

    // Merge raw groups by resolved locations.
    interface Acc {
      key: string;
      kind: number;
      vLoc: number;
      cLoc: number;
      count: number;
      timeLost: number;
      wait: number;
      blocked: number;
      raws: RawGroup[];
      retryLimitBlocks: number;
    }
    const merged = new Map<string, Acc>();
    for (const g of this.groupList) {
      const vLoc = defs.siteLocation(g.vw, g.vs);
      const cLoc = g.cw < 0 ? -1 : defs.siteLocation(g.cw, g.cs);
      const key = `${g.kind}:${vLoc}:${cLoc}`;
      let a = merged.get(key);
      if (!a) merged.set(key, (a = { key, kind: g.kind, vLoc, cLoc, count: 0, timeLost: 0, wait: 0, blocked: 0, retryLimitBlocks: 0, raws: [] }));
      a.count += g.count;
      a.retryLimitBlocks += g.retryLimitBlocks;
      a.timeLost += g.timeLost;
      a.wait += g.wait;
      a.blocked += g.blocked;
      a.raws.push(g);
    }
    const accs = [...merged.values()].sort(
      (x, y) => y.timeLost - x.timeLost || y.count - x.count || (x.key < y.key ? -1 : 1),
    );
    const top = opts.topGroups === undefined ? accs : accs.slice(0, Math.max(0, opts.topGroups));
    const perGroup = opts.objectsPerGroup ?? 10;
    const groups: ConflictGroup[] = top.map((a) => {
      const hist = new Float64Array(used);
      const objects = new Map<number | string, GroupObject>();
      let overflow = 0;
      let overflowDistinct = 0;
      const vStacks = new Map<string, StackExample>();
      const cStacks = new Map<string, StackExample>();
      const vWorkers = new Set<number>();
      const cWorkers = new Set<number>();
      for (const g of a.raws) {
        for (let i = 0; i < used; i++) hist[i] += g.hist[i];
        vWorkers.add(g.vw);
        if (g.cw >= 0) cWorkers.add(g.cw);
        addStack(vStacks, defs.siteFrames(g.vw, g.vs), g.count);
        if (g.cw >= 0) addStack(cStacks, defs.siteFrames(g.cw, g.cs), g.count);
        overflow += g.objOverflow;
        if (g.objOverflow) overflowDistinct++;
        for (let i = 0; i < g.objId.length; i++) {
          const k = objKey(g.objId[i], g.objField[i]);
          let o = objects.get(k);
          if (!o) {
            const info = defs.objectInfo(g.objId[i], g.objField[i]);
            o = { objectId: g.objId[i], fieldIndex: g.objField[i], ...info, count: 0, timeLostNs: 0 };
            objects.set(k, o);
          }
          o.count += g.objCount[i];
          o.timeLostNs += g.objLost[i];
        }
      }
      const objs = [...objects.values()].sort((x, y) => y.count - x.count || y.timeLostNs - x.timeLostNs);
      const group: ConflictGroup = {
        key: a.key,
        kind: CONFLICT_KIND_NAMES[a.kind] ?? `kind-${a.kind}`,
        count: a.count,
        timeLostNs: a.timeLost,
        waitNs: a.wait,
        blockedNs: a.blocked,
        retryLimitBlocks: a.retryLimitBlocks,
        victim: { location: defs.locationLabel(a.vLoc), workers: [...vWorkers].sort((x, y) => x - y), stacks: topStacks(vStacks) },
        culprit:
          a.cLoc < 0
            ? null
            : { location: defs.locationLabel(a.cLoc), workers: [...cWorkers].sort((x, y) => x - y), stacks: topStacks(cStacks) },
        objects: objs,
        distinctObjects: objs.length + overflowDistinct,
        untrackedObjectConflicts: overflow,
        histogram: Array.from(hist),
        advice: null,
      };
      if (opts.advice !== false) group.advice = adviseGroup(group);
      group.objects = objs.slice(0, perGroup);
      return group;
    });

    const hot: HotObject[] = [];
    for (let i = 0; i < this.hotObj.length; i++) {
      hot.push({
        objectId: this.hotObj[i],
        fieldIndex: this.hotField[i],
        ...defs.objectInfo(this.hotObj[i], this.hotField[i]),
        conflicts: this.hotCount[i],
        timeLostNs: this.hotLost[i],
      });
    }
    hot.sort((x, y) => y.conflicts - x.conflicts || y.timeLostNs - x.timeLostNs || x.label.localeCompare(y.label));

    return {
      durationNs: duration,
      firstNs: Number.isFinite(this.firstNs) ? this.firstNs : 0,
      lastNs: this.lastNs,
      events: this.assembler?.events ?? 0,
      summary,
      workers,
      groups,
      groupCount: accs.length,
      hotObjects: hot.slice(0, opts.topHotObjects ?? 50),
      timeline: {
        bucketNs: this.axis.bucketNs,
        commits: slice(this.tCommits),
        aborts: slice(this.tAborts),
        timeLostNs: slice(this.tLost),
        waitNs: slice(this.tWait),
        blockedNs: slice(this.tBlocked),
      },
      ...(this.assembler ? { anomalies: { ...this.assembler.anomalies } } : {}),
    };
  }

  /** Number of raw (per-worker-site) groups: a memory figure. */
  get rawGroupCount(): number {
    return this.groupList.length;
  }
}

function addStack(m: Map<string, StackExample>, frames: Frame[], count: number): void {
  const key = frames.map((f) => `${f.file}:${f.line}:${f.column}`).join('|');
  const e = m.get(key);
  if (e) e.count += count;
  else m.set(key, { frames, count });
}

function topStacks(m: Map<string, StackExample>): StackExample[] {
  return [...m.values()]
    .filter((s) => s.frames.length > 0)
    .sort((a, b) => b.count - a.count)
    .slice(0, 3);
}

