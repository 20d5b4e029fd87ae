/**
 * The filters every view shares (time range, workers, conflict kinds, a search
 * over file/function/object) applied to an aggregate snapshot.
 *
 * A snapshot has no per-event data, so a time range is applied through each
 * group's histogram (conflicts per bucket of the snapshot's time axis): the
 * count in range is exact to a bucket, partial buckets are prorated, and the
 * group's time lost is scaled by the same fraction. Views mark such figures
 * as approximate ("≈").
 */

import type { AggregateSnapshot, ConflictGroup, GroupSide, HotObject } from '../../../model/aggregate.ts';
import type { ConflictArrow } from '../../../model/protocol.ts';
import type { TimeRange } from './viewport.ts';

export interface Filters {
  /** Only this time range (ns). */
  range?: TimeRange;
  /** Only these workers (victim or culprit side); undefined = all. */
  workers?: number[];
  /** Only these conflict kinds; undefined = all. */
  kinds?: string[];
  /** Case-insensitive substring of a frame's file or function, or an object label. */
  search?: string;
}

export const NO_FILTERS: Filters = {};

/** True when any filter is set. */
export function hasFilters(f: Filters): boolean {
  return !!(f.range || f.workers || f.kinds || (f.search && f.search.trim()));
}

/** A conflict group with its figures inside the filters. */
export interface FilteredGroup {
  group: ConflictGroup;
  /** 1-based rank by time lost in the whole snapshot */
  rank: number;
  count: number;
  timeLostNs: number;
  /** figures scaled by a time range (bucket precision) */
  approximate: boolean;
}

/** Fraction of a series' mass inside `range` (axis of `bucketNs` from 0), partial buckets prorated. */
export function fractionInRange(hist: readonly number[], bucketNs: number, range: TimeRange): { inRange: number; total: number } {
  let total = 0;
  let inRange = 0;
  for (let i = 0; i < hist.length; i++) {
    const v = hist[i];
    if (!v) continue;
    total += v;
    const b0 = i * bucketNs;
    const b1 = b0 + bucketNs;
    const o = Math.min(b1, range.endNs) - Math.max(b0, range.startNs);
    if (o > 0) inRange += (v * o) / bucketNs;
  }
  return { inRange, total };
}

function sideMatches(s: GroupSide | null, q: string): boolean {
  if (!s) return false;
  if (s.location.toLowerCase().includes(q)) return true;
  for (const st of s.stacks) for (const f of st.frames) if (f.file.toLowerCase().includes(q) || f.function.toLowerCase().includes(q)) return true;
  return false;
}

/** True when the group mentions `search` in a frame (file, function) or an object label. */
export function groupMatchesSearch(g: ConflictGroup, search: string): boolean {
  const q = search.trim().toLowerCase();
  if (!q) return true;
  if (sideMatches(g.victim, q) || sideMatches(g.culprit, q)) return true;
  return g.objects.some((o) => o.label.toLowerCase().includes(q));
}

function workersMatch(g: ConflictGroup, workers: readonly number[]): boolean {
  for (const w of g.victim.workers) if (workers.includes(w)) return true;
  if (g.culprit) for (const w of g.culprit.workers) if (workers.includes(w)) return true;
  return false;
}

/** The snapshot's groups inside the filters, most time lost first. */
export function filterGroups(snap: AggregateSnapshot, f: Filters): FilteredGroup[] {
  const out: FilteredGroup[] = [];
  snap.groups.forEach((g, i) => {
    if (f.kinds && !f.kinds.includes(g.kind)) return;
    if (f.workers && !workersMatch(g, f.workers)) return;
    if (f.search && !groupMatchesSearch(g, f.search)) return;
    let count = g.count;
    let lost = g.timeLostNs;
    let approximate = false;
    if (f.range) {
      const { inRange, total } = fractionInRange(g.histogram, snap.timeline.bucketNs, f.range);
      const frac = total > 0 ? inRange / total : 0;
      count = Math.round(inRange);
      lost = g.timeLostNs * frac;
      approximate = frac > 0 && frac < 1;
      if (count === 0 && inRange <= 0) return;
    }
    out.push({ group: g, rank: i + 1, count, timeLostNs: lost, approximate });
  });
  out.sort((a, b) => b.timeLostNs - a.timeLostNs || b.count - a.count || a.rank - b.rank);
  return out;
}

/** A hot object with the code sites (group sides) that touch it. */
export interface HotObjectRow {
  object: HotObject;
  conflicts: number;
  timeLostNs: number;
  /** locations that conflicted on it (victim and culprit sides) */
  sites: Array<{ location: string; role: 'victim' | 'culprit'; count: number }>;
  /** keys of the groups it appears in */
  groupKeys: string[];
  approximate: boolean;
}

