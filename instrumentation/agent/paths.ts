/**
 * Where stmscope keeps per-user state. Every location can be moved with
 * `STMSCOPE_HOME` (tests, several users of one account):
 *
 * | what | STMSCOPE_HOME set | otherwise |
 * |---|---|---|
 * | discovery directory (agents' entries and sockets) | `$STMSCOPE_HOME/agents` | `$XDG_RUNTIME_DIR/stmscope`, else `<tmpdir>/stmscope-<uid>` |
 * | sessions (recordings) | `$STMSCOPE_HOME/sessions` | `$XDG_DATA_HOME/stmscope/sessions`, else `~/.stmscope/sessions` |
 * | running server's state file | `$STMSCOPE_HOME/server.json` | `~/.stmscope/server.json` |
 *
 * The discovery directory lives in a runtime directory by default because it
 * holds Unix sockets, whose paths must stay short (≈100 bytes).
 *
 * Every directory is created mode 0700 and checked: it must be a real
 * directory (not a symlink) owned by this user and not accessible to others,
 * else stmscope refuses to use it (another user could plant entries or
 * sockets there).
 */
import { chmodSync, lstatSync, mkdirSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

function uid(): number {
  return typeof process.getuid === 'function' ? process.getuid() : 0;
}

/** `$STMSCOPE_HOME` when set. */
function home(env: NodeJS.ProcessEnv): string | undefined {
  return env.STMSCOPE_HOME || undefined;
}

/** The discovery directory (agents' entries and sockets). */
export function agentsDir(env: NodeJS.ProcessEnv = process.env): string {
  const h = home(env);
  if (h) return join(h, 'agents');
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'stmscope');
  return join(tmpdir(), `stmscope-${uid()}`);
}

/** The default data directory of the server (one recording per session). */
export function sessionsDir(env: NodeJS.ProcessEnv = process.env): string {
  const h = home(env);
  if (h) return join(h, 'sessions');
  if (env.XDG_DATA_HOME) return join(env.XDG_DATA_HOME, 'stmscope', 'sessions');
  return join(homedir(), '.stmscope', 'sessions');
}

/** The state file a running `stmscope serve` writes (port, token) so `run`/`attach` find it. */
export function serverStateFile(env: NodeJS.ProcessEnv = process.env): string {
  const h = home(env);
  return h ? join(h, 'server.json') : join(homedir(), '.stmscope', 'server.json');
}

/**
 * Creates `dir` (and its parents) with mode 0700 if needed and checks that
 * only this user can use it.
 * @throws Error naming the directory and the problem
 */
export function ensurePrivateDir(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (st.isSymbolicLink() || !st.isDirectory()) throw new Error(`${dir} is not a directory (a symlink or a file is in the way); remove it`);
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) {
    throw new Error(`${dir} belongs to another user (uid ${st.uid}); refusing to use it`);
  }
  if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
  return dir;
}
