/**
 * A tiny builder for readable test recordings that produces REAL encoded
 * bytes (the same records and chunks the recorder writes), for model, server
 * and UI tests:
 *
 * ```ts
 * const r = rec({ meta: { argv: ['node', 'bank.js'] } });
 * const debit = r.site('bank.ts:12:5', { fn: 'transfer', text: 'from.balance -= amount;' });
 * const acct = r.object('Account', { serial: 17, fields: ['id', 'balance'] });
 * r.worker(1).start(0).abort(100, 'write-write', { obj: acct, field: 'balance', site: debit, culprit: [2, 1, debit] })
 *  .worker(2).start(10).commit(90);
 * const bytes = r.bytes({ end: { durationNs: 1000 } });
 * ```
 *
 * Definitions are emitted lazily, the first time an event of a worker uses a
 * site, in that worker's id space. Site and string ids are deliberately offset
 * per worker (worker w numbers sites from 100·w+1, strings from 1000·w+1), so a
 * reader that confuses id spaces fails tests instead of passing by luck.
 */

import {
  CONFLICT_KIND_NAMES,
  Ev,
  FIELD_KIND_NAMES,
  GLOBAL_WORKER,
  OBJ_SHAPE_NAMES,
  RECORD_WORDS,
  TxFlag,
  WaitReason,
  header,
  type ConflictKindName,
} from '../records.ts';
import {
  RecordingEncoder,
  concatBytes,
  type EncoderOptions,
  type RecordingEnd,
  type RecordingMeta,
} from '../format.ts';

/** A code location known to the builder; defined per worker on first use. */
export interface SiteRef {
  readonly ref: number;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly fn: string;
  readonly text: string;
  /** Outer frames (callers), innermost first, the site itself excluded. */
  readonly callers: readonly SiteRef[];
}

/** An object defined by the builder (its id is the heap address). */
export interface ObjRef {
  readonly id: number;
  readonly type: string;
  readonly fields: readonly string[];
}

export type WaitReasonName = 'inevitable-commit' | 'inevitable-become' | 'backoff' | 'commit-lock';
const WAIT_CODES: Record<WaitReasonName, number> = {
  'inevitable-commit': WaitReason.InevitableCommit,
  'inevitable-become': WaitReason.InevitableBecome,
  backoff: WaitReason.Backoff,
  'commit-lock': WaitReason.CommitLock,
};

export interface AbortOptions {
  obj?: ObjRef | number;
  /** Field name (looked up in the object's type) or index. Default -1 (unknown). */
  field?: string | number;
  /** Victim site. */
  site?: SiteRef;
  /** `[worker, txSeq, site?]` of the committed culprit; omit for unknown. */
  culprit?: readonly [number, number, SiteRef?];
  /** Nanoseconds the attempt spent waiting (AbortCulprit p3). Default 0. */
  waitNs?: number;
}

/** Nanoseconds helpers for readable times. */
export const us = (n: number) => Math.round(n * 1e3);
export const ms = (n: number) => Math.round(n * 1e6);

const enc = new TextEncoder();

/** Options of {@link rec}. */
export interface BuilderOptions {
  meta?: RecordingMeta;
  /** Passed to the encoder (e.g. a small maxChunkBytes to get many chunks). */
  encoder?: EncoderOptions;
  /** Offset site/string ids per worker (see module doc). Default true. */
  offsetIds?: boolean;
}

/** Starts a recording builder. */
export function rec(opts: BuilderOptions = {}): RecordingBuilder {
  return new RecordingBuilder(opts);
}

