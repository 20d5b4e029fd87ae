/**
 * The per-thread producer of recording events: called by the engine only while
 * recording is on (a recorder is attached to the heap), writes fixed-size
 * records into this thread's ring (model/ring.ts) and the definitions they
 * reference (strings, sites, stacks) once each.
 *
 * Never blocks: a full ring drops events and counts them (the drain sees a
 * `dropped` record). Definitions are never dropped: they wait in a small queue
 * until the ring has room, and events queue behind them (or are dropped) so a
 * reader always sees a definition before its first use.
 */
import { Ev, GLOBAL_WORKER, header } from '../model/records.ts';
import type { RingWriter } from '../model/ring.ts';
import { siteRegistry, type SiteRegistry } from './sites.ts';
import { captureUserFrames, type RawFrame } from './stacks.ts';

interface EngineView {
  readonly thread: number;
  readonly clock: { now(): number };
}

/** Dynamic sites (stack frames not registered by the transform) are numbered from here. */
export const DYNAMIC_SITE_BASE = 1 << 24;

const encoder = new TextEncoder();

export class Recorder {
  private readonly ring: RingWriter;
  private readonly clock: { now(): number };
  private readonly worker: number;
  private readonly registry: SiteRegistry;
  private readonly depth: number;
  private strings = new Map<string, number>();
  private nextString = 1;
  private lastString: string | undefined = undefined;
  private lastStringId = 0;
  /** 1 = registry site already defined in this stream */
  private defined = new Uint8Array(256);
  private dynamicSites = new Map<string, number>();
  private nextDynamic = DYNAMIC_SITE_BASE;
  private nextStack = 1;
  private pending: Int32Array[] = [];
  /**
   * `stmscope record --sample N`: only every Nth transaction records its start
   * and commit; every other one records nothing unless something happens to
   * it (abort, wait, inevitable, failure), in which case its start is written
   * then, with its original time. Conflicts stay complete, commits are a 1/N sample.
   */
  readonly sampleEvery: number;
  private deferred = false;
  private dSampled = true;
  private dTxSeq = 0;
  private dAttempt = 0;
  private dTime = 0;
  private dName = 0;
  private dSite = 0;

  constructor(engine: EngineView, ring: RingWriter, depth: number) {
    this.ring = ring;
    this.clock = engine.clock;
    this.worker = engine.thread;
    this.registry = siteRegistry();
    this.depth = depth;
    const sample = Number(process.env.STMSCOPE_SAMPLE);
    this.sampleEvery = Number.isInteger(sample) && sample > 1 ? sample : 1;
    if (this.worker >= GLOBAL_WORKER) throw new Error('worker index out of range for recording');
  }

  /** Forgets every definition sent, for a new recording session (a new reader). */
  reset(): void {
    this.strings.clear();
    this.nextString = 1;
    this.lastString = undefined;
    this.lastStringId = 0;
    this.defined = new Uint8Array(256);
    this.dynamicSites.clear();
    this.abortSites.clear();
    this.abortSiteTime.clear();
    this.nextDynamic = DYNAMIC_SITE_BASE;
    this.nextStack = 1;
    this.pending.length = 0;
  }

  // ---- events -----------------------------------------------------------------

  private canWrite(): boolean {
    if (this.pending.length === 0) return true;
    if (this.flushPending()) return true;
    this.ring.dropped++;
    this.ring.droppedTotal++;
    return false;
  }

  /**
   * The start of an attempt is held back: if the attempt commits with nothing
   * else recorded in between (the common case) one `tx_span` record describes
   * it whole; if anything happens first (abort, wait, inevitable, failure) the
   * start is written then, with its original time.
   */
  txStart(txSeq: number, attempt: number, t: number, name: string, site: number): void {
    this.deferred = true;
    this.dTxSeq = txSeq;
    this.dAttempt = attempt;
    this.dTime = t;
    this.dName = name === '' ? 0 : this.str(name);
    this.dSite = this.useSite(site);
    this.dSampled = this.sampleEvery === 1 || txSeq % this.sampleEvery === 0;
  }

