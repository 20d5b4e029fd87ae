/**
 * The running attempt's private logs, as parallel typed arrays (no object per
 * access): the read log (slot, object, site), the write set (insertion order,
 * indexed by a generation-stamped open-addressing table, so clearing it is
 * one increment) and the log of commutative adds. Their use, validation and
 * write-back are in commit-protocol.ts.
 */
import { HeapMemory } from './heap-memory.ts';

/** Read log, write set and add log of the running attempt. */
export class TxLogs extends HeapMemory {
  /** read log */
  protected rlSlot = new Int32Array(1024);
  protected rlObj = new Int32Array(1024);
  protected rlSite = new Int32Array(1024);
  protected rlCount = 0;
  protected rlCap = 1024;
  /**
   * Read-log length that sends an append to the slow path: `rlCap`, or 0 while
   * recording (every read then records its site there). One comparison on the
   * fast path covers both, so a thread that does not record pays nothing per
   * read for the recorder.
   */
  protected rlLimit = 1024;
  /** write set: entries in insertion order, indexed by an open-addressing table */
  protected wsSlot = new Int32Array(64);
  protected wsObj = new Int32Array(64);
  protected wsSite = new Int32Array(64);
  protected wsVal = new Float64Array(64);
  protected wsCount = 0;
  protected wsTable = new Int32Array(256);
  protected wsGens = new Int32Array(256);
  protected wsGen = 1;
  protected wsShift = 32 - 8;
  protected wsMask = 255;
  /**
   * Commutative adds (TCounter.add, TArray.add): an append-only log applied at
   * commit, so an add costs a few plain stores and needs no lookup. Several
   * entries may name the same slot; they all add up.
   */
  protected dlSlot = new Int32Array(64);
  protected dlObj = new Int32Array(64);
  protected dlSite = new Int32Array(64);
  protected dlVal = new Float64Array(64);
  protected dlCount = 0;

  /** Sum of this transaction's pending adds to slot `s`. */
  protected pendingAdds(s: number): number {
    let sum = 0;
    for (let i = 0, n = this.dlCount; i < n; i++) if (this.dlSlot[i] === s) sum += this.dlVal[i];
    return sum;
  }

  protected cancelAdds(s: number): void {
    for (let i = 0, n = this.dlCount; i < n; i++) if (this.dlSlot[i] === s) this.dlVal[i] = 0;
  }

  protected growAddLog(): void {
    const n = this.dlSlot.length * 2;
    this.dlSlot = grow32(this.dlSlot, n);
    this.dlObj = grow32(this.dlObj, n);
    this.dlSite = grow32(this.dlSite, n);
    const v = new Float64Array(n);
    v.set(this.dlVal);
    this.dlVal = v;
  }

  protected wsFind(s: number): number {
    const gens = this.wsGens;
    const gen = this.wsGen;
    const mask = this.wsMask;
    let h = Math.imul(s, 0x9e3779b1) >>> this.wsShift;
    for (;;) {
      if (gens[h] !== gen) return -1;
      const e = this.wsTable[h];
      if (this.wsSlot[e] === s) return e;
      h = (h + 1) & mask;
    }
  }

  protected wsInsert(obj: number, s: number, v: number, site: number): void {
    const e = this.wsCount;
    if (e === this.wsSlot.length) {
      const n = e * 2;
      this.wsSlot = grow32(this.wsSlot, n);
      this.wsObj = grow32(this.wsObj, n);
      this.wsSite = grow32(this.wsSite, n);
      const vals = new Float64Array(n);
      vals.set(this.wsVal);
      this.wsVal = vals;
    }
    this.wsSlot[e] = s;
    this.wsObj[e] = obj;
    this.wsVal[e] = v;
    this.wsSite[e] = site;
    this.wsCount = e + 1;
    if ((e + 1) * 2 > this.wsTable.length) this.rebuildWsTable(this.wsTable.length * 2);
    else this.wsIndex(s, e);
  }

  protected wsIndex(s: number, e: number): void {
    const mask = this.wsMask;
    let h = Math.imul(s, 0x9e3779b1) >>> this.wsShift;
    while (this.wsGens[h] === this.wsGen) h = (h + 1) & mask;
    this.wsGens[h] = this.wsGen;
    this.wsTable[h] = e;
  }

  protected rebuildWsTable(size: number): void {
    this.wsTable = new Int32Array(size);
    this.wsGens = new Int32Array(size);
    this.wsMask = size - 1;
    this.wsShift = 32 - Math.log2(size);
    for (let e = 0; e < this.wsCount; e++) this.wsIndex(this.wsSlot[e], e);
  }

  protected growReadLog(): void {
    const n = this.rlCap * 2;
    this.rlCap = n;
    if (this.rlLimit !== 0) this.rlLimit = n;
    this.rlSlot = grow32(this.rlSlot, n);
    this.rlObj = grow32(this.rlObj, n);
    this.rlSite = grow32(this.rlSite, n);
  }

  /** Whether slot `s` is in this transaction's write set. */
  protected writes(s: number): boolean {
    if (this.wsCount !== 0 && this.wsFind(s) >= 0) return true;
    for (let i = 0; i < this.dlCount; i++) if (this.dlSlot[i] === s) return true;
    return false;
  }
}

export function grow32(a: Int32Array<ArrayBuffer>, n: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(n);
  b.set(a);
  return b;
}
