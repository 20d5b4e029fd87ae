/**
 * Main-thread work done outside animation frames (socket and worker messages:
 * JSON parsing and structured-clone decoding happen there). The timeline adds
 * it to the next frame's time, so `window.__stmscopeFrames` (the benchmark's
 * frame time) counts everything the dashboard did between two frames.
 */
export const offFrame = { ms: 0 };

/** Runs `f`, adding its duration to {@link offFrame}. */
export function timed<T>(f: () => T): T {
  const t0 = performance.now();
  try {
    return f();
  } finally {
    offFrame.ms += performance.now() - t0;
  }
}
