/**
 * Time lost to conflicts as a speedscope profile (speedscope.app; format:
 * `src/lib/file-format-spec.ts` in jlfwong/speedscope, style.md §2).
 *
 * speedscope has no flows, args or instants, so it carries the aggregated
 * view: two *sampled* profiles in nanoseconds whose samples are stacks
 * (root first) weighted by time lost, for the flame graph, Left Heavy and
 * Sandwich views:
 *
 * ```
 * "time lost by victim stack":   main → transfer → bank.ts:14:5 → [write-write with bank.ts:14:5]   weight Σ time lost
 * "time lost by culprit stack":  main → transfer → bank.ts:14:5 → [causes write-write at bank.ts:14:5]
 * ```
 *
 * Function frames are functions (name + file); the access line is a frame
 * of its own, so speedscope's Sandwich shows each function once.
 *
 * The last frame of each sample is a synthetic "conflict" frame naming the
 * kind and the other side, so two conflicts at one access stay apart. Time
 * lost is the report's (docs/REPORT.md): the run time of aborted attempts,
 * plus the time blocked by inevitable transactions (waiter = victim, blocker
 * = culprit). The weights of each profile therefore add up to the sum of the
 * report's group `timeLostNs`.
 *
 * {@link AbortProfileCollector} is an {@link AttemptSink}: it aggregates
 * while a recording streams through an {@link EventAssembler} (memory bounded
 * by the program's sites, not the recording's length), or from a store.
 */

import type { AttemptSink } from '../assemble.ts';
import type { Definitions, Frame } from '../defs.ts';
import { CONFLICT_KIND_NAMES, ConflictKind } from '../records.ts';
import type { EventStore } from '../store.ts';

export const SPEEDSCOPE_SCHEMA = 'https://www.speedscope.app/file-format-schema.json';

export interface SpeedscopeFrame {
  name: string;
  file?: string;
  line?: number;
  col?: number;
}

export interface SpeedscopeSampledProfile {
  type: 'sampled';
  name: string;
  unit: 'nanoseconds';
  startValue: number;
  endValue: number;
  /** Stacks of indexes into `shared.frames`, root first. */
  samples: number[][];
  weights: number[];
}

/** The speedscope file (`$schema`, `shared.frames`, `profiles`). */
export interface SpeedscopeFile {
  $schema: typeof SPEEDSCOPE_SCHEMA;
  name: string;
  exporter: string;
  activeProfileIndex: number;
  shared: { frames: SpeedscopeFrame[] };
  profiles: SpeedscopeSampledProfile[];
}

/** Options of {@link buildSpeedscope}. */
export interface SpeedscopeOptions {
  /** File name shown by speedscope. Default "stmscope: time lost to conflicts". */
  name?: string;
  /** `exporter` field. Default "stmscope". */
  exporter?: string;
  /** Frames kept per stack (innermost kept). Default 64. */
  maxFrames?: number;
}

const TWO32 = 4294967296;

/** One aggregated (kind, victim site, culprit site), raw per-worker ids. */
export interface ConflictAccumulator {
  kind: number;
  vw: number;
  vs: number;
  cw: number;
  cs: number;
  count: number;
  lostNs: number;
}

/**
 * Aggregates time lost per (kind, victim site, culprit site), as raw
 * per-worker ids; sites are resolved only when the profile is built (a
 * definition may arrive after the event that uses it).
 */
export class AbortProfileCollector implements AttemptSink {
  private readonly accs = new Map<string, ConflictAccumulator>();
  /** Conflicts seen (aborts + blocked waits). */
  conflicts = 0;
  /** Σ time lost. */
  totalLostNs = 0;

  constructor(readonly defs: Definitions) {}

  /** Adds one conflict (an abort, or a blocked wait with kind inevitable). */
  add(kind: number, vw: number, vs: number, cw: number, cs: number, lostNs: number): void {
    const k = `${kind}:${vw * TWO32 + vs}:${cw < 0 ? -1 : cw * TWO32 + cs}`;
    let a = this.accs.get(k);
    if (!a) this.accs.set(k, (a = { kind, vw, vs, cw: cw < 0 ? -1 : cw, cs: cw < 0 ? 0 : cs, count: 0, lostNs: 0 }));
    a.count++;
    a.lostNs += lostNs;
    this.conflicts++;
    this.totalLostNs += lostNs;
  }

  /** Replays every abort and blocked wait of a store. */
  addStore(store: EventStore): this {
    const A = store.aborts.cols;
    for (let r = 0; r < store.aborts.length; r++) {
      this.add(A.kind[r], A.worker[r], A.victimSite[r], A.culpritWorker[r], A.culpritSite[r], A.timeLostNs[r]);
    }
    const B = store.blockedWaits.cols;
    for (let r = 0; r < store.blockedWaits.length; r++) {
      this.add(ConflictKind.Inevitable, B.worker[r], B.waiterSite[r], B.blockerWorker[r], B.blockerSite[r], B.waitNs[r]);
    }
    return this;
  }

  /** The aggregated conflicts (raw ids). */
  entries(): readonly ConflictAccumulator[] {
    return [...this.accs.values()];
  }

  // -- AttemptSink ----------------------------------------------------------
  attempt(): void {}
  abort(worker: number, _tx: number, _t: number, kind: number, _obj: number, _field: number, victimSite: number, culpritWorker: number, _ctx: number, culpritSite: number, _wait: number, timeLostNs: number): void {
    this.add(kind, worker, victimSite, culpritWorker, culpritSite, timeLostNs);
  }
  wait(): void {}
  blocked(worker: number, _tx: number, _t: number, blockerWorker: number, _btx: number, blockerSite: number, waitNs: number, waiterSite: number): void {
    this.add(ConflictKind.Inevitable, worker, waiterSite, blockerWorker, blockerSite, waitNs);
  }
  inevitable(): void {}
  fail(): void {}
  dropped(): void {}
}

