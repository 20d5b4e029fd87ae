/**
 * Serves the built dashboard (dist/ui) read-only: no directory listings, no
 * path outside the folder (`..`, encoded or not, and symlinks that leave it
 * are refused), unknown paths without an extension get index.html (client
 * routes).
 */
import { createReadStream, existsSync, realpathSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, relative, resolve, sep, isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

/** Where the built dashboard is: STMSCOPE_UI_DIR, else dist/ui next to the sources or the build. */
export function defaultUiDir(): string {
  if (process.env.STMSCOPE_UI_DIR) return resolve(process.env.STMSCOPE_UI_DIR);
  const here = import.meta.url;
  // sources: server/http/static.ts → dist/ui; build: dist/server/http/static.js → dist/ui
  const candidates = [new URL('../../dist/ui/', here), new URL('../../ui/', here)];
  for (const c of candidates) {
    const p = fileURLToPath(c);
    if (existsSync(join(p, 'index.html'))) return p;
  }
  return fileURLToPath(candidates[0]);
}

const MISSING = `<!doctype html><meta charset="utf-8"><title>stmscope</title>
<body style="font:16px system-ui;margin:3em"><h1>stmscope</h1>
<p>The dashboard is not built: run <code>npm run build</code> in the stmscope package, then reload.</p>
<p>The server and its API are running.</p></body>`;

/** Answers a GET or HEAD for a dashboard file. */
export function serveStatic(req: IncomingMessage, res: ServerResponse, uiDir: string, headers: Record<string, string>): void {
  let path: string;
  try {
    path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  } catch {
    return send(res, 400, 'text/plain; charset=utf-8', 'bad path', headers);
  }
  if (path.includes('\0') || path.split('/').includes('..')) return send(res, 400, 'text/plain; charset=utf-8', 'path traversal refused', headers);
  if (!existsSync(join(uiDir, 'index.html'))) return send(res, 200, TYPES['.html'], MISSING, headers);
  let file = resolve(uiDir, `.${path}`);
  if (path.endsWith('/')) file = join(file, 'index.html');
  if (!existsSync(file) && extname(path) === '') file = join(uiDir, 'index.html');
  let real: string;
  let root: string;
  try {
    real = realpathSync(file);
    root = realpathSync(uiDir);
  } catch {
    return send(res, 404, 'text/plain; charset=utf-8', 'not found', headers);
  }
  const rel = relative(root, real);
  if (rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) return send(res, 403, 'text/plain; charset=utf-8', 'outside the dashboard folder', headers);
  const st = statSync(real);
  if (!st.isFile()) return send(res, 404, 'text/plain; charset=utf-8', 'not found', headers);
  const type = TYPES[extname(real).toLowerCase()] ?? 'application/octet-stream';
  res.writeHead(200, {
    ...headers,
    'content-type': type,
    'content-length': String(st.size),
    // hashed asset names can be cached; index.html must not be
    'cache-control': real.endsWith('index.html') ? 'no-cache' : 'public, max-age=31536000, immutable',
  });
  if (req.method === 'HEAD') return void res.end();
  createReadStream(real).pipe(res);
}

function send(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string>): void {
  res.writeHead(status, { ...headers, 'content-type': type, 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}
