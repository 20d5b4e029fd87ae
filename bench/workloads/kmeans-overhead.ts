/**
 * Single-thread overhead of k-means (STAMP) on the STM against the same
 * algorithm in plain sequential TypeScript:
 *   node --import tsx bench/workloads/kmeans-overhead.ts '{"n":16384,"d":32,"k":16,"iterations":5,"reps":3}'
 * prints `{ plainMs[], stmMs[], stmAddMs[] }`: each repetition runs the plain
 * version, the STM version (one transaction per point accumulating into shared
 * sums with read-modify-write, as normal.c:168 does) and the STM version with
 * commutative adds (TArray.add), alternately.
 */
import { atomic, createHeap, TArray } from '../../runtime/index.ts';
import { initialCentres, kmeansSequential, makeInput, nearest, updateCentres, type KmeansInput } from '../../fixtures/kmeans/data.ts';

const cfg = { n: 16384, d: 32, k: 16, iterations: 5, reps: 3, ...JSON.parse(process.argv[2] ?? '{}') };
createHeap({ size: 64 << 20, agent: false });
const input = makeInput(cfg.n, cfg.d, cfg.k);
const sums = TArray.create('f64', cfg.k * cfg.d, { label: 'new_centers' });
const counts = TArray.create('f64', cfg.k, { label: 'new_centers_len' });

function kmeansStm(inp: KmeansInput, iterations: number, commutative: boolean): Float64Array {
  const centres = initialCentres(inp);
  const { d, k, n, points } = inp;
  for (let it = 0; it < iterations; it++) {
    atomic(() => {
      for (let i = 0; i < k * d; i++) sums.set(i, 0);
      for (let c = 0; c < k; c++) counts.set(c, 0);
    });
    for (let i = 0; i < n; i++) {
      const c = nearest(inp, centres, i);
      if (commutative) {
        atomic(() => {
          for (let j = 0; j < d; j++) sums.add(c * d + j, points[i * d + j]);
          counts.add(c, 1);
        });
      } else {
        atomic(() => {
          for (let j = 0; j < d; j++) sums.set(c * d + j, sums.get(c * d + j) + points[i * d + j]);
          counts.set(c, counts.get(c) + 1);
        });
      }
    }
    const s = atomic(() => sums.toArray());
    const cn = atomic(() => counts.toArray());
    updateCentres(inp, centres, s, cn);
  }
  return centres;
}

function time(fn: () => Float64Array): [number, Float64Array] {
  const t0 = performance.now();
  const r = fn();
  return [performance.now() - t0, r];
}

const plainMs: number[] = [];
const stmMs: number[] = [];
const stmAddMs: number[] = [];
// warm up all three
kmeansSequential(input, 1);
kmeansStm(input, 1, false);
kmeansStm(input, 1, true);
let same = true;
for (let r = 0; r < cfg.reps; r++) {
  const [tp, a] = time(() => kmeansSequential(input, cfg.iterations));
  const [ts, b] = time(() => kmeansStm(input, cfg.iterations, false));
  const [ta, c] = time(() => kmeansStm(input, cfg.iterations, true));
  plainMs.push(tp);
  stmMs.push(ts);
  stmAddMs.push(ta);
  for (let i = 0; i < a.length; i++) if (Math.abs(a[i] - b[i]) > 1e-6 || Math.abs(a[i] - c[i]) > 1e-6) same = false;
}
process.stdout.write(JSON.stringify({ plainMs, stmMs, stmAddMs, sameResult: same, cfg }) + '\n');
