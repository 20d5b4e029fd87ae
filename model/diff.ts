/**
 * Comparing two runs: did the fix help? (`stmscope diff BEFORE AFTER`, the
 * dashboard's two-session comparison; docs/EXPORTS.md §diff has the JSON
 * contract `stmscope.diff/1`.)
 *
 * Pure functions over two aggregate snapshots (take them with every group:
 * no `topGroups` limit). Conflict groups are matched across the runs by their
 * sites, in tiers, each group at most once:
 *
 * 1. `exact`: same kind, victim location and culprit location (file:line:column);
 * 2. `moved`: same kind, and on each side the same file, function and source
 *    text, at other lines or columns (a fix moved the code); several
 *    candidates pair up by the smallest line distance;
 * 3. `function`: same kind, files and functions on both sides, when exactly
 *    one unmatched group on each side has them (code without source text,
 *    such as PyPy-STM markers, or an edited line).
 *
 * Unmatched groups are `vanished` (only before) or `new` (only after);
 * matched ones `improved`, `regressed` or `unchanged` by their time lost and
 * the change threshold.
 */

import type { AggregateSnapshot, ConflictGroup, GroupSide } from './aggregate.ts';
import type { RecordingMeta } from './format.ts';
import { commandLine, fmtInt, fmtNs, fmtPct } from './report/util.ts';

export const DIFF_SCHEMA = 'stmscope.diff/1';

/** One run to compare. */
export interface DiffRun {
  snapshot: AggregateSnapshot;
  /** How to name the run (a file name). */
  label?: string;
  meta?: RecordingMeta;
}

/** Options of {@link diffSnapshots}. */
export interface DiffOptions {
  /** A matched group is improved/regressed when its time lost changes by more than this. Default 10 (%). */
  changeThresholdPct?: number;
  /** Fail when the total time lost grows by more than this many percent (CI). Default: no check. */
  failOnRegressionPct?: number;
  /** Growth below this many ns never fails the check (noise floor). Default 0. */
  regressionFloorNs?: number;
  /** `generator` field. Default "stmscope diff". */
  generator?: string;
}

/** A figure of both runs. */
export interface DiffFigure {
  before: number;
  after: number;
  /** after − before */
  delta: number;
  /** (after − before) / before · 100; null when before is 0 */
  changePct: number | null;
}

export type MatchTier = 'exact' | 'moved' | 'function';
export type GroupStatus = 'vanished' | 'new' | 'improved' | 'regressed' | 'unchanged';

/** One side (victim or culprit) of a group in one run. */
export interface DiffSite {
  /** `file:line:column`, '' unknown. */
  location: string;
  function: string;
  /** Source line text, '' unknown. */
  text: string;
  workers: number[];
}

/** A group's figures in one run. */
export interface DiffGroupFigures {
  count: number;
  timeLostNs: number;
  waitNs: number;
  /** Labels of its most conflicting objects (at most 3). */
  objects: string[];
}

/** A conflict group across the two runs. */
export interface DiffGroup {
  status: GroupStatus;
  /** How before and after were matched; null for new/vanished groups. */
  match: MatchTier | null;
  kind: string;
  victim: { before: DiffSite | null; after: DiffSite | null };
  /** null when neither run recorded a culprit. */
  culprit: { before: DiffSite | null; after: DiffSite | null } | null;
  before: DiffGroupFigures | null;
  after: DiffGroupFigures | null;
  timeLostNs: DiffFigure;
  count: DiffFigure;
}

export interface DiffRunInfo {
  label: string;
  /** The program's command line ('' unknown). */
  program: string;
  startTime: string | null;
}

/** The comparison (JSON schema `stmscope.diff/1`). */
export interface RecordingDiff {
  schema: typeof DIFF_SCHEMA;
  generator: string;
  before: DiffRunInfo;
  after: DiffRunInfo;
  totals: {
    durationNs: DiffFigure;
    commits: DiffFigure;
    aborts: DiffFigure;
    /** aborts / (commits + aborts + fails) */
    abortRatio: DiffFigure;
    /** throughput */
    commitsPerSec: DiffFigure;
    /** Σ time lost of every group (aborted run time + time blocked by inevitable transactions) */
    timeLostNs: DiffFigure;
    /** time lost per commit: compares runs of different lengths */
    timeLostPerCommitNs: DiffFigure;
    waitingNs: DiffFigure;
    conflictGroups: DiffFigure;
  };
  /** Most time lost (in either run) first. */
  groups: DiffGroup[];
  counts: Record<GroupStatus, number> & { moved: number };
  /** The CI check, when asked for. */
  regression: {
    thresholdPct: number;
    floorNs: number;
    /** growth of the total time lost in % (null when it was 0 before) */
    growthPct: number | null;
    growthNs: number;
    failed: boolean;
  } | null;
}

