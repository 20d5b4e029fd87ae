/**
 * The stmscope recording format: one versioned, self-describing, chunked binary
 * format used for files (`stmscope record -o FILE`) and, unchanged, as the
 * WebSocket wire format. The full specification is docs/FORMAT.md; this module
 * is its reference implementation.
 *
 * ```
 *  ┌──────────────── file header (8-byte aligned) ────────────────┐
 *  │ "STMSCOPE" │ major u16 │ minor u16 │ D u32 │ JSON description │
 *  │ … zero pad to 8 │ CRC32 u32 │ reserved u32                    │
 *  └──────────────────────────────────────────────────────────────┘
 *  ┌─ chunk ─┬──────┬───────┬────────┬───────┬───────────────┬─────┐
 *  │ type 4cc│ flags│ length│ CRC32  │ payload (length bytes) │ pad │  × n
 *  └─────────┴──────┴───────┴────────┴───────────────────────┴─────┘
 *   META (JSON) · RECS (32-byte records) · END (JSON totals) · others skipped
 * ```
 *
 * Readers map event codes, record words and enumerations by NAME through the
 * description in the header, so a future writer may renumber them (PyPy-STM
 * renumbered its events four times under one unchanged header and old logs
 * became unreadable: ../shared/reference/pypy-stm.md §3).
 *
 * The decoder is push-style (`feed(bytes)` with arbitrary splits): the server
 * feeds WebSocket frames and the CLI streams files larger than memory. A
 * truncated or corrupted stream decodes up to the last good chunk and reports
 * what could not be read instead of throwing; only input that is not a
 * recording at all throws a {@link FormatError}.
 */

import { crc32 } from './crc32.ts';
import {
  CONFLICT_KIND_NAMES,
  EVENT_TABLE,
  FIELD_KIND_NAMES,
  INEVITABLE_REASON_NAMES,
  OBJ_SHAPE_NAMES,
  RECORD_BYTES,
  RECORD_WORDS,
  WAIT_REASON_NAMES,
  type EventSpec,
} from './records.ts';

/** The 8 ASCII bytes every recording starts with. */
export const MAGIC = 'STMSCOPE';
/** Format major version: a reader refuses a newer major (incompatible layout). */
export const FORMAT_MAJOR = 1;
/** Format minor version: additive changes only (new chunk kinds, events, JSON keys). */
export const FORMAT_MINOR = 0;
/** Bytes before the description JSON: magic, major, minor, description length. */
export const FILE_PREFIX_BYTES = 16;
/** Bytes of a chunk header: type, flags, length, CRC32. */
export const CHUNK_HEADER_BYTES = 16;
/** Default largest chunk payload a reader accepts and a writer produces: 16 MiB. */
export const DEFAULT_MAX_CHUNK_BYTES = 16 * 1024 * 1024;
/** Largest header description accepted: 1 MiB (ours is about 4 KiB). */
export const MAX_DESCRIPTION_BYTES = 1024 * 1024;

/** Chunk flag: a reader that does not know this chunk type must stop (it changes the meaning of what follows). */
export const CHUNK_FLAG_CRITICAL = 1;

/** Internal code for a record whose event name this reader does not know (skipped, 1 record). */
export const UNKNOWN_EVENT_CODE = 0;
/** Internal code for a definition whose name this reader does not know (skipped, `extra` records). */
export const UNKNOWN_DEFINITION_CODE = 255;

/** Four ASCII characters as the little-endian u32 a chunk header stores. */
export function fourCC(s: string): number {
  if (s.length !== 4) throw new Error(`chunk type must be 4 ASCII characters, got ${JSON.stringify(s)}`);
  return (s.charCodeAt(0) | (s.charCodeAt(1) << 8) | (s.charCodeAt(2) << 16) | (s.charCodeAt(3) << 24)) >>> 0;
}
/** The 4 characters of a chunk type, for messages. */
export function fourCCName(t: number): string {
  let s = '';
  for (let i = 0; i < 4; i++) {
    const c = (t >>> (i * 8)) & 0xff;
    s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '?';
  }
  return s;
}

/** Chunk types of format 1.0. */
export const ChunkType = {
  /** JSON {@link RecordingMeta}: program, process, clock epoch. Usually first. */
  Meta: fourCC('META'),
  /** Concatenated 32-byte records (see records.ts); whole events only. */
  Records: fourCC('RECS'),
  /** JSON {@link RecordingEnd}: totals written when recording stops cleanly. */
  End: fourCC('END '),
  /** JSON {@link RecordingTrim}: the detail before it was dropped by a retention policy (server). */
  Trim: fourCC('TRIM'),
} as const;