export class RecordingBuilder {
  private words = new Uint32Array(1024);
  private n = 0;
  private w = 0;
  private t = 0;
  private readonly sites: SiteRef[] = [];
  /** per worker: site ref → site id */
  private readonly siteIds = new Map<number, Map<number, number>>();
  private readonly nextSite = new Map<number, number>();
  /** per worker: string → id */
  private readonly strIds = new Map<number, Map<string, number>>();
  private readonly nextStr = new Map<number, number>();
  private readonly stackIds = new Map<number, Map<string, number>>();
  private readonly typeFieldsDone = new Set<string>();
  private nextObj = 1000;
  private readonly serials = new Map<string, number>();
  private readonly txSeq = new Map<number, number>();
  private readonly lastAborted = new Map<number, boolean>();
  private readonly objs = new Map<number, ObjRef>();

  constructor(private readonly opts: BuilderOptions = {}) {}

  // -- definitions ---------------------------------------------------------

  /**
   * Declares a code site `file:line:column` (column optional, default 1).
   * @param o.fn function name (default ''), o.text source line text (default ''),
   *   o.callers outer frames for its representative stack (default none)
   */
  site(loc: string, o: { fn?: string; text?: string; callers?: SiteRef[] } = {}): SiteRef {
    const m = /^(.*?):(\d+)(?::(\d+))?$/.exec(loc);
    if (!m) throw new Error(`site must look like file:line[:column], got ${loc}`);
    const s: SiteRef = {
      ref: this.sites.length,
      file: m[1],
      line: Number(m[2]),
      column: m[3] ? Number(m[3]) : 1,
      fn: o.fn ?? '',
      text: o.text ?? '',
      callers: o.callers ?? [],
    };
    this.sites.push(s);
    return s;
  }

  /**
   * Defines an object (emitted immediately as GLOBAL_WORKER records).
   * @param o.serial per-type serial for `Type#serial` labels (default: next per type, from 1)
   * @param o.label explicit label (default none), o.fields field names by index (default [])
   * @param o.shape 'struct' | 'array' | 'map-entry' | 'map' | 'counter' | 'queue' | 'local' (default 'struct')
   * @param o.container map object of a map entry, o.key its key
   * @param o.id heap address (default: increasing from 1000)
   */
  object(
    type: string,
    o: {
      serial?: number;
      label?: string;
      fields?: string[];
      shape?: (typeof OBJ_SHAPE_NAMES)[number];
      container?: ObjRef;
      key?: string | number;
      id?: number;
    } = {},
  ): ObjRef {
    const id = o.id ?? this.nextObj++;
    const serial = o.serial ?? (this.serials.get(type) ?? 0) + 1;
    this.serials.set(type, Math.max(serial, this.serials.get(type) ?? 0));
    const fields = o.fields ?? [];
    const G = GLOBAL_WORKER;
    const typeId = this.str(G, type);
    const labelId = o.label ? this.str(G, o.label) : 0;
    let keyKind = 0;
    let key = 0;
    if (typeof o.key === 'number') {
      keyKind = 1;
      key = o.key;
    } else if (typeof o.key === 'string') {
      keyKind = 2;
      key = this.str(G, o.key);
    }
    if (!this.typeFieldsDone.has(type)) {
      this.typeFieldsDone.add(type);
      fields.forEach((f, i) => {
        this.push(header(Ev.DefField, G, 1), 0, 0, 0, typeId, i, this.str(G, f), FIELD_KIND_NAMES.indexOf('i32'));
      });
    }
    const shape = OBJ_SHAPE_NAMES.indexOf(o.shape ?? 'struct');
    this.push(header(Ev.DefObject, G, 2), 0, 0, 0, id, typeId, labelId, o.container?.id ?? 0);
    this.push(keyKind, key >>> 0, serial, shape, 0, 0, 0, 0);
    const ref: ObjRef = { id, type, fields };
    this.objs.set(id, ref);
    return ref;
  }

  /** Defines one key of a key-granular map object (`map[key]`). */
  mapEntry(map: ObjRef, key: string | number, o: { id?: number } = {}): ObjRef {
    return this.object('TMap.entry', { shape: 'map-entry', container: map, key, id: o.id });
  }

  // -- events of the current worker -----------------------------------------

  /** Selects the worker the following events belong to. */
  worker(w: number): this {
    this.w = w;
    return this;
  }

