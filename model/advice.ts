/**
 * Advice: data-driven pattern rules that recognise well-known conflict shapes in
 * a conflict group and name the fix (PyPy-STM's list of common causes, stm.rst,
 * ../shared/reference/pypy-stm.md §10, mapped to stmscope's primitives).
 *
 * Each rule looks only at {@link GroupFeatures} (plain numbers and strings
 * derived from the group), so rules are easy to test and to add. Rules are
 * tried in order; the first match wins.
 */

import type { Advice, ConflictGroup, GroupObject } from './groups.ts';

export type { Advice } from './groups.ts';


/** What the rules look at. */
export interface GroupFeatures {
  kind: string;
  count: number;
  /** Distinct workers on either side. */
  workers: number;
  /** Victim and culprit are the same code location (a read-modify-write racing with itself). */
  sameLocation: boolean;
  victimLocation: string;
  culpritLocation: string;
  /** Source line text ('' unknown). */
  victimText: string;
  culpritText: string;
  victimFunction: string;
  culpritFunction: string;
  /** The (object, field) with most conflicts, if any. */
  top: GroupObject | undefined;
  /** Share of the group's conflicts on `top` (0..1). */
  topShare: number;
  /** Distinct (object, field) pairs. */
  distinctObjects: number;
  /**
   * The most distinct fields/elements seen on one struct or array. Entries of a
   * TMap do not count: they are already separate conflict units.
   */
  maxFieldsPerObject: number;
  /** Label of that object (without the field). */
  mostFieldsObject: string;
  /** Share of an inevitable group's blocks caused by transactions that hit the retry limit (0..1). */
  retryLimitShare: number;
}

/** A rule: which kinds it applies to, when it matches, what it says. */
export interface AdviceRule {
  id: string;
  kinds: readonly string[];
  match(f: GroupFeatures): boolean;
  say(f: GroupFeatures): string;
}

const CONFLICTS = ['write-write', 'write-read'] as const;

/**
 * Counting by a constant: `x.n += 1`, `x.n++`, `x.n = x.n + 1` (not `b -= amount`:
 * a balance that moves by varying amounts and is checked is no counter).
 */
export const INCREMENT_TEXT = /\+\+|--|[+-]=\s*\d|=\s*[\w$.[\]"']+\s*[+-]\s*\d/;
/** Field names of a queue's consumer index. */
export const QUEUE_HEAD_FIELD = /^(head|front|first|next|nextIndex|readIndex|readPos|read|cursor|pos|position|index|idx|taken|consumed|out)$/i;
/** Code that pops or shifts a shared list. */
export const POP_TEXT = /\.(shift|pop|dequeue|take|poll)\s*\(/;
export const POP_FUNCTION = /^(pop|shift|dequeue|take|poll|next(Job|Task|Item)?|claim|grab)/i;
/** I/O and other calls that make a transaction inevitable. */
export const IO_TEXT =
  /\b(console\.\w+|process\.std(out|err)\.\w+|fs\.\w+|\w*(write|append|read)\w*(File|Sync)\w*|fetch|Date\.now|performance\.now|becomeInevitable|print|log\w*)\s*\(/;
/** Accumulation into an array element: `xs.set(i, xs.get(i) + v)` or `xs[i] += v`. */
export const ACCUMULATE_TEXT = /\.set\(\s*([^,]+?)\s*,\s*[\w$.]+\.get\(\s*\1\s*\)\s*[+-]|\]\s*[+-]=/;
const baseLabelOf = (label: string) => label.replace(/\[[^\]]*\]$/, '');
/** Assignment of a constant: `job.done = true;`. */
export const CONSTANT_WRITE = /^(.*?[\w$\])])\s*=(?!=)\s*(true|false|null|undefined|-?\d+(?:\.\d+)?|'[^']*'|"[^"]*")\s*;?\s*$/;