function figure(before: number, after: number): DiffFigure {
  return { before, after, delta: after - before, changePct: before !== 0 ? ((after - before) / before) * 100 : null };
}

interface Desc {
  g: ConflictGroup;
  kind: string;
  v: DiffSite;
  vFile: string;
  vLine: number;
  c: DiffSite | null;
  cFile: string;
  cLine: number;
}

/** file, line of a `file:line:column` label ('' / 0 when not of that form). */
function splitLocation(loc: string): { file: string; line: number } {
  const m = /^(.*):(\d+):(\d+)$/.exec(loc);
  return m ? { file: m[1], line: Number(m[2]) } : { file: loc, line: 0 };
}

function site(s: GroupSide): DiffSite {
  const f = s.stacks[0]?.frames[0];
  return { location: s.location, function: f?.function ?? '', text: f?.text ?? '', workers: s.workers };
}

function describeGroup(g: ConflictGroup): Desc {
  const v = site(g.victim);
  const c = g.culprit ? site(g.culprit) : null;
  const vl = splitLocation(v.location);
  const cl = c ? splitLocation(c.location) : { file: '', line: 0 };
  return { g, kind: g.kind, v, vFile: vl.file, vLine: vl.line, c, cFile: cl.file, cLine: cl.line };
}

const exactKey = (d: Desc) => `${d.kind}\u0000${d.v.location}\u0000${d.c ? d.c.location : '\u0001'}`;
/**
 * A side's part of a tier key: `null` when the side has a location but lacks
 * what the tier needs; an unknown side (no location) takes part as itself.
 */
const part = (loc: string, file: string, need: string, rest: string): string | null => (!loc ? '\u0002' : need ? `${file}\u0000${rest}` : null);
function tierKey(d: Desc, v: string | null, c: string | null): string | null {
  if (v === null || c === null) return null;
  // At least one side must carry the evidence (two unknown sides only match exactly).
  if (v === '\u0002' && c === '\u0002') return null;
  return `${d.kind}\u0000${v}\u0000${c}`;
}
const movedKey = (d: Desc): string | null =>
  tierKey(d, part(d.v.location, d.vFile, d.v.text, `${d.v.function}\u0000${d.v.text}`), d.c ? part(d.c.location, d.cFile, d.c.text, `${d.c.function}\u0000${d.c.text}`) : '\u0001');
const functionKey = (d: Desc): string | null =>
  tierKey(d, part(d.v.location, d.vFile, d.v.function, d.v.function), d.c ? part(d.c.location, d.cFile, d.c.function, d.c.function) : '\u0001');

/**
 * Pairs unmatched groups of both runs that share a key; `unique` pairs only
 * keys held by exactly one group on each side, else by the smallest line distance.
 */
function pairBy(before: Desc[], after: Desc[], key: (d: Desc) => string | null, unique: boolean, out: Array<[Desc, Desc]>, used: Set<Desc>): void {
  const side = (ds: Desc[]) => {
    const m = new Map<string, Desc[]>();
    for (const d of ds) {
      if (used.has(d)) continue;
      const k = key(d);
      if (k === null) continue;
      let l = m.get(k);
      if (!l) m.set(k, (l = []));
      l.push(d);
    }
    return m;
  };
  const b = side(before);
  const a = side(after);
  for (const [k, bs] of b) {
    const as = a.get(k);
    if (!as) continue;
    if (unique) {
      if (bs.length === 1 && as.length === 1) {
        out.push([bs[0], as[0]]);
        used.add(bs[0]).add(as[0]);
      }
      continue;
    }
    const cand: Array<[number, Desc, Desc]> = [];
    for (const x of bs) for (const y of as) cand.push([Math.abs(x.vLine - y.vLine) + Math.abs(x.cLine - y.cLine), x, y]);
    cand.sort((p, q) => p[0] - q[0]);
    for (const [, x, y] of cand) {
      if (used.has(x) || used.has(y)) continue;
      out.push([x, y]);
      used.add(x).add(y);
    }
  }
}

function figures(g: ConflictGroup): DiffGroupFigures {
  return { count: g.count, timeLostNs: g.timeLostNs, waitNs: g.waitNs, objects: g.objects.slice(0, 3).map((o) => o.label) };
}

