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

// Every command of the CLI, in help order. Modules are imported on first use.
const entries: CommandEntry[] = [
  { name: 'demo', summary: 'start the dashboard with a live demo program attached', load: async () => (await import('./demo.ts')).demoCommand },
  { name: 'record', summary: 'run a program with recording on and write a recording file', load: async () => (await import('./record.ts')).recordCommand },
  { name: 'report', summary: 'print the conflicts of a recording (text, markdown, json, html)', load: async () => (await import('./report.ts')).reportCommand },
  { name: 'serve', summary: 'start the dashboard server', load: async () => (await import('./serve.ts')).serveCommand },
  { name: 'run', summary: 'run a program attached to the dashboard from its first transaction', load: async () => (await import('./run.ts')).runCommand },
  { name: 'ps', summary: 'list running programs stmscope can attach to', load: async () => (await import('./ps.ts')).psCommand },
  { name: 'attach', summary: 'attach to a running program (to a file or the dashboard)', load: async () => (await import('./attach.ts')).attachCommand },
  { name: 'view', summary: 'open a recording in the dashboard', load: async () => (await import('./view.ts')).viewCommand },
  { name: 'export', summary: 'convert a recording to Chrome/Perfetto trace or speedscope JSON', load: async () => (await import('./export.ts')).exportCommand },
  { name: 'diff', summary: 'compare the conflicts of two recordings', load: async () => (await import('./diff.ts')).diffCommand },
];

/** Registers a command (used by later command modules to keep this table the single list). */
export function commandTable(): CommandEntry[] {
  return entries;
}
