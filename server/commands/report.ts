/**
 * `stmscope report FILE [--format text|markdown|json|html] [--top N] [-o OUT]`
 *
 * Streams the recording through the decoder and the streaming aggregator
 * (never reads the whole file: a recording larger than memory still reports),
 * fills in missing source lines from the program's own files, and renders the
 * report. A truncated or partly corrupt recording still reports everything up
 * to the last good chunk, with a warning on stderr.
 */

import { createReadStream } from 'node:fs';
import { readFile, realpath, stat, writeFile } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FormatError, fmtBytes, type RecordingMeta } from '../../model/format.ts';
import { Ingest } from '../../model/ingest.ts';
import { InputError, RecordingInput } from '../../model/input.ts';
import { PypyFormatError } from '../../model/pypy/convert.ts';
import { importWarnings } from './read-input.ts';
import { buildReport, reportFrames, type Report } from '../../model/report/build.ts';
import { renderHtml } from '../../model/report/html.ts';
import { renderJson } from '../../model/report/json.ts';
import { renderMarkdown } from '../../model/report/markdown.ts';
import { renderText } from '../../model/report/text.ts';

/** Where the command writes (process.stdout/stderr by default). */
export interface ReportIO {
  stdout: { write(s: string): unknown; isTTY?: boolean };
  stderr: { write(s: string): unknown; isTTY?: boolean };
}

const FORMATS = ['text', 'markdown', 'json', 'html'] as const;
type Format = (typeof FORMATS)[number];

const USAGE = `Usage: stmscope report FILE [--format text|markdown|json|html] [--top N] [-o OUT]

Prints the conflicts of a recording made by 'stmscope record' (or of a
PyPy-STM log, converted on the fly: docs/EXPORTS.md).

Options:
  -f, --format FMT   text (default), markdown (for issue trackers), json
                     (schema stmscope.report/1, docs/REPORT.md) or html (one
                     self-contained file)
  -n, --top N        conflict groups to list, by time lost (default 10)
  -o, --output OUT   write the report to OUT instead of stdout
      --progress     always show the progress bar on stderr (default: only on
                     a terminal, for files over 32 MiB); --no-progress: never
  -h, --help         this help`;

/** Files at least this big get a progress bar on a terminal. */
const PROGRESS_MIN_BYTES = 32 * 1024 * 1024;
/** Bytes per read: big reads keep chunk starts aligned and syscalls few. */
const READ_BYTES = 1024 * 1024;
/** Source files larger than this are not read for source lines. */
const MAX_SOURCE_BYTES = 8 * 1024 * 1024;
/** Longest source line text shown. */
const MAX_LINE_CHARS = 300;

interface Args {
  file: string;
  format: Format;
  top: number;
  output?: string;
  progress?: boolean;
}

function parseArgs(argv: string[]): Args | string {
  let file: string | undefined;
  let format: Format = 'text';
  let top = 10;
  let output: string | undefined;
  let progress: boolean | undefined;
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let value: string | undefined;
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    if (eq > 0) {
      value = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    const next = () => {
      if (value !== undefined) return value;
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    try {
      switch (a) {
        case '-h':
        case '--help':
          return 'help';
        case '-f':
        case '--format': {
          const f = next();
          if (!(FORMATS as readonly string[]).includes(f)) return `unknown format ${JSON.stringify(f)}: use one of ${FORMATS.join(', ')}`;
          format = f as Format;
          break;
        }
        case '-n':
        case '--top': {
          const v = next();
          const n = Number(v);
          if (!Number.isInteger(n) || n < 0) return `--top needs a whole number ≥ 0, got ${JSON.stringify(v)}`;
          top = n;
          break;
        }
        case '-o':
        case '--output':
          output = next();
          break;
        case '--progress':
          progress = true;
          break;
        case '--no-progress':
          progress = false;
          break;
        default:
          if (a.startsWith('-') && a !== '-') return `unknown option ${a}`;
          if (file !== undefined) return `one recording at a time (got ${JSON.stringify(file)} and ${JSON.stringify(a)})`;
          file = a;
      }
    } catch (e) {
      return (e as Error).message;
    }
  }
  if (file === undefined) return 'missing the recording FILE';
  return { file, format, top, output, progress };
}

/**
 * Runs `stmscope report`.
 * @returns the exit code: 0 done (also for a truncated recording, with a warning),
 *   1 unreadable input, 2 usage error
 */
export async function reportCommand(argv: string[], io: ReportIO = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const args = parseArgs(argv);
  if (args === 'help') {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (typeof args === 'string') {
    io.stderr.write(`stmscope report: ${args}\n\n${USAGE}\n`);
    return 2;
  }
  const fail = (msg: string) => {
    io.stderr.write(`stmscope report: ${msg}\n`);
    return 1;
  };

  let size: number;
  try {
    const st = await stat(args.file);
    if (!st.isFile()) return fail(`${args.file} is not a file`);
    size = st.size;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return fail(code === 'ENOENT' ? `${args.file}: no such file` : `${args.file}: ${(e as Error).message}`);
  }

  const ingest = new Ingest();
  // Recordings pass through; PyPy-STM logs are converted as they stream.
  const input = new RecordingInput((b) => ingest.feed(b));
  const showProgress = args.progress ?? (!!io.stderr.isTTY && size >= PROGRESS_MIN_BYTES);
  const bar = showProgress ? new ProgressBar(io.stderr, size) : undefined;
  const stream = createReadStream(args.file, { highWaterMark: READ_BYTES });
  let read = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      input.feed(chunk);
      read += chunk.length;
      bar?.update(read, ingest.assembler.events);
    }
  } catch (e) {
    stream.destroy();
    bar?.clear();
    if (e instanceof FormatError) return fail(`${args.file}: ${e.message}`);
    return fail(`${args.file}: ${(e as Error).message}`);
  }
  let status;
  try {
    const inputStatus = input.finish();
    for (const l of importWarnings(args.file, inputStatus)) io.stderr.write(`stmscope report: ${l}\n`);
    status = ingest.finish();
  } catch (e) {
    bar?.clear();
    if (e instanceof FormatError || e instanceof InputError || e instanceof PypyFormatError) return fail(`${args.file}: ${e.message}`);
    throw e;
  }
  bar?.done(read, ingest.assembler.events);
  if (status.problem) io.stderr.write(`stmscope report: warning: ${status.message}\n`);
  else if (status.warnings.length) io.stderr.write(`stmscope report: warning: ${status.message}\n`);

  const snap = ingest.aggregator!.snapshot({ topGroups: args.top });
  const report = buildReport(snap, { meta: ingest.meta, status, top: args.top, generator: 'stmscope report' });
  await fillSourceText(report, ingest.meta);
  const out = render(report, args.format);
  if (args.output) {
    try {
      await writeFile(args.output, out);
    } catch (e) {
      return fail(`cannot write ${args.output}: ${(e as Error).message}`);
    }
    io.stderr.write(`stmscope report: wrote ${args.output} (${args.format}, ${fmtBytes(Buffer.byteLength(out))})\n`);
  } else {
    io.stdout.write(out);
  }
  return 0;
}