function runInfo(r: DiffRun, dflt: string): DiffRunInfo {
  const argv = Array.isArray(r.meta?.argv) ? r.meta!.argv!.map(String) : [];
  return { label: r.label ?? dflt, program: argv.length ? commandLine(argv) : '', startTime: typeof r.meta?.startTime === 'string' ? r.meta.startTime : null };
}

/** Σ time lost of a run: aborted run time (= Σ abort time lost) + time blocked by inevitable transactions. */
export function totalTimeLost(s: AggregateSnapshot): number {
  return s.summary.abortedNs + s.summary.blockedNs;
}

/** Compares two runs. */
export function diffSnapshots(before: DiffRun, after: DiffRun, opts: DiffOptions = {}): RecordingDiff {
  const th = (opts.changeThresholdPct ?? 10) / 100;
  const B = before.snapshot;
  const A = after.snapshot;
  const bd = B.groups.map(describeGroup);
  const ad = A.groups.map(describeGroup);
  const pairs: Array<[Desc, Desc]> = [];
  const tiers = new Map<Desc, MatchTier>();
  const used = new Set<Desc>();
  const tier = (t: MatchTier, key: (d: Desc) => string | null, unique: boolean) => {
    const n = pairs.length;
    pairBy(bd, ad, key, unique, pairs, used);
    for (let i = n; i < pairs.length; i++) tiers.set(pairs[i][0], t);
  };
  tier('exact', exactKey, true);
  tier('moved', movedKey, false);
  tier('function', functionKey, true);

  const groups: DiffGroup[] = [];
  const statusOf = (b: number, a: number): GroupStatus => (a > b * (1 + th) ? 'regressed' : a < b * (1 - th) ? 'improved' : 'unchanged');
  for (const [x, y] of pairs) {
    const bf = figures(x.g);
    const af = figures(y.g);
    groups.push({
      status: statusOf(bf.timeLostNs, af.timeLostNs),
      match: tiers.get(x)!,
      kind: x.kind,
      victim: { before: x.v, after: y.v },
      culprit: x.c || y.c ? { before: x.c, after: y.c } : null,
      before: bf,
      after: af,
      timeLostNs: figure(bf.timeLostNs, af.timeLostNs),
      count: figure(bf.count, af.count),
    });
  }
  for (const x of bd) {
    if (used.has(x)) continue;
    const bf = figures(x.g);
    groups.push({
      status: 'vanished',
      match: null,
      kind: x.kind,
      victim: { before: x.v, after: null },
      culprit: x.c ? { before: x.c, after: null } : null,
      before: bf,
      after: null,
      timeLostNs: figure(bf.timeLostNs, 0),
      count: figure(bf.count, 0),
    });
  }
  for (const y of ad) {
    if (used.has(y)) continue;
    const af = figures(y.g);
    groups.push({
      status: 'new',
      match: null,
      kind: y.kind,
      victim: { before: null, after: y.v },
      culprit: y.c ? { before: null, after: y.c } : null,
      before: null,
      after: af,
      timeLostNs: figure(0, af.timeLostNs),
      count: figure(0, af.count),
    });
  }
  const weight = (g: DiffGroup) => Math.max(g.timeLostNs.before, g.timeLostNs.after);
  groups.sort((p, q) => weight(q) - weight(p) || q.count.before + q.count.after - (p.count.before + p.count.after));

  const counts = { vanished: 0, new: 0, improved: 0, regressed: 0, unchanged: 0, moved: 0 };
  for (const g of groups) {
    counts[g.status]++;
    if (g.match === 'moved' || g.match === 'function') counts.moved++;
  }

  const lostB = totalTimeLost(B);
  const lostA = totalTimeLost(A);
  const perCommit = (lost: number, s: AggregateSnapshot) => (s.summary.commits > 0 ? lost / s.summary.commits : 0);
  let regression: RecordingDiff['regression'] = null;
  if (opts.failOnRegressionPct !== undefined) {
    const floor = opts.regressionFloorNs ?? 0;
    const growthNs = lostA - lostB;
    const growthPct = lostB > 0 ? (growthNs / lostB) * 100 : null;
    const failed = growthNs > floor && (growthPct === null ? growthNs > 0 : growthPct > opts.failOnRegressionPct);
    regression = { thresholdPct: opts.failOnRegressionPct, floorNs: floor, growthPct, growthNs, failed };
  }
  return {
    schema: DIFF_SCHEMA,
    generator: opts.generator ?? 'stmscope diff',
    before: runInfo(before, 'before'),
    after: runInfo(after, 'after'),
    totals: {
      durationNs: figure(B.durationNs, A.durationNs),
      commits: figure(B.summary.commits, A.summary.commits),
      aborts: figure(B.summary.aborts, A.summary.aborts),
      abortRatio: figure(B.summary.abortRatio, A.summary.abortRatio),
      commitsPerSec: figure(B.summary.commitsPerSec, A.summary.commitsPerSec),
      timeLostNs: figure(lostB, lostA),
      timeLostPerCommitNs: figure(perCommit(lostB, B), perCommit(lostA, A)),
      waitingNs: figure(B.summary.waitingNs, A.summary.waitingNs),
      conflictGroups: figure(B.groupCount, A.groupCount),
    },
    groups,
    counts,
    regression,
  };
}