/** The JSON description in the file header. */
export interface RecordingDescription {
  format: 'stmscope.recording';
  /** "major.minor" of the writer. */
  version: string;
  /** Bytes per record: 32. */
  recordBytes: number;
  byteOrder: 'little';
  /** Event codes, names and field words (records.ts `EVENT_TABLE` of the writer). */
  events: EventSpec[];
  /** Enumerations by "event.field": value → name (arrays are indexed by value). */
  enums: Record<string, string[] | Record<string, string>>;
  /** Who wrote it, e.g. "stmscope 0.1.0". */
  writer?: string;
  [key: string]: unknown;
}

/** META chunk contents. Every key is optional for readers. */
export interface RecordingMeta {
  /** The recorded program's argv (`process.argv`). */
  argv?: string[];
  /** Its working directory: source files are only read below it and `sourceRoots`. */
  cwd?: string;
  pid?: number;
  /** Wall-clock time (ISO 8601) of the recording epoch (time 0 of every record). */
  startTime?: string;
  /** The same instant in Unix milliseconds. */
  epochUnixMs?: number;
  /** Heap threads known when recording started (more may appear later). */
  workers?: number;
  /** stmscope version of the recorder. */
  version?: string;
  /** Extra directories the program reported as holding its sources. */
  sourceRoots?: string[];
  /** How the recording was made: "record" (from the start) or "attach" (joined later). */
  mode?: string;
  [key: string]: unknown;
}

/** END chunk contents. */
export interface RecordingEnd {
  /** Nanoseconds from the epoch to the end of recording. */
  durationNs?: number;
  /** Records written by the recorder (RECS payload bytes / 32). */
  records?: number;
  /** Events dropped over the whole recording (also visible as `dropped` records). */
  dropped?: number;
  /** Why recording stopped: "exit", "signal", "detach", … */
  reason?: string;
  [key: string]: unknown;
}

/**
 * TRIM chunk contents (docs/FORMAT.md §2.3): a server's retention policy
 * dropped the detail (RECS) before this point; the definitions and META of
 * the dropped part precede the chunk, `aggregator` / `assembler` hold the
 * streaming state at the cut (model/checkpoint.ts), so readers that load
 * them count everything.
 */
export interface RecordingTrim {
  /** 1 */
  v: number;
  /** every dropped event lies before this time (ns since the epoch) */
  droppedBeforeNs: number;
  /** bytes of the original stream dropped (the cut's offset in it) */
  droppedBytes: number;
  /** `Aggregator.saveState()` at the cut */
  aggregator?: unknown;
  /** `EventAssembler.saveState()` at the cut */
  assembler?: unknown;
  [key: string]: unknown;
}

/** Thrown when the input is not a readable recording at all (wrong magic, newer major, corrupt header). */
export class FormatError extends Error {
  override name = 'FormatError';
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function enumTable(names: readonly string[] | Record<number, string>): string[] | Record<string, string> {
  return Array.isArray(names) ? [...names] : { ...(names as Record<string, string>) };
}

/** The description this writer puts in every header. */
export function currentDescription(writer?: string): RecordingDescription {
  return {
    format: 'stmscope.recording',
    version: `${FORMAT_MAJOR}.${FORMAT_MINOR}`,
    recordBytes: RECORD_BYTES,
    byteOrder: 'little',
    recordHeader: { code: 'word 0 bits 0-7', worker: 'word 0 bits 8-15', extra: 'word 0 bits 16-31' },
    events: EVENT_TABLE,
    enums: {
      'tx_abort.kind': enumTable(CONFLICT_KIND_NAMES),
      'wait_begin.reason': enumTable(WAIT_REASON_NAMES),
      'wait_end.reason': enumTable(WAIT_REASON_NAMES),
      'tx_inevitable.reason': enumTable(INEVITABLE_REASON_NAMES),
      'def_object.shape': enumTable(OBJ_SHAPE_NAMES),
      'def_field.kind': enumTable(FIELD_KIND_NAMES),
    },
    ...(writer ? { writer } : {}),
  };
}

const utf8 = new TextEncoder();
const utf8d = new TextDecoder('utf-8', { fatal: false });

function put32(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
  b[at + 2] = (v >>> 16) & 0xff;
  b[at + 3] = (v >>> 24) & 0xff;
}
function get32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}
const pad8 = (n: number) => (n + 7) & ~7;

/** Byte-swaps 32-bit words in place (only used on big-endian hosts). */
export function swap32(b: Uint8Array, start = 0, end = b.length): void {
  for (let i = start; i + 3 < end; i += 4) {
    const a = b[i];
    const c = b[i + 1];
    b[i] = b[i + 3];
    b[i + 1] = b[i + 2];
    b[i + 2] = c;
    b[i + 3] = a;
  }
}

