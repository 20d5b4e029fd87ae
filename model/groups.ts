/**
 * The data of conflict groups as reports and the dashboard see them: plain
 * types only, shared by the aggregator (which builds them) and the advice
 * rules (which read them), so neither imports the other's code.
 */
import type { Frame } from './defs.ts';

/** A piece of advice attached to a conflict group. */
export interface Advice {
  /** Id of the rule that matched, e.g. `shared-counter`. */
  rule: string;
  /** One or two sentences naming the fix. */
  text: string;
}

/** A frequent stack of one side of a group. */
export interface StackExample {
  frames: Frame[];
  /** Conflicts of the group that had this stack. */
  count: number;
}

/** One side (victim or culprit) of a conflict group. */
export interface GroupSide {
  /** `file:line:column`, '' when the site is unknown. */
  location: string;
  /** Workers seen on this side. */
  workers: number[];
  /** Distinct stacks, most frequent first (at most 3). */
  stacks: StackExample[];
}

/** One (object, field) of a conflict group. */
export interface GroupObject {
  objectId: number;
  fieldIndex: number;
  label: string;
  type: string;
  field: string;
  shape: string;
  count: number;
  timeLostNs: number;
}

/** A conflict group (kind, victim location, culprit location). */
export interface ConflictGroup {
  /** Stable key of the group within one recording. */
  key: string;
  kind: string;
  count: number;
  timeLostNs: number;
  waitNs: number;
  /** Part of timeLostNs spent blocked by an inevitable transaction. */
  blockedNs: number;
  /** Of `count` (kind inevitable): blocked by transactions that ran inevitable because they hit the retry limit. */
  retryLimitBlocks: number;
  victim: GroupSide;
  /** null when no culprit was recorded (user aborts, unknown culprit worker). */
  culprit: GroupSide | null;
  /** Objects, most conflicts first. */
  objects: GroupObject[];
  /** Distinct (object, field) pairs, including overflow beyond the tracking limit (then a lower bound). */
  distinctObjects: number;
  /** Conflicts on (object, field) pairs past the tracking limit. */
  untrackedObjectConflicts: number;
  /** Conflicts per bucket of the snapshot's time axis (`timeline.bucketNs`). */
  histogram: number[];
  advice: Advice | null;
}

/** A hot (object, field), across all groups. */
export interface HotObject {
  objectId: number;
  fieldIndex: number;
  label: string;
  type: string;
  field: string;
  shape: string;
  conflicts: number;
  timeLostNs: number;
}