// -- renderers -----------------------------------------------------------------

/** The diff as JSON (schema `stmscope.diff/1`). */
export function renderDiffJson(d: RecordingDiff, indent = 2): string {
  return JSON.stringify(d, null, indent || undefined) + '\n';
}

/** Options of the text and Markdown renderers. */
export interface DiffRenderOptions {
  /** Groups listed. Default 20. */
  top?: number;
}

const change = (f: DiffFigure): string => {
  if (f.changePct === null) return f.after === 0 ? '' : 'new';
  const p = f.changePct;
  return `${p > 0 ? '+' : ''}${p.toFixed(1)}%`;
};
const pts = (f: DiffFigure): string => `${f.delta > 0 ? '+' : ''}${(f.delta * 100).toFixed(1)} pts`;
const rate = (n: number) => (n >= 100 ? fmtInt(n) : n.toFixed(1));

function totalsRows(d: RecordingDiff): Array<[string, string, string, string]> {
  const t = d.totals;
  return [
    ['wall time', fmtNs(t.durationNs.before), fmtNs(t.durationNs.after), change(t.durationNs)],
    ['commits', fmtInt(t.commits.before), fmtInt(t.commits.after), change(t.commits)],
    ['commits/s', rate(t.commitsPerSec.before), rate(t.commitsPerSec.after), change(t.commitsPerSec)],
    ['aborts', fmtInt(t.aborts.before), fmtInt(t.aborts.after), change(t.aborts)],
    ['abort ratio', fmtPct(t.abortRatio.before, 1), fmtPct(t.abortRatio.after, 1), pts(t.abortRatio)],
    ['time lost', fmtNs(t.timeLostNs.before), fmtNs(t.timeLostNs.after), change(t.timeLostNs)],
    ['time lost/commit', fmtNs(t.timeLostPerCommitNs.before), fmtNs(t.timeLostPerCommitNs.after), change(t.timeLostPerCommitNs)],
    ['waiting', fmtNs(t.waitingNs.before), fmtNs(t.waitingNs.after), change(t.waitingNs)],
    ['conflict groups', fmtInt(t.conflictGroups.before), fmtInt(t.conflictGroups.after), change(t.conflictGroups)],
  ];
}

function siteText(s: DiffSite | null): string {
  if (!s) return '—';
  const loc = s.location || '(location unknown)';
  return s.function ? `${loc} (${s.function})` : loc;
}

/** "a.ts:10:3 (f)" or "a.ts:10:3 → a.ts:12:3 (f)" when the code moved. */
function sidePair(p: { before: DiffSite | null; after: DiffSite | null }): string {
  const b = p.before;
  const a = p.after;
  if (b && a && b.location !== a.location) return `${b.location || '?'} → ${siteText(a)}`;
  return siteText(b ?? a);
}

const STATUS_WORD: Record<GroupStatus, string> = {
  vanished: 'VANISHED',
  new: 'NEW',
  improved: 'IMPROVED',
  regressed: 'REGRESSED',
  unchanged: 'unchanged',
};

function regressionLine(d: RecordingDiff): string | null {
  const r = d.regression;
  if (!r) return null;
  const growth = r.growthPct === null ? (r.growthNs > 0 ? `from 0 to ${fmtNs(r.growthNs)}` : 'stayed 0') : `${r.growthPct > 0 ? '+' : ''}${r.growthPct.toFixed(1)}% (${r.growthNs >= 0 ? '+' : '−'}${fmtNs(Math.abs(r.growthNs))})`;
  const floor = r.floorNs > 0 ? `, ignoring growth under ${fmtNs(r.floorNs)}` : '';
  return `Regression check: time lost ${growth}, limit +${r.thresholdPct}%${floor}: ${r.failed ? 'FAILED' : 'ok'}`;
}