/** Encodes the file header for a description. */
export function encodeHeader(description: RecordingDescription = currentDescription()): Uint8Array {
  const json = utf8.encode(JSON.stringify(description));
  const total = FILE_PREFIX_BYTES + pad8(json.length) + 8;
  const b = new Uint8Array(total);
  for (let i = 0; i < 8; i++) b[i] = MAGIC.charCodeAt(i);
  b[8] = FORMAT_MAJOR & 0xff;
  b[9] = FORMAT_MAJOR >>> 8;
  b[10] = FORMAT_MINOR & 0xff;
  b[11] = FORMAT_MINOR >>> 8;
  put32(b, 12, json.length);
  b.set(json, FILE_PREFIX_BYTES);
  const crcAt = total - 8;
  put32(b, crcAt, crc32(b, 0, 0, crcAt));
  return b;
}

/**
 * Encodes one chunk: header, payload, zero padding to a multiple of 8.
 * The CRC covers the type, flags and length words and the payload.
 */
export function encodeChunk(type: number, payload: Uint8Array, flags = 0): Uint8Array {
  const b = new Uint8Array(CHUNK_HEADER_BYTES + pad8(payload.length));
  put32(b, 0, type);
  put32(b, 4, flags);
  put32(b, 8, payload.length);
  b.set(payload, CHUNK_HEADER_BYTES);
  if (!LITTLE_ENDIAN_HOST && type === ChunkType.Records) swap32(b, CHUNK_HEADER_BYTES, CHUNK_HEADER_BYTES + payload.length);
  let c = crc32(b, 0, 0, 12);
  c = crc32(b, c, CHUNK_HEADER_BYTES, CHUNK_HEADER_BYTES + payload.length);
  put32(b, 12, c);
  return b;
}

/** Options of {@link RecordingEncoder}. */
export interface EncoderOptions {
  /** Largest chunk payload written; bigger record batches are split at event boundaries. Default 16 MiB. */
  maxChunkBytes?: number;
  /** `writer` string of the header description. Default "stmscope". */
  writer?: string;
}

const isDefinitionCode: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (const e of EVENT_TABLE) if (e.definition) t[e.code] = 1;
  return t;
})();

/**
 * Builds a recording chunk by chunk and hands each encoded piece to `out`
 * synchronously (a file stream, a WebSocket, or an array for tests). Every
 * piece is a fresh buffer the sink may keep.
 *
 * ```ts
 * const enc = new RecordingEncoder((b) => file.write(b));
 * enc.meta({ argv: process.argv, cwd: process.cwd(), pid: process.pid });
 * enc.records(ringWords, 0, n); // as often as needed
 * enc.end({ durationNs });
 * ```
 */
export class RecordingEncoder {
  /** Bytes handed to `out` so far. */
  bytesWritten = 0;
  /** Chunks written so far (the header not included). */
  chunksWritten = 0;
  /** 32-byte records written so far. */
  recordsWritten = 0;
  private headerDone = false;
  private readonly maxChunkBytes: number;
  private readonly writer: string;

  constructor(
    private readonly out: (bytes: Uint8Array) => void,
    opts: EncoderOptions = {},
  ) {
    this.maxChunkBytes = opts.maxChunkBytes ?? DEFAULT_MAX_CHUNK_BYTES;
    if (this.maxChunkBytes < RECORD_BYTES) throw new RangeError(`maxChunkBytes must be at least ${RECORD_BYTES}`);
    this.writer = opts.writer ?? 'stmscope';
  }

  /** Writes the file header (done automatically before the first chunk). */
  header(): void {
    if (this.headerDone) return;
    this.headerDone = true;
    this.emit(encodeHeader(currentDescription(this.writer)));
  }

  /** Writes a META chunk. */
  meta(meta: RecordingMeta): void {
    this.json(ChunkType.Meta, meta);
  }

  /** Writes an END chunk. */
  end(totals: RecordingEnd = {}): void {
    this.json(ChunkType.End, { records: this.recordsWritten, ...totals });
  }

  /**
   * Writes records `[first, first + count)` of `words` (8 words per record) as
   * one or more RECS chunks. Batches over the chunk limit are split between
   * events, never inside a definition.
   *
   * @param first first record index (default 0)
   * @param count number of records (default: all from `first`)
   */
  records(words: Uint32Array, first = 0, count = (words.length >>> 3) - first): void {
    if (count <= 0) return;
    const maxRecs = Math.floor(this.maxChunkBytes / RECORD_BYTES);
    const end = first + count;
    let at = first;
    while (at < end) {
      let stop = end;
      if (end - at > maxRecs) {
        // Walk events to find the last boundary that fits.
        let i = at;
        stop = at;
        while (i < end) {
          const w0 = words[i * RECORD_WORDS];
          const span = isDefinitionCode[w0 & 0xff] ? Math.max(1, w0 >>> 16) : 1;
          if (i + span - at > maxRecs) break;
          i += span;
          stop = i;
        }
        if (stop === at) {
          throw new RangeError(
            `a definition of ${words[at * RECORD_WORDS] >>> 16} records does not fit in one chunk of at most ${this.maxChunkBytes} bytes`,
          );
        }
      }
      const bytes = new Uint8Array(words.buffer, words.byteOffset + at * RECORD_BYTES, (stop - at) * RECORD_BYTES);
      this.chunk(ChunkType.Records, bytes);
      this.recordsWritten += stop - at;
      at = stop;
    }
  }

