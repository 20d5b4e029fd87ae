/**
 * `stmscope run [--port P] [--exit] [--no-instrument] -- <command...>`
 *
 * Runs a program attached to the dashboard from its first transaction: the
 * program's agent streams to the server named by STMSCOPE_SERVER. Uses the
 * running `stmscope serve` when there is one (found through its state file),
 * else starts a server in this process, which keeps serving after the program
 * ends (Ctrl+C stops it; `--exit` stops it with the program). The program
 * keeps running if the server goes away. Exits with the program's code.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { helpText, parseArgs, UsageError, type OptionSpec } from './args.ts';
import type { CommandIO } from './index.ts';
import { instrumentationEnv } from './launch-env.ts';
import { startServer, type RunningServer } from '../http/server.ts';
import { apiRequest, dashboardUrl, findServer, ingestTarget, sessionUrl, type ServerState } from '../client.ts';
import { announcePolicy, openBrowser, portOption, RETENTION_SPECS, retentionGiven, retentionOption, untilSignal } from './serve-common.ts';
import type { SessionInfo } from '../../model/protocol.ts';

const SPECS: OptionSpec[] = [
  { name: 'port', short: 'p', value: true, help: 'port of the server started when none runs (default 7300)' },
  { name: 'exit', help: 'stop the server started here when the program ends (default: keep serving until Ctrl+C)' },
  { name: 'open', negatable: true, help: 'open the dashboard in a browser (default off)' },
  { name: 'instrument', negatable: true, help: 'transform user code for exact sites (default on; --no-instrument)' },
  // a running server keeps its own policy: these apply to the server started here
  ...RETENTION_SPECS,
  { name: 'help', short: 'h', help: 'show this help' },
];
const USAGE = 'Usage: stmscope run [--port P] [--exit] -- <command...>';

export async function runCommand(argv: string[], io: CommandIO): Promise<number> {
  const { options, rest, positionals } = parseArgs(argv, SPECS);
  if (options.help) {
    io.stdout.write(helpText(USAGE, SPECS));
    return 0;
  }
  if (positionals.length) throw new UsageError(`put the command after --: stmscope run -- ${positionals.join(' ')}`);
  if (rest.length === 0) throw new UsageError(`no command to run: put it after --\n${USAGE}`);

  const retention = retentionOption(options);
  let own: RunningServer | undefined;
  let server: ServerState | undefined = await findServer();
  if (server) {
    io.stderr.write(`stmscope: streaming to the running server (${server.url})\n`);
    if (retentionGiven(options)) io.stderr.write('stmscope: --max-session-mb/--retain ignored: the running server keeps its own retention policy (set it on `stmscope serve`)\n');
  } else {
    own = await startServer({ port: portOption(options.port, 7300), log: (l) => io.stderr.write(`stmscope: ${l}\n`), store: { retention } });
    announcePolicy(retention, io);
    server = { pid: process.pid, host: '127.0.0.1', port: own.port, url: own.url, token: own.token, ingestToken: own.ingestToken, dataDir: own.store.dataDir, version: '' };
    io.stdout.write(`stmscope dashboard: ${dashboardUrl(server)}\n`);
  }
  if (options.open === true) openBrowser(dashboardUrl(server));

  const env = {
    ...process.env,
    ...instrumentationEnv(process.env, options.instrument !== false),
    STMSCOPE_SERVER: ingestTarget(server),
  };
  const child = spawn(rest[0], rest.slice(1), { stdio: 'inherit', env });
  const stopForward = forwardSignals(child);
  const announce = announceSession(server, own, child, io);
  const code = await new Promise<number>((done) => {
    child.on('error', (e) => {
      io.stderr.write(`stmscope run: cannot run ${rest[0]}: ${e.message}\n`);
      done(127);
    });
    child.on('exit', (c, sig) => done(c ?? 128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : sig === 'SIGKILL' ? 9 : 0)));
  });
  stopForward();
  announce.stop();
  if (own) {
    // the session ends once the program's stream closed and everything was ingested
    const t0 = Date.now();
    while (own.store.list().some((s) => s.live && s.program?.pid === child.pid) && Date.now() - t0 < 10_000) {
      await new Promise((r) => setTimeout(r, 50));
    }
    if (options.exit) {
      await own.close();
      return code;
    }
    io.stderr.write(`stmscope: the program exited with code ${code}; the dashboard stays at ${dashboardUrl(server)} (Ctrl+C stops it)\n`);
    await untilSignal();
    await own.close();
  }
  return code;
}

/** Forwards signals sent to this process alone (a terminal's Ctrl+C reaches the whole group anyway). */
function forwardSignals(child: ChildProcess): () => void {
  let timer: NodeJS.Timeout | undefined;
  const on = (sig: NodeJS.Signals) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    }, 300);
  };
  const sigs: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of sigs) process.on(s, on);
  return () => {
    clearTimeout(timer);
    for (const s of sigs) process.removeListener(s, on);
  };
}

/** Prints the session's URL once the program's stream arrived. */
function announceSession(server: ServerState, own: RunningServer | undefined, child: ChildProcess, io: CommandIO): { stop(): void } {
  let done = false;
  const print = (id: string) => {
    if (done) return;
    done = true;
    io.stdout.write(`session: ${sessionUrl(server, id)}\n`);
  };
  const find = (list: SessionInfo[]) => list.find((s) => s.source === 'run' && s.program?.pid === child.pid);
  const timer = setInterval(async () => {
    if (done) return clearInterval(timer);
    try {
      const list = own ? own.store.list() : ((await apiRequest(server, 'GET', '/api/sessions', undefined, 2000)) as SessionInfo[]);
      const s = find(list);
      if (s) print(s.id);
    } catch {
      /* the server is busy or gone: the program runs on */
    }
  }, 250);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      // a short program may end before the first poll saw its session
      if (own && !done) {
        const s = find(own.store.list());
        if (s) print(s.id);
      }
      done = true;
    },
  };
}
