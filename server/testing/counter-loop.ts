/**
 * A test program for the agent and the server: two pool workers increment a
 * shared counter (a real write-write hot spot) in rounds of tasks, until a
 * stop file appears or a round limit is reached, then print a JSON line with
 * what they did. The result is checkable: `hits` must equal `tasks`.
 *
 * Environment: LOOP_ROUNDS (default: until stopped), LOOP_TASKS per round
 * (default 200), LOOP_STOP (a file whose existence ends the loop),
 * LOOP_SPIN (busy-work iterations per task, default 2000).
 */
import { existsSync } from 'node:fs';
import { atomic, createHeap, setRoot, TransactionPool } from '../../runtime/index.ts';
import { Stats } from './counter-loop-types.ts';

createHeap({ size: 8 << 20 });
const stats = Stats.create({}, { label: 'stats' });
setRoot('stats', stats);
const rounds = Number(process.env.LOOP_ROUNDS) || Infinity;
const perRound = Number(process.env.LOOP_TASKS) || 200;
const stop = process.env.LOOP_STOP;
const pool = new TransactionPool({ module: new URL('./counter-loop-tasks.ts', import.meta.url), workers: 2, data: { spin: Number(process.env.LOOP_SPIN) || 2000 } });
await pool.ready;
process.stdout.write(`ready ${process.pid}\n`);
let tasks = 0;
let round = 0;
while (round < rounds && !(stop && existsSync(stop))) {
  for (let i = 0; i < perRound; i++) void pool.add('bump', i);
  await pool.run();
  tasks += perRound;
  round++;
}
await pool.close();
const hits = atomic(() => stats.hits);
process.stdout.write(JSON.stringify({ rounds: round, tasks, hits }) + '\n');