const objKey = (objectId: number, field: number) => `${objectId}:${field}`;

/**
 * Hot objects inside the filters. Without kind/worker/time filters these are
 * the snapshot's own figures; with them they are rebuilt from the filtered
 * groups' object lists (each group lists its top objects only, so rare
 * objects may be missing: `approximate`).
 */
export function filterHotObjects(snap: AggregateSnapshot, f: Filters, groups: FilteredGroup[] = filterGroups(snap, f)): HotObjectRow[] {
  const sitesOf = new Map<string, Map<string, { location: string; role: 'victim' | 'culprit'; count: number }>>();
  const groupsOf = new Map<string, string[]>();
  const sums = new Map<string, { conflicts: number; lost: number }>();
  for (const fg of groups) {
    const g = fg.group;
    const scale = g.count > 0 ? fg.count / g.count : 0;
    for (const o of g.objects) {
      const k = objKey(o.objectId, o.fieldIndex);
      let m = sitesOf.get(k);
      if (!m) sitesOf.set(k, (m = new Map()));
      const add = (location: string, role: 'victim' | 'culprit') => {
        if (!location) return;
        const sk = `${role}:${location}`;
        const e = m!.get(sk);
        if (e) e.count += o.count;
        else m!.set(sk, { location, role, count: o.count });
      };
      add(g.victim.location, 'victim');
      if (g.culprit) add(g.culprit.location, 'culprit');
      const gl = groupsOf.get(k);
      if (gl) gl.push(g.key);
      else groupsOf.set(k, [g.key]);
      const s = sums.get(k) ?? { conflicts: 0, lost: 0 };
      s.conflicts += o.count * scale;
      s.lost += o.timeLostNs * scale;
      sums.set(k, s);
    }
  }
  const q = f.search?.trim().toLowerCase() ?? '';
  const rebuild = !!(f.range || f.kinds || f.workers);
  const rows: HotObjectRow[] = [];
  for (const h of snap.hotObjects) {
    const k = objKey(h.objectId, h.fieldIndex);
    const sites = [...(sitesOf.get(k)?.values() ?? [])].sort((a, b) => b.count - a.count);
    if (q && !h.label.toLowerCase().includes(q) && !sites.some((s) => s.location.toLowerCase().includes(q))) continue;
    let conflicts = h.conflicts;
    let lost = h.timeLostNs;
    if (rebuild) {
      const s = sums.get(k);
      if (!s || s.conflicts < 0.5) continue;
      conflicts = Math.round(s.conflicts);
      lost = s.lost;
    }
    rows.push({ object: h, conflicts, timeLostNs: lost, sites, groupKeys: groupsOf.get(k) ?? [], approximate: rebuild });
  }
  rows.sort((a, b) => b.conflicts - a.conflicts || b.timeLostNs - a.timeLostNs || a.object.label.localeCompare(b.object.label));
  return rows;
}

/** Whether a conflict arrow passes the filters (kind, workers, time range; search needs its group). */
export function arrowPasses(a: ConflictArrow, f: Filters, groupKeys?: ReadonlySet<string>): boolean {
  if (f.kinds && !f.kinds.includes(a.kind)) return false;
  if (f.workers && !f.workers.includes(a.victimWorker) && !f.workers.includes(a.culpritWorker)) return false;
  if (f.range && (a.victimNs < f.range.startNs || a.victimNs > f.range.endNs)) return false;
  if (groupKeys && !groupKeys.has(a.groupKey)) return false;
  return true;
}

/** Totals inside a time range from the snapshot's rate buckets. */
export function totalsInRange(snap: AggregateSnapshot, range: TimeRange): { commits: number; aborts: number; timeLostNs: number; waitNs: number } {
  const b = snap.timeline.bucketNs;
  const sum = (s: number[]) => fractionInRange(s, b, range).inRange;
  return {
    commits: Math.round(sum(snap.timeline.commits)),
    aborts: Math.round(sum(snap.timeline.aborts)),
    timeLostNs: sum(snap.timeline.timeLostNs),
    waitNs: sum(snap.timeline.waitNs),
  };
}

/** Conflict kinds present in a snapshot, in a stable order. */
export function kindsOf(snap: AggregateSnapshot): string[] {
  const order = ['write-write', 'write-read', 'inevitable', 'user-abort'];
  const ks = new Set(snap.groups.map((g) => g.kind));
  return [...ks].sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99) || a.localeCompare(b));
}
