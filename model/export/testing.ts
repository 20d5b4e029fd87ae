/**
 * Validators of exported files, for tests of every layer (model, CLI, UI
 * downloads): they parse the text the way a reader would and list every
 * problem found instead of stopping at the first.
 */

/** What {@link checkChromeTrace} found. */
export interface ChromeTraceCheck {
  problems: string[];
  events: Array<Record<string, unknown>>;
  /** bind_id → its flow_out slice and flow_in slices. */
  flows: Map<number | string, { out: Array<Record<string, unknown>>; in: Array<Record<string, unknown>> }>;
  /** Threads (pid:tid) with X slices. */
  threads: Set<string>;
}

const num = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
/** µs text → integer ns (what a reader computes, rounded). */
const ns = (us: number) => Math.round(us * 1000);

/**
 * Checks a Chrome Trace Event JSON document: the object form, required
 * fields per phase (X: name, ts, dur ≥ 0, pid, tid; M: a known metadata name
 * with its arg; i: ts and scope), thread names for every track with slices,
 * proper nesting of X slices per thread, and flows: every v2 flow id has
 * exactly one `flow_out` X slice and at least one `flow_in` X slice, both on
 * existing slices, the source not later than any destination.
 */
export function checkChromeTrace(text: string): ChromeTraceCheck {
  const problems: string[] = [];
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return { problems: [`not JSON: ${(e as Error).message}`], events: [], flows: new Map(), threads: new Set() };
  }
  const events = (doc && typeof doc === 'object' && Array.isArray((doc as { traceEvents?: unknown }).traceEvents) ? (doc as { traceEvents: unknown[] }).traceEvents : null) as
    | Array<Record<string, unknown>>
    | null;
  if (!events) return { problems: ['no traceEvents array'], events: [], flows: new Map(), threads: new Set() };
  const flows: ChromeTraceCheck['flows'] = new Map();
  const threads = new Set<string>();
  const named = new Set<string>();
  const slicesByThread = new Map<string, Array<{ s: number; e: number; i: number }>>();
  events.forEach((ev, i) => {
    const where = `event ${i} (${JSON.stringify(ev).slice(0, 80)})`;
    if (!ev || typeof ev !== 'object') return problems.push(`${where}: not an object`);
    if (typeof ev.name !== 'string') problems.push(`${where}: no name`);
    if (!Number.isInteger(ev.pid) || !Number.isInteger(ev.tid)) problems.push(`${where}: pid/tid not integers`);
    const thread = `${ev.pid}:${ev.tid}`;
    switch (ev.ph) {
      case 'X': {
        if (!num(ev.ts) || (ev.ts as number) < 0) problems.push(`${where}: bad ts`);
        if (!num(ev.dur) || (ev.dur as number) < 0) problems.push(`${where}: bad dur`);
        threads.add(thread);
        let l = slicesByThread.get(thread);
        if (!l) slicesByThread.set(thread, (l = []));
        l.push({ s: ns(ev.ts as number), e: ns(ev.ts as number) + ns(ev.dur as number), i });
        if (ev.bind_id !== undefined) {
          const id = ev.bind_id as number | string;
          let f = flows.get(id);
          if (!f) flows.set(id, (f = { out: [], in: [] }));
          if (ev.flow_out === true) f.out.push(ev);
          if (ev.flow_in === true) f.in.push(ev);
          if (ev.flow_out !== true && ev.flow_in !== true) problems.push(`${where}: bind_id without flow_in/flow_out`);
        }
        break;
      }
      case 'M':
        if (ev.name === 'thread_name' || ev.name === 'process_name') {
          const a = ev.args as { name?: unknown } | undefined;
          if (typeof a?.name !== 'string' || !a.name) problems.push(`${where}: ${ev.name} without args.name`);
          if (ev.name === 'thread_name') named.add(thread);
        } else if (ev.name === 'thread_sort_index' || ev.name === 'process_sort_index') {
          if (!num((ev.args as { sort_index?: unknown } | undefined)?.sort_index)) problems.push(`${where}: no args.sort_index`);
        } else problems.push(`${where}: unknown metadata ${String(ev.name)}`);
        break;
      case 'i':
      case 'I':
        if (!num(ev.ts)) problems.push(`${where}: bad ts`);
        if (ev.s !== undefined && !['t', 'p', 'g'].includes(ev.s as string)) problems.push(`${where}: bad scope`);
        break;
      default:
        problems.push(`${where}: unexpected phase ${String(ev.ph)}`);
    }
  });
  for (const t of threads) if (!named.has(t)) problems.push(`thread ${t} has slices but no thread_name`);
  for (const [id, f] of flows) {
    if (f.out.length !== 1) problems.push(`flow ${id}: ${f.out.length} flow_out slices (want 1)`);
    if (f.in.length < 1) problems.push(`flow ${id}: no flow_in slice`);
    const src = f.out[0];
    if (src) for (const d of f.in) if ((d.ts as number) < (src.ts as number)) problems.push(`flow ${id}: destination at ${d.ts} before its source at ${src.ts}`);
  }
  // Proper nesting per thread: a slice lies inside the enclosing open slice, or after it.
  for (const [t, list] of slicesByThread) {
    list.sort((a, b) => a.s - b.s || b.e - a.e || a.i - b.i);
    const stack: Array<{ s: number; e: number; i: number }> = [];
    for (const x of list) {
      while (stack.length && stack[stack.length - 1].e <= x.s) stack.pop();
      const top = stack[stack.length - 1];
      if (top && x.e > top.e) problems.push(`thread ${t}: event ${x.i} [${x.s}, ${x.e}] overlaps event ${top.i} [${top.s}, ${top.e}] without nesting`);
      stack.push(x);
    }
  }
  return { problems, events, flows, threads };
}

