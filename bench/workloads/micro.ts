/**
 * Per-access barrier cost: `node --import tsx bench/workloads/micro.ts <op>[,<op>…] <ms>`
 * prints `{ op, nsPerAccess: { 1, 10, 100 } }` (one line per op) for transactions of 1, 10 and 100
 * accesses (`op`: plain | read | write | rmw; plain = the same loop on a plain
 * Float64Array outside any transaction). Random elements of a 64 Ki array.
 */
import { atomic, createHeap, TArray } from '../../runtime/index.ts';

const ops = (process.argv[2] ?? 'read').split(',');
let op = ops[0];
const ms = Number(process.argv[3] ?? 500);
const N = 1 << 16;
createHeap({ size: 32 << 20, agent: process.env.STMSCOPE_RECORD_FILE !== undefined });
const arr = TArray.create('f64', N);
const plain = new Float64Array(N);
let seed = 12345;
let sink = 0;

function once(k: number, accesses: number): void {
  const txs = (accesses / k) | 0;
  if (op === 'plain') {
    for (let t = 0; t < txs; t++) {
      for (let i = 0; i < k; i++) {
        seed = (Math.imul(seed, 1664525) + 1013904223) | 0;
        const j = (seed >>> 8) & (N - 1);
        plain[j] = plain[j] + 1;
      }
    }
  } else if (op === 'read') {
    for (let t = 0; t < txs; t++) {
      sink += atomic(() => {
        let s = 0;
        for (let i = 0; i < k; i++) {
          seed = (Math.imul(seed, 1664525) + 1013904223) | 0;
          s += arr.get((seed >>> 8) & (N - 1));
        }
        return s;
      });
    }
  } else if (op === 'write') {
    for (let t = 0; t < txs; t++) {
      atomic(() => {
        for (let i = 0; i < k; i++) {
          seed = (Math.imul(seed, 1664525) + 1013904223) | 0;
          arr.set((seed >>> 8) & (N - 1), i);
        }
      });
    }
  } else {
    for (let t = 0; t < txs; t++) {
      atomic(() => {
        for (let i = 0; i < k; i++) {
          seed = (Math.imul(seed, 1664525) + 1013904223) | 0;
          const j = (seed >>> 8) & (N - 1);
          arr.set(j, arr.get(j) + 1);
        }
      });
    }
  }
}

function measure(k: number): number {
  const accesses = 20_000;
  for (let w = 0; w < 20; w++) once(k, accesses);
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < ms) {
    once(k, accesses);
    n += accesses;
  }
  return ((performance.now() - t0) * 1e6) / n;
}

for (const o of ops) {
  op = o;
  const out: Record<number, number> = {};
  for (const k of [1, 10, 100]) out[k] = measure(k);
  process.stdout.write(JSON.stringify({ op, nsPerAccess: out, sink: sink > 0 }) + '\n');
}