  /** Writes any chunk (unknown types are skipped by readers unless `flags` has {@link CHUNK_FLAG_CRITICAL}). */
  chunk(type: number, payload: Uint8Array, flags = 0): void {
    if (payload.length > this.maxChunkBytes) {
      throw new RangeError(`chunk ${fourCCName(type)} of ${payload.length} bytes exceeds the ${this.maxChunkBytes}-byte limit`);
    }
    this.header();
    this.emit(encodeChunk(type, payload, flags));
    this.chunksWritten++;
  }

  private json(type: number, value: unknown): void {
    this.chunk(type, utf8.encode(JSON.stringify(value)));
  }

  private emit(b: Uint8Array): void {
    this.bytesWritten += b.length;
    this.out(b);
  }
}

/** Input of {@link encodeRecording}. */
export interface RecordingParts {
  meta?: RecordingMeta;
  /** Record batches, each written as RECS chunk(s). */
  records?: Uint32Array | Uint32Array[];
  /** END totals; omit `end` (or pass null) to produce a recording without END, as a killed recorder would. */
  end?: RecordingEnd | null;
}

/** Encodes a whole recording into one buffer (tests, small exports). */
export function encodeRecording(parts: RecordingParts, opts: EncoderOptions = {}): Uint8Array {
  const pieces: Uint8Array[] = [];
  const enc = new RecordingEncoder((b) => pieces.push(b), opts);
  enc.header();
  if (parts.meta) enc.meta(parts.meta);
  const batches = parts.records === undefined ? [] : Array.isArray(parts.records) ? parts.records : [parts.records];
  for (const r of batches) enc.records(r);
  if (parts.end !== undefined && parts.end !== null) enc.end(parts.end);
  return concatBytes(pieces);
}

/** Concatenates byte arrays. */
export function concatBytes(pieces: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of pieces) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// ---------------------------------------------------------------------------
// Decoding

/**
 * Receives what the decoder reads. `records` is called once per RECS chunk
 * with records already translated to this reader's codes (records.ts); the
 * array is only valid during the call (it may be a view into the input or a
 * reused scratch buffer).
 */
export interface DecoderSink {
  header?(description: RecordingDescription): void;
  meta?(meta: RecordingMeta): void;
  records(words: Uint32Array, first: number, count: number): void;
  end?(totals: RecordingEnd): void;
  /** A TRIM chunk: detail before it was dropped ({@link RecordingTrim}). */
  trim?(trim: RecordingTrim): void;
  /** A chunk of a type this reader does not know (non-critical). */
  unknownChunk?(type: string, payload: Uint8Array): void;
}

/** Options of {@link RecordingDecoder}. */
export interface DecoderOptions {
  /** Largest chunk payload accepted; a bigger declared length stops decoding as corrupt. Default 16 MiB. */
  maxChunkBytes?: number;
}

/** Why decoding stopped before the end of the input. */
export interface DecodeProblem {
  kind: 'truncated' | 'checksum' | 'oversized' | 'malformed' | 'unsupported';
  /** Byte offset in the stream where the unreadable part starts. */
  offset: number;
  /** Bytes from `offset` to the end of input that were not decoded. */
  unreadBytes: number;
  /** One human sentence: what, where, how much was lost. */
  message: string;
}

/** The outcome of decoding a whole input. */
export interface DecodeStatus {
  /** True when the END chunk was read and nothing was lost. */
  complete: boolean;
  /** Bytes fed. */
  bytes: number;
  /** Good chunks decoded (the header not included). */
  chunks: number;
  /** 32-byte records delivered. */
  records: number;
  problem?: DecodeProblem;
  /** Non-fatal remarks (missing END, skipped chunks, unknown events). */
  warnings: string[];
  /** A one-paragraph human summary when something is wrong, else undefined. */
  message?: string;
}

/** Translates a writer's numbering into this reader's (identity in the common case). */
class Normalizer {
  readonly identity: boolean;
  /** file code → our code (UNKNOWN_* for unknown names) */
  private readonly codeMap = new Uint8Array(256);
  /** file code → 1 when the file says it is a definition */
  private readonly fileDef = new Uint8Array(256);
  /** our code → file word for each of our words 4..7 (-1 missing), or undefined when identical */
  private readonly perm: Array<Int8Array | undefined> = [];
  /** our code → (word → value remap) */
  private readonly enumRemap: Array<Map<number, Map<number, number>> | undefined> = [];
  unknownEvents = 0;
  readonly unknownNames: string[] = [];

