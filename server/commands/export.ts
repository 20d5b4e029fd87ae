/**
 * `stmscope export FILE --format chrome|speedscope [-o OUT] [--args full|brief] [--pypy-variant V]`
 *
 * Converts a recording (or a PyPy-STM log) into a file other tools open:
 * `chrome` is Chrome Trace Event JSON for ui.perfetto.dev and chrome://tracing
 * (a track per worker, a slice per attempt, arrows from culprit commits to
 * victim aborts); `speedscope` is time lost by victim and culprit stack for
 * speedscope.app. The input is streamed; the Chrome trace is written in
 * pieces with backpressure, never built as one string. docs/EXPORTS.md.
 */
import { createWriteStream } from 'node:fs';
import { EventAssembler } from '../../model/assemble.ts';
import { Definitions } from '../../model/defs.ts';
import { RecordingDecoder, fmtBytes, type DecodeStatus } from '../../model/format.ts';
import { Ingest } from '../../model/ingest.ts';
import { chromeTraceChunks, type ChromeTraceStats } from '../../model/export/chrome.ts';
import { AbortProfileCollector, buildSpeedscope } from '../../model/export/speedscope.ts';
import { PYPY_VARIANT_IDS } from '../../model/pypy/events.ts';
import { helpText, parseArgs, UsageError, type OptionSpec } from './args.ts';
import type { CommandIO } from './index.ts';
import { importWarnings, InputFileError, streamRecordingFile } from './read-input.ts';

const FORMATS = ['chrome', 'speedscope'] as const;
type Format = (typeof FORMATS)[number];

const SPECS: OptionSpec[] = [
  { name: 'format', short: 'f', value: true, help: 'chrome (Perfetto UI, chrome://tracing) or speedscope (required)' },
  { name: 'output', short: 'o', value: true, help: 'file to write; - or none: stdout' },
  { name: 'args', value: true, help: 'chrome only: slice args, full (default, for Perfetto) or brief (for speedscope: attempts of one transaction group into one frame)' },
  { name: 'pypy-variant', value: true, help: `event numbering of a PyPy-STM c8 log: auto (default), ${PYPY_VARIANT_IDS.join(', ')}` },
  { name: 'help', short: 'h', help: 'show this help' },
];
const USAGE = `Usage: stmscope export FILE --format chrome|speedscope [-o OUT]

Converts a recording (or a PyPy-STM log) for other tools: 'chrome' opens in
ui.perfetto.dev and chrome://tracing, 'speedscope' in speedscope.app.`;

/**
 * Runs `stmscope export`.
 * @returns 0 written (also from a truncated input, with a warning), 1 unreadable input or unwritable output, 2 usage error
 */
