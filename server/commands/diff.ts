/**
 * `stmscope diff BEFORE AFTER [--format text|json|markdown] [--fail-on-regression PCT]`
 *
 * Compares the conflict groups of two recordings (or PyPy-STM logs): which
 * groups vanished, appeared, improved or regressed, matched by site even when
 * a fix moved the code, and the totals (throughput, abort ratio, time lost).
 * With --fail-on-regression the exit code says whether the total time lost
 * grew by more than PCT percent, for CI. Both inputs are streamed through the
 * bounded streaming aggregator. docs/EXPORTS.md §diff.
 */
import { writeFile } from 'node:fs/promises';
import { diffSnapshots, renderDiffJson, renderDiffMarkdown, renderDiffText, type DiffRun } from '../../model/diff.ts';
import { fmtBytes } from '../../model/format.ts';
import { Ingest } from '../../model/ingest.ts';
import { PYPY_VARIANT_IDS } from '../../model/pypy/events.ts';
import { helpText, intOption, parseArgs, UsageError, type OptionSpec } from './args.ts';
import type { CommandIO } from './index.ts';
import { importWarnings, InputFileError, streamRecordingFile } from './read-input.ts';

const FORMATS = ['text', 'json', 'markdown'] as const;
type Format = (typeof FORMATS)[number];

/** Exit code when the regression check fails. */
export const EXIT_REGRESSION = 3;

const SPECS: OptionSpec[] = [
  { name: 'format', short: 'f', value: true, help: 'text (default), json (schema stmscope.diff/1) or markdown' },
  { name: 'fail-on-regression', value: true, help: `exit ${EXIT_REGRESSION} when the total time lost grows by more than PCT %` },
  { name: 'regression-floor', value: true, help: 'ignore growth smaller than this duration (e.g. 1ms, 500us; default 0)' },
  { name: 'threshold', value: true, help: 'a group is improved/regressed past this change in % (default 10)' },
  { name: 'top', short: 'n', value: true, help: 'groups listed by text and markdown (default 20)' },
  { name: 'output', short: 'o', value: true, help: 'write to OUT instead of stdout' },
  { name: 'pypy-variant', value: true, help: `event numbering of PyPy-STM c8 logs: auto (default), ${PYPY_VARIANT_IDS.join(', ')}` },
  { name: 'help', short: 'h', help: 'show this help' },
];
const USAGE = `Usage: stmscope diff BEFORE AFTER [--format text|json|markdown] [--fail-on-regression PCT]

Compares the conflicts of two recordings (or PyPy-STM logs), e.g. before and
after a fix. Exit codes: 0 done, 1 unreadable input, 2 usage error,
${EXIT_REGRESSION} time lost grew past --fail-on-regression.`;

/** Parses `1.5ms`, `200us`/`200µs`, `2s`, `300ns` or a plain number of ns. */
export function parseDuration(v: string, name: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ns|us|µs|ms|s)?$/.exec(v.trim());
  if (!m) throw new UsageError(`--${name} needs a duration such as 1ms, 500us or 2s, got ${JSON.stringify(v)}`);
  const unit = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9 }[m[2] ?? 'ns']!;
  return Math.round(Number(m[1]) * unit);
}

function pctOption(v: string | boolean | undefined, name: string): number | undefined {
  if (v === undefined || v === false) return undefined;
  const n = Number(String(v).replace(/%$/, ''));
  if (typeof v !== 'string' || !Number.isFinite(n) || n < 0) throw new UsageError(`--${name} needs a percentage ≥ 0, got ${JSON.stringify(v)}`);
  return n;
}

/**
 * Runs `stmscope diff`.
 * @returns 0 done, 1 unreadable input, 2 usage error, {@link EXIT_REGRESSION} regression check failed
 */
export async function diffCommand(argv: string[], io: CommandIO): Promise<number> {
  let files: string[];
  let format: Format = 'text';
  let failPct: number | undefined;
  let floorNs = 0;
  let threshold: number | undefined;
  let top = 20;
  let output: string | undefined;
  let variant: string | undefined;
  try {
    const { options, positionals } = parseArgs(argv, SPECS);
    if (options.help) {
      io.stdout.write(helpText(USAGE, SPECS));
      return 0;
    }
    if (positionals.length !== 2) throw new UsageError(`need two inputs, BEFORE and AFTER (got ${positionals.length})`);
    files = positionals;
    if (options.format !== undefined) {
      if (typeof options.format !== 'string' || !(FORMATS as readonly string[]).includes(options.format)) {
        throw new UsageError(`unknown format ${JSON.stringify(options.format)}: use text, json or markdown`);
      }
      format = options.format as Format;
    }
    failPct = pctOption(options['fail-on-regression'], 'fail-on-regression');
    threshold = pctOption(options.threshold, 'threshold');
    if (typeof options['regression-floor'] === 'string') floorNs = parseDuration(options['regression-floor'], 'regression-floor');
    top = intOption(options.top, 'top', 20, 0);
    output = typeof options.output === 'string' ? options.output : undefined;
    variant = typeof options['pypy-variant'] === 'string' ? options['pypy-variant'] : undefined;
    if (variant && variant !== 'auto' && !PYPY_VARIANT_IDS.includes(variant)) {
      throw new UsageError(`unknown --pypy-variant ${JSON.stringify(variant)}: use auto or one of ${PYPY_VARIANT_IDS.join(', ')}`);
    }
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.stderr.write(`stmscope diff: ${e.message}\n\n${helpText(USAGE, SPECS)}`);
    return 2;
  }

  const runs: DiffRun[] = [];
  for (const file of files) {
    const ingest = new Ingest();
    try {
      const st = await streamRecordingFile(file, (b) => ingest.feed(b), variant ? { variant } : {});
      for (const l of importWarnings(file, st)) io.stderr.write(`stmscope diff: ${l}\n`);
      const status = ingest.finish();
      if (status.message) io.stderr.write(`stmscope diff: warning: ${file}: ${status.message}\n`);
    } catch (e) {
      if (e instanceof InputFileError) {
        io.stderr.write(`stmscope diff: ${e.message}\n`);
        return 1;
      }
      if (e instanceof Error && e.name === 'FormatError') {
        io.stderr.write(`stmscope diff: ${file}: ${e.message}\n`);
        return 1;
      }
      throw e;
    }
    runs.push({ snapshot: ingest.aggregator!.snapshot({ topHotObjects: 0 }), label: file, meta: ingest.meta });
  }
  const d = diffSnapshots(runs[0], runs[1], { failOnRegressionPct: failPct, regressionFloorNs: floorNs, changeThresholdPct: threshold });
  const text = format === 'json' ? renderDiffJson(d) : format === 'markdown' ? renderDiffMarkdown(d, { top }) : renderDiffText(d, { top });
  if (output) {
    try {
      await writeFile(output, text);
    } catch (e) {
      io.stderr.write(`stmscope diff: cannot write ${output}: ${(e as Error).message}\n`);
      return 1;
    }
    io.stderr.write(`stmscope diff: wrote ${output} (${format}, ${fmtBytes(Buffer.byteLength(text))})\n`);
  } else {
    io.stdout.write(text);
  }
  if (d.regression?.failed) {
    const r = d.regression;
    io.stderr.write(
      `stmscope diff: regression: time lost grew ${r.growthPct === null ? 'from 0' : `by ${r.growthPct.toFixed(1)}%`} (limit ${r.thresholdPct}%)\n`,
    );
    return EXIT_REGRESSION;
  }
  return 0;
}
