/**
 * Streams a file that stmscope can read (a recording, or a PyPy-STM log
 * converted on the fly) into recording bytes, without reading it whole:
 * `stmscope export` and `stmscope diff` feed an Ingest from it.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { FormatError } from '../../model/format.ts';
import { InputError, RecordingInput, type InputStatus } from '../../model/input.ts';
import { PypyFormatError, type PypyImportOptions } from '../../model/pypy/convert.ts';
import '../../instrumentation/agent/native-crc.ts';

/** Bytes per read (as `stmscope report`). */
const READ_BYTES = 1024 * 1024;

/** A file that could not be read at all (missing, not a recording or log). */
export class InputFileError extends Error {
  override name = 'InputFileError';
}

/**
 * Reads `path` and hands recording bytes to `sink`.
 * @throws InputFileError with a message naming the file
 */
export async function streamRecordingFile(path: string, sink: (bytes: Uint8Array) => void, pypy: PypyImportOptions = {}): Promise<InputStatus> {
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new InputFileError(`${path} is not a file`);
  } catch (e) {
    if (e instanceof InputFileError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputFileError(code === 'ENOENT' ? `${path}: no such file` : `${path}: ${(e as Error).message}`);
  }
  const input = new RecordingInput(sink, { pypy });
  const stream = createReadStream(path, { highWaterMark: READ_BYTES });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) input.feed(chunk);
    return input.finish();
  } catch (e) {
    stream.destroy();
    if (e instanceof InputError || e instanceof PypyFormatError || e instanceof FormatError) throw new InputFileError(`${path}: ${e.message}`);
    throw e;
  }
}

/** Warnings of a PyPy-STM conversion, one line each, for stderr. */
export function importWarnings(path: string, st: InputStatus): string[] {
  const p = st.pypy;
  if (!p) return [];
  const lines = [`${path}: read as ${st.description}, event numbering ${p.variant}${p.guessed ? ' (guessed)' : ''}: ${p.records.toLocaleString('en-US')} records, ${p.threads} threads`];
  if (p.problem) lines.push(`${path}: warning: ${p.problem}`);
  for (const w of p.warnings) lines.push(`${path}: warning: ${w}`);
  return lines;
}
