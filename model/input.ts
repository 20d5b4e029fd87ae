/**
 * What stmscope can read, and the one door every reader goes through: a
 * stmscope recording passes through unchanged, a PyPy-STM log is converted
 * to a recording on the fly (model/pypy/), anything else is refused with a
 * message naming what it looks like. `stmscope report`, `diff`, `export`, the
 * server's import and the dashboard all read PyPy-STM logs this way.
 *
 * ```ts
 * const input = new RecordingInput((recording) => ingest.feed(recording), { pypy: { variant: 'auto' } });
 * for await (const chunk of file) input.feed(chunk);
 * const st = input.finish(); // st.kind, st.pypy?.warnings
 * ```
 */

import { MAGIC, concatBytes } from './format.ts';
import { C7_HEADER, C8_HEADER } from './pypy/events.ts';
import { PypyFormatError, PypyLogConverter, describeBytes, type PypyImportOptions, type PypyImportStatus } from './pypy/convert.ts';

/** The kinds of input {@link detectInputKind} tells apart. */
export type InputKindName = 'stmscope' | 'pypy-stm-c7' | 'pypy-stm-c8' | 'empty' | 'unknown';

export interface InputKind {
  kind: InputKindName;
  /** One phrase for messages: `an stmscope recording`, `a PyPy-STM log (STMGC-C8-PROF01)`, `a gzip file`, … */
  description: string;
  /** False when more bytes are needed to tell (a prefix of a known magic). */
  certain: boolean;
}

/** Thrown for input that no reader of stmscope accepts. */
export class InputError extends Error {
  override name = 'InputError';
}

const latin1 = (b: Uint8Array, n: number) => String.fromCharCode(...b.subarray(0, n));

/**
 * Tells what the first bytes of an input are (16 bytes suffice).
 */
export function detectInputKind(bytes: Uint8Array): InputKind {
  if (bytes.length === 0) return { kind: 'empty', description: 'an empty input', certain: true };
  const n = Math.min(bytes.length, 16);
  const head = latin1(bytes, n);
  const prefixOf = (magic: string) => magic.startsWith(head.slice(0, Math.min(n, magic.length))) && head.startsWith(magic.slice(0, n));
  if (prefixOf(MAGIC)) return { kind: 'stmscope', description: 'an stmscope recording', certain: n >= MAGIC.length };
  if (prefixOf(C7_HEADER)) return { kind: 'pypy-stm-c7', description: 'a PyPy-STM log (STMGC-C7-PROF01)', certain: n >= 16 };
  if (prefixOf(C8_HEADER)) return { kind: 'pypy-stm-c8', description: 'a PyPy-STM log (STMGC-C8-PROF01)', certain: n >= 16 };
  return { kind: 'unknown', description: guess(bytes), certain: true };
}