/**
 * Checks a speedscope file against the file-format spec (src/lib/file-format-spec.ts):
 * `$schema`, `shared.frames` with names, profiles of type sampled (samples and
 * weights of equal length, frame indexes in range, startValue ≤ endValue) or
 * evented (balanced O/C events with non-decreasing `at`).
 */
export function checkSpeedscope(text: string): { problems: string[]; file: Record<string, unknown> | null } {
  const problems: string[] = [];
  let f: Record<string, unknown>;
  try {
    f = JSON.parse(text);
  } catch (e) {
    return { problems: [`not JSON: ${(e as Error).message}`], file: null };
  }
  if (f.$schema !== 'https://www.speedscope.app/file-format-schema.json') problems.push('bad $schema');
  const frames = (f.shared as { frames?: unknown } | undefined)?.frames;
  if (!Array.isArray(frames)) problems.push('no shared.frames');
  const nFrames = Array.isArray(frames) ? frames.length : 0;
  if (Array.isArray(frames)) {
    frames.forEach((fr, i) => {
      if (typeof fr?.name !== 'string') problems.push(`frame ${i}: no name`);
      if (fr?.line !== undefined && !Number.isInteger(fr.line)) problems.push(`frame ${i}: bad line`);
    });
  }
  if (!Array.isArray(f.profiles) || !f.profiles.length) problems.push('no profiles');
  for (const [i, p] of (Array.isArray(f.profiles) ? f.profiles : []).entries()) {
    if (typeof p.name !== 'string') problems.push(`profile ${i}: no name`);
    if (!['none', 'nanoseconds', 'microseconds', 'milliseconds', 'seconds', 'bytes'].includes(p.unit)) problems.push(`profile ${i}: bad unit`);
    if (!(num(p.startValue) && num(p.endValue) && p.startValue <= p.endValue)) problems.push(`profile ${i}: bad start/end values`);
    if (p.type === 'sampled') {
      if (!Array.isArray(p.samples) || !Array.isArray(p.weights) || p.samples.length !== p.weights.length) {
        problems.push(`profile ${i}: samples and weights differ in length`);
        continue;
      }
      for (const s of p.samples) {
        if (!Array.isArray(s) || s.some((x: unknown) => !Number.isInteger(x) || (x as number) < 0 || (x as number) >= nFrames)) {
          problems.push(`profile ${i}: a sample has a frame index out of range`);
          break;
        }
      }
      if (p.weights.some((w: unknown) => !num(w) || (w as number) < 0)) problems.push(`profile ${i}: bad weight`);
    } else if (p.type === 'evented') {
      const open: number[] = [];
      let at = -Infinity;
      for (const e of p.events ?? []) {
        if (e.at < at) problems.push(`profile ${i}: decreasing at`);
        at = e.at;
        if (e.type === 'O') open.push(e.frame);
        else if (e.type === 'C' && open.pop() !== e.frame) problems.push(`profile ${i}: unbalanced close`);
      }
      if (open.length) problems.push(`profile ${i}: unclosed frames`);
    } else problems.push(`profile ${i}: unknown type ${p.type}`);
  }
  return { problems, file: f };
}
