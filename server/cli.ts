#!/usr/bin/env node
/**
 * The `stmscope` command line. Each command lives in commands/<name>.ts and
 * exports `run(argv, io): Promise<number>` (the exit code); commands are
 * loaded on demand so `stmscope report` never loads the server.
 */
import { commandTable, type CommandIO } from './commands/index.ts';

const USAGE = `stmscope — a conflict profiler for the stmscope STM runtime

Usage: stmscope <command> [options]

Commands:
${commandTable()
  .map((c) => `  ${c.name.padEnd(8)} ${c.summary}`)
  .join('\n')}

Run 'stmscope <command> --help' for a command's options.`;

export async function main(argv: string[], io: CommandIO = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(`${USAGE}\n`);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    const { VERSION } = await import('../instrumentation/version.ts');
    io.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const cmd = commandTable().find((c) => c.name === name);
  if (!cmd) {
    io.stderr.write(`stmscope: unknown command ${JSON.stringify(name)}\n\n${USAGE}\n`);
    return 2;
  }
  try {
    const mod = await cmd.load();
    return await mod(rest, io);
  } catch (e) {
    io.stderr.write(`stmscope ${name}: ${e instanceof Error ? e.message : String(e)}\n`);
    if (process.env.STMSCOPE_DEBUG) io.stderr.write(`${(e as Error).stack}\n`);
    // usage errors exit 2, like the commands' own argument checks
    return e instanceof Error && e.name === 'UsageError' ? 2 : 1;
  }
}

// Run when executed directly (bin/stmscope.js imports this module and calls main itself).
const invoked = process.argv[1] ?? '';
if (invoked.endsWith('/server/cli.ts') || invoked.endsWith('/server/cli.js')) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`stmscope: ${e?.stack ?? e}\n`);
      process.exitCode = 1;
    },
  );
}
