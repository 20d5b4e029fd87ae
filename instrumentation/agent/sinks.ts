/** Where a recording session's bytes go. */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';

export interface Sink {
  /** Writes bytes; never throws (a failing sink stops taking data and says why once). */
  write(bytes: Uint8Array): void;
  flush?(): void;
  close(): void;
}

/** Writes synchronously to a file (from the agent thread, never from a transaction thread). */
export class FileSink implements Sink {
  private fd: number | null;
  private failed = false;
  constructor(readonly path: string) {
    this.fd = openSync(path, 'w', 0o644);
  }
  write(bytes: Uint8Array): void {
    if (this.fd === null || this.failed) return;
    try {
      let off = 0;
      while (off < bytes.length) off += writeSync(this.fd, bytes, off, bytes.length - off);
    } catch (e) {
      this.failed = true;
      process.stderr.write(`stmscope: recording to ${this.path} stopped: ${(e as Error).message}\n`);
    }
  }
  flush(): void {
    if (this.fd !== null && !this.failed) {
      try {
        fsyncSync(this.fd);
      } catch {
        /* fsync is best effort */
      }
    }
  }
  close(): void {
    if (this.fd === null) return;
    this.flush();
    closeSync(this.fd);
    this.fd = null;
  }
}