function location(frames: Frame[]): string {
  const f = frames[0];
  if (!f) return 'an unknown location';
  return f.line ? `${f.file}:${f.line}:${f.column}` : f.file;
}

/** Builds the speedscope file from a collector. */
export function buildSpeedscope(collector: AbortProfileCollector, opts: SpeedscopeOptions = {}): SpeedscopeFile {
  const defs = collector.defs;
  const maxFrames = opts.maxFrames ?? 64;
  const frames: SpeedscopeFrame[] = [];
  const frameIndex = new Map<string, number>();
  const frameOf = (f: SpeedscopeFrame): number => {
    const k = `${f.name}\u0000${f.file ?? ''}\u0000${f.line ?? 0}\u0000${f.col ?? 0}`;
    let i = frameIndex.get(k);
    if (i === undefined) {
      i = frames.length;
      frames.push(f);
      frameIndex.set(k, i);
    }
    return i;
  };
  const siteFrames = new Map<number, Frame[]>();
  const resolve = (w: number, s: number): Frame[] => {
    if (w < 0 || s === 0) return [];
    const k = w * TWO32 + s;
    let f = siteFrames.get(k);
    if (!f) siteFrames.set(k, (f = defs.siteFrames(w, s).slice(0, maxFrames)));
    return f;
  };
  /**
   * Root-first stack of frame indexes; `missing` names an unknown side.
   * speedscope keys frames by their index, so a frame is one *function*
   * (name + file, no line): with call-site lines in the function frames,
   * Sandwich listed `transfer` once per line that conflicted. The innermost
   * access gets a frame of its own (`tasks.ts:17:8`, with file/line/col) so
   * the exact line stays visible and clickable.
   */
  const stack = (fs: Frame[], missing: string): number[] => {
    if (!fs.length) return [frameOf({ name: missing })];
    const out: number[] = [];
    for (let i = fs.length - 1; i >= 0; i--) {
      const f = fs[i];
      const sf: SpeedscopeFrame = { name: f.function || (f.line ? `(anonymous) ${basename(f.file)}:${f.line}` : f.file) };
      if (f.line) sf.file = f.file;
      out.push(frameOf(sf));
    }
    const leaf = fs[0];
    if (leaf.line) {
      const lf: SpeedscopeFrame = { name: `${basename(leaf.file)}:${leaf.line}${leaf.column ? `:${leaf.column}` : ''}`, file: leaf.file, line: leaf.line };
      if (leaf.column) lf.col = leaf.column;
      out.push(frameOf(lf));
    }
    return out;
  };

  const victim: SpeedscopeSampledProfile = { type: 'sampled', name: 'time lost by victim stack', unit: 'nanoseconds', startValue: 0, endValue: 0, samples: [], weights: [] };
  const culprit: SpeedscopeSampledProfile = { type: 'sampled', name: 'time lost by culprit stack', unit: 'nanoseconds', startValue: 0, endValue: 0, samples: [], weights: [] };
  // Merge raw entries that resolve to the same stacks (same code on two workers).
  const merged = new Map<string, { v: number[]; c: number[]; lost: number }>();
  for (const a of collector.entries()) {
    if (a.lostNs <= 0) continue;
    const kind = CONFLICT_KIND_NAMES[a.kind] ?? `kind-${a.kind}`;
    const vf = resolve(a.vw, a.vs);
    const cf = resolve(a.cw, a.cs);
    const inevitable = a.kind === ConflictKind.Inevitable;
    const other = a.cw < 0 ? 'an unrecorded culprit' : location(cf);
    const vLeaf = frameOf({ name: inevitable ? `[blocked by an inevitable transaction at ${other}]` : `[${kind} with ${other}]` });
    const cLeaf = frameOf({ name: inevitable ? `[inevitable, blocking ${location(vf)}]` : `[causes ${kind} at ${location(vf)}]` });
    const v = [...stack(vf, '(unknown victim location)'), vLeaf];
    const c = [...stack(cf, a.cw < 0 ? '(culprit not recorded)' : '(unknown culprit location)'), cLeaf];
    const k = `${v.join(',')}|${c.join(',')}`;
    const m = merged.get(k);
    if (m) m.lost += a.lostNs;
    else merged.set(k, { v, c, lost: a.lostNs });
  }
  const list = [...merged.values()].sort((x, y) => y.lost - x.lost);
  let total = 0;
  for (const m of list) {
    victim.samples.push(m.v);
    victim.weights.push(m.lost);
    culprit.samples.push(m.c);
    culprit.weights.push(m.lost);
    total += m.lost;
  }
  victim.endValue = culprit.endValue = total;
  return {
    $schema: SPEEDSCOPE_SCHEMA,
    name: opts.name ?? 'stmscope: time lost to conflicts',
    exporter: opts.exporter ?? 'stmscope',
    activeProfileIndex: 0,
    shared: { frames },
    profiles: [victim, culprit],
  };
}

/** The speedscope file of a store's conflicts. */
export function speedscopeFromStore(store: EventStore, opts: SpeedscopeOptions = {}): SpeedscopeFile {
  return buildSpeedscope(new AbortProfileCollector(store.defs).addStore(store), opts);
}

function basename(p: string): string {
  const i = Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\'));
  return i >= 0 ? p.slice(i + 1) : p;
}