  private writeStart(txSeq: number, attempt: number, t: number, nameId: number, site: number): void {
    if (!this.canWrite()) return;
    this.ring.put(header(Ev.TxStart, this.worker, Math.min(attempt, 0xffff)), txSeq, t, nameId, site, nameId === 0 ? 0 : 4, 0);
  }

  /** Writes the start of an unsampled transaction once something worth recording happens to it. */
  private undefer(): void {
    if (!this.deferred) return;
    this.deferred = false;
    this.writeStart(this.dTxSeq, this.dAttempt, this.dTime, this.dName, this.dSite);
  }

  txCommit(txSeq: number, attempt: number, reads: number, writes: number, inevitable: boolean, version: number): void {
    const flags = (inevitable ? 1 : 0) | (writes === 0 ? 2 : 0) | (this.dName !== 0 ? 4 : 0);
    if (this.deferred) {
      this.deferred = false;
      // an unsampled transaction that committed quietly: nothing to record
      if (!this.dSampled) return;
      const t = this.clock.now();
      const duration = t - this.dTime;
      if (duration < 4294967296) {
        if (!this.canWrite()) return;
        const fw = flags | (Math.min(writes, 0xffffff) << 8);
        this.ring.put(header(Ev.TxSpan, this.worker, Math.min(attempt, 0xffff)), txSeq, t, duration, this.dSite, this.dName, fw);
        return;
      }
      this.writeStart(this.dTxSeq, this.dAttempt, this.dTime, this.dName, this.dSite);
      this.writeCommit(txSeq, attempt, t, reads, writes, flags, version);
      return;
    }
    this.writeCommit(txSeq, attempt, this.clock.now(), reads, writes, flags, version);
  }

  private writeCommit(txSeq: number, attempt: number, t: number, reads: number, writes: number, flags: number, version: number): void {
    if (!this.canWrite()) return;
    this.ring.put(header(Ev.TxCommit, this.worker, Math.min(attempt, 0xffff)), txSeq, t, reads, writes, flags, version);
  }

  txAbort(
    txSeq: number,
    attempt: number,
    t: number,
    kind: number,
    obj: number,
    slot: number,
    victimSite: number,
    culpritWorker: number,
    culpritTxSeq: number,
    culpritSite: number,
    waitNs: number,
  ): void {
    this.undefer();
    if (!this.canWrite()) return;
    const first = this.ring.reserve(2);
    if (first < 0) return;
    const w = this.ring.words;
    const ex = Math.min(attempt, 0xffff);
    let o = this.ring.recordWord(first, 0);
    w[o] = header(Ev.TxAbort, this.worker, ex);
    w[o + 1] = txSeq;
    w[o + 2] = t % 4294967296;
    w[o + 3] = (t / 4294967296) | 0;
    w[o + 4] = kind;
    w[o + 5] = obj;
    // the field index is resolved by the drain from the object's type; ship the slot offset
    w[o + 6] = obj !== 0 ? slot - obj : -1;
    w[o + 7] = victimSite;
    o = this.ring.recordWord(first, 1);
    w[o] = header(Ev.AbortCulprit, this.worker, ex);
    w[o + 1] = txSeq;
    w[o + 2] = t % 4294967296;
    w[o + 3] = (t / 4294967296) | 0;
    w[o + 4] = culpritWorker;
    w[o + 5] = culpritTxSeq;
    w[o + 6] = culpritSite;
    w[o + 7] = Math.min(waitNs, 0xffffffff) | 0;
  }

  txInevitable(txSeq: number, t: number, reason: number, site: number): void {
    this.undefer();
    const s = this.useSite(site);
    if (!this.canWrite()) return;
    this.ring.put(header(Ev.TxInevitable, this.worker), txSeq, t, reason, s, 0, 0);
  }

  txFail(txSeq: number, attempt: number, t: number, message: string, site: number): void {
    this.undefer();
    const m = this.str(message.length > 500 ? `${message.slice(0, 497)}...` : message);
    const s = this.useSite(site);
    if (!this.canWrite()) return;
    this.ring.put(header(Ev.TxFail, this.worker, Math.min(attempt, 0xffff)), txSeq, t, m, s, 0, 0);
  }

