/**
 * `stmscope demo [--port P] [--no-open] [--program shop|http|http-fixed]` (also
 * `npm run demo`): starts the dashboard server and a demo program with real
 * conflicts streaming to it from its first transaction, prints the dashboard
 * URL and runs until Ctrl+C. Programs: the shop (fixtures/demo/shop.ts, the
 * default) or the HTTP store server under load (fixtures/http-server, the
 * seeds' Bottle demo; `http-fixed` is its TCounter fix).
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
  { name: 'program', value: true, help: 'demo program: shop (default; several kinds of conflict), http (an HTTP server whose handlers run as transactions, with a hot request counter) or http-fixed (the same with a TCounter)' },
  ...RETENTION_SPECS,
  { name: 'help', short: 'h', help: 'show this help' },
];
const USAGE = 'Usage: stmscope demo [--port P] [--no-open] [--program shop|http|http-fixed] [--max-session-mb 256] [--retain 30d,2GiB]';

/** Demo programs: path below the repository root and extra environment. */
const PROGRAMS: Record<string, { path: string; env: Record<string, string> }> = {
  shop: { path: 'fixtures/demo/shop.ts', env: {} },
  // HTTP_DEMO=1: serve load rounds until SIGTERM instead of a fixed request count
  http: { path: 'fixtures/http-server/main.ts', env: { HTTP_DEMO: '1' } },
  'http-fixed': { path: 'fixtures/http-server-fixed/main.ts', env: { HTTP_DEMO: '1' } },
};

export async function demoCommand(argv: string[], io: CommandIO): Promise<number> {
  const { options, positionals } = parseArgs(argv, SPECS);
  if (options.help) {
    io.stdout.write(helpText(USAGE, SPECS));
    return 0;
  }
  if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}\n${USAGE}`);
  const programName = options.program === undefined ? 'shop' : String(options.program);
  const chosen = Object.hasOwn(PROGRAMS, programName) ? PROGRAMS[programName] : undefined;
  if (!chosen) throw new UsageError(`--program must be one of ${Object.keys(PROGRAMS).join(', ')}, got ${JSON.stringify(options.program)}\n${USAGE}`);
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
  const program = fileURLToPath(new URL(`${fromSources ? '../..' : '../../..'}/${chosen.path}`, import.meta.url));
  if (!existsSync(program)) throw new Error(`the demo program ${program} is missing: stmscope demo runs from a checkout of the stmscope repository`);
  const args = ['--import', 'tsx', program];
  const env = { ...process.env, ...chosen.env, ...instrumentationEnv(process.env, true), STMSCOPE_SERVER: ingestTarget(server) };
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