export async function exportCommand(argv: string[], io: CommandIO): Promise<number> {
  let file: string;
  let format: Format;
  let output: string | undefined;
  let variant: string | undefined;
  let sliceArgs: 'full' | 'brief' = 'full';
  try {
    const { options, positionals } = parseArgs(argv, SPECS);
    if (options.help) {
      io.stdout.write(helpText(USAGE, SPECS));
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError(positionals.length ? `one input FILE at a time (got ${positionals.length})` : 'missing the input FILE');
    file = positionals[0];
    const f = options.format;
    if (typeof f !== 'string') throw new UsageError('--format is required: chrome or speedscope');
    if (!(FORMATS as readonly string[]).includes(f)) throw new UsageError(`unknown format ${JSON.stringify(f)}: use chrome or speedscope`);
    format = f as Format;
    output = typeof options.output === 'string' && options.output !== '-' ? options.output : undefined;
    variant = typeof options['pypy-variant'] === 'string' ? options['pypy-variant'] : undefined;
    if (options.args !== undefined) {
      if (options.args !== 'full' && options.args !== 'brief') throw new UsageError(`unknown --args ${JSON.stringify(options.args)}: use full or brief`);
      if (format !== 'chrome') throw new UsageError('--args applies to --format chrome only');
      sliceArgs = options.args;
    }
    if (variant && variant !== 'auto' && !PYPY_VARIANT_IDS.includes(variant)) {
      throw new UsageError(`unknown --pypy-variant ${JSON.stringify(variant)}: use auto or one of ${PYPY_VARIANT_IDS.join(', ')}`);
    }
    if (!output && io.stdout.isTTY) throw new UsageError('refusing to write JSON to a terminal: give -o OUT (or redirect stdout)');
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.stderr.write(`stmscope export: ${e.message}\n\n${helpText(USAGE, SPECS)}`);
    return 2;
  }
  const fail = (msg: string) => {
    io.stderr.write(`stmscope export: ${msg}\n`);
    return 1;
  };
  const warn = (status: DecodeStatus) => {
    if (status.message) io.stderr.write(`stmscope export: warning: ${file}: ${status.message}\n`);
  };
  const pypy = variant ? { variant } : {};

  if (format === 'speedscope') {
    const defs = new Definitions();
    const collector = new AbortProfileCollector(defs);
    const asm = new EventAssembler(defs, collector);
    const decoder = new RecordingDecoder({ records: (w, f, n) => asm.records(w, f, n) });
    let status: DecodeStatus;
    try {
      const st = await streamRecordingFile(file, (b) => decoder.feed(b), pypy);
      for (const l of importWarnings(file, st)) io.stderr.write(`stmscope export: ${l}\n`);
      status = decoder.finish();
      asm.flush();
    } catch (e) {
      if (e instanceof InputFileError) return fail(e.message);
      if (e instanceof Error && e.name === 'FormatError') return fail(`${file}: ${e.message}`);
      throw e;
    }
    warn(status);
    const text = JSON.stringify(buildSpeedscope(collector, { name: `stmscope: ${baseName(file)}`, exporter: 'stmscope export' }));
    const wrote = await writeAll(output, io, [text, '\n']);
    if (wrote instanceof Error) return fail(`cannot write ${output}: ${wrote.message}`);
    io.stderr.write(
      `stmscope export: wrote ${output ?? 'stdout'} (speedscope, ${collector.conflicts.toLocaleString('en-US')} conflicts, ${fmtBytes(wrote)}); open it in https://www.speedscope.app\n`,
    );
    return 0;
  }

  const ingest = new Ingest({ store: true, aggregate: false });
  let status: DecodeStatus;
  try {
    const st = await streamRecordingFile(file, (b) => ingest.feed(b), pypy);
    for (const l of importWarnings(file, st)) io.stderr.write(`stmscope export: ${l}\n`);
    status = ingest.finish();
  } catch (e) {
    if (e instanceof InputFileError) return fail(e.message);
    if (e instanceof Error && e.name === 'FormatError') return fail(`${file}: ${e.message}`);
    throw e;
  }
  warn(status);
  const stats: ChromeTraceStats = { slices: 0, flows: 0, unboundConflicts: 0, metadata: 0 };
  const wrote = await writeAll(output, io, chromeTraceChunks(ingest.store!, { meta: ingest.meta, generator: 'stmscope export', args: sliceArgs }, stats));
  if (wrote instanceof Error) return fail(`cannot write ${output}: ${wrote.message}`);
  io.stderr.write(
    `stmscope export: wrote ${output ?? 'stdout'} (chrome trace, ${stats.slices.toLocaleString('en-US')} slices, ${stats.flows.toLocaleString('en-US')} conflict arrows, ${fmtBytes(wrote)}); ` +
      `open it in https://ui.perfetto.dev or chrome://tracing\n`,
  );
  return 0;
}

/** Writes pieces to a file (with backpressure) or to io.stdout; returns the bytes written or the error. */
async function writeAll(output: string | undefined, io: CommandIO, pieces: Iterable<string>): Promise<number | Error> {
  let bytes = 0;
  if (!output) {
    for (const p of pieces) {
      io.stdout.write(p);
      bytes += Buffer.byteLength(p);
    }
    return bytes;
  }
  const out = createWriteStream(output);
  let error: Error | undefined;
  out.on('error', (e) => {
    error = e;
  });
  /** Resolves on `event` or on an error, removing both listeners. */
  const until = (event: string) =>
    new Promise<void>((resolve) => {
      if (error) return resolve();
      const done = () => {
        out.off(event, done);
        out.off('error', done);
        resolve();
      };
      out.on(event, done);
      out.on('error', done);
    });
  await until('open');
  for (const p of pieces) {
    if (error) break;
    bytes += Buffer.byteLength(p);
    if (!out.write(p)) await until('drain');
  }
  if (!error) {
    const finished = until('finish');
    out.end();
    await finished;
  } else out.destroy();
  return error ?? bytes;
}

function baseName(p: string): string {
  const i = Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\'));
  return i >= 0 ? p.slice(i + 1) : p;
}