  constructor(desc: RecordingDescription) {
    const ours = new Map(EVENT_TABLE.map((e) => [e.name, e]));
    let identity = true;
    this.codeMap.fill(UNKNOWN_EVENT_CODE);
    for (const fe of desc.events) {
      if (typeof fe?.code !== 'number' || fe.code < 0 || fe.code > 255) continue;
      this.fileDef[fe.code] = fe.definition ? 1 : 0;
      const oe = ours.get(fe.name);
      if (!oe) {
        this.codeMap[fe.code] = fe.definition ? UNKNOWN_DEFINITION_CODE : UNKNOWN_EVENT_CODE;
        this.unknownNames.push(fe.name);
        identity = false;
        continue;
      }
      this.codeMap[fe.code] = oe.code;
      if (oe.code !== fe.code) identity = false;
      const fileWord = new Map((fe.fields ?? []).map((f) => [f.name, f.word]));
      const perm = new Int8Array(RECORD_WORDS);
      let same = true;
      for (let w = 0; w < RECORD_WORDS; w++) perm[w] = w < 4 ? w : -1;
      for (const f of oe.fields) {
        if (f.word < 4) continue;
        const fw = fileWord.get(f.name);
        perm[f.word] = fw === undefined ? -1 : fw;
        if (fw !== f.word) same = false;
      }
      if (!same) {
        this.perm[oe.code] = perm;
        identity = false;
      }
    }
    const ourEnums = currentDescription().enums;
    for (const [key, fileNames] of Object.entries(desc.enums ?? {})) {
      const mine = ourEnums[key];
      if (!mine || !fileNames) continue;
      const [ev, field] = key.split('.');
      const oe = ours.get(ev);
      const spec = oe?.fields.find((f) => f.name === field);
      if (!oe || !spec) continue;
      const byName = new Map<string, number>();
      for (const [v, n] of Object.entries(mine)) byName.set(n, Number(v));
      const remap = new Map<number, number>();
      for (const [v, n] of Object.entries(fileNames)) {
        const ourV = byName.get(n);
        if (ourV !== undefined && ourV !== Number(v)) remap.set(Number(v), ourV);
      }
      if (remap.size) {
        let m = this.enumRemap[oe.code];
        if (!m) this.enumRemap[oe.code] = m = new Map();
        m.set(spec.word, remap);
        identity = false;
      }
    }
    this.identity = identity;
  }

  /** Rewrites records in place (they must be a private copy). */
  apply(w: Uint32Array, first: number, count: number): void {
    const end = first + count;
    const tmp = new Uint32Array(RECORD_WORDS);
    let i = first;
    while (i < end) {
      const o = i * RECORD_WORDS;
      const w0 = w[o];
      const fileCode = w0 & 0xff;
      const code = this.codeMap[fileCode];
      const span = this.fileDef[fileCode] ? Math.max(1, w0 >>> 16) : 1;
      if (code === UNKNOWN_EVENT_CODE || code === UNKNOWN_DEFINITION_CODE) this.unknownEvents++;
      w[o] = (w0 & 0xffffff00) | code;
      const perm = this.perm[code];
      if (perm) {
        for (let k = 4; k < RECORD_WORDS; k++) tmp[k] = w[o + k];
        for (let k = 4; k < RECORD_WORDS; k++) w[o + k] = perm[k] < 0 ? 0 : tmp[perm[k]];
      }
      const remaps = this.enumRemap[code];
      if (remaps) {
        for (const [word, m] of remaps) {
          const v = m.get(w[o + word]);
          if (v !== undefined) w[o + word] = v;
        }
      }
      i += span;
    }
  }
}

const enum St {
  Header,
  Chunks,
  Stopped,
}

/**
 * Incremental decoder. Feed it bytes as they come (any split), then call
 * {@link finish}. Chunks are delivered to the sink as soon as they are
 * complete and their checksum matches.
 *
 * After a bad checksum, an oversized length or a malformed chunk the decoder
 * stops (what follows cannot be trusted: the length field itself may be
 * wrong); further input is counted as unread. {@link problem} tells why.
 */
export class RecordingDecoder {
  /** Set once decoding stopped early. */
  problem: DecodeProblem | undefined;
  description: RecordingDescription | undefined;
  /** Merged contents of the META chunks read so far. */
  meta: RecordingMeta | undefined;
  /** Contents of the END chunk, once read. */
  endTotals: RecordingEnd | undefined;
  /** Bytes fed so far. */
  bytesFed = 0;
  /** Good chunks decoded. */
  chunks = 0;
  /** Records delivered. */
  records = 0;
  /** TRIM chunks read (detail before them was dropped). */
  trims = 0;
  readonly warnings: string[] = [];