/** The diff for a terminal. */
export function renderDiffText(d: RecordingDiff, opts: DiffRenderOptions = {}): string {
  const out: string[] = [];
  out.push(`stmscope diff: ${d.before.label} → ${d.after.label}`);
  if (d.before.program || d.after.program) {
    out.push(`  before: ${d.before.program || '(unknown program)'}`);
    out.push(`  after:  ${d.after.program || '(unknown program)'}`);
  }
  out.push('');
  const rows = totalsRows(d);
  out.push(`${''.padEnd(18)}${'before'.padStart(14)}${'after'.padStart(14)}${'change'.padStart(12)}`);
  for (const [name, b, a, c] of rows) out.push(`${name.padEnd(18)}${b.padStart(14)}${a.padStart(14)}${c.padStart(12)}`);
  out.push('');
  const c = d.counts;
  out.push(
    `Conflict groups: ${c.vanished} vanished, ${c.new} new, ${c.improved} improved, ${c.regressed} regressed, ${c.unchanged} unchanged` +
      (c.moved ? ` (${c.moved} matched at moved code)` : ''),
  );
  const top = opts.top ?? 20;
  for (const g of d.groups.slice(0, top)) {
    out.push('');
    const moved = g.match === 'moved' ? ' (code moved)' : g.match === 'function' ? ' (matched by function)' : '';
    out.push(
      `  ${STATUS_WORD[g.status].padEnd(10)} ${g.kind.padEnd(12)} ${fmtNs(g.timeLostNs.before)} → ${fmtNs(g.timeLostNs.after)} lost` +
        `${g.timeLostNs.changePct !== null && g.before && g.after ? ` (${change(g.timeLostNs)})` : ''}, ${fmtInt(g.count.before)}x → ${fmtInt(g.count.after)}x${moved}`,
    );
    const objs = (g.before ?? g.after)!.objects;
    if (objs.length) out.push(`      on ${objs.join(', ')}`);
    out.push(`      victim:  ${sidePair(g.victim)}`);
    const text = g.victim.after?.text || g.victim.before?.text;
    if (text) out.push(`               ${text}`);
    out.push(`      culprit: ${g.culprit ? sidePair(g.culprit) : 'not recorded'}`);
    const ctext = g.culprit && (g.culprit.after?.text || g.culprit.before?.text);
    if (ctext) out.push(`               ${ctext}`);
  }
  if (d.groups.length > top) out.push('', `  … ${d.groups.length - top} more group(s)`);
  const r = regressionLine(d);
  if (r) out.push('', r);
  out.push('');
  return out.join('\n');
}

const md = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const code = (s: string) => (s ? `\`${s.replace(/`/g, "'")}\`` : '');

/** The diff as GitHub-flavoured Markdown (for a pull request comment). */
export function renderDiffMarkdown(d: RecordingDiff, opts: DiffRenderOptions = {}): string {
  const out: string[] = [];
  out.push(`## stmscope diff: ${md(d.before.label)} → ${md(d.after.label)}`, '');
  const r = regressionLine(d);
  if (r) out.push(`**${r}**`, '');
  out.push('| | before | after | change |', '|---|---:|---:|---:|');
  for (const [name, b, a, c] of totalsRows(d)) out.push(`| ${name} | ${b} | ${a} | ${c} |`);
  out.push('');
  const c = d.counts;
  out.push(`**Conflict groups:** ${c.vanished} vanished, ${c.new} new, ${c.improved} improved, ${c.regressed} regressed, ${c.unchanged} unchanged` + (c.moved ? ` (${c.moved} matched at moved code)` : ''), '');
  const top = opts.top ?? 20;
  if (d.groups.length) {
    out.push('| status | kind | time lost | count | victim | culprit |', '|---|---|---:|---:|---|---|');
    for (const g of d.groups.slice(0, top)) {
      const status = g.status === 'unchanged' ? 'unchanged' : `**${g.status}**`;
      const moved = g.match === 'moved' || g.match === 'function' ? ' (moved)' : '';
      const victimText = g.victim.after?.text || g.victim.before?.text || '';
      out.push(
        `| ${status}${moved} | ${g.kind} | ${fmtNs(g.timeLostNs.before)} → ${fmtNs(g.timeLostNs.after)} | ${fmtInt(g.count.before)} → ${fmtInt(g.count.after)} | ` +
          `${md(code(sidePair(g.victim)))}${victimText ? `<br>${md(code(victimText))}` : ''} | ${g.culprit ? md(code(sidePair(g.culprit))) : 'not recorded'} |`,
      );
    }
    if (d.groups.length > top) out.push('', `… ${d.groups.length - top} more group(s)`);
  }
  out.push('');
  return out.join('\n');
}