  /**
   * A transaction attempt starts. A start after an abort on the same worker is a
   * retry (same txSeq); otherwise the next txSeq is used.
   */
  start(t: number, o: { site?: SiteRef; name?: string; tx?: number; inevitable?: boolean } = {}): this {
    const w = this.w;
    let tx = o.tx;
    if (tx === undefined) {
      const cur = this.txSeq.get(w) ?? 0;
      tx = this.lastAborted.get(w) && cur > 0 ? cur : cur + 1;
    }
    this.txSeq.set(w, tx);
    this.lastAborted.set(w, false);
    const site = o.site ? this.siteId(w, o.site) : 0;
    const name = o.name ? this.str(w, o.name) : 0;
    const flags = (o.name ? TxFlag.Named : 0) | (o.inevitable ? TxFlag.Inevitable : 0);
    return this.ev(Ev.TxStart, t, name, site, flags, 0);
  }

  /** The current attempt commits. */
  commit(t: number, o: { reads?: number; writes?: number; inevitable?: boolean; version?: number } = {}): this {
    return this.ev(Ev.TxCommit, t, o.reads ?? 0, o.writes ?? 0, o.inevitable ? TxFlag.Inevitable : 0, o.version ?? 0);
  }

  /**
   * A whole committed attempt in one `tx_span` record (what the runtime writes
   * for an attempt with nothing else recorded in between).
   */
  span(start: number, end: number, o: { site?: SiteRef; name?: string; writes?: number; inevitable?: boolean } = {}): this {
    const w = this.w;
    const tx = this.lastAborted.get(w) && (this.txSeq.get(w) ?? 0) > 0 ? this.txSeq.get(w)! : (this.txSeq.get(w) ?? 0) + 1;
    this.txSeq.set(w, tx);
    this.lastAborted.set(w, false);
    const site = o.site ? this.siteId(w, o.site) : 0;
    const name = o.name ? this.str(w, o.name) : 0;
    const flags = (o.name ? TxFlag.Named : 0) | (o.inevitable ? TxFlag.Inevitable : 0);
    return this.ev(Ev.TxSpan, end, end - start, site, name, flags | (Math.min(o.writes ?? 0, 0xffffff) << 8));
  }

  /** The current attempt aborts (TxAbort + AbortCulprit). */
  abort(t: number, kind: ConflictKindName, o: AbortOptions = {}): this {
    const w = this.w;
    const obj = typeof o.obj === 'number' ? this.objs.get(o.obj) : o.obj;
    const objId = typeof o.obj === 'number' ? o.obj : (o.obj?.id ?? 0);
    let field = -1;
    if (typeof o.field === 'number') field = o.field;
    else if (typeof o.field === 'string') {
      field = obj ? obj.fields.indexOf(o.field) : -1;
      if (field < 0) throw new Error(`object ${obj?.type ?? objId} has no field ${o.field}`);
    }
    const victim = o.site ? this.siteId(w, o.site) : 0;
    let cw = -1;
    let ctx = 0;
    let cs = 0;
    if (o.culprit) {
      [cw, ctx] = o.culprit;
      if (o.culprit[2]) cs = this.siteId(cw, o.culprit[2]);
    }
    this.ev(Ev.TxAbort, t, CONFLICT_KIND_NAMES.indexOf(kind), objId, field, victim);
    this.ev(Ev.AbortCulprit, t, cw, ctx, cs, o.waitNs ?? 0);
    this.lastAborted.set(w, true);
    return this;
  }

  /** The current attempt fails with a user exception (not retried). */
  fail(t: number, o: { message?: string; site?: SiteRef } = {}): this {
    const w = this.w;
    const msg = o.message ? this.str(w, o.message) : 0;
    return this.ev(Ev.TxFail, t, msg, o.site ? this.siteId(w, o.site) : 0, 0, 0);
  }

