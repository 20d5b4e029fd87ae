/**
 * An append-only file written in the background: `append` returns at once
 * and the bytes reach the file through libuv's thread pool, so ingest does
 * not wait for the page cache or the disk. Reads see pending bytes too.
 *
 * Bounded: when more than `maxPendingBytes` wait, `append` writes
 * synchronously (the disk sets the pace instead of memory growing).
 * `close` writes what is still pending, synchronously, and closes the file
 * once no background write is in flight (a descriptor is never closed under a
 * write, so it can never be reused by another file while one lands).
 */
import { close as closeAsync, closeSync, ftruncateSync, openSync, readSync, write, writeSync } from 'node:fs';

interface Pending {
  offset: number;
  bytes: Uint8Array;
}

export class FileAppender {
  private fd: number;
  /** logical size: everything appended */
  size = 0;
  private readonly queue: Pending[] = [];
  private pendingBytes = 0;
  private inFlight = 0;
  private closing = false;
  private truncateTo = -1;
  private error: Error | undefined;

  /**
   * @param flags 'w' (create/truncate, write only) or 'w+' (also read back)
   * @param maxPendingBytes bytes waiting for the background writer before appends turn synchronous (default 16 MiB)
   */
  constructor(
    readonly path: string,
    flags: 'w' | 'w+' = 'w',
    private readonly maxPendingBytes = 16 << 20,
  ) {
    this.fd = openSync(path, flags, 0o600);
  }

  /**
   * Appends `bytes` (kept by reference until written: do not reuse them) at
   * `offset` (default: the end) and returns where they went.
   */
  append(bytes: Uint8Array, advance = bytes.length): number {
    if (this.closing) throw new Error(`${this.path} is closed`);
    if (this.error) throw this.error;
    const offset = this.size;
    this.size += advance;
    if (bytes.length === 0) return offset;
    if (this.pendingBytes + bytes.length > this.maxPendingBytes) {
      this.flushSync();
      this.writeAllSync(bytes, offset);
      return offset;
    }
    this.queue.push({ offset, bytes });
    this.pendingBytes += bytes.length;
    this.pump();
    return offset;
  }

  private pump(): void {
    // one background write at a time keeps the order (and the file) simple
    if (this.inFlight > 0 || this.queue.length === 0) return;
    const p = this.queue[0];
    this.inFlight++;
    write(this.fd, p.bytes, 0, p.bytes.length, p.offset, (err, n) => {
      this.inFlight--;
      // flushSync may have written (and dropped) this entry meanwhile: then there is nothing to account
      if (this.queue[0] === p) {
        if (err) {
          this.error ??= err;
          this.queue.shift();
          this.pendingBytes -= p.bytes.length;
        } else if (n < p.bytes.length) {
          p.bytes = p.bytes.subarray(n);
          p.offset += n;
          this.pendingBytes -= n;
        } else {
          this.queue.shift();
          this.pendingBytes -= p.bytes.length;
        }
      }
      if (this.closing) return this.finishClose();
      if (!this.error) this.pump();
    });
  }

  private writeAllSync(bytes: Uint8Array, offset: number): void {
    let done = 0;
    while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done, offset + done);
  }

  /** Writes everything still queued, now (positional writes: one landing twice is harmless). */
  flushSync(): void {
    for (const p of this.queue) this.writeAllSync(p.bytes, p.offset);
    this.queue.length = 0;
    this.pendingBytes = 0;
  }

  /** Reads `into.length` bytes at `offset`, pending bytes included. */
  read(into: Uint8Array, offset: number): void {
    const end = offset + into.length;
    if (end > this.size) throw new Error(`${this.path}: read past the end (${end} > ${this.size})`);
    let done = 0;
    while (done < into.length) {
      const n = readSync(this.fd, into, done, into.length - done, offset + done);
      if (n === 0) break;
      done += n;
    }
    // bytes not on disk yet come from the queue
    for (const p of this.queue) {
      const a = Math.max(offset, p.offset);
      const b = Math.min(end, p.offset + p.bytes.length);
      if (a < b) into.set(p.bytes.subarray(a - p.offset, b - p.offset), a - offset);
    }
  }

  /** Writes what is pending and closes; when `truncateTo` ≥ 0 the file is cut there first. */
  close(truncateTo = -1): void {
    if (this.closing) return;
    this.flushSync();
    this.closing = true;
    this.truncateTo = truncateTo;
    if (this.inFlight === 0) this.finishClose();
  }

  private finishClose(): void {
    if (this.inFlight > 0 || this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    if (this.truncateTo >= 0) {
      try {
        ftruncateSync(fd, this.truncateTo);
      } catch {
        /* readers stop at the bad chunk anyway */
      }
    }
    try {
      closeSync(fd);
    } catch {
      closeAsync(fd, () => {});
    }
  }
}