  private state = St.Header;
  private readonly maxChunkBytes: number;
  /** Bytes consumed (decoded or rejected) before the pending unit. */
  private consumed = 0;
  private buf = new Uint8Array(0);
  private bufLen = 0;
  private scratch = new Uint32Array(0);
  private norm: Normalizer | undefined;
  private skipped = new Map<string, number>();
  private chunksAfterEnd = 0;

  constructor(
    private readonly sink: DecoderSink,
    opts: DecoderOptions = {},
  ) {
    this.maxChunkBytes = opts.maxChunkBytes ?? DEFAULT_MAX_CHUNK_BYTES;
  }

  /**
   * Decodes as much as possible of the stream so far.
   * @throws FormatError when the stream is not a recording this reader can read
   */
  feed(bytes: Uint8Array): void {
    this.bytesFed += bytes.length;
    if (this.halted()) {
      if (this.problem) this.problem.unreadBytes += bytes.length;
      return;
    }
    let pos = 0;
    const len = bytes.length;
    while (pos < len && !this.halted()) {
      if (this.bufLen === 0) {
        // Fast path: decode whole units straight from the caller's bytes.
        const unit = this.unitSize(bytes, pos, len - pos);
        if (this.halted()) break;
        if (unit > 0 && len - pos >= unit) {
          this.handleUnit(bytes, pos, unit);
          pos += unit;
          continue;
        }
        this.append(bytes, pos, len - pos);
        pos = len;
        break;
      }
      const unit = this.unitSize(this.buf, 0, this.bufLen);
      if (this.halted()) break;
      if (unit < 0) {
        // Not enough bytes to know the unit size yet: top up to the fixed prefix.
        const want = this.state === St.Header ? FILE_PREFIX_BYTES : CHUNK_HEADER_BYTES;
        const take = Math.min(want - this.bufLen, len - pos);
        this.append(bytes, pos, take);
        pos += take;
        continue;
      }
      const take = Math.min(unit - this.bufLen, len - pos);
      this.append(bytes, pos, take);
      pos += take;
      if (this.bufLen === unit) {
        this.bufLen = 0;
        this.handleUnit(this.buf, 0, unit);
      }
    }
    if (this.halted() && this.problem) this.problem.unreadBytes += len - pos;
  }

  /**
   * Ends the input and returns what was read and what was lost.
   * @throws FormatError when not even a complete header was read
   */
  finish(): DecodeStatus {
    if (this.state === St.Header) {
      if (this.bytesFed === 0) throw new FormatError('not an stmscope recording: the input is empty');
      throw new FormatError(
        `not a complete stmscope recording: the input ends after ${this.bytesFed} bytes, inside the file header`,
      );
    }
    if (this.state === St.Chunks && this.bufLen > 0) {
      const have = this.bufLen;
      let what = 'an incomplete chunk header';
      if (have >= CHUNK_HEADER_BYTES) {
        const type = fourCCName(get32(this.buf, 0));
        const length = get32(this.buf, 8);
        what = `an incomplete ${type.trim()} chunk (${(have - CHUNK_HEADER_BYTES).toLocaleString('en-US')} of its ${length.toLocaleString('en-US')} payload bytes)`;
      }
      this.stop('truncated', this.consumed, 0, `the recording is truncated: the last ${fmtBytes(have)} hold ${what}`);
    }
    this.state = St.Stopped;
    const warnings = [...this.warnings];
    if (!this.endTotals && !this.problem) {
      warnings.push('the recording has no END chunk: the recorder did not finish (program killed, or still running)');
    }
    for (const [type, n] of this.skipped) warnings.push(`skipped ${n} chunk(s) of unknown type ${JSON.stringify(type)}`);
    if (this.norm && this.norm.unknownEvents > 0) {
      warnings.push(
        `skipped ${this.norm.unknownEvents} event(s) this reader does not know (${this.norm.unknownNames.join(', ') || 'unnamed codes'})`,
      );
    }
    if (this.chunksAfterEnd > 0) warnings.push(`${this.chunksAfterEnd} chunk(s) followed the END chunk`);
    let message: string | undefined;
    if (this.problem) {
      message =
        `${capitalize(this.problem.message)}. ${fmtBytes(this.problem.unreadBytes)} from byte ${num(this.problem.offset)} on could not be read; ` +
        `the ${num(this.chunks)} chunk(s) (${num(this.records)} records) before it were read.`;
    } else if (warnings.length) {
      message = capitalize(warnings.join('; ')) + '.';
    }
    return {
      complete: !!this.endTotals && !this.problem,
      bytes: this.bytesFed,
      chunks: this.chunks,
      records: this.records,
      problem: this.problem,
      warnings,
      message,
    };
  }

