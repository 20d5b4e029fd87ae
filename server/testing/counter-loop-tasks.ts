// Tasks of counter-loop.ts: every task bumps the one shared counter (write-write conflicts).
import { getRoot, type StructView } from '../../runtime/index.ts';
import { Stats } from './counter-loop-types.ts';

let stats: StructView<{ hits: 'i32'; other: 'i32' }>;
let spin = 2000;

export function setup(ctx: { data?: { spin?: number } }): void {
  stats = getRoot('stats', Stats);
  spin = ctx?.data?.spin ?? 2000;
}

export function bump(i: number): number {
  // read, work, write: two workers overlapping here always conflict on stats.hits
  const hits = stats.hits;
  let x = i | 0;
  for (let k = 0; k < spin; k++) x = (Math.imul(x, 1103515245) + 12345) | 0;
  stats.hits = hits + 1;
  return x;
}
