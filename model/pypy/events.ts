/**
 * The event numberings of PyPy-STM's binary logs (`PYPYSTM=<file>`), by name.
 *
 * Two record layouts exist (../shared/reference/pypy-stm.md §4):
 *
 * ```
 * STMGC-C7-PROF01\n  record "IIIIBBB" = 19 bytes + marker0 + marker1
 *   u32 tv_sec │ u32 tv_nsec │ u32 thread_num │ u32 other_thread_num │ u8 event │ u8 len0 │ u8 len1
 * STMGC-C8-PROF01\n  record "IIIBB"  = 14 bytes + marker
 *   u32 tv_sec │ u32 tv_nsec │ u32 thread_num │ u8 event │ u8 marker_length
 * ```
 *
 * c7 has one numbering. c8 renumbered its events four times under the same
 * unchanged header (§3), so a c8 log is read with one of five tables; the
 * importer guesses which by the plausibility of the event stream, or the user
 * names it. Variant ids say how many events the table has (`c8-n16` is the
 * final one, also called `c8`).
 */

/** Every event name any PyPy-STM version wrote (the `STM_` prefix dropped). */
export type PypyEventName =
  | 'TRANSACTION_START'
  | 'TRANSACTION_COMMIT'
  | 'TRANSACTION_ABORT'
  | 'TRANSACTION_DETACH'
  | 'TRANSACTION_REATTACH'
  | 'BECOME_INEVITABLE'
  | 'CONTENTION_WRITE_WRITE'
  | 'CONTENTION_WRITE_READ'
  | 'CONTENTION_INEVITABLE'
  | 'ABORTING_OTHER_CONTENTION'
  | 'WAIT_FREE_SEGMENT'
  | 'WAIT_SYNCING'
  | 'WAIT_SYNC_PAUSE'
  | 'WAIT_CONTENTION'
  | 'WAIT_OTHER_INEVITABLE'
  | 'WAIT_DONE'
  | 'GC_MINOR_START'
  | 'GC_MINOR_DONE'
  | 'GC_MAJOR_START'
  | 'GC_MAJOR_DONE';

export type PypyFamily = 'c7' | 'c8';

/** One numbering of the events under one header. */
export interface PypyVariant {
  /** `c7`, `c8-n11`, `c8-n12`, `c8-n13`, `c8-n14`, `c8-n16`. */
  id: string;
  family: PypyFamily;
  /** The 16 header bytes as text, `STMGC-C7-PROF01\n` or `STMGC-C8-PROF01\n`. */
  header: string;
  /** Event name by code; a code ≥ `events.length` means a corrupt record (as print_stm_log.py says). */
  events: readonly PypyEventName[];
  /** Which writers/readers used it (for messages and docs). */
  era: string;
}

export const C7_HEADER = 'STMGC-C7-PROF01\n';
export const C8_HEADER = 'STMGC-C8-PROF01\n';
/** Bytes of the fixed part of a record. */
export const C7_RECORD_BYTES = 19;
export const C8_RECORD_BYTES = 14;
/** Largest marker the writers produce: 128 per marker in c7, 160 in c8 (prof.c). */
export const C7_MAX_MARKER = 128;
export const C8_MAX_MARKER = 160;

const GC = ['GC_MINOR_START', 'GC_MINOR_DONE', 'GC_MAJOR_START', 'GC_MAJOR_DONE'] as const;
const TX = ['TRANSACTION_START', 'TRANSACTION_COMMIT', 'TRANSACTION_ABORT'] as const;