  /** The current transaction becomes inevitable. */
  inevitable(t: number, o: { site?: SiteRef; reason?: 'explicit' | 'retry-limit' } = {}): this {
    return this.ev(Ev.TxInevitable, t, o.reason === 'retry-limit' ? 1 : 0, o.site ? this.siteId(this.w, o.site) : 0, 0, 0);
  }

  /** A wait begins. */
  waitBegin(t: number, reason: WaitReasonName, o: { blocker?: readonly [number, number]; site?: SiteRef } = {}): this {
    const site = o.site ? this.siteId(this.w, o.site) : 0;
    return this.ev(Ev.WaitBegin, t, WAIT_CODES[reason], o.blocker ? o.blocker[0] : -1, o.blocker ? o.blocker[1] : 0, site);
  }

  /** The last wait of this worker ends. */
  waitEnd(t: number, reason: WaitReasonName): this {
    return this.ev(Ev.WaitEnd, t, WAIT_CODES[reason], 0, 0, 0);
  }

  /** A whole wait `[t0, t1]`. */
  wait(t0: number, t1: number, reason: WaitReasonName, o: { blocker?: readonly [number, number]; site?: SiteRef } = {}): this {
    return this.waitBegin(t0, reason, o).waitEnd(t1, reason);
  }

  /**
   * Blocked by an inevitable transaction: an inevitable-commit wait `[t0, t1]`
   * followed by the Blocked record naming the blocker `[worker, txSeq, site]`.
   */
  blocked(t0: number, t1: number, blocker: readonly [number, number, SiteRef?], o: { site?: SiteRef } = {}): this {
    this.wait(t0, t1, 'inevitable-commit', { blocker: [blocker[0], blocker[1]], site: o.site });
    const bs = blocker[2] ? this.siteId(blocker[0], blocker[2]) : 0;
    return this.ev(Ev.Blocked, t1, blocker[0], blocker[1], bs, Math.min(t1 - t0, 0xffffffff));
  }

  /** `count` events were dropped on this worker (use worker(255) for process-wide drops). */
  dropped(t: number, count: number): this {
    return this.ev(Ev.Dropped, t, count >>> 0, Math.floor(count / 2 ** 32), 0, 0);
  }

  /** Appends a raw record (8 words); escape hatch for malformed-input tests. */
  raw(words: readonly number[]): this {
    if (words.length !== RECORD_WORDS) throw new Error('a record has 8 words');
    this.push(words[0], words[1], words[2], words[3], words[4], words[5], words[6], words[7]);
    return this;
  }

  /** Defines `site` on `worker` now (if not yet) and returns its id there: for hand-written records. */
  siteIdOn(worker: number, site: SiteRef): number {
    return this.siteId(worker, site);
  }

  /** Interns `s` in `worker`'s string space now (if not yet) and returns its id. */
  stringIdOn(worker: number, s: string): number {
    return this.str(worker, s);
  }

  // -- output ---------------------------------------------------------------

  /** The records so far (a copy). */
  records(): Uint32Array {
    return this.words.slice(0, this.n * RECORD_WORDS);
  }

  /** Number of 32-byte records so far. */
  get recordCount(): number {
    return this.n;
  }

  /**
   * Encodes the recording: header, META (if given), the records, END.
   * @param o.end END totals, or null for a recording without END (default `{ durationNs: last time }`)
   * @param o.chunkRecords records per RECS chunk (default all in one chunk)
   */
  bytes(o: { end?: RecordingEnd | null; chunkRecords?: number } = {}): Uint8Array {
    const pieces: Uint8Array[] = [];
    const e = new RecordingEncoder((b) => pieces.push(b), this.opts.encoder);
    e.header();
    if (this.opts.meta) e.meta(this.opts.meta);
    const words = this.records();
    const step = o.chunkRecords ?? this.n;
    for (let i = 0; i < this.n; i += Math.max(1, step)) {
      e.records(words, i, Math.min(step, this.n - i));
    }
    const end = o.end === undefined ? { durationNs: this.t } : o.end;
    if (end !== null) e.end(end);
    return concatBytes(pieces);
  }