const q = (s: string) => '`' + s.replace(/`/g, "'") + '`';
const at = (loc: string, text: string) => (loc ? ` at ${q(loc)}` : '') + (text ? ` (${q(text)})` : '');

/** The rules, in the order they are tried. */
export const ADVICE_RULES: readonly AdviceRule[] = [
  {
    id: 'retry-limit',
    kinds: ['inevitable'],
    match: (f) => f.retryLimitShare >= 0.5,
    say: (f) =>
      `These waits (${f.count}) are for transactions that aborted too many times in a row and then ran inevitable, ` +
      'one at a time, to guarantee progress. They are a symptom: fix the conflicts that made those transactions retry ' +
      '(the write-write / write-read groups of this report); raising `maxRetries` only trades waiting for aborted work.',
  },
  {
    id: 'inevitable-io',
    kinds: ['inevitable'],
    match: () => true,
    say: (f) => {
      if (!IO_TEXT.test(f.culpritText)) {
        return (
          `A transaction ran inevitable (one at a time)${at(f.culpritLocation, f.culpritText)} and others waited for it or lost to its writes (${f.count} times here). ` +
          'If it does I/O or calls becomeInevitable(), move that out of the transaction or after the commit with `tx.onCommit(() => …)`; ' +
          'if it hit the retry limit, fix the conflicts that made it retry.'
        );
      }
      return (
        `A transaction does I/O inside the transaction${at(f.culpritLocation, f.culpritText)}, which makes it inevitable: ` +
        `inevitable transactions run one at a time and the others wait (${f.count} times here). ` +
        'Move the I/O out of the transaction, or run it after the commit with `tx.onCommit(() => …)`.'
      );
    },
  },
  {
    id: 'queue-head',
    kinds: CONFLICTS,
    match: (f) =>
      !!f.top &&
      f.topShare >= 0.5 &&
      f.workers >= 2 &&
      (QUEUE_HEAD_FIELD.test(f.top.field) || POP_TEXT.test(f.victimText) || POP_TEXT.test(f.culpritText) || POP_FUNCTION.test(f.victimFunction)),
    say: (f) =>
      `Every worker takes work from the same queue head (${q(f.top!.label)}${at(f.victimLocation, f.victimText)}), ` +
      'so each pop conflicts with every other. Use a `TQueue`: its consumers take items without conflicting on one head index.',
  },
  {
    id: 'array-accumulator',
    kinds: CONFLICTS,
    match: (f) => !!f.top && f.top.shape === 'array' && f.sameLocation && ACCUMULATE_TEXT.test(f.victimText),
    say: (f) =>
      `Elements of ${q(f.mostFieldsObject || baseLabelOf(f.top!.label))} are accumulated with read-modify-write${at(f.victimLocation, f.victimText)}, ` +
      'so transactions adding to the same element conflict. Use `TArray.add(i, delta)`: commutative adds are applied at commit, ' +
      'never read the element, and never conflict with each other.',
  },
  {
    id: 'struct-as-map',
    kinds: CONFLICTS,
    match: (f) => f.maxFieldsPerObject >= 3 && f.topShare < 0.8,
    say: (f) =>
      `${q(f.mostFieldsObject)} is used as a map: ${f.maxFieldsPerObject} different fields/keys of it conflict, ` +
      'because a write to any of them conflicts with readers of the others. ' +
      'Use the key-granular `TMap`, where transactions that touch different keys do not conflict.',
  },
  {
    id: 'shared-counter',
    kinds: CONFLICTS,
    match: (f) =>
      !!f.top &&
      f.topShare >= 0.5 &&
      f.workers >= 2 &&
      // With source text, require counting by a constant; without, a read-modify-write racing with itself.
      (f.victimText || f.culpritText ? INCREMENT_TEXT.test(f.victimText) || INCREMENT_TEXT.test(f.culpritText) : f.sameLocation),
    say: (f) =>
      `${q(f.top!.label)} is a shared counter updated by every transaction${at(f.culpritLocation || f.victimLocation, f.culpritText || f.victimText)}, ` +
      'so any two transactions conflict on it. Use a `TCounter`: its `add` never conflicts (read the total only where you need it).',
  },
  {
    id: 'same-value',
    kinds: CONFLICTS,
    match: (f) => CONSTANT_WRITE.test(f.culpritText),
    say: (f) => {
      const m = CONSTANT_WRITE.exec(f.culpritText)!;
      return (
        `The culprit writes the same value again and again${at(f.culpritLocation, f.culpritText)}. ` +
        `Check before writing (${q(`if (${m[1].trim()} !== ${m[2]}) ${m[1].trim()} = ${m[2]}`)}) so transactions that find it already set only read it.`
      );
    },
  },
];

/** Derives the rule inputs from a group (its full object list, before truncation). */
export function groupFeatures(g: ConflictGroup): GroupFeatures {
  const workers = new Set([...g.victim.workers, ...(g.culprit?.workers ?? [])]);
  const top = g.objects[0];
  const fieldsPerObject = new Map<string, Set<string>>();
  for (const o of g.objects) {
    if (o.shape !== 'struct' && o.shape !== 'array' && o.shape !== 'unknown') continue;
    const base = baseLabel(o);
    let s = fieldsPerObject.get(base);
    if (!s) fieldsPerObject.set(base, (s = new Set()));
    s.add(o.field);
  }
  let maxFields = 0;
  let mostFieldsObject = '';
  for (const [label, s] of fieldsPerObject) {
    if (s.size > maxFields) {
      maxFields = s.size;
      mostFieldsObject = label;
    }
  }
  const vFrame = g.victim.stacks[0]?.frames[0];
  const cFrame = g.culprit?.stacks[0]?.frames[0];
  return {
    kind: g.kind,
    count: g.count,
    workers: workers.size,
    sameLocation: !!g.culprit && g.victim.location !== '' && g.victim.location === g.culprit.location,
    victimLocation: g.victim.location,
    culpritLocation: g.culprit?.location ?? '',
    victimText: vFrame?.text ?? '',
    culpritText: cFrame?.text ?? '',
    victimFunction: vFrame?.function ?? '',
    culpritFunction: cFrame?.function ?? '',
    top,
    topShare: top && g.count ? top.count / g.count : 0,
    distinctObjects: g.distinctObjects,
    maxFieldsPerObject: maxFields,
    mostFieldsObject,
    retryLimitShare: g.count ? (g.retryLimitBlocks ?? 0) / g.count : 0,
  };
}

function baseLabel(o: GroupObject): string {
  if (o.shape === 'array') return o.label.slice(0, o.label.lastIndexOf('['));
  const dot = o.field ? o.label.lastIndexOf('.' + o.field) : -1;
  return dot > 0 ? o.label.slice(0, dot) : o.label;
}

/**
 * The first rule matching a group, or null.
 * @param rules default {@link ADVICE_RULES}
 */
export function adviseGroup(g: ConflictGroup, rules: readonly AdviceRule[] = ADVICE_RULES): Advice | null {
  return adviseFeatures(groupFeatures(g), rules);
}

/** The first rule matching some features, or null. */
export function adviseFeatures(f: GroupFeatures, rules: readonly AdviceRule[] = ADVICE_RULES): Advice | null {
  for (const r of rules) {
    if (r.kinds.includes(f.kind) && r.match(f)) return { rule: r.id, text: r.say(f) };
  }
  return null;
}
