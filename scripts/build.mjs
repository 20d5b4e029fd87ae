#!/usr/bin/env node
// Builds dist/: the TypeScript sources compiled file by file (so dist/ mirrors
// the source tree and URLs computed from import.meta.url stay valid), plus the
// dashboard bundle in dist/ui (Vite). Usage: node scripts/build.mjs [--no-ui]
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = new Set(process.argv.slice(2));
const run = (cmd, argv) => {
  const r = spawnSync(cmd, argv, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
const t0 = Date.now();
rmSync(`${root}/dist`, { recursive: true, force: true });
run(process.execPath, [`${root}/node_modules/typescript/bin/tsc`, '-p', 'tsconfig.build.json']);
// dist is plain ESM JavaScript
mkdirSync(`${root}/dist`, { recursive: true });
writeFileSync(`${root}/dist/package.json`, JSON.stringify({ type: 'module' }) + '\n');
if (!args.has('--no-ui') && existsSync(`${root}/ui/index.html`)) {
  run(process.execPath, [`${root}/node_modules/vite/bin/vite.js`, 'build', '--logLevel', 'warn']);
}
console.log(`built dist/ in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
