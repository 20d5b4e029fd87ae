/**
 * Writes PyPy-STM binary logs byte by byte from the documented layout
 * (../shared/reference/pypy-stm.md §4; `struct buf_s` in c7/stm/prof.c and
 * c8/stm/prof.c), for tests of the importer, the CLI and the server:
 *
 * ```ts
 * const log = pypyLog('c8-n16', { base: 1000 });
 * log.ev(0, 1, 'TRANSACTION_START').ev(500, 1, 'CONTENTION_WRITE_READ', { marker: 'File "x.py", line 3, in f (#7)' });
 * const bytes = log.bytes();
 * ```
 *
 * Times are nanoseconds after `base` seconds of CLOCK_MONOTONIC.
 */

import { C7_HEADER, C8_HEADER, pypyEventCode, pypyVariant, type PypyEventName, type PypyVariant } from './events.ts';

const enc = new TextEncoder();

export interface PypyEventOptions {
  /** c8 marker, or c7 marker 0 (the logging thread's location). */
  marker?: string | Uint8Array;
  /** c7 marker 1 (the other thread's location). */
  marker1?: string | Uint8Array;
  /** c7 other_thread_num (0 = none). */
  other?: number;
  /** Raw event code instead of the name (for corrupt-record tests). */
  code?: number;
}

export class PypyLogBuilder {
  private readonly parts: Uint8Array[] = [];
  readonly variant: PypyVariant;

  constructor(
    variant: string,
    private readonly opts: { base?: number; header?: string } = {},
  ) {
    this.variant = pypyVariant(variant);
    this.parts.push(enc.encode(opts.header ?? (this.variant.family === 'c7' ? C7_HEADER : C8_HEADER)));
  }

  /** Appends one record at `tNs` nanoseconds (after `base` seconds) for PyPy thread `thread`. */
  ev(tNs: number, thread: number, name: PypyEventName, o: PypyEventOptions = {}): this {
    const code = o.code ?? pypyEventCode(this.variant, name);
    if (code < 0) throw new Error(`${this.variant.id} has no event ${name}`);
    const abs = (this.opts.base ?? 5000) * 1e9 + tNs;
    const sec = Math.floor(abs / 1e9);
    const nsec = abs - sec * 1e9;
    const m0 = bytesOf(o.marker);
    const m1 = bytesOf(o.marker1);
    if (this.variant.family === 'c7') {
      const b = new Uint8Array(19 + m0.length + m1.length);
      const dv = new DataView(b.buffer);
      dv.setUint32(0, sec, true);
      dv.setUint32(4, nsec, true);
      dv.setUint32(8, thread, true);
      dv.setUint32(12, o.other ?? 0, true);
      b[16] = code;
      b[17] = m0.length;
      b[18] = m1.length;
      b.set(m0, 19);
      b.set(m1, 19 + m0.length);
      this.parts.push(b);
    } else {
      if (m1.length) throw new Error('c8 records have one marker');
      const b = new Uint8Array(14 + m0.length);
      const dv = new DataView(b.buffer);
      dv.setUint32(0, sec, true);
      dv.setUint32(4, nsec, true);
      dv.setUint32(8, thread, true);
      b[12] = code;
      b[13] = m0.length;
      b.set(m0, 14);
      this.parts.push(b);
    }
    return this;
  }

  /** Appends raw bytes (junk, a cut record). */
  raw(b: Uint8Array): this {
    this.parts.push(b);
    return this;
  }

  bytes(): Uint8Array {
    let n = 0;
    for (const p of this.parts) n += p.length;
    const out = new Uint8Array(n);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

function bytesOf(m: string | Uint8Array | undefined): Uint8Array {
  if (m === undefined) return new Uint8Array(0);
  return typeof m === 'string' ? enc.encode(m) : m;
}

/** Starts a log of the given variant (`c7`, `c8-n11` … `c8-n16`). */
export function pypyLog(variant: string, opts: { base?: number; header?: string } = {}): PypyLogBuilder {
  return new PypyLogBuilder(variant, opts);
}

/**
 * A c8 log with hand-computed print_stm_log.py figures (any c8 numbering;
 * c8-n11/n12 have no BECOME_INEVITABLE, so those events are left out):
 *
 * - thread 1: two transactions abort on CONTENTION_WRITE_READ at marker M1
 *   after 250 and 90 ns of run time and 150 and 10 ns paused; a third
 *   contention (M3) of the already aborting transaction is ignored;
 * - thread 3 waits 160 ns (WAIT_OTHER_INEVITABLE) after BECOME_INEVITABLE at M3;
 * - print_stm_log.py: (WRITE_READ, M1) 2x, 0.000000340 s lost in aborts,
 *   0.000000160 s paused; (BECOME_INEVITABLE, M3) 1x, 0.000000160 s paused;
 *   committed CPU 730 ns, paused 320 ns, aborted 370 ns (stmscope: 340, the
 *   time between a contention and its ABORT is not an attempt's run time).
 */
export function c8Scenario(variant = 'c8-n16') {
  const M1 = 'File "shop.py", line 42, in buy (#18)';
  const M3 = 'File "log.py", line 7, in write (#4)';
  const M2 = 'File "db.py", line 3, in flush (#0)';
  const v = pypyVariant(variant);
  const has = (n: PypyEventName) => v.events.includes(n);
  const log = pypyLog(variant)
    .ev(0, 1, 'TRANSACTION_START')
    .ev(50, 2, 'TRANSACTION_START');
  if (has('BECOME_INEVITABLE')) log.ev(60, 2, 'BECOME_INEVITABLE', { marker: M2 });
  log
    .ev(100, 1, has('WAIT_SYNC_PAUSE') ? 'WAIT_SYNC_PAUSE' : 'WAIT_FREE_SEGMENT')
    .ev(200, 3, 'TRANSACTION_START');
  if (has('BECOME_INEVITABLE')) log.ev(210, 3, 'BECOME_INEVITABLE', { marker: M3 });
  log
    .ev(220, 3, 'WAIT_OTHER_INEVITABLE')
    .ev(250, 1, 'WAIT_DONE')
    .ev(380, 3, 'WAIT_DONE')
    .ev(390, 2, 'TRANSACTION_COMMIT')
    .ev(400, 1, 'CONTENTION_WRITE_READ', { marker: M1 })
    .ev(420, 1, 'TRANSACTION_ABORT')
    .ev(430, 1, 'TRANSACTION_START')
    .ev(440, 2, 'GC_MINOR_START')
    .ev(460, 2, 'GC_MINOR_DONE')
    .ev(470, 2, 'GC_MAJOR_START')
    .ev(480, 2, 'GC_MAJOR_DONE')
    .ev(500, 3, 'TRANSACTION_COMMIT')
    .ev(600, 1, 'TRANSACTION_COMMIT')
    .ev(700, 1, 'TRANSACTION_START')
    .ev(720, 1, 'WAIT_FREE_SEGMENT')
    .ev(730, 1, 'WAIT_DONE')
    .ev(800, 1, 'CONTENTION_WRITE_READ', { marker: M1 })
    .ev(805, 1, 'CONTENTION_WRITE_READ', { marker: M3 })
    .ev(810, 1, 'TRANSACTION_ABORT')
    .ev(820, 1, 'TRANSACTION_START')
    .ev(900, 1, 'TRANSACTION_COMMIT');
  return { log, M1, M2, M3 };
}
