#!/usr/bin/env node
// The `stmscope` command: runs the compiled CLI (npm run build makes dist/).
import { existsSync } from 'node:fs';
const cli = new URL('../dist/server/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('stmscope: dist/ is missing; run `npm run build` in the stmscope package first\n');
  process.exit(1);
}
const { main } = await import(cli.href);
process.exitCode = await main(process.argv.slice(2));
