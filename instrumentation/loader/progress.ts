/**
 * The progress line of the loader: once more than a second in total has gone
 * into instrumenting modules in a thread (a large program's first start, before
 * the transform cache is warm), one line on stderr, and another after each
 * further second:
 *
 * ```
 * stmscope: instrumenting modules: 412 files, 9.8 MB, 1.0 s (37 from cache)
 * ```
 *
 * Lines, not a `\r`-rewritten status: the hooks thread cannot know which module
 * is the last one, and stderr is often a log file. `STMSCOPE_INSTRUMENT_PROGRESS=0`
 * turns it off.
 */
export class TransformProgress {
  private busyNs = 0;
  private files = 0;
  private bytes = 0;
  private cached = 0;
  private nextReportNs: number;

  /**
   * @param write where lines go (default: process.stderr)
   * @param label thread label appended to the line ('' for the main thread)
   * @param thresholdNs transforming time before the first line (default 1 s)
   */
  constructor(
    private readonly write: (line: string) => void = (l) => process.stderr.write(l),
    private readonly label = '',
    private readonly thresholdNs = 1e9,
  ) {
    this.nextReportNs = thresholdNs;
  }

  /** Counts one module that took `ns` to transform (or to read from the cache). */
  record(ns: number, bytes: number, fromCache: boolean): void {
    this.busyNs += ns;
    this.files++;
    this.bytes += bytes;
    if (fromCache) this.cached++;
    if (this.busyNs < this.nextReportNs) return;
    this.nextReportNs = this.busyNs + this.thresholdNs;
    try {
      this.write(
        `stmscope: instrumenting modules${this.label}: ${this.files} files, ${(this.bytes / 1e6).toFixed(1)} MB, ${(this.busyNs / 1e9).toFixed(1)} s (${this.cached} from cache)\n`,
      );
    } catch {
      // a closed stderr must not break module loading
    }
  }
}
