/**
 * Starts worker_threads whose entry (or whose task module) may be TypeScript.
 *
 * Node 20 does not apply loader hooks registered with `--import` on the main
 * thread to a worker's entry module (verified: `node --import tsx main.ts` then
 * `new Worker('w.ts')` fails with ERR_UNKNOWN_FILE_EXTENSION). When TypeScript
 * is involved, the worker starts from a tiny eval'd ES module that registers
 * tsx in the worker itself, then imports the real entry.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const TS_FILE = /\.(m|c)?tsx?$/;

export function isTypeScriptUrl(url: string): boolean {
  return TS_FILE.test(url.split('?')[0]);
}

let tsxApiUrl: string | null | undefined;
/** URL of tsx's ESM API if tsx is installed, else null. */
function tsxApi(): string | null {
  if (tsxApiUrl === undefined) {
    try {
      // the ESM flavour of tsx's API: require.resolve would give the CommonJS one
      const require = createRequire(import.meta.url);
      const cjs = require.resolve('tsx/esm/api');
      tsxApiUrl = pathToFileURL(cjs.replace(/\.cjs$/, '.mjs')).href;
    } catch {
      tsxApiUrl = null;
    }
  }
  return tsxApiUrl;
}

/**
 * Starts a worker running `entry` (a file URL). `needsTs` forces TypeScript
 * support (e.g. because the worker will import a .ts task module).
 */
export function launchWorker(entry: URL, options: WorkerOptions & { needsTs?: boolean }): Worker {
  const { needsTs, ...rest } = options;
  if (!needsTs && !isTypeScriptUrl(entry.href)) return new Worker(entry, rest);
  const api = tsxApi();
  if (api === null) {
    throw new Error(`cannot start a TypeScript worker (${entry.href}): install tsx (npm i -D tsx) or build to JavaScript`);
  }
  const code =
    `import { register } from ${JSON.stringify(api)};\n` +
    `register();\n` +
    `await import(${JSON.stringify(entry.href)});\n`;
  return new Worker(code, { ...rest, eval: true });
}
