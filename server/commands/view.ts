/**
 * `stmscope view FILE [--port P] [--no-open]`: serves one recording in the
 * dashboard and prints the URL that opens it (`#token=…&session=…`). The file
 * is read in place (not copied into the data directory). Runs until Ctrl+C.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { helpText, parseArgs, UsageError, type OptionSpec } from './args.ts';
import type { CommandIO } from './index.ts';
import { startServer } from '../http/server.ts';
import { sessionUrl } from '../client.ts';
import { openBrowser, portOption, RETENTION_SPECS, retentionOption, untilSignal } from './serve-common.ts';

const SPECS: OptionSpec[] = [
  { name: 'port', short: 'p', value: true, help: 'port (default: a free one)' },
  { name: 'data', value: true, help: 'sessions directory listed next to it (default as for serve)' },
  { name: 'open', negatable: true, help: 'open a browser (default on; --no-open only prints the URL)' },
  // FILE itself is never trimmed or deleted: these apply to the data directory and to imports made from the dashboard
  ...RETENTION_SPECS,
  { name: 'help', short: 'h', help: 'show this help' },
];
const USAGE = 'Usage: stmscope view FILE [--port P] [--no-open] [--max-session-mb 256] [--retain 30d,2GiB]';

export async function viewCommand(argv: string[], io: CommandIO): Promise<number> {
  const { options, positionals } = parseArgs(argv, SPECS);
  if (options.help) {
    io.stdout.write(helpText(USAGE, SPECS));
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`view needs one recording FILE\n${USAGE}`);
  const file = resolve(positionals[0]);
  if (!existsSync(file)) throw new Error(`${positionals[0]}: no such file`);
  const retention = retentionOption(options);
  const server = await startServer({
    store: { retention },
    port: portOption(options.port, 0),
    dataDir: typeof options.data === 'string' ? resolve(options.data) : undefined,
    // `run` and `attach` look for `stmscope serve`, not for this one
    stateFile: false,
    log: (l) => io.stderr.write(`stmscope: ${l}\n`),
  });
  let id: string;
  try {
    id = server.store.registerFile(file).id;
    // read it now, so a bad file fails here and the dashboard opens on a loaded session
    await server.store.open(id);
  } catch (e) {
    await server.close();
    throw e;
  }
  const info = server.store.info(id);
  const url = sessionUrl(server, id);
  io.stdout.write(`${url}\n`);
  io.stderr.write(
    `stmscope: serving ${positionals[0]} (${info.totals.events.toLocaleString('en-US')} events${info.problem ? `; ${info.problem}` : ''}); Ctrl+C stops\n`,
  );
  if (options.open !== false) openBrowser(url);
  await untilSignal();
  await server.close();
  return 0;
}
