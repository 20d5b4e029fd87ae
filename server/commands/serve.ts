/**
 * `stmscope serve [--port 7300] [--host 127.0.0.1] [--data DIR]
 * [--max-session-mb 256] [--retain 30d,2GiB]`: the dashboard server (HTTP +
 * WebSocket, docs/PROTOCOL.md) with its retention policy
 * (server/session/retention.ts). Prints the dashboard URL with its token;
 * runs until Ctrl+C.
 */
import { resolve } from 'node:path';
import { helpText, parseArgs, UsageError, type OptionSpec } from './args.ts';
import type { CommandIO } from './index.ts';
import { startServer } from '../http/server.ts';
import { dashboardUrl } from '../client.ts';
import { announcePolicy, openBrowser, portOption, RETENTION_SPECS, retentionOption, untilSignal, warnExposure } from './serve-common.ts';

const SPECS: OptionSpec[] = [
  { name: 'port', short: 'p', value: true, help: 'port (default 7300; 0 picks a free one)' },
  { name: 'host', value: true, help: 'bind address (default 127.0.0.1; anything else exposes your sessions)' },
  { name: 'data', value: true, help: 'sessions directory (default $STMSCOPE_HOME/sessions, $XDG_DATA_HOME/stmscope/sessions or ~/.stmscope/sessions)' },
  { name: 'open', negatable: true, help: 'open the dashboard in a browser (default off; --open)' },
  ...RETENTION_SPECS,
  { name: 'help', short: 'h', help: 'show this help' },
];
const USAGE = 'Usage: stmscope serve [--port 7300] [--host 127.0.0.1] [--data DIR] [--max-session-mb 256] [--retain 30d,2GiB]';

export async function serveCommand(argv: string[], io: CommandIO): Promise<number> {
  const { options, positionals } = parseArgs(argv, SPECS);
  if (options.help) {
    io.stdout.write(helpText(USAGE, SPECS));
    return 0;
  }
  if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}\n${USAGE}`);
  const host = typeof options.host === 'string' ? options.host : '127.0.0.1';
  const retention = retentionOption(options);
  const server = await startServer({
    store: { retention },
    host,
    port: portOption(options.port, 7300),
    dataDir: typeof options.data === 'string' ? resolve(options.data) : undefined,
    log: (l) => io.stderr.write(`stmscope: ${l}\n`),
  });
  warnExposure(host, io);
  const url = dashboardUrl(server);
  io.stdout.write(`stmscope dashboard: ${url}\n`);
  announcePolicy(retention, io);
  io.stderr.write(`sessions in ${server.store.dataDir}; attach programs from the dashboard, with \`stmscope attach <pid>\` or start them with \`stmscope run -- <command>\`; Ctrl+C stops\n`);
  if (options.open === true) openBrowser(url);
  await untilSignal();
  io.stderr.write('stmscope: stopping\n');
  await server.close();
  return 0;
}