  waitBegin(txSeq: number, t: number, reason: number, blockerWorker: number, blockerTxSeq: number, site: number): void {
    this.undefer();
    const s = this.useSite(site);
    if (!this.canWrite()) return;
    this.ring.put(header(Ev.WaitBegin, this.worker), txSeq, t, reason, blockerWorker, blockerTxSeq, s);
  }

  waitEnd(txSeq: number, t: number, reason: number): void {
    if (!this.canWrite()) return;
    this.ring.put(header(Ev.WaitEnd, this.worker), txSeq, t, reason, 0, 0, 0);
  }

  blocked(txSeq: number, t: number, blockerWorker: number, blockerTxSeq: number, blockerSite: number, waitNs: number, blockerReason: number): void {
    this.undefer();
    if (!this.canWrite()) return;
    this.ring.put(header(Ev.Blocked, this.worker, blockerReason + 1), txSeq, t, blockerWorker, blockerTxSeq, blockerSite, Math.min(waitNs, 0xffffffff) | 0);
  }

  publish(): void {
    if (this.pending.length !== 0) this.flushPending();
    this.ring.publish();
  }

  flush(): void {
    this.publish();
  }

  // ---- sites ------------------------------------------------------------------

  /** Returns `site`, defining it in this stream first if needed. Cheap when already defined. */
  useSite(site: number): number {
    if (site === 0) return 0;
    if (site < this.defined.length && this.defined[site] === 1) return site;
    return this.defineRegistrySite(site);
  }

  private defineRegistrySite(site: number): number {
    if (site >= DYNAMIC_SITE_BASE) return site; // dynamic sites are defined when created
    if (site >= this.defined.length) {
      const d = new Uint8Array(Math.max(site + 1, this.defined.length * 2));
      d.set(this.defined);
      this.defined = d;
    }
    this.defined[site] = 1;
    const info = this.registry.site(site);
    if (!info) {
      this.emitSite(site, '', 0, 0, '', 0, '');
      return site;
    }
    // Once per site: capture the callers so reports show a whole stack.
    const frames = captureUserFrames(this.depth + 4);
    const ids: number[] = [site];
    let skipped = false;
    for (const f of frames) {
      const mapped = this.mapFrame(f);
      // the innermost user frame is this site itself
      if (!skipped && mapped.file === info.file && mapped.line === info.line) {
        skipped = true;
        continue;
      }
      if (!skipped) continue;
      ids.push(this.dynamicSite(mapped));
      if (ids.length >= this.depth) break;
    }
    const stack = this.emitStack(ids);
    this.emitSite(site, info.file, info.line, info.column, info.functionName, stack, info.text);
    return site;
  }

  /** slot → [dynamic site, time captured] of the last abort stack captured for it */
  private abortSites = new Map<number, number>();
  private abortSiteTime = new Map<number, number>();

  /**
   * For code that was not transformed: captures the stack where the abort was
   * detected and returns a site for its innermost user frame (0 if none).
   * A capture costs ~10 µs, so a thread captures at most once per second for
   * each conflicting slot and reuses that stack in between: the same slot
   * almost always conflicts at the same code.
   */
  captureAbortSite(slot: number, now: number): number {
    const known = this.abortSites.get(slot);
    if (known !== undefined && now - this.abortSiteTime.get(slot)! < 1e9) return known;
    const site = this.captureAbortStack();
    if (this.abortSites.size > 4096) {
      this.abortSites.clear();
      this.abortSiteTime.clear();
    }
    this.abortSites.set(slot, site);
    this.abortSiteTime.set(slot, now);
    return site;
  }