  // -- internals ------------------------------------------------------------

  private ev(code: number, t: number, a: number, b: number, c: number, d: number): this {
    if (t > this.t) this.t = t;
    const w = this.w;
    this.push(header(code, w), this.txSeq.get(w) ?? 0, t % 2 ** 32, Math.floor(t / 2 ** 32), a, b, c, d);
    return this;
  }

  private push(a: number, b: number, c: number, d: number, e: number, f: number, g: number, h: number): void {
    if ((this.n + 1) * RECORD_WORDS > this.words.length) {
      const next = new Uint32Array(this.words.length * 2);
      next.set(this.words);
      this.words = next;
    }
    const o = this.n * RECORD_WORDS;
    const x = this.words;
    x[o] = a;
    x[o + 1] = b;
    x[o + 2] = c;
    x[o + 3] = d;
    x[o + 4] = e;
    x[o + 5] = f;
    x[o + 6] = g;
    x[o + 7] = h;
    this.n++;
  }

  /** Interns a string in worker w's space, emitting its definition on first use. */
  private str(w: number, s: string): number {
    let m = this.strIds.get(w);
    if (!m) this.strIds.set(w, (m = new Map()));
    const have = m.get(s);
    if (have !== undefined) return have;
    const base = this.opts.offsetIds === false ? 0 : (w % 256) * 1000;
    const id = this.nextStr.get(w) ?? base + 1;
    this.nextStr.set(w, id + 1);
    m.set(s, id);
    const bytes = enc.encode(s);
    const recs = 1 + Math.ceil(bytes.length / 32);
    this.push(header(Ev.DefString, w, recs), 0, 0, 0, id, bytes.length, 0, 0);
    const padded = new Uint8Array((recs - 1) * 32);
    padded.set(bytes);
    const dv = new DataView(padded.buffer);
    for (let r = 0; r < recs - 1; r++) {
      const v = (k: number) => dv.getUint32(r * 32 + k * 4, true);
      this.push(v(0), v(1), v(2), v(3), v(4), v(5), v(6), v(7));
    }
    return id;
  }

  /** The id of a site in worker w's space, emitting its definition (and stack) on first use. */
  private siteId(w: number, s: SiteRef): number {
    let m = this.siteIds.get(w);
    if (!m) this.siteIds.set(w, (m = new Map()));
    const have = m.get(s.ref);
    if (have !== undefined) return have;
    // Callers first: a stack names sites of the same worker.
    const callerIds = s.callers.map((c) => this.siteId(w, c));
    const base = this.opts.offsetIds === false ? 0 : (w % 256) * 100;
    const id = this.nextSite.get(w) ?? base + 1;
    this.nextSite.set(w, id + 1);
    m.set(s.ref, id);
    const file = this.str(w, s.file);
    const fn = s.fn ? this.str(w, s.fn) : 0;
    const text = s.text ? this.str(w, s.text) : 0;
    let stack = 0;
    if (callerIds.length) {
      const frames = [id, ...callerIds];
      let sm = this.stackIds.get(w);
      if (!sm) this.stackIds.set(w, (sm = new Map()));
      const key = frames.join(',');
      stack = sm.get(key) ?? 0;
      if (!stack) {
        stack = sm.size + 1 + base;
        sm.set(key, stack);
        const recs = 1 + Math.ceil(frames.length / 8);
        this.push(header(Ev.DefStack, w, recs), 0, 0, 0, stack, frames.length, 0, 0);
        for (let r = 0; r < recs - 1; r++) {
          const f = (k: number) => frames[r * 8 + k] ?? 0;
          this.push(f(0), f(1), f(2), f(3), f(4), f(5), f(6), f(7));
        }
      }
    }
    this.push(header(Ev.DefSite, w, 2), 0, 0, 0, id, file, s.line, s.column);
    this.push(fn, stack, text, 0, 0, 0, 0, 0);
    return id;
  }
}