function render(r: Report, format: Format): string {
  switch (format) {
    case 'json':
      return renderJson(r);
    case 'markdown':
      return renderMarkdown(r);
    case 'html':
      return renderHtml(r);
    default:
      return renderText(r);
  }
}

/**
 * Fills `text` of frames the recorder left without one, reading the program's
 * files, but only files that (after resolving symlinks) lie under the
 * program's cwd or the source roots it reported: a recording must not make
 * `stmscope report` print arbitrary files (`../../etc/passwd` as a "source").
 */
export async function fillSourceText(report: Report, meta: RecordingMeta | undefined): Promise<void> {
  const missing = [...reportFrames(report)].filter((f) => !f.text && f.line > 0 && f.file);
  if (!missing.length || !meta) return;
  const cwd = typeof meta.cwd === 'string' && isAbsolute(meta.cwd) ? meta.cwd : undefined;
  const rootsIn = [cwd, ...(Array.isArray(meta.sourceRoots) ? meta.sourceRoots : [])].filter(
    (r): r is string => typeof r === 'string' && isAbsolute(r),
  );
  const roots: string[] = [];
  for (const r of rootsIn) {
    try {
      roots.push(await realpath(r));
    } catch {
      // A root that does not exist here (recording from another machine) allows nothing.
    }
  }
  if (!roots.length) return;
  const cache = new Map<string, string[] | null>();
  for (const f of missing) {
    const lines = await sourceLines(f.file, cwd, roots, cache);
    const line = lines?.[f.line - 1];
    if (line !== undefined) f.text = line.trim().slice(0, MAX_LINE_CHARS);
  }
}

async function sourceLines(file: string, cwd: string | undefined, roots: string[], cache: Map<string, string[] | null>): Promise<string[] | null> {
  if (cache.has(file)) return cache.get(file)!;
  let lines: string[] | null = null;
  try {
    let p = file;
    if (p.startsWith('file://')) p = fileURLToPath(p);
    else if (/^[a-z][a-z0-9+.-]*:/i.test(p) && !/^[a-z]:[\\/]/i.test(p)) p = ''; // node:, http:, … are not files
    if (p && !isAbsolute(p)) p = cwd ? resolve(cwd, p) : '';
    if (p) {
      const real = await realpath(p);
      const inside = roots.some((root) => {
        const rel = relative(root, real);
        return rel === '' || (!rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel));
      });
      if (inside) {
        const st = await stat(real);
        if (st.isFile() && st.size <= MAX_SOURCE_BYTES) lines = (await readFile(real, 'utf8')).split(/\r?\n/);
      }
    }
  } catch {
    lines = null;
  }
  cache.set(file, lines);
  return lines;
}

/** A one-line progress bar on stderr, redrawn at most 10 times a second. */
class ProgressBar {
  private last = 0;
  private readonly t0 = performance.now();
  constructor(
    private readonly out: { write(s: string): unknown },
    private readonly total: number,
  ) {}

  update(done: number, events: number): void {
    const now = performance.now();
    if (now - this.last < 100) return;
    this.last = now;
    this.draw(done, events, now);
  }

  done(done: number, events: number): void {
    this.draw(done, events, performance.now());
    this.out.write('\n');
  }

  clear(): void {
    this.out.write(`\r${' '.repeat(78)}\r`);
  }

  private draw(done: number, events: number, now: number): void {
    const frac = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const width = 30;
    const filled = Math.round(frac * width);
    const secs = Math.max(1e-3, (now - this.t0) / 1000);
    const rate = events / secs;
    const mb = (n: number) => (n / 1024 / 1024).toFixed(0);
    this.out.write(
      `\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ` +
        `${mb(done)}/${mb(this.total)} MiB  ${(rate / 1e6).toFixed(1)}M events/s `,
    );
  }
}
