/**
 * Retention: sessions that do not fill the disk (issue #12: a live demo grew
 * by about 1 GB an hour).
 *
 * Two caps, both on by default:
 *
 * - **per session** (`--max-session-mb`, default 256 MiB; an age cap comes from
 *   `--retain`): a session's stored detail, its recording plus its disk
 *   timeline, stays under the cap. The recording is written in *parts*; when
 *   the detail would pass the cap (or its oldest part is older than the age
 *   cap), the oldest part is dropped together with the timeline segments read
 *   from it. What it held that must survive goes into a small *head*: the file
 *   header, its META chunks, its definitions (strings, sites, stacks, objects:
 *   the retained detail names them) and a TRIM chunk with the state of the
 *   aggregates and of the assembler at the cut (model/checkpoint.ts). So the
 *   aggregates (totals, per-worker figures, conflict groups, hot objects,
 *   rates) keep counting everything, live and after a restart, and the
 *   dashboard is told from when on detail exists (`SessionInfo.retention`,
 *   `WindowResult.droppedBeforeNs`).
 * - **data directory** (`--retain`, default `30d,2GiB`): finished sessions older
 *   than the age are deleted; while the directory holds more than the size, the
 *   oldest finished sessions are deleted. Live sessions are never touched here.
 *
 * ```
 *  stream ─► part 0  <id>.stm      header │ META │ RECS … ┐ each part ends at a chunk
 *            part 1  <id>.stm.1    RECS …                 │ boundary, ≈ cap/16 bytes
 *            part 2  <id>.stm.2    RECS … END             ┘
 *
 *  after dropping parts 0 and 1:
 *            head    <id>.stm.head header │ META │ RECS(definitions) │ TRIM(state at the cut, firstPart 2)
 *            part 2  <id>.stm.2    RECS … END
 *  the recording = head + parts from firstPart on: a valid recording (readers
 *  that do not know TRIM skip it and count only the detail that is left)
 * ```
 *
 * The cut must be a point where the state is known exactly: when ingest
 * reaches a part boundary it stops there for a moment, seals the timeline's
 * tail into a segment of its own, starts a new timeline extent and keeps a
 * checkpoint (aggregator + assembler state, JSON). Only parts that ingest
 * has passed can be dropped, so a session whose ingest runs behind may pass
 * the cap until ingest catches up (by at most what it has not read yet).
 * A session read again after a restart seals the timeline at the same part
 * boundaries, so its segments, row ids and dropped range are the ones the
 * live session had.
 */
import { closeSync, existsSync, openSync, readdirSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ChunkType, CHUNK_HEADER_BYTES, DEFAULT_MAX_CHUNK_BYTES, FILE_PREFIX_BYTES, MAGIC, MAX_DESCRIPTION_BYTES, encodeChunk, fourCC, type RecordingDescription, type RecordingTrim } from '../../model/format.ts';
import type { Aggregator, AggregatorState } from '../../model/aggregate.ts';
import type { AssemblerState, EventAssembler } from '../../model/assemble.ts';
import type { SessionRetention } from '../../model/protocol.ts';
import { FileAppender } from './appender.ts';
import type { DiskTimeline, TimelineMark } from './disk-timeline.ts';

// -- policy ---------------------------------------------------------------------

const MiB = 1024 * 1024;
const DAY_MS = 24 * 3600 * 1000;

/** Default cap on one session's stored detail (recording + timeline): 256 MiB, about 15 minutes of a busy demo. */
export const DEFAULT_MAX_SESSION_BYTES = 256 * MiB;
/** Default cap on the data directory: 2 GiB (eight full sessions). */
export const DEFAULT_MAX_DATA_BYTES = 2048 * MiB;
/** Default age after which finished sessions are deleted (and live detail dropped): 30 days. */
export const DEFAULT_MAX_AGE_MS = 30 * DAY_MS;
/** Smallest per-session cap accepted: below, the head and one part would not fit. */
export const MIN_SESSION_BYTES = 256 * 1024;

/** What the server keeps (0 in a field: no cap of that kind). */
export interface RetentionPolicy {
  /** Cap on one session's stored detail, bytes. Default {@link DEFAULT_MAX_SESSION_BYTES}. */
  maxSessionBytes: number;
  /** Cap on the data directory (all sessions), bytes. Default {@link DEFAULT_MAX_DATA_BYTES}. */
  maxDataBytes: number;
  /** Finished sessions older than this are deleted, live detail older than this dropped, ms. Default {@link DEFAULT_MAX_AGE_MS}. */
  maxAgeMs: number;
}

