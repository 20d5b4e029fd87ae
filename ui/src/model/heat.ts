/**
 * Per-line conflict heat of one source file, from the conflict groups' stacks:
 * a line is "self" hot when it is the conflicting access (frame 0 of a stack)
 * and "inclusive" hot when it is on the stack above one (a caller). Time lost
 * and counts are split between a group's stacks by their counts.
 */

import type { Frame } from '../../../model/defs.ts';
import type { FilteredGroup } from './filters.ts';

export interface LineHeat {
  line: number;
  /** time lost where this line is the conflicting access */
  selfNs: number;
  /** time lost where this line is on the stack (including self) */
  totalNs: number;
  /** conflicts where this line is the access */
  selfCount: number;
  asVictim: number;
  asCulprit: number;
  groupKeys: string[];
  /** source text known from the recording ('' when none) */
  text: string;
}

export interface FileHeat {
  file: string;
  lines: Map<number, LineHeat>;
  /** largest self time lost of a line (colour scale) */
  maxSelfNs: number;
  maxTotalNs: number;
  /** Σ self time lost of the file's lines */
  totalNs: number;
}

/**
 * Files that appear in any frame of the groups, by time lost at their own
 * lines (the conflicting accesses, frame 0) first, then by time lost through
 * them as callers.
 */
export function filesOf(groups: readonly FilteredGroup[]): Array<{ file: string; selfNs: number; totalNs: number }> {
  const m = new Map<string, { selfNs: number; totalNs: number }>();
  const at = (f: string) => {
    let e = m.get(f);
    if (!e) m.set(f, (e = { selfNs: 0, totalNs: 0 }));
    return e;
  };
  for (const fg of groups) {
    for (const side of [fg.group.victim, fg.group.culprit]) {
      if (!side) continue;
      const stackTotal = side.stacks.reduce((s, st) => s + st.count, 0) || 1;
      for (const st of side.stacks) {
        const lost = (fg.timeLostNs * st.count) / stackTotal;
        const seen = new Set<string>();
        st.frames.forEach((f, i) => {
          if (i === 0) at(f.file).selfNs += lost;
          if (!seen.has(f.file)) {
            seen.add(f.file);
            at(f.file).totalNs += lost;
          }
        });
      }
    }
  }
  return [...m.entries()]
    .map(([file, v]) => ({ file, ...v }))
    .sort((a, b) => b.selfNs - a.selfNs || b.totalNs - a.totalNs || a.file.localeCompare(b.file));
}

/** The heat of `file` from the (filtered) groups. */
export function fileHeat(file: string, groups: readonly FilteredGroup[]): FileHeat {
  const lines = new Map<number, LineHeat>();
  let max = 0;
  let total = 0;
  const at = (f: Frame): LineHeat => {
    let h = lines.get(f.line);
    if (!h) lines.set(f.line, (h = { line: f.line, selfNs: 0, totalNs: 0, selfCount: 0, asVictim: 0, asCulprit: 0, groupKeys: [], text: f.text }));
    if (!h.text && f.text) h.text = f.text;
    return h;
  };
  for (const fg of groups) {
    const g = fg.group;
    for (const [role, side] of [['victim', g.victim], ['culprit', g.culprit]] as const) {
      if (!side || side.stacks.length === 0) continue;
      const stackTotal = side.stacks.reduce((s, st) => s + st.count, 0) || 1;
      for (const st of side.stacks) {
        const share = st.count / stackTotal;
        const lost = fg.timeLostNs * share;
        const count = fg.count * share;
        const seen = new Set<number>();
        st.frames.forEach((f, i) => {
          if (f.file !== file || f.line <= 0) return;
          const h = at(f);
          if (!seen.has(f.line)) {
            seen.add(f.line);
            h.totalNs += lost;
            if (!h.groupKeys.includes(g.key)) h.groupKeys.push(g.key);
          }
          if (i === 0) {
            h.selfNs += lost;
            h.selfCount += count;
            if (role === 'victim') h.asVictim += count;
            else h.asCulprit += count;
          }
        });
      }
    }
  }
  let maxSelf = 0;
  for (const h of lines.values()) {
    if (h.totalNs > max) max = h.totalNs;
    if (h.selfNs > maxSelf) maxSelf = h.selfNs;
    total += h.selfNs;
  }
  return { file, lines, maxSelfNs: maxSelf, maxTotalNs: max, totalNs: total };
}

/**
 * Heat level 0..5 of a line for colouring: by its self time lost against the
 * hottest line of the file; a line that is only on the stack (a caller) gets 1.
 */
export function heatLevel(h: LineHeat | undefined, heat: FileHeat): number {
  if (!h) return 0;
  if (h.selfNs > 0 && heat.maxSelfNs > 0) return Math.max(1, Math.min(5, Math.ceil((h.selfNs / heat.maxSelfNs) * 5)));
  return h.totalNs > 0 ? 1 : 0;
}
