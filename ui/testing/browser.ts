/**
 * Helpers for the dashboard's browser tests and benchmark (Node only): build
 * the UI when its sources are newer than dist/ui, start headless Chromium
 * (Debian's /usr/bin/chromium through playwright-core), serve dist/ui
 * statically for standalone (file-opened) runs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';

export const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const UI_DIST = join(REPO, 'dist', 'ui');
export const CHROMIUM = process.env.STMSCOPE_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

function newest(path: string, skip: (p: string) => boolean = () => false): number {
  if (!existsSync(path) || skip(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let m = st.mtimeMs;
  for (const e of readdirSync(path)) m = Math.max(m, newest(join(path, e), skip));
  return m;
}

/** mtime of the newest input of the UI bundle. */
function sourcesMtime(): number {
  const skipTests = (p: string) => /\.test\.tsx?$/.test(p) || p.includes('/e2e/') || p.includes('/testing/');
  return Math.max(newest(join(REPO, 'ui', 'src'), skipTests), newest(join(REPO, 'ui', 'index.html')), newest(join(REPO, 'vite.config.ts')), newest(join(REPO, 'model'), skipTests));
}

/**
 * Builds dist/ui with Vite when missing or older than its sources. A lock
 * directory keeps concurrent test files from building at the same time.
 */
export async function ensureUiBuilt(): Promise<void> {
  const stamp = join(UI_DIST, '.built');
  const fresh = () => existsSync(join(UI_DIST, 'index.html')) && existsSync(stamp) && Number(readFileSync(stamp, 'utf8')) >= sourcesMtime();
  if (fresh()) return;
  const lock = join(tmpdir(), 'stmscope-ui-build.lock');
  const t0 = Date.now();
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // Someone else builds; a lock older than 3 minutes is stale.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 180_000) rmSync(lock, { recursive: true, force: true });
      } catch {
        /* gone */
      }
      if (Date.now() - t0 > 240_000) throw new Error(`timed out waiting for ${lock}`);
      await new Promise((r) => setTimeout(r, 250));
      if (fresh()) return;
    }
  }
  try {
    if (fresh()) return;
    const mtime = sourcesMtime();
    const r = spawnSync(process.execPath, [join(REPO, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'], {
      cwd: REPO,
      encoding: 'utf8',
      // vitest sets NODE_ENV=test, which would make Vite bundle React's development build.
      env: { ...process.env, NODE_ENV: 'production' },
    });
    if (r.status !== 0) throw new Error(`vite build failed:\n${r.stdout}\n${r.stderr}`);
    writeFileSync(stamp, String(mtime));
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json', '.svg': 'image/svg+xml' };

/** Serves dist/ui on 127.0.0.1 (standalone mode: no API, files opened in the page). */
export async function serveStatic(dir = UI_DIST): Promise<{ url: string; close(): Promise<void> }> {
  const srv = http.createServer((req, res) => {
    let p = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (p === '/') p = '/index.html';
    const f = resolve(join(dir, p));
    if (!f.startsWith(dir) || !existsSync(f) || statSync(f).isDirectory()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': TYPES[extname(f)] ?? 'application/octet-stream' });
    res.end(readFileSync(f));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((r) => srv.close(() => r())) };
}

/** p-th percentile (0..1) of numbers. */
export function percentile(xs: number[], p: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
}