function guess(b: Uint8Array): string {
  const head = latin1(b, Math.min(b.length, 64));
  let what = 'data of an unknown kind';
  if (b[0] === 0x1f && b[1] === 0x8b) what = 'a gzip file (decompress it first)';
  else if (b[0] === 0x50 && b[1] === 0x4b) what = 'a ZIP archive';
  else if (head.startsWith('STMGC-')) what = `an unknown PyPy-STM log header ${JSON.stringify(head.slice(0, 16))} (known: STMGC-C7-PROF01, STMGC-C8-PROF01)`;
  else if (/^\s*[[{]/.test(head)) {
    if (head.includes('"traceEvents"')) what = 'JSON text (a Chrome trace, perhaps one stmscope exported: it cannot be read back)';
    else if (head.includes('stmscope.report')) what = 'JSON text (an stmscope report, not a recording)';
    else if (head.includes('speedscope')) what = 'JSON text (a speedscope profile)';
    else what = 'JSON text';
  } else if (/^[\x09\x0a\x0d\x20-\x7e]*$/.test(head)) what = 'text';
  return `${describeBytes(b)}: ${what}`;
}

/** Options of {@link RecordingInput} and {@link toRecordingBytes}. */
export interface InputOptions {
  /** Options of the PyPy-STM importer (variant, META extras). */
  pypy?: PypyImportOptions;
}

/** What {@link RecordingInput.finish} reports. */
export interface InputStatus {
  kind: InputKindName;
  description: string;
  /** Set for PyPy-STM logs: what the conversion read and lost. */
  pypy?: PypyImportStatus;
}

const enum St {
  Sniff,
  Pass,
  Pypy,
}

/**
 * Push-style input: sniffs the first bytes, then passes a recording through
 * or converts a PyPy-STM log, handing recording bytes to `out` as they come.
 */
export class RecordingInput {
  private state = St.Sniff;
  private head = new Uint8Array(0);
  private converter: PypyLogConverter | undefined;
  private kindInfo: InputKind | undefined;

  constructor(
    private readonly out: (recording: Uint8Array) => void,
    private readonly opts: InputOptions = {},
  ) {}

  /** The input's kind once known (after enough bytes). */
  get kind(): InputKind | undefined {
    return this.kindInfo;
  }

  /**
   * @throws InputError for input that is neither a recording nor a PyPy-STM log
   * @throws PypyFormatError for a PyPy-STM log whose records cannot be read
   */
  feed(bytes: Uint8Array): void {
    if (this.state === St.Pass) return this.out(bytes);
    if (this.state === St.Pypy) return this.converter!.feed(bytes);
    const all = new Uint8Array(this.head.length + bytes.length);
    all.set(this.head);
    all.set(bytes, this.head.length);
    const k = detectInputKind(all);
    if (!k.certain && all.length < 16) {
      this.head = all;
      return;
    }
    this.start(k, all);
  }

  /** Ends the input. @throws like {@link feed}, and for an input too short to tell */
  finish(): InputStatus {
    if (this.state === St.Sniff) this.start(detectInputKind(this.head), this.head);
    const k = this.kindInfo!;
    if (this.state === St.Pypy) return { kind: k.kind, description: k.description, pypy: this.converter!.finish() };
    return { kind: k.kind, description: k.description };
  }

  private start(k: InputKind, bytes: Uint8Array): void {
    this.kindInfo = k;
    this.head = new Uint8Array(0);
    if (k.kind === 'stmscope') {
      this.state = St.Pass;
      // A short prefix of the magic is left to the recording decoder, whose message is precise.
      if (bytes.length) this.out(bytes);
      return;
    }
    if (k.kind === 'pypy-stm-c7' || k.kind === 'pypy-stm-c8') {
      this.state = St.Pypy;
      this.converter = new PypyLogConverter(this.out, this.opts.pypy);
      this.converter.feed(bytes);
      return;
    }
    // The wording of docs/FORMAT.md §4, plus what else stmscope reads.
    if (k.kind === 'empty') throw new InputError('not an stmscope recording: the input is empty (stmscope reads recordings and PyPy-STM logs)');
    throw new InputError(
      `not an stmscope recording: expected the bytes "STMSCOPE" at the start, found ${k.description} ` +
        `(stmscope also reads PyPy-STM logs, which start with "STMGC-C7-PROF01" or "STMGC-C8-PROF01")`,
    );
  }
}

/**
 * Any readable input as stmscope recording bytes: recordings pass through
 * (the same bytes), PyPy-STM logs are converted.
 * @throws InputError / PypyFormatError for unreadable input
 */
export function toRecordingBytes(bytes: Uint8Array, opts: InputOptions = {}): Uint8Array {
  return convertInput(bytes, opts).bytes;
}

/** Like {@link toRecordingBytes}, with what was read (kind, PyPy conversion status and warnings). */
export function convertInput(bytes: Uint8Array, opts: InputOptions = {}): { bytes: Uint8Array; status: InputStatus } {
  const k = detectInputKind(bytes);
  if (k.kind === 'stmscope') return { bytes, status: { kind: k.kind, description: k.description } };
  const pieces: Uint8Array[] = [];
  const input = new RecordingInput((b) => pieces.push(b), opts);
  input.feed(bytes);
  const status = input.finish();
  return { bytes: concatBytes(pieces), status };
}

export { PypyFormatError };
