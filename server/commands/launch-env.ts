/**
 * Environment for programs launched by `stmscope record` / `stmscope run`:
 * the instrumentation loader goes into NODE_OPTIONS (so every `node` the
 * command starts, and every worker thread, is instrumented), and pool workers
 * are told where to find it.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

function firstExisting(...urls: URL[]): URL | undefined {
  return urls.find((u) => existsSync(fileURLToPath(u)));
}

/** Environment additions that turn on the source transform in the launched program. */
export function instrumentationEnv(base: NodeJS.ProcessEnv, instrument: boolean): Record<string, string> {
  if (!instrument) return { STMSCOPE_INSTRUMENT: '0' };
  const fromSources = import.meta.url.endsWith('.ts');
  // sources: a plain-JS entry that registers tsx where needed; dist: compiled JS
  // dist/ mirrors the source tree, so the same relative paths work in both
  const register = firstExisting(new URL(`../../instrumentation/loader/register.${fromSources ? 'mjs' : 'js'}`, import.meta.url));
  const install = firstExisting(new URL(`../../instrumentation/loader/install.${fromSources ? 'ts' : 'js'}`, import.meta.url));
  if (!register || !install) return { STMSCOPE_INSTRUMENT: '0' };
  const opts = `${base.NODE_OPTIONS ?? ''} --import=${register.href}`.trim();
  return { NODE_OPTIONS: opts, STMSCOPE_INSTRUMENT: '1', STMSCOPE_INSTRUMENT_HOOK: install.href };
}