  private captureAbortStack(): number {
    const frames = captureUserFrames(this.depth).map((f) => this.mapFrame(f));
    if (frames.length === 0) return 0;
    const key = frames.map((f) => `${f.file}:${f.line}:${f.column}`).join('|');
    const known = this.dynamicSites.get(`abort|${key}`);
    if (known !== undefined) return known;
    const ids = frames.map((f) => this.dynamicSite(f));
    const stack = this.emitStack(ids);
    // a distinct site id for "this innermost frame reached through this stack"
    const id = this.nextDynamic++;
    this.dynamicSites.set(`abort|${key}`, id);
    const f0 = frames[0];
    this.emitSite(id, f0.file, f0.line, f0.column, f0.functionName, stack, '');
    return id;
  }

  private mapFrame(f: RawFrame): RawFrame {
    const mapped = this.registry.mapFrame?.(f.url, f.line, f.column);
    if (mapped) return { ...f, file: mapped.file, line: mapped.line, column: mapped.column, functionName: mapped.functionName || f.functionName };
    return f;
  }

  private dynamicSite(f: RawFrame): number {
    const key = `${f.file}:${f.line}:${f.column}`;
    let id = this.dynamicSites.get(key);
    if (id === undefined) {
      id = this.nextDynamic++;
      this.dynamicSites.set(key, id);
      const text = this.registry.lineText?.(f.file, f.line) ?? '';
      this.emitSite(id, f.file, f.line, f.column, f.functionName, 0, text);
    }
    return id;
  }

  // ---- definitions ---------------------------------------------------------------

  /** Interns `s` in this stream, emitting its definition on first use. */
  str(s: string): number {
    // a thread runs the same transaction name over and over: skip the map then
    if (s === this.lastString) return this.lastStringId;
    let id = this.strings.get(s);
    if (id !== undefined) {
      this.lastString = s;
      this.lastStringId = id;
      return id;
    }
    id = this.nextString++;
    this.strings.set(s, id);
    const bytes = encoder.encode(s);
    this.emitDef(Ev.DefString, id, bytes.length, 0, 0, bytes);
    return id;
  }

  private emitSite(id: number, file: string, line: number, column: number, fn: string, stack: number, text: string): void {
    const fileId = this.str(file);
    const fnId = fn ? this.str(fn) : 0;
    const textId = text ? this.str(text) : 0;
    const extra = new Int32Array(8);
    extra[0] = fnId;
    extra[1] = stack;
    extra[2] = textId;
    this.emitDef(Ev.DefSite, id, fileId, line, column, new Uint8Array(extra.buffer));
  }

  private emitStack(siteIds: number[]): number {
    const id = this.nextStack++;
    const body = new Int32Array(siteIds);
    this.emitDef(Ev.DefStack, id, siteIds.length, 0, 0, new Uint8Array(body.buffer));
    return id;
  }

  /** Writes a definition: a header record plus `bytes` padded to whole records. */
  private emitDef(code: Ev, p0: number, p1: number, p2: number, p3: number, bytes: Uint8Array | null): void {
    const bodyRecords = bytes === null ? 0 : Math.ceil(bytes.length / 32);
    const total = 1 + bodyRecords;
    const rec = new Int32Array(total * 8);
    rec[0] = header(code, this.worker, total);
    rec[4] = p0;
    rec[5] = p1;
    rec[6] = p2;
    rec[7] = p3;
    if (bytes !== null && bytes.length > 0) new Uint8Array(rec.buffer, 32, bytes.length).set(bytes);
    if (this.pending.length === 0 && this.writeRecords(rec)) return;
    this.pending.push(rec);
    this.flushPending();
  }

  private writeRecords(rec: Int32Array): boolean {
    const n = rec.length >> 3;
    if (n > this.ring.capacity) throw new Error(`definition of ${n} records exceeds the event ring (${this.ring.capacity} records)`);
    if (this.ring.free() < n) return false;
    const first = this.ring.reserve(n);
    if (first < 0) return false;
    for (let k = 0; k < n; k++) this.ring.words.set(rec.subarray(k * 8, k * 8 + 8), this.ring.recordWord(first, k));
    return true;
  }

  private flushPending(): boolean {
    while (this.pending.length > 0) {
      if (!this.writeRecords(this.pending[0])) return false;
      this.pending.shift();
    }
    return true;
  }
}