/** The defaults: 256 MiB per session, 2 GiB and 30 days for the data directory. */
export function defaultPolicy(): RetentionPolicy {
  return { maxSessionBytes: DEFAULT_MAX_SESSION_BYTES, maxDataBytes: DEFAULT_MAX_DATA_BYTES, maxAgeMs: DEFAULT_MAX_AGE_MS };
}

const SIZE_UNITS: Record<string, number> = { '': MiB, b: 1, k: 1024, kb: 1000, kib: 1024, m: MiB, mb: 1e6, mib: MiB, g: 1024 * MiB, gb: 1e9, gib: 1024 * MiB, t: 1024 ** 4, tb: 1e12, tib: 1024 ** 4 };
// no bare `m`: in `--retain 500m` it could be minutes or MiB
const AGE_UNITS: Record<string, number> = { s: 1000, min: 60_000, h: 3600_000, d: DAY_MS, w: 7 * DAY_MS };

/**
 * A size: `512k`, `256m`, `256MiB`, `2g`, `1.5GB`, or a plain number of MiB.
 * @throws Error naming `what` and the accepted forms
 */
export function parseSize(text: string, what = 'size'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? SIZE_UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new Error(`${what}: ${JSON.stringify(text)} is not a size (use e.g. 512k, 256m, 256MiB, 2g, 1.5GB; a plain number is MiB)`);
  return Math.round(Number(m[1]) * unit);
}

/**
 * An age: `45s`, `90min`, `12h`, `7d`, `2w`.
 * @throws Error naming `what` and the accepted forms
 */
export function parseAge(text: string, what = 'age'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$/i.exec(text);
  const unit = m ? AGE_UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new Error(`${what}: ${JSON.stringify(text)} is not an age (use e.g. 45s, 90min, 12h, 7d, 2w)`);
  return Math.round(Number(m[1]) * unit);
}

/**
 * `--retain`: an age, a size, or both separated by a comma (`7d`, `2GiB`,
 * `7d,2GiB`); `off` turns the data directory caps off. What is not given keeps
 * its default.
 * @throws Error for anything else
 */
export function parseRetain(text: string): Partial<Pick<RetentionPolicy, 'maxAgeMs' | 'maxDataBytes'>> {
  const t = text.trim().toLowerCase();
  if (t === 'off' || t === 'none' || t === 'forever') return { maxAgeMs: 0, maxDataBytes: 0 };
  const out: Partial<RetentionPolicy> = {};
  for (const piece of t.split(',').map((p) => p.trim()).filter(Boolean)) {
    if (/^\d+(?:\.\d+)?\s*m$/.test(piece)) throw new Error(`--retain: ${JSON.stringify(piece)} is ambiguous: write ${piece}in (minutes) or ${piece}ib (MiB)`);
    if (/^\d+(?:\.\d+)?\s*(s|min|h|d|w)$/.test(piece)) {
      if (out.maxAgeMs !== undefined) throw new Error(`--retain: two ages in ${JSON.stringify(text)}`);
      out.maxAgeMs = parseAge(piece, '--retain');
    } else {
      if (out.maxDataBytes !== undefined) throw new Error(`--retain: two sizes in ${JSON.stringify(text)}`);
      try {
        out.maxDataBytes = parseSize(piece, '--retain');
      } catch {
        throw new Error(`--retain: ${JSON.stringify(piece)} is neither an age (45s, 90min, 12h, 7d, 2w) nor a size (512MiB, 2GiB, 1.5GB); both go as 7d,2GiB, or off`);
      }
    }
  }
  if (out.maxAgeMs === undefined && out.maxDataBytes === undefined) throw new Error(`--retain: give an age, a size or both (e.g. 7d, 2GiB, 7d,2GiB, or off), got ${JSON.stringify(text)}`);
  return out;
}

/**
 * The policy of the command line options `--max-session-mb` (MiB, 0 = no cap)
 * and `--retain` (see {@link parseRetain}) over the defaults.
 * @throws Error for a malformed value
 */
export function policyFromOptions(maxSessionMb: string | boolean | undefined, retain: string | boolean | undefined): RetentionPolicy {
  const p = defaultPolicy();
  if (typeof maxSessionMb === 'string') {
    const v = Number(maxSessionMb);
    if (!Number.isFinite(v) || v < 0) throw new Error(`--max-session-mb must be a number of MiB ≥ 0 (0: no cap), got ${JSON.stringify(maxSessionMb)}`);
    p.maxSessionBytes = Math.round(v * MiB);
    if (p.maxSessionBytes > 0 && p.maxSessionBytes < MIN_SESSION_BYTES) throw new Error(`--max-session-mb must be at least ${MIN_SESSION_BYTES / MiB} (or 0: no cap), got ${maxSessionMb}`);
  } else if (maxSessionMb !== undefined) throw new Error('--max-session-mb needs a value (MiB; 0: no cap)');
  if (typeof retain === 'string') Object.assign(p, parseRetain(retain));
  else if (retain !== undefined) throw new Error('--retain needs a value (e.g. 7d, 2GiB, 7d,2GiB, off)');
  return p;
}