  /** Size of the next unit starting at b[at], or -1 if more bytes are needed to know it. */
  private unitSize(b: Uint8Array, at: number, avail: number): number {
    if (this.state === St.Header) {
      // Reject foreign input as early as possible (a few bytes of a wrong file suffice).
      const n = Math.min(avail, 8);
      for (let i = 0; i < n; i++) {
        if (b[at + i] !== MAGIC.charCodeAt(i)) throw new FormatError(describeForeign(b.subarray(at, at + Math.min(avail, 16))));
      }
      if (avail < FILE_PREFIX_BYTES) return -1;
      const major = b[at + 8] | (b[at + 9] << 8);
      const minor = b[at + 10] | (b[at + 11] << 8);
      if (major !== FORMAT_MAJOR) {
        throw new FormatError(
          major > FORMAT_MAJOR
            ? `this recording uses format ${major}.${minor}, newer than this stmscope reads (${FORMAT_MAJOR}.x): upgrade stmscope`
            : `this recording uses format ${major}.${minor}, which this stmscope no longer reads`,
        );
      }
      const d = get32(b, at + 12);
      if (d > MAX_DESCRIPTION_BYTES) {
        throw new FormatError(`corrupt recording header: its description claims ${d} bytes (limit ${MAX_DESCRIPTION_BYTES})`);
      }
      return FILE_PREFIX_BYTES + pad8(d) + 8;
    }
    if (avail < CHUNK_HEADER_BYTES) return -1;
    const length = get32(b, at + 8);
    if (length > this.maxChunkBytes) {
      this.stop(
        'oversized',
        this.consumed,
        0,
        `chunk ${this.chunks + 1} at byte ${num(this.consumed)} (${fourCCName(get32(b, at)).trim()}) declares ${fmtBytes(length)}, ` +
          `over the ${fmtBytes(this.maxChunkBytes)} limit: the stream is corrupt`,
      );
      return -1;
    }
    return CHUNK_HEADER_BYTES + pad8(length);
  }

  private append(src: Uint8Array, at: number, n: number): void {
    if (n <= 0) return;
    if (this.bufLen + n > this.buf.length) {
      const next = new Uint8Array(Math.max(this.bufLen + n, this.buf.length * 2, 64));
      next.set(this.buf.subarray(0, this.bufLen));
      this.buf = next;
    }
    this.buf.set(src.subarray(at, at + n), this.bufLen);
    this.bufLen += n;
  }

  private handleUnit(b: Uint8Array, at: number, size: number): void {
    const offset = this.consumed;
    this.consumed += size;
    if (this.state === St.Header) {
      this.readHeader(b, at, size);
      return;
    }
    const type = get32(b, at);
    const flags = get32(b, at + 4);
    const length = get32(b, at + 8);
    const stored = get32(b, at + 12);
    const p0 = at + CHUNK_HEADER_BYTES;
    let c = crc32(b, 0, at, at + 12);
    c = crc32(b, c, p0, p0 + length);
    const name = fourCCName(type).trim();
    if (c !== stored) {
      this.stop(
        'checksum',
        offset,
        size,
        `chunk ${this.chunks + 1} at byte ${num(offset)} (${name}, ${fmtBytes(length)}) fails its checksum ` +
          `(CRC32 ${hex(c)}, expected ${hex(stored)}): the file is corrupt from there`,
      );
      return;
    }
    if (this.endTotals && type !== ChunkType.End) this.chunksAfterEnd++;
    if (type === ChunkType.Records) {
      if (length % RECORD_BYTES !== 0) {
        this.stop('malformed', offset, size, `RECS chunk ${this.chunks + 1} at byte ${num(offset)} holds ${length} bytes, not a multiple of ${RECORD_BYTES}`);
        return;
      }
      this.chunks++;
      const n = length / RECORD_BYTES;
      if (n === 0) return;
      let words: Uint32Array;
      const abs = b.byteOffset + p0;
      const needCopy = !this.norm!.identity || !LITTLE_ENDIAN_HOST || (abs & 3) !== 0;
      if (needCopy) {
        if (this.scratch.length < n * RECORD_WORDS) this.scratch = new Uint32Array(Math.max(n * RECORD_WORDS, this.scratch.length * 2));
        words = this.scratch;
        const view = new Uint8Array(words.buffer, 0, length);
        view.set(b.subarray(p0, p0 + length));
        if (!LITTLE_ENDIAN_HOST) swap32(view);
        if (!this.norm!.identity) this.norm!.apply(words, 0, n);
      } else {
        words = new Uint32Array(b.buffer, abs, n * RECORD_WORDS);
      }
      this.records += n;
      this.sink.records(words, 0, n);
      return;
    }
    if (type === ChunkType.Meta || type === ChunkType.End || type === ChunkType.Trim) {
      let value: unknown;
      try {
        value = JSON.parse(utf8d.decode(b.subarray(p0, p0 + length)));
      } catch (e) {
        this.warnings.push(`${name} chunk at byte ${num(offset)} is not valid JSON (${(e as Error).message}); ignored`);
        this.chunks++;
        return;
      }
      this.chunks++;
      const obj = value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
      if (type === ChunkType.Meta) {
        this.meta = { ...(this.meta ?? {}), ...obj };
        this.sink.meta?.(this.meta);
      } else if (type === ChunkType.Trim) {
        this.trims++;
        this.sink.trim?.(obj as RecordingTrim);
      } else {
        this.endTotals = obj as RecordingEnd;
        this.sink.end?.(this.endTotals);
      }
      return;
    }
    if (flags & CHUNK_FLAG_CRITICAL) {
      this.stop(
        'unsupported',
        offset,
        size,
        `chunk ${this.chunks + 1} at byte ${num(offset)} has type ${JSON.stringify(name)}, which this stmscope does not know and which is marked critical: upgrade stmscope`,
      );
      return;
    }
    this.chunks++;
    this.skipped.set(name, (this.skipped.get(name) ?? 0) + 1);
    this.sink.unknownChunk?.(name, b.subarray(p0, p0 + length));
  }

