/**
 * `stmscope ps [--json]`: lists the running programs stmscope can attach to
 * (their agents' discovery entries, each confirmed by asking the agent).
 */
import { listPrograms } from '../../instrumentation/agent/discovery.ts';
import { agentsDir } from '../../instrumentation/agent/paths.ts';
import { helpText, parseArgs, type OptionSpec } from './args.ts';
import type { CommandIO } from './index.ts';

const SPECS: OptionSpec[] = [
  { name: 'json', help: 'print JSON (one array of programs)' },
  { name: 'help', short: 'h', help: 'show this help' },
];
const USAGE = 'Usage: stmscope ps [--json]';

export async function psCommand(argv: string[], io: CommandIO): Promise<number> {
  const { options, positionals } = parseArgs(argv, SPECS);
  if (options.help) {
    io.stdout.write(helpText(USAGE, SPECS));
    return 0;
  }
  if (positionals.length) throw new Error(`unexpected argument ${JSON.stringify(positionals[0])}\n${USAGE}`);
  const programs = await listPrograms(agentsDir());
  if (options.json) {
    io.stdout.write(JSON.stringify(programs, null, 2) + '\n');
    return 0;
  }
  if (programs.length === 0) {
    io.stdout.write('no attachable programs (a program is attachable while it runs with a stmscope heap; see `stmscope run`)\n');
    return 0;
  }
  const rows = programs.map((p) => [String(p.pid), String(p.workers), p.attached ? `yes (${p.attached})` : 'no', shortTime(p.startTime), commandLine(p.argv), p.cwd]);
  const head = ['PID', 'WORKERS', 'ATTACHED', 'STARTED', 'COMMAND', 'CWD'];
  const widths = head.map((h, i) => Math.min(i === 4 ? 60 : 40, Math.max(h.length, ...rows.map((r) => r[i].length))));
  const fmt = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : clip(c, widths[i]).padEnd(widths[i]))).join('  ');
  io.stdout.write([fmt(head), ...rows.map(fmt)].join('\n') + '\n');
  return 0;
}

function clip(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

/** argv without the node binary's path, shortened for a terminal. */
export function commandLine(argv: string[]): string {
  const a = [...argv];
  if (a.length && /(^|\/)node(\.exe)?$/.test(a[0])) a[0] = 'node';
  return a.join(' ');
}

function shortTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '?';
  return d.toTimeString().slice(0, 8);
}
