/**
 * Writes a small STM program with one hot spot (every transaction bumps
 * `stats.hits`) into a directory, with `shift` extra lines before the hot
 * line: two recordings of the same file at different line numbers are what a
 * fix that moved code looks like to `stmscope diff` (tests of the diff
 * matching on real recordings). The program imports the runtime by absolute
 * URL, so the directory can be anywhere (a temp dir).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const runtime = new URL('../../runtime/index.ts', import.meta.url).href;
const common = new URL('../../fixtures/common.ts', import.meta.url).href;

/** Writes main.ts, tasks.ts, types.ts and package.json; returns the path of main.ts. */
export function writeMovedCounter(dir: string, o: { shift?: number; tasks?: number } = {}): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(
    join(dir, 'types.ts'),
    `import { defineStruct } from '${runtime}';\nexport const Stats = defineStruct('Stats', { hits: 'i32', misses: 'i32' });\n`,
  );
  writeFileSync(
    join(dir, 'main.ts'),
    [
      `import { setRoot } from '${runtime}';`,
      `import { fixtureHeap, runTasks } from '${common}';`,
      `import { Stats } from './types.ts';`,
      `fixtureHeap();`,
      `setRoot('stats', Stats.create({}, { label: 'stats' }));`,
      `await runTasks(new URL('./tasks.ts', import.meta.url), 'handle', ${o.tasks ?? 1500});`,
      '',
    ].join('\n'),
  );
  const pad = Array.from({ length: o.shift ?? 0 }, (_, i) => `  // moved by the fix (${i + 1})`);
  writeFileSync(
    join(dir, 'tasks.ts'),
    [
      `import { getRoot, type StructView } from '${runtime}';`,
      `import { busyWork } from '${common}';`,
      `import { Stats } from './types.ts';`,
      `let stats: StructView<{ hits: 'i32'; misses: 'i32' }>;`,
      `export function setup(): void {`,
      `  stats = getRoot('stats', Stats);`,
      `}`,
      `export function handle(request: number): number {`,
      `  const answer = busyWork(request, 150);`,
      ...pad,
      `  stats.hits = stats.hits + 1;`,
      `  return answer;`,
      `}`,
      '',
    ].join('\n'),
  );
  return join(dir, 'main.ts');
}

/** The line of the hot spot for a given shift. */
export const movedCounterLine = (shift = 0): number => 10 + shift;
