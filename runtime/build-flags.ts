/**
 * Compile-time switches. `RECORDER` is `false` only in the benchmark's
 * "no recorder at all" build (bench/runtime.ts rewrites `RECORDER &&` to
 * `false &&` in a copy of the sources), which lets the JIT drop every recording
 * branch from the transaction path: the baseline the recorder's "off" overhead
 * is measured against.
 */
export const RECORDER = true;