  private readHeader(b: Uint8Array, at: number, size: number): void {
    const crcAt = at + size - 8;
    const stored = get32(b, crcAt);
    const c = crc32(b, 0, at, crcAt);
    if (c !== stored) throw new FormatError(`corrupt recording header: checksum ${hex(c)}, expected ${hex(stored)}`);
    const d = get32(b, at + 12);
    let desc: RecordingDescription;
    try {
      desc = JSON.parse(utf8d.decode(b.subarray(at + FILE_PREFIX_BYTES, at + FILE_PREFIX_BYTES + d)));
    } catch (e) {
      throw new FormatError(`corrupt recording header: its description is not JSON (${(e as Error).message})`);
    }
    if (!desc || typeof desc !== 'object' || !Array.isArray(desc.events)) {
      throw new FormatError('corrupt recording header: its description has no event table');
    }
    if (desc.recordBytes !== RECORD_BYTES) {
      throw new FormatError(`unsupported recording: records of ${desc.recordBytes} bytes (this reader handles ${RECORD_BYTES})`);
    }
    if (desc.byteOrder !== undefined && desc.byteOrder !== 'little') {
      throw new FormatError(`unsupported recording: byte order ${JSON.stringify(desc.byteOrder)}`);
    }
    this.description = desc;
    this.norm = new Normalizer(desc);
    this.state = St.Chunks;
    this.sink.header?.(desc);
  }

  /** A method, not a field comparison: TS would narrow `state` across calls that change it. */
  private halted(): boolean {
    return this.state === St.Stopped;
  }

  private stop(kind: DecodeProblem['kind'], offset: number, unread: number, message: string): void {
    this.state = St.Stopped;
    // Bytes still buffered belong to the unit that failed.
    this.problem = { kind, offset, unreadBytes: unread + this.bufLen, message };
    this.bufLen = 0;
  }
}

/**
 * Decodes a whole in-memory recording.
 * @throws FormatError when the bytes are not a recording
 */
export function decodeRecording(bytes: Uint8Array, sink: DecoderSink, opts?: DecoderOptions): DecodeStatus {
  const d = new RecordingDecoder(sink, opts);
  d.feed(bytes);
  return d.finish();
}

function describeForeign(head: Uint8Array): string {
  const hexs = Array.from(head.subarray(0, 8), (x) => x.toString(16).padStart(2, '0')).join(' ');
  const text = Array.from(head.subarray(0, 8), (x) => (x >= 0x20 && x < 0x7f ? String.fromCharCode(x) : '.')).join('');
  const ascii = String.fromCharCode(...head.subarray(0, Math.min(head.length, 16)));
  let guess = '';
  if (head[0] === 0x1f && head[1] === 0x8b) guess = ' (a gzip file: decompress it first)';
  else if (ascii.startsWith('STMGC-C')) guess = ' (a PyPy-STM log: read it with print_stm_log.py)';
  else if (head[0] === 0x50 && head[1] === 0x4b) guess = ' (a ZIP archive)';
  else if (head[0] === 0x7b || head[0] === 0x5b) guess = ' (JSON text: perhaps a report, not a recording)';
  return `not an stmscope recording: expected the bytes "${MAGIC}" at the start, found ${hexs} ("${text}")${guess}`;
}

function num(n: number): string {
  return n.toLocaleString('en-US');
}
function hex(n: number): string {
  return '0x' + (n >>> 0).toString(16).padStart(8, '0');
}
function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
/** "1,234 bytes" / "3.2 MiB" for messages. */
export function fmtBytes(n: number): string {
  if (n < 10 * 1024) return `${n.toLocaleString('en-US')} byte${n === 1 ? '' : 's'}`;
  if (n < 10 * 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 10 * 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(1)} GiB`;
}
