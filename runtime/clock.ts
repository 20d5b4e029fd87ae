/**
 * One monotonic clock for all threads, in integer nanoseconds since the heap's
 * epoch.
 *
 * `performance.now()` has a per-thread origin (each worker's `timeOrigin` is its
 * own start), so raw values from two workers are not comparable. Both it and
 * `process.hrtime` read the same monotonic clock (libuv's uv_hrtime), so each
 * thread measures once how far its `performance.now()` is from hrtime and then
 * pays only for `performance.now()` (~50 ns, no BigInt allocation) per reading.
 */

/** Current value of the process-wide monotonic clock in ns (as a double, exact below 2^53 ns ≈ 104 days). */
export function hrtimeNs(): number {
  return Number(process.hrtime.bigint());
}

export class Clock {
  private readonly offsetNs: number;

  /** @param epochHrNs hrtime (ns) that maps to time 0 */
  constructor(readonly epochHrNs: number) {
    // Take the pair of readings with the smallest gap between them to bound the error.
    let best = Infinity;
    let offset = 0;
    for (let i = 0; i < 5; i++) {
      const p0 = performance.now();
      const h = hrtimeNs();
      const p1 = performance.now();
      const gap = p1 - p0;
      if (gap < best) {
        best = gap;
        offset = h - epochHrNs - ((p0 + p1) / 2) * 1e6;
      }
    }
    this.offsetNs = offset;
  }

  /** Nanoseconds since the epoch, integer. */
  now(): number {
    return Math.round(performance.now() * 1e6 + this.offsetNs);
  }
}
