/**
 * An adaptive time axis shared by many histograms, for streams whose length is
 * not known in advance (a live session, a file read once).
 *
 * The axis starts at the recording epoch (t = 0) with `size` buckets of
 * `bucketNs` each. When an event lands past the end, every registered series
 * is folded in place (bucket i ← buckets 2i + 2i+1) and `bucketNs` doubles, so
 * at most half the buckets are ever unused and memory stays `size` numbers per
 * series whatever the duration (ThreadScope's summary-tree idea, reduced to one
 * level: ../shared/reference/style.md §1).
 */

/** Buckets per series (default of {@link TimeAxis}). */
export const DEFAULT_TIME_BUCKETS = 512;
/** Initial bucket width: 1024 ns, so the first fold happens after ~0.5 ms. */
export const MIN_BUCKET_NS = 1024;

export class TimeAxis {
  /** Width of one bucket in ns (a power of two ≥ {@link MIN_BUCKET_NS}). */
  bucketNs = MIN_BUCKET_NS;
  private limit: number;
  private readonly series: Float64Array[] = [];

  /** @param size buckets per series (default 512, must be even) */
  constructor(readonly size = DEFAULT_TIME_BUCKETS) {
    this.limit = this.bucketNs * size;
  }

  /** A new zeroed series on this axis (kept in sync on every fold). */
  newSeries(): Float64Array {
    const s = new Float64Array(this.size);
    this.series.push(s);
    return s;
  }

  /** Bucket index of time `t` (ns ≥ 0), widening the axis first if needed. */
  index(t: number): number {
    if (t >= this.limit) this.widen(t);
    return Math.floor(t / this.bucketNs);
  }

  /** Number of buckets covering [0, durationNs] (at least 1). */
  used(durationNs: number): number {
    return Math.min(this.size, Math.max(1, Math.ceil(durationNs / this.bucketNs)));
  }

  /** The axis width, for a checkpoint (the series are saved by their owners). */
  saveState(): { bucketNs: number; size: number } {
    return { bucketNs: this.bucketNs, size: this.size };
  }

  /** Restores {@link saveState}: the series' values are loaded by their owners afterwards. */
  loadState(s: { bucketNs: number; size: number }): void {
    if (!s || s.size !== this.size || !(s.bucketNs >= MIN_BUCKET_NS)) throw new Error(`time axis checkpoint does not fit (size ${s?.size}, this axis ${this.size})`);
    this.bucketNs = s.bucketNs;
    this.limit = this.bucketNs * this.size;
  }

  private widen(t: number): void {
    const half = this.size >> 1;
    while (t >= this.limit) {
      for (const s of this.series) {
        for (let i = 0; i < half; i++) s[i] = s[2 * i] + s[2 * i + 1];
        s.fill(0, half);
      }
      this.bucketNs *= 2;
      this.limit = this.bucketNs * this.size;
    }
  }
}

/**
 * Resamples a series with buckets of `bucketNs` onto `columns` equal columns
 * spanning [0, durationNs], splitting each bucket proportionally between the
 * columns it overlaps (so columns do not alias to 2 or 3 buckets each).
 */
export function resample(series: ArrayLike<number>, bucketNs: number, durationNs: number, columns: number): Float64Array {
  const out = new Float64Array(columns);
  const span = Math.max(durationNs, 1);
  const colNs = span / columns;
  const n = Math.min(series.length, Math.ceil(span / bucketNs));
  for (let i = 0; i < n; i++) {
    const v = series[i];
    if (v === 0) continue;
    const b0 = i * bucketNs;
    const b1 = Math.min(b0 + bucketNs, span);
    if (b1 <= b0) {
      out[columns - 1] += v;
      continue;
    }
    let c = Math.min(columns - 1, Math.floor(b0 / colNs));
    let at = b0;
    while (at < b1 && c < columns) {
      const cEnd = Math.min(b1, (c + 1) * colNs);
      out[c] += (v * (cEnd - at)) / (b1 - b0);
      at = cEnd;
      c++;
    }
  }
  // Counts past `durationNs` (clock skew between END and the last event) go in the last column.
  for (let i = n; i < series.length; i++) out[columns - 1] += series[i];
  return out;
}
