/** The command registry of the `stmscope` CLI: name, one-line summary, lazy loader. */

export interface CommandIO {
  stdout: { write(s: string): unknown; isTTY?: boolean };
  stderr: { write(s: string): unknown; isTTY?: boolean };
}

export type CommandFn = (argv: string[], io: CommandIO) => Promise<number>;

export interface CommandEntry {
  name: string;
  summary: string;
  load(): Promise<CommandFn>;
}

// Commands are imported on first use, by URL so the table can name modules
// that other parts of the tree provide (and dist/ resolves the same way).
const EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
async function loadCommand(file: string, exportName: string): Promise<CommandFn> {
  const mod = (await import(new URL(`./${file}${EXT}`, import.meta.url).href)) as Record<string, unknown>;
  const fn = mod[exportName];
  if (typeof fn !== 'function') throw new Error(`command module ${file} does not export ${exportName}`);
  return fn as CommandFn;
}

// Every command of the CLI, in help order.
const entries: CommandEntry[] = [
  { name: 'demo', summary: 'start the dashboard with a live demo program attached', load: () => loadCommand('demo', 'demoCommand') },
  { name: 'record', summary: 'run a program with recording on and write a recording file', load: () => loadCommand('record', 'recordCommand') },
  { name: 'report', summary: 'print the conflicts of a recording (text, markdown, json, html)', load: () => loadCommand('report', 'reportCommand') },
  { name: 'serve', summary: 'start the dashboard server', load: () => loadCommand('serve', 'serveCommand') },
  { name: 'run', summary: 'run a program attached to the dashboard from its first transaction', load: () => loadCommand('run', 'runCommand') },
  { name: 'ps', summary: 'list running programs stmscope can attach to', load: () => loadCommand('ps', 'psCommand') },
  { name: 'attach', summary: 'attach to a running program (to a file or the dashboard)', load: () => loadCommand('attach', 'attachCommand') },
  { name: 'view', summary: 'open a recording in the dashboard', load: () => loadCommand('view', 'viewCommand') },
  { name: 'export', summary: 'convert a recording to Chrome/Perfetto trace or speedscope JSON', load: () => loadCommand('export', 'exportCommand') },
  { name: 'diff', summary: 'compare the conflicts of two recordings', load: () => loadCommand('diff', 'diffCommand') },
];

/** Registers a command (used by later command modules to keep this table the single list). */
export function commandTable(): CommandEntry[] {
  return entries;
}