/** All known numberings, c7 first, then c8 from oldest to newest. */
export const PYPY_VARIANTS: readonly PypyVariant[] = [
  {
    id: 'c7',
    family: 'c7',
    header: C7_HEADER,
    era: 'stmgc c7 (PyPy-STM 2.5, 2014-10..2015-03), c7/stmgc.h',
    events: [
      ...TX,
      'CONTENTION_WRITE_WRITE',
      'CONTENTION_WRITE_READ',
      'CONTENTION_INEVITABLE',
      'ABORTING_OTHER_CONTENTION',
      'WAIT_FREE_SEGMENT',
      'WAIT_SYNC_PAUSE',
      'WAIT_CONTENTION',
      'WAIT_DONE',
      ...GC,
    ],
  },
  {
    id: 'c8-n11',
    family: 'c8',
    header: C8_HEADER,
    era: 'print_stm_log.py af231839 (2015-03-08)',
    events: [...TX, 'CONTENTION_WRITE_READ', 'WAIT_FREE_SEGMENT', 'WAIT_OTHER_INEVITABLE', 'WAIT_DONE', ...GC],
  },
  {
    id: 'c8-n12',
    family: 'c8',
    header: C8_HEADER,
    era: 'print_stm_log.py 0fee0686 (2015-03-09)',
    events: [...TX, 'CONTENTION_WRITE_READ', 'WAIT_FREE_SEGMENT', 'WAIT_SYNC_PAUSE', 'WAIT_OTHER_INEVITABLE', 'WAIT_DONE', ...GC],
  },
  {
    id: 'c8-n13',
    family: 'c8',
    header: C8_HEADER,
    era: 'print_stm_log.py e685e8f0..04d2a744 (2015-03..06)',
    events: [
      ...TX,
      'CONTENTION_WRITE_READ',
      'BECOME_INEVITABLE',
      'WAIT_FREE_SEGMENT',
      'WAIT_SYNC_PAUSE',
      'WAIT_OTHER_INEVITABLE',
      'WAIT_DONE',
      ...GC,
    ],
  },
  {
    id: 'c8-n14',
    family: 'c8',
    header: C8_HEADER,
    era: 'print_stm_log.py 36778377..cba29baa (2015-06..09)',
    events: [
      ...TX,
      'BECOME_INEVITABLE',
      'CONTENTION_WRITE_READ',
      'WAIT_FREE_SEGMENT',
      'WAIT_SYNCING',
      'WAIT_SYNC_PAUSE',
      'WAIT_OTHER_INEVITABLE',
      'WAIT_DONE',
      ...GC,
    ],
  },
  {
    id: 'c8-n16',
    family: 'c8',
    header: C8_HEADER,
    era: 'final c8/stmgc.h, print_stm_log.py e1cbba74 on (2015-11..2017)',
    events: [
      ...TX,
      'TRANSACTION_DETACH',
      'TRANSACTION_REATTACH',
      'BECOME_INEVITABLE',
      'CONTENTION_WRITE_READ',
      'WAIT_FREE_SEGMENT',
      'WAIT_SYNCING',
      'WAIT_SYNC_PAUSE',
      'WAIT_OTHER_INEVITABLE',
      'WAIT_DONE',
      ...GC,
    ],
  },
];

/** Aliases accepted where a variant id is expected. */
const ALIASES: Record<string, string> = { c8: 'c8-n16', 'c8-final': 'c8-n16' };

/** Ids accepted by {@link pypyVariant} (for help texts). */
export const PYPY_VARIANT_IDS: readonly string[] = [...PYPY_VARIANTS.map((v) => v.id), ...Object.keys(ALIASES)];

/**
 * The variant named `id` (or an alias: `c8` = `c8-n16`).
 * @throws Error naming the known ids
 */
export function pypyVariant(id: string): PypyVariant {
  const v = PYPY_VARIANTS.find((x) => x.id === (ALIASES[id] ?? id));
  if (!v) throw new Error(`unknown PyPy-STM log variant ${JSON.stringify(id)}: use one of ${PYPY_VARIANT_IDS.join(', ')} (or auto)`);
  return v;
}

/** The code of `name` in `variant`, or -1 when that numbering has no such event (for writing test logs). */
export function pypyEventCode(variant: PypyVariant, name: PypyEventName): number {
  return variant.events.indexOf(name);
}

/** Events that carry markers in a well-formed log (a marker elsewhere is a sign of a wrong numbering). */
export const MARKER_EVENTS: ReadonlySet<PypyEventName> = new Set<PypyEventName>([
  'CONTENTION_WRITE_WRITE',
  'CONTENTION_WRITE_READ',
  'CONTENTION_INEVITABLE',
  'BECOME_INEVITABLE',
  'TRANSACTION_REATTACH',
]);
