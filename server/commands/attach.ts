/**
 * `stmscope attach <pid> [--duration S] [-o FILE]`
 *
 * Attaches to a running program (found with `stmscope ps`): its agent
 * switches recording on and streams to us; detaching (Ctrl+C, the duration,
 * or the program ending) switches it off again. With `-o FILE` the recording
 * goes to FILE; otherwise to the running dashboard server (`stmscope serve`),
 * which keeps it as a session and shows it live.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { RecordingDecoder } from '../../model/format.ts';
import { attachAgent, readEntries } from '../../instrumentation/agent/discovery.ts';
import { agentsDir } from '../../instrumentation/agent/paths.ts';
import { helpText, parseArgs, UsageError, type OptionSpec } from './args.ts';
import type { CommandIO } from './index.ts';
import { commandLine } from './ps.ts';
import { apiRequest, findServer, sessionUrl } from '../client.ts';

const SPECS: OptionSpec[] = [
  { name: 'output', short: 'o', value: true, help: 'write the recording to FILE instead of the dashboard server' },
  { name: 'duration', short: 'd', value: true, help: 'detach after S seconds (default: on Ctrl+C or when the program ends)' },
  { name: 'help', short: 'h', help: 'show this help' },
];
const USAGE = 'Usage: stmscope attach <pid> [--duration S] [-o FILE]';

export async function attachCommand(argv: string[], io: CommandIO): Promise<number> {
  const { options, positionals } = parseArgs(argv, SPECS);
  if (options.help) {
    io.stdout.write(helpText(USAGE, SPECS));
    return 0;
  }
  if (positionals.length !== 1 || !/^\d+$/.test(positionals[0])) throw new UsageError(`attach needs the pid of a running program (see stmscope ps)\n${USAGE}`);
  const pid = Number(positionals[0]);
  let durationMs: number | undefined;
  if (options.duration !== undefined) {
    const s = Number(options.duration);
    if (!Number.isFinite(s) || s <= 0) throw new UsageError(`--duration must be a number of seconds > 0, got ${JSON.stringify(options.duration)}`);
    durationMs = s * 1000;
  }
  const entry = readEntries(agentsDir()).find((e) => e.pid === pid);
  if (!entry) {
    throw new Error(`no attachable program with pid ${pid}: it must be running with a stmscope heap (and without STMSCOPE_AGENT=0); \`stmscope ps\` lists them`);
  }
  if (typeof options.output === 'string') return toFile(entry.endpoint, pid, commandLine(entry.argv), resolve(options.output), durationMs, io);
  return toServer(pid, durationMs, io);
}

/** Resolves after `ms` (if given), on SIGINT/SIGTERM, or when `done` resolves; returns what happened. */
function waitForStop(ms: number | undefined, done: Promise<unknown>): Promise<'timeout' | 'signal' | 'ended'> {
  return new Promise((res) => {
    const finish = (why: 'timeout' | 'signal' | 'ended') => {
      clearTimeout(timer);
      process.removeListener('SIGINT', onSig);
      process.removeListener('SIGTERM', onSig);
      res(why);
    };
    const onSig = () => finish('signal');
    const timer = ms === undefined ? undefined : setTimeout(() => finish('timeout'), ms);
    process.on('SIGINT', onSig);
    process.on('SIGTERM', onSig);
    void done.then(() => finish('ended'));
  });
}

async function toFile(endpoint: string, pid: number, cmd: string, file: string, durationMs: number | undefined, io: CommandIO): Promise<number> {
  const fd = openSync(file, 'w', 0o644);
  let bytes = 0;
  let events = 0;
  const decoder = new RecordingDecoder({ records: (_w, _f, n) => void (events += n) });
  let ended!: () => void;
  const endedP = new Promise<void>((r) => (ended = r));
  let streamError: Error | undefined;
  try {
    const stream = await attachAgent(endpoint, 'stmscope-attach', {
      data: (b) => {
        writeSync(fd, b);
        bytes += b.length;
        try {
          decoder.feed(b);
        } catch {
          /* counted as a problem below */
        }
      },
      end: (e) => {
        streamError = e;
        ended();
      },
    });
    io.stderr.write(`stmscope: attached to ${pid} (${cmd}); recording to ${file}${durationMs ? ` for ${durationMs / 1000} s` : ''}; Ctrl+C detaches\n`);
    const why = await waitForStop(durationMs, endedP);
    if (why !== 'ended') await stream.detach();
  } finally {
    closeSync(fd);
  }
  const st = decoder.finish();
  const complete = st.complete;
  io.stderr.write(
    `stmscope: ${complete ? 'detached' : 'the stream ended early'}: ${bytes.toLocaleString('en-US')} bytes, ${st.records.toLocaleString('en-US')} records written to ${file}` +
      `${streamError ? ` (${streamError.message})` : ''}${!complete && st.message ? `; ${st.message}` : ''}\n` +
      `see the conflicts with: stmscope report ${file}\n`,
  );
  void events;
  return 0;
}

async function toServer(pid: number, durationMs: number | undefined, io: CommandIO): Promise<number> {
  const server = await findServer();
  if (!server) {
    throw new Error('no stmscope server is running: start one with `stmscope serve` (the dashboard), or write to a file with -o FILE');
  }
  const { session } = (await apiRequest(server, 'POST', '/api/attach', { pid })) as { session: string };
  io.stdout.write(`attached to ${pid}: session ${session}\n${sessionUrl(server, session)}\n`);
  io.stderr.write(`stmscope: streaming to the dashboard${durationMs ? ` for ${durationMs / 1000} s` : ''}; Ctrl+C detaches\n`);
  const ended = (async () => {
    for (;;) {
      await new Promise((r) => setTimeout(r, 500));
      try {
        const list = (await apiRequest(server, 'GET', '/api/sessions')) as Array<{ id: string; live: boolean }>;
        const s = list.find((x) => x.id === session);
        if (!s || !s.live) return;
      } catch {
        return; // the server went away
      }
    }
  })();
  const why = await waitForStop(durationMs, ended);
  if (why !== 'ended') {
    try {
      await apiRequest(server, 'POST', '/api/detach', { session });
    } catch (e) {
      io.stderr.write(`stmscope: detach failed: ${(e as Error).message}\n`);
      return 1;
    }
  }
  io.stderr.write(`stmscope: ${why === 'ended' ? 'the program ended' : 'detached'}; the session stays in the dashboard\n`);
  return 0;
}
