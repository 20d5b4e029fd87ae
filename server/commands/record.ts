/**
 * `stmscope record -o FILE [--sample N] [--stack-depth N] [--no-instrument] -- <command...>`
 *
 * Runs the command with recording on from its first transaction and writes
 * FILE. The program's own agent writes the file (so the recorder never slows
 * the program through a pipe); Ctrl+C reaches the program, whose agent flushes
 * and closes the recording before the signal takes effect.
 */
import { spawn } from 'node:child_process';
import { existsSync, statSync, unlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import { helpText, intOption, parseArgs, UsageError, type OptionSpec } from './args.ts';
import type { CommandIO } from './index.ts';
import { instrumentationEnv } from './launch-env.ts';

const SPECS: OptionSpec[] = [
  { name: 'output', short: 'o', value: true, help: 'recording file to write (required)' },
  { name: 'sample', value: true, help: 'record 1 in N transactions (every abort is still recorded); default 1' },
  { name: 'stack-depth', value: true, help: 'frames kept per stack (default 16)' },
  { name: 'instrument', negatable: true, help: 'transform user code for exact sites (default on; --no-instrument)' },
  { name: 'help', short: 'h', help: 'show this help' },
];
const USAGE = 'Usage: stmscope record -o FILE [options] -- <command...>';

export async function recordCommand(argv: string[], io: CommandIO): Promise<number> {
  const { options, rest } = parseArgs(argv, SPECS);
  if (options.help) {
    io.stdout.write(helpText(USAGE, SPECS));
    return 0;
  }
  if (typeof options.output !== 'string') throw new UsageError(`-o FILE is required\n${USAGE}`);
  if (rest.length === 0) throw new UsageError(`no command to run: put it after --\n${USAGE}`);
  const file = resolve(options.output);
  const sample = intOption(options.sample, 'sample', 1);
  const depth = intOption(options['stack-depth'], 'stack-depth', 16);
  if (existsSync(file)) unlinkSync(file);
  const env = {
    ...process.env,
    ...instrumentationEnv(process.env, options.instrument !== false),
    STMSCOPE_RECORD_FILE: file,
    STMSCOPE_SAMPLE: String(sample),
    STMSCOPE_STACK_DEPTH: String(depth),
  };
  const child = spawn(rest[0], rest.slice(1), { stdio: 'inherit', env });
  // The terminal sends Ctrl+C to the whole process group, so the program gets
  // it too; forward only signals that were sent to this process alone.
  let forwardTimer: NodeJS.Timeout | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    clearTimeout(forwardTimer);
    forwardTimer = setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    }, 300);
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);
  const code = await new Promise<number>((done) => {
    child.on('error', (e) => {
      io.stderr.write(`stmscope record: cannot run ${rest[0]}: ${e.message}\n`);
      done(127);
    });
    child.on('exit', (c, sig) => done(c ?? 128 + (sig ? signalNumber(sig) : 0)));
  });
  clearTimeout(forwardTimer);
  for (const s of signals) process.removeListener(s, onSignal);
  if (!existsSync(file)) {
    io.stderr.write(
      `stmscope record: no recording was written: the program created no stmscope heap (createHeap) or its agent could not start\n`,
    );
    return code === 0 ? 1 : code;
  }
  const size = statSync(file).size;
  io.stderr.write(`stmscope: recorded ${formatSize(size)} to ${options.output}; see the conflicts with: stmscope report ${options.output}\n`);
  return code;
}

function formatSize(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${Math.max(1, Math.round(n / 1024))} KiB`;
}

function signalNumber(sig: NodeJS.Signals): number {
  return ({ SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[sig] ?? 0;
}