/** `256 MiB`, `1.5 GiB`, `300 KiB` for messages and the dashboard. */
export function formatSize(n: number): string {
  if (n >= 1024 * MiB) return `${+(n / (1024 * MiB)).toFixed(1)} GiB`;
  if (n >= MiB) return `${+(n / MiB).toFixed(1)} MiB`;
  return `${+(n / 1024).toFixed(1)} KiB`;
}

/** `30 days`, `12 h`, `90 s` for messages. */
export function formatAge(ms: number): string {
  if (ms >= DAY_MS && ms % DAY_MS === 0) return `${ms / DAY_MS} day${ms === DAY_MS ? '' : 's'}`;
  if (ms >= 3600_000 && ms % 3600_000 === 0) return `${ms / 3600_000} h`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${+(ms / 1000).toFixed(1)} s`;
}

/** One line describing a policy (printed by serve/run/demo). */
export function describePolicy(p: RetentionPolicy): string {
  const age = formatAge;
  const session = p.maxSessionBytes > 0 ? `sessions keep at most ${formatSize(p.maxSessionBytes)} of detail (oldest dropped first, aggregates kept)` : 'sessions keep all their detail';
  const dir = [p.maxDataBytes > 0 ? `at most ${formatSize(p.maxDataBytes)}` : '', p.maxAgeMs > 0 ? `sessions younger than ${age(p.maxAgeMs)}` : ''].filter(Boolean).join(', ');
  return `${session}; data directory: ${dir || 'no caps'} (--max-session-mb, --retain)`;
}

// -- the data directory -------------------------------------------------------------

/** What {@link sweepPlan} needs to know of a stored session. */
export interface StoredSessionFacts {
  id: string;
  /** live (or loading): never deleted */
  live: boolean;
  /** when it last received data (Unix ms) */
  endMs: number;
  /** bytes it takes on disk */
  bytes: number;
}

/**
 * The sessions the data directory's caps delete, in order: finished sessions
 * whose last data is older than `maxAgeMs`, then the oldest finished ones
 * while the directory holds more than `maxDataBytes`. Live sessions are never
 * deleted, nor, for size, the newest finished one (a session larger than the
 * whole cap stays until it ages out or a newer one finishes).
 */
export function sweepPlan(sessions: StoredSessionFacts[], policy: RetentionPolicy, now: number): Array<{ id: string; why: string }> {
  const out: Array<{ id: string; why: string }> = [];
  const gone = new Set<string>();
  if (policy.maxAgeMs > 0) {
    for (const s of sessions) {
      if (!s.live && now - s.endMs > policy.maxAgeMs) {
        out.push({ id: s.id, why: `no data for more than ${formatAge(policy.maxAgeMs)} (--retain)` });
        gone.add(s.id);
      }
    }
  }
  if (policy.maxDataBytes > 0) {
    let total = 0;
    for (const s of sessions) if (!gone.has(s.id)) total += s.bytes;
    const finished = sessions.filter((s) => !s.live && !gone.has(s.id)).sort((a, b) => a.endMs - b.endMs || (a.id < b.id ? -1 : 1));
    // the newest finished session stays
    for (const s of finished.slice(0, -1)) {
      if (total <= policy.maxDataBytes) break;
      out.push({ id: s.id, why: `the data directory held ${formatSize(total)}, over its ${formatSize(policy.maxDataBytes)} cap (--retain)` });
      total -= s.bytes;
    }
  }
  return out;
}

// -- the files of a recording ----------------------------------------------------

/** File of part `n` of a recording (part 0 is the recording path itself). */
export function partPath(recording: string, n: number): string {
  return n === 0 ? recording : `${recording}.${n}`;
}

/** The head of a trimmed recording. */
export function headPath(recording: string): string {
  return `${recording}.head`;
}

const TRIM = fourCC('TRIM');
const META = ChunkType.Meta;
const RECS = ChunkType.Records;
const pad8 = (n: number) => (n + 7) & ~7;
const u32 = (b: Uint8Array, at: number) => (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;

function readAll(path: string): Uint8Array {
  const size = statSync(path).size;
  const out = new Uint8Array(size);
  const fd = openSync(path, 'r');
  try {
    let done = 0;
    while (done < size) {
      const n = readSync(fd, out, done, size - done, done);
      if (n === 0) break;
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

/** The TRIM chunk of a head file (the last chunk), or undefined. */
export function readHeadTrim(head: string): (RecordingTrim & { firstPart?: number }) | undefined {
  let b: Uint8Array;
  try {
    b = readAll(head);
  } catch {
    return undefined;
  }
  if (b.length < FILE_PREFIX_BYTES) return undefined;
  let at = FILE_PREFIX_BYTES + pad8(u32(b, 12)) + 8;
  let found: RecordingTrim | undefined;
  while (at + CHUNK_HEADER_BYTES <= b.length) {
    const type = u32(b, at);
    const len = u32(b, at + 8);
    if (type === TRIM && at + CHUNK_HEADER_BYTES + len <= b.length) {
      try {
        found = JSON.parse(new TextDecoder().decode(b.subarray(at + CHUNK_HEADER_BYTES, at + CHUNK_HEADER_BYTES + len))) as RecordingTrim;
      } catch {
        return undefined;
      }
    }
    at += CHUNK_HEADER_BYTES + pad8(len);
  }
  return found;
}

/**
 * The files that make up a stored recording, in order: the head (when
 * trimmed) and the parts from the head's `firstPart` on. A plain recording
 * is just `[recording]` (plus parts when it grew past one).
 */
export function recordingFiles(recording: string): string[] {
  const head = headPath(recording);
  const out: string[] = [];
  let n = 0;
  if (existsSync(head)) {
    const t = readHeadTrim(head);
    if (t && Number.isInteger(t.firstPart)) {
      out.push(head);
      n = t.firstPart as number;
    }
  }
  for (; ; n++) {
    const p = partPath(recording, n);
    if (!existsSync(p)) break;
    out.push(p);
  }
  return out;
}

/** Bytes of a stored recording (all its files). */
export function recordingBytes(recording: string): number {
  let n = 0;
  for (const f of recordingFiles(recording)) {
    try {
      n += statSync(f).size;
    } catch {
      /* gone meanwhile */
    }
  }
  return n;
}

/** Deletes every file of a recording (parts, head, leftovers of an interrupted trim). */
export function removeRecording(recording: string): void {
  const dir = dirname(recording);
  const stem = basename(recording);
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (name === stem || (name.startsWith(`${stem}.`) && /^\.(\d+|head|head\.tmp)$/.test(name.slice(stem.length)))) rmSync(join(dir, name), { force: true });
  }
}

/** Deletes parts a finished trim left behind (it crashed between writing the head and deleting them). */
export function removeStaleParts(recording: string): void {
  const t = existsSync(headPath(recording)) ? readHeadTrim(headPath(recording)) : undefined;
  rmSync(`${headPath(recording)}.tmp`, { force: true });
  if (!t || !Number.isInteger(t.firstPart)) return;
  for (let n = 0; n < (t.firstPart as number); n++) rmSync(partPath(recording, n), { force: true });
}

/** The files of a stored recording with their sizes now (a live one grows: read only this much). */
export function recordingSnapshot(recording: string): Array<{ file: string; bytes: number }> {
  const out: Array<{ file: string; bytes: number }> = [];
  for (const file of recordingFiles(recording)) {
    try {
      out.push({ file, bytes: statSync(file).size });
    } catch {
      /* dropped meanwhile */
    }
  }
  return out;
}

/**
 * The bytes of a stored recording, file after file (downloads, exports): a
 * valid recording (a trimmed one starts with its head). Reads at most the
 * sizes of `files` (default: {@link recordingSnapshot} now).
 */
export async function* readRecording(recording: string, files = recordingSnapshot(recording), slice = 1 << 20): AsyncGenerator<Uint8Array> {
  for (const { file, bytes } of files) {
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch (e) {
      throw new Error(`${file} is gone (the session dropped it meanwhile): ${(e as Error).message}`);
    }
    try {
      let at = 0;
      while (at < bytes) {
        const buf = new Uint8Array(Math.min(slice, bytes - at));
        const n = readSync(fd, buf, 0, buf.length, at);
        if (n === 0) break;
        at += n;
        yield n === buf.length ? buf : buf.subarray(0, n);
        await new Promise((r) => setImmediate(r));
      }
    } finally {
      closeSync(fd);
    }
  }
}

// -- framing: where chunks end, without decoding ------------------------------------

/**
 * Finds the unit boundaries (end of the file header, end of each chunk) in a
 * byte stream given in arbitrary pieces, reading only headers: parts are cut
 * there. Gives up on anything that is not a recording (no more boundaries).
 */
class Framing {
  private unitStart = 0;
  private unitEnd = -1;
  private readonly prefix = new Uint8Array(FILE_PREFIX_BYTES);
  private prefixLen = 0;
  private inHeader = true;
  /** bytes of the file header, once known */
  headerBytes = 0;
  broken = false;

  /** Consumes `bytes` at stream offset `at`; returns the unit ends inside (at, at + length], ascending. */
  advance(bytes: Uint8Array, at: number): number[] {
    const out: number[] = [];
    let pos = 0;
    const len = bytes.length;
    while (pos < len && !this.broken) {
      if (this.unitEnd < 0) {
        const want = this.inHeader ? FILE_PREFIX_BYTES : 12;
        const take = Math.min(want - this.prefixLen, len - pos);
        this.prefix.set(bytes.subarray(pos, pos + take), this.prefixLen);
        this.prefixLen += take;
        pos += take;
        if (this.prefixLen < want) break;
        this.prefixLen = 0;
        let size: number;
        if (this.inHeader) {
          for (let i = 0; i < 8; i++) if (this.prefix[i] !== MAGIC.charCodeAt(i)) this.broken = true;
          const d = u32(this.prefix, 12);
          if (d > MAX_DESCRIPTION_BYTES) this.broken = true;
          size = FILE_PREFIX_BYTES + pad8(d) + 8;
        } else {
          const length = u32(this.prefix, 8);
          if (length > DEFAULT_MAX_CHUNK_BYTES) this.broken = true;
          size = CHUNK_HEADER_BYTES + pad8(length);
        }
        this.unitEnd = this.unitStart + size;
        continue;
      }
      const n = Math.min(len - pos, this.unitEnd - (at + pos));
      pos += n;
      if (at + pos === this.unitEnd) {
        out.push(this.unitEnd);
        if (this.inHeader) this.headerBytes = this.unitEnd;
        this.inHeader = false;
        this.unitStart = this.unitEnd;
        this.unitEnd = -1;
      }
    }
    return out;
  }
}

// -- what a dropped part leaves behind ------------------------------------------------

/** File event codes (of the recording's own header) that are definitions. */
function definitionCodes(header: Uint8Array): Uint8Array {
  const isDef = new Uint8Array(256);
  const d = u32(header, 12);
  const desc = JSON.parse(new TextDecoder().decode(header.subarray(FILE_PREFIX_BYTES, FILE_PREFIX_BYTES + d))) as RecordingDescription;
  for (const e of desc.events ?? []) if (e && typeof e.code === 'number' && e.code >= 0 && e.code < 256 && e.definition) isDef[e.code] = 1;
  return isDef;
}

/**
 * The META chunks (verbatim) and the definition records (as new RECS chunks)
 * of a part's bytes from `start` on: what the retained detail still needs.
 */
function keptOf(b: Uint8Array, start: number, isDef: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  const defs: Uint8Array[] = [];
  let defBytes = 0;
  const flushDefs = () => {
    if (!defBytes) return;
    const payload = new Uint8Array(defBytes);
    let o = 0;
    for (const d of defs) {
      payload.set(d, o);
      o += d.length;
    }
    out.push(encodeChunk(RECS, payload));
    defs.length = 0;
    defBytes = 0;
  };
  let at = start;
  while (at + CHUNK_HEADER_BYTES <= b.length) {
    const type = u32(b, at);
    const len = u32(b, at + 8);
    const end = at + CHUNK_HEADER_BYTES + pad8(len);
    if (end > b.length) break;
    if (type === META) {
      flushDefs();
      out.push(b.slice(at, end));
    } else if (type === RECS) {
      const p0 = at + CHUNK_HEADER_BYTES;
      const n = Math.floor(len / 32);
      let i = 0;
      while (i < n) {
        const w0 = u32(b, p0 + i * 32);
        const code = w0 & 0xff;
        const span = isDef[code] ? Math.max(1, w0 >>> 16) : 1;
        if (isDef[code]) {
          const stop = Math.min(n, i + span);
          defs.push(b.subarray(p0 + i * 32, p0 + stop * 32));
          defBytes += (stop - i) * 32;
          // well below the readers' 16 MiB chunk limit
          if (defBytes >= 8 * MiB) flushDefs();
        }
        i += span;
      }
    }
    at = end;
  }
  flushDefs();
  return out;
}

// -- the live side ------------------------------------------------------------------

/** What a retained recording needs of its session. */
export interface RetentionHost {
  readonly aggregator: Aggregator;
  readonly assembler: EventAssembler;
  readonly timeline: DiskTimeline;
  /** Unix ms of the recording epoch, when known (to print the dropped time) */
  epochMs(): number | undefined;
  /** The retention info changed (detail was dropped): persist, tell the dashboards. */
  changed(): void;
}

/** A checkpoint at the start of a part: the state when ingest had read exactly what precedes it. */
interface Checkpoint {
  aggregator: AggregatorState;
  assembler: AssemblerState;
  mark: TimelineMark;
}

interface Part {
  n: number;
  /** stream offset of its first byte */
  start: number;
  out: FileAppender;
  /** Date.now() of the last append */
  lastWriteMs: number;
}

/** Options of {@link RetainedRecording}. */
export interface RetainedRecordingOptions {
  /** Cap on the stored detail (recording + timeline), bytes; 0: none. */
  maxBytes: number;
  /** Detail older than this is dropped, ms; 0: never. */
  maxAgeMs?: number;
  /** Bytes per part. Default maxBytes / 16, within 64 KiB … 16 MiB. */
  partBytes?: number;
}

/**
 * A live session's recording, in parts, that drops its oldest detail to stay
 * under its cap (see the module doc). Offsets are those of the stream as
 * received (dropped bytes included), like a {@link FileAppender}'s.
 */
export class RetainedRecording {
  readonly maxBytes: number;
  readonly maxAgeMs: number;
  readonly partBytes: number;
  private readonly parts: Part[] = [];
  private readonly framing = new Framing();
  private readonly checkpoints = new Map<number, Checkpoint>();
  private end = 0;
  private closed = false;
  /** head file: its size and where its TRIM chunk starts */
  private head: { bytes: number; trimAt: number } | undefined;
  private isDef: Uint8Array | undefined;
  private startNs: number | undefined;
  /** what was dropped */
  private droppedBeforeNs: number | undefined;
  private droppedBytes = 0;
  private reason: 'size' | 'age' | undefined;

  constructor(
    readonly path: string,
    opts: RetainedRecordingOptions,
    private readonly host: RetentionHost,
  ) {
    this.maxBytes = opts.maxBytes;
    this.maxAgeMs = opts.maxAgeMs ?? 0;
    this.partBytes = opts.partBytes ?? Math.min(16 * MiB, Math.max(64 * 1024, Math.floor(this.maxBytes / 16) || 16 * MiB));
    // leftovers of an earlier session with this id cannot exist (ids are fresh), but a head must not be picked up
    rmSync(headPath(path), { force: true });
    this.parts.push({ n: 0, start: 0, out: new FileAppender(path, 'w+'), lastWriteMs: Date.now() });
  }

  /** Everything received (the stream offset of the next byte). */
  get size(): number {
    return this.end;
  }

  /** Bytes of detail on disk: head, parts, timeline extents. */
  get diskBytes(): number {
    return this.recordingBytes + this.host.timeline.detailBytes;
  }

  /** Bytes of the recording on disk (head + parts). */
  get recordingBytes(): number {
    if (this.finalBytes >= 0) return this.finalBytes;
    let n = this.head?.bytes ?? 0;
    for (const p of this.parts) n += p.out.size;
    return n;
  }
  private finalBytes = -1;

  /**
   * Appends received bytes (kept by reference until written), starting a new
   * part at the first chunk boundary past `partBytes`; then drops the oldest
   * detail if the caps say so.
   * @returns the stream offset of the bytes
   */
  append(bytes: Uint8Array): number {
    if (this.closed) throw new Error(`${this.path} is closed`);
    const at = this.end;
    const now = Date.now();
    let from = 0;
    for (const e of this.framing.advance(bytes, at)) {
      const cur = this.parts[this.parts.length - 1];
      if (e - cur.start < this.partBytes) continue;
      cur.out.append(bytes.subarray(from, e - at));
      cur.lastWriteMs = now;
      from = e - at;
      const n = cur.n + 1;
      this.parts.push({ n, start: e, out: new FileAppender(partPath(this.path, n), 'w+'), lastWriteMs: now });
    }
    const cur = this.parts[this.parts.length - 1];
    if (from < bytes.length) {
      cur.out.append(from === 0 ? bytes : bytes.subarray(from));
      cur.lastWriteMs = now;
    }
    this.end = at + bytes.length;
    this.enforce();
    return at;
  }

  /** Reads `into.length` bytes at stream offset `offset` (not dropped). */
  read(into: Uint8Array, offset: number): void {
    let done = 0;
    while (done < into.length) {
      const at = offset + done;
      const i = this.partAt(at);
      if (i < 0) throw new Error(`${this.path}: bytes at ${at} were dropped`);
      const p = this.parts[i];
      const n = Math.min(into.length - done, p.start + p.out.size - at);
      if (n <= 0) throw new Error(`${this.path}: read past the end (${offset + into.length} > ${this.end})`);
      p.out.read(into.subarray(done, done + n), at - p.start);
      done += n;
    }
  }

  private partAt(offset: number): number {
    for (let i = this.parts.length - 1; i >= 0; i--) if (offset >= this.parts[i].start) return i;
    return -1;
  }

  flushSync(): void {
    for (const p of this.parts) p.out.flushSync();
  }

  /**
   * Writes what is pending and closes; when `truncateTo` ≥ 0 (a stream offset)
   * the recording is cut there (later parts deleted).
   */
  close(truncateTo = -1): void {
    if (this.closed) return;
    this.closed = true;
    this.checkpoints.clear();
    const cut = truncateTo >= 0 ? Math.max(truncateTo, this.parts[0].start) : -1;
    let bytes = this.head?.bytes ?? 0;
    for (const p of this.parts) bytes += cut < 0 ? p.out.size : Math.max(0, Math.min(p.out.size, cut - p.start));
    this.finalBytes = bytes;
    for (const p of this.parts) {
      if (cut < 0 || cut >= p.start + p.out.size) p.out.close();
      else if (cut > p.start || p === this.parts[0]) p.out.close(cut - p.start);
      else {
        // wholly after the cut
        p.out.close();
        rmSync(p.out.path, { force: true });
      }
    }
  }

  // -- checkpoints ----------------------------------------------------------------

  /**
   * The next part boundary after `offset` that ingest must stop at (to take a
   * checkpoint there), or Infinity.
   */
  nextStop(offset: number): number {
    for (const p of this.parts) if (p.n > 0 && p.start > offset && !this.checkpoints.has(p.n)) return p.start;
    return Infinity;
  }

  /** Ingest has read exactly the bytes before `offset`: at a part boundary, keep a checkpoint. */
  reached(offset: number): void {
    if (this.closed) return;
    const p = this.parts.find((x) => x.start === offset && x.n > 0);
    if (!p || this.checkpoints.has(p.n)) return;
    const mark = this.host.timeline.mark();
    this.checkpoints.set(p.n, { aggregator: this.host.aggregator.saveState(), assembler: this.host.assembler.saveState(), mark });
    this.enforce();
  }

  // -- dropping -------------------------------------------------------------------

  /**
   * Drops the oldest parts while the detail is over the size cap or the oldest
   * part is older than the age cap, as far as checkpoints allow (only parts
   * ingest has passed). Cheap when nothing is to be dropped: call it often.
   */
  enforce(now = Date.now()): void {
    if (this.closed) return;
    while (this.parts.length >= 2) {
      const next = this.parts[1];
      const cp = this.checkpoints.get(next.n);
      if (!cp) return;
      const overSize = this.maxBytes > 0 && this.diskBytes > this.maxBytes;
      const overAge = this.maxAgeMs > 0 && this.parts[0].lastWriteMs < now - this.maxAgeMs;
      if (!overSize && !overAge) return;
      if (now < this.retryAt) return;
      try {
        this.dropFirst(cp, overSize ? 'size' : 'age', now);
        this.failure = undefined;
      } catch (e) {
        // a full disk is when this matters most: keep receiving, try again in a while
        this.failure = `could not drop the oldest detail: ${(e as Error).message}`;
        this.retryAt = now + 5000;
        return;
      }
    }
  }

  /** why the last attempt to drop detail failed, if it did */
  failure: string | undefined;
  private retryAt = 0;

  private dropFirst(cp: Checkpoint, reason: 'size' | 'age', now: number): void {
    const first = this.parts[0];
    const next = this.parts[1];
    // the new head: what the old head (or the header) had, then what the dropped part leaves behind, then the state at the cut
    const data = new Uint8Array(first.out.size);
    first.out.read(data, 0);
    let prefix: Uint8Array;
    let start = 0;
    if (this.head) {
      prefix = readAll(headPath(this.path)).subarray(0, this.head.trimAt);
    } else {
      start = this.framing.headerBytes;
      prefix = data.slice(0, start);
    }
    this.isDef ??= definitionCodes(prefix);
    const kept = keptOf(data, start, this.isDef);
    const tl = this.host.timeline;
    this.startNs ??= tl.bounds().startNs;
    const beforeNs = Math.max(cp.mark.endNs, this.droppedBeforeNs ?? 0);
    const workers = tl.workers();
    const trim: RecordingTrim & Record<string, unknown> = {
      v: 1,
      droppedBeforeNs: beforeNs,
      droppedBytes: next.start,
      firstPart: next.n,
      startNs: this.startNs,
      workers,
      rows: cp.mark.rows,
      reason,
      maxBytes: this.maxBytes,
      maxAgeMs: this.maxAgeMs,
      droppedAtMs: now,
      aggregator: cp.aggregator,
      assembler: cp.assembler,
    };
    const trimChunk = encodeChunk(TRIM, new TextEncoder().encode(JSON.stringify(trim)));
    const pieces = [prefix, ...kept];
    let trimAt = 0;
    for (const p of pieces) trimAt += p.length;
    const head = new Uint8Array(trimAt + trimChunk.length);
    let o = 0;
    for (const p of pieces) {
      head.set(p, o);
      o += p.length;
    }
    head.set(trimChunk, o);
    // atomically replaced: a crash leaves either the old head and its parts or the new one (stale parts are removed at start-up)
    const hp = headPath(this.path);
    writeFileSync(`${hp}.tmp`, head, { mode: 0o600 });
    renameSync(`${hp}.tmp`, hp);
    this.head = { bytes: head.length, trimAt };
    // the timeline first: from here on no query reads what is deleted next
    tl.dropBefore(cp.mark, this.startNs, workers);
    this.parts.shift();
    // unlinked now (a write still landing frees its blocks at the close right after)
    first.out.close();
    rmSync(first.out.path, { force: true });
    this.checkpoints.delete(next.n);
    this.droppedBeforeNs = beforeNs;
    this.droppedBytes = next.start;
    this.reason = reason;
    this.host.changed();
  }

  /** The protocol's view of this recording's retention. */
  info(): SessionRetention {
    return retentionInfo(this.maxBytes, this.maxAgeMs, this.droppedBeforeNs, this.droppedBytes, this.reason, this.diskBytes, this.host.epochMs());
  }
}

/** A {@link SessionRetention} (the dropped time also as wall-clock time when the epoch is known). */
export function retentionInfo(maxBytes: number, maxAgeMs: number, droppedBeforeNs: number | undefined, droppedBytes: number, reason: 'size' | 'age' | undefined, diskBytes: number | undefined, epochMs: number | undefined): SessionRetention {
  const r: SessionRetention = { maxBytes };
  if (maxAgeMs > 0) r.maxAgeMs = maxAgeMs;
  if (droppedBeforeNs !== undefined) {
    r.droppedBeforeNs = droppedBeforeNs;
    if (epochMs !== undefined && Number.isFinite(epochMs)) r.droppedBeforeTime = new Date(epochMs + droppedBeforeNs / 1e6).toISOString();
    r.droppedBytes = droppedBytes;
    if (reason) r.reason = reason;
  }
  if (diskBytes !== undefined) r.diskBytes = diskBytes;
  return r;
}

/** What a TRIM chunk read back says, for a session read again. */
export interface TrimState {
  aggregator?: AggregatorState;
  assembler?: AssemblerState;
  droppedBeforeNs: number;
  droppedBytes: number;
  startNs: number;
  workers: number[];
  rows: [number, number, number, number];
  reason?: 'size' | 'age';
  maxBytes: number;
  maxAgeMs: number;
}

/**
 * Checks a TRIM chunk read from a head.
 * @throws Error naming what is wrong
 */
export function trimStateOf(t: RecordingTrim): TrimState {
  const num = (k: string) => {
    const v = t[k];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`the TRIM chunk's ${k} is not a number`);
    return v;
  };
  const rows = t.rows;
  if (!Array.isArray(rows) || rows.length !== 4 || rows.some((x) => !Number.isInteger(x) || x < 0)) throw new Error("the TRIM chunk's rows are not 4 row ids");
  const workers = Array.isArray(t.workers) ? t.workers.filter((w): w is number => Number.isInteger(w) && w >= 0 && w < 255) : [];
  return {
    aggregator: t.aggregator as AggregatorState | undefined,
    assembler: t.assembler as AssemblerState | undefined,
    droppedBeforeNs: num('droppedBeforeNs'),
    droppedBytes: num('droppedBytes'),
    startNs: num('startNs'),
    workers,
    rows: rows as [number, number, number, number],
    reason: t.reason === 'age' ? 'age' : t.reason === 'size' ? 'size' : undefined,
    maxBytes: typeof t.maxBytes === 'number' ? t.maxBytes : 0,
    maxAgeMs: typeof t.maxAgeMs === 'number' ? t.maxAgeMs : 0,
  };
}
