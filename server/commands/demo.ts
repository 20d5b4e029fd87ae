/**
 * `stmscope demo [--port P] [--no-open]` (also `npm run demo`): starts the
 * dashboard server and a demo program with real conflicts (server/demo/shop.ts)
 * streaming to it from its first transaction, prints the dashboard URL and
 * runs until Ctrl+C.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { helpText, parseArgs, UsageError, type OptionSpec } from './args.ts';
import type { CommandIO } from './index.ts';
import { instrumentationEnv } from './launch-env.ts';
import { startServer, type RunningServer } from '../http/server.ts';
import { dashboardUrl, ingestTarget, sessionUrl } from '../client.ts';
import { announcePolicy, openBrowser, portOption, RETENTION_SPECS, retentionOption, untilSignal } from './serve-common.ts';

const SPECS: OptionSpec[] = [
  { name: 'port', short: 'p', value: true, help: 'port (default 7300, or a free one when 7300 is taken)' },
  { name: 'open', negatable: true, help: 'open a browser (default on; --no-open only prints the URL)' },
  ...RETENTION_SPECS,
  { name: 'help', short: 'h', help: 'show this help' },
];
const USAGE = 'Usage: stmscope demo [--port P] [--no-open] [--max-session-mb 256] [--retain 30d,2GiB]';

export async function demoCommand(argv: string[], io: CommandIO): Promise<number> {
  const { options, positionals } = parseArgs(argv, SPECS);
  if (options.help) {
    io.stdout.write(helpText(USAGE, SPECS));
    return 0;
  }
  if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}\n${USAGE}`);
  const log = (l: string) => io.stderr.write(`stmscope: ${l}\n`);
  let server: RunningServer;
  const wanted = portOption(options.port, 7300);
  // the demo streams about 1 GB an hour (issue #12): the caps keep it bounded
  const retention = retentionOption(options);
  try {
    server = await startServer({ port: wanted, log, store: { retention } });
  } catch (e) {
    if (options.port !== undefined || !/in use/.test((e as Error).message)) throw e;
    io.stderr.write(`stmscope: port ${wanted} is taken; using a free one\n`);
    server = await startServer({ port: 0, log, store: { retention } });
  }
  io.stdout.write(`stmscope dashboard: ${dashboardUrl(server)}\n`);
  announcePolicy(retention, io);

  // The demo is user code (fixtures/, instrumented), run from the sources with
  // tsx: server/commands/ or dist/server/commands/ → the repository root.
  const fromSources = import.meta.url.endsWith('.ts');
  const program = fileURLToPath(new URL(`${fromSources ? '../..' : '../../..'}/fixtures/demo/shop.ts`, import.meta.url));
  if (!existsSync(program)) throw new Error(`the demo program ${program} is missing: stmscope demo runs from a checkout of the stmscope repository`);
  const args = ['--import', 'tsx', program];
  const env = { ...process.env, ...instrumentationEnv(process.env, true), STMSCOPE_SERVER: ingestTarget(server) };
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'], env });
  let exited = false;
  child.on('exit', (code, sig) => {
    exited = true;
    io.stderr.write(`stmscope: the demo program stopped (${sig ?? `exit code ${code}`}); the dashboard keeps its session\n`);
  });
  child.on('error', (e) => io.stderr.write(`stmscope: cannot start the demo program: ${e.message}\n`));

  // print the session's URL as soon as its stream arrives
  const found = await new Promise<string | undefined>((res) => {
    const t0 = Date.now();
    const timer = setInterval(() => {
      const s = server.store.list().find((x) => x.source === 'run' && x.program?.pid === child.pid);
      if (s || exited || Date.now() - t0 > 30_000) {
        clearInterval(timer);
        res(s?.id);
      }
    }, 100);
  });
  const url = found ? sessionUrl(server, found) : dashboardUrl(server);
  if (found) io.stdout.write(`demo session: ${url}\n`);
  else io.stderr.write('stmscope: the demo program did not connect; the dashboard is still up\n');
  io.stderr.write('stmscope: the demo runs until Ctrl+C\n');
  if (options.open !== false) openBrowser(url);
  await untilSignal();
  if (!exited) {
    child.kill('SIGTERM');
    await new Promise<void>((r) => {
      const t = setTimeout(() => {
        child.kill('SIGKILL');
        r();
      }, 3000);
      child.once('exit', () => {
        clearTimeout(t);
        r();
      });
    });
  }
  await server.close();
  return 0;
}
