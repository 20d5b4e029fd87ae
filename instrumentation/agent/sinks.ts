/**
 * Where a recording stream's bytes go (streams.ts `StreamSink`): a file
 * (`stmscope record`), an attached client's socket, a server's WebSocket
 * (`stmscope run`). All run in the agent thread, never in a thread that runs
 * transactions; none of them ever blocks on a slow peer: they buffer, and the
 * stream drops events once the backlog passes its limit.
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { StreamSink } from './streams.ts';

/** Writes synchronously to a file. */
export class FileSink implements StreamSink {
  private fd: number | null;
  private failed = false;
  constructor(readonly path: string) {
    this.fd = openSync(path, 'w', 0o644);
  }
  get closed(): boolean {
    return this.fd === null || this.failed;
  }
  backlog(): number {
    return 0;
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
  end(): void {
    if (this.fd === null) return;
    this.flush();
    closeSync(this.fd);
    this.fd = null;
  }
}

/** An attached client's Unix socket. */
export class SocketSink implements StreamSink {
  private gone = false;
  constructor(private readonly socket: Socket) {
    socket.on('close', () => (this.gone = true));
    socket.on('error', () => (this.gone = true));
  }
  get closed(): boolean {
    return this.gone || this.socket.destroyed || !this.socket.writable;
  }
  backlog(): number {
    return this.socket.writableLength;
  }
  write(bytes: Uint8Array): void {
    if (!this.closed) this.socket.write(bytes);
  }
  end(): void {
    if (!this.closed) this.socket.end();
  }
  drained(): Promise<void> {
    return new Promise((done) => {
      if (this.gone || this.socket.writableLength === 0) return done();
      const finish = () => done();
      this.socket.once('drain', finish);
      this.socket.once('close', finish);
      this.socket.once('finish', finish);
    });
  }
}

/** The minimal WebSocket surface the sink needs (the `ws` client). */
export interface WsLike {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: Uint8Array, opts: { binary: boolean }, cb?: (err?: Error) => void): void;
  close(code?: number, reason?: string): void;
  on(event: 'open' | 'close' | 'error', fn: (...args: unknown[]) => void): unknown;
}

const WS_CONNECTING = 0;
const WS_OPEN = 1;

/**
 * A server's WebSocket (`STMSCOPE_SERVER`). Bytes written before the socket
 * exists or while it connects are kept (bounded: the stream's backlog limit
 * counts them) and sent once it is open.
 */
export class WebSocketSink implements StreamSink {
  private ws: WsLike | undefined;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private gone = false;
  private ending = false;
  /** why the connection ended, if it failed */
  error: string | undefined;

  constructor(private readonly onGone: (why: string | undefined) => void) {}

  /** Hands over the socket (created asynchronously: `ws` is loaded on demand). */
  connect(ws: WsLike): void {
    this.ws = ws;
    ws.on('open', () => {
      for (const b of this.pending) ws.send(b, { binary: true });
      this.pending = [];
      this.pendingBytes = 0;
      if (this.ending) ws.close(1000, 'recording ended');
    });
    ws.on('error', (e) => {
      this.error ??= e instanceof Error ? e.message : String(e);
    });
    ws.on('close', (code, reason) => {
      const why = this.error ?? (code === 1000 ? undefined : `closed (${String(code)}${reason ? `: ${String(reason)}` : ''})`);
      this.fail(why);
    });
  }

  /** The connection could not be made or was lost. */
  fail(why: string | undefined): void {
    if (this.gone) return;
    this.gone = true;
    this.pending = [];
    this.pendingBytes = 0;
    this.onGone(why);
  }

  get closed(): boolean {
    return this.gone || this.ending;
  }
  backlog(): number {
    return this.pendingBytes + (this.ws?.bufferedAmount ?? 0);
  }
  write(bytes: Uint8Array): void {
    if (this.closed) return;
    const ws = this.ws;
    if (ws && ws.readyState === WS_OPEN) ws.send(bytes, { binary: true });
    else if (!ws || ws.readyState === WS_CONNECTING) {
      this.pending.push(bytes);
      this.pendingBytes += bytes.length;
    }
  }
  end(): void {
    if (this.closed) return;
    this.ending = true;
    if (this.ws && this.ws.readyState === WS_OPEN) this.ws.close(1000, 'recording ended');
  }
  drained(): Promise<void> {
    return new Promise((done) => {
      const t0 = Date.now();
      const check = () => {
        const ws = this.ws;
        if (this.gone || !ws || (this.pendingBytes === 0 && ws.bufferedAmount === 0) || Date.now() - t0 > 2000) done();
        else setTimeout(check, 5);
      };
      check();
    });
  }
}
