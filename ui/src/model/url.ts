/**
 * View state in the URL, versioned like the Firefox Profiler's (`v=1`, with
 * upgraders for older versions), so a view can be reloaded or shared.
 *
 * The state lives in the query string; the fragment is reserved for the
 * server's `#token=` (fragments never reach servers or Referer headers, see
 * docs/PROTOCOL.md), so a copied link never leaks the token unless the user
 * copies the address bar itself.
 *
 * ```
 * ?v=1&view=timeline&session=s-123&t=1000-250000&range=0-90000&w=1,2&k=write-write&q=bank.ts&g=1:3:3&c=42&file=src/bank.ts&line=14
 * ```
 */

import type { Filters } from './filters.ts';
import type { TimeRange } from './viewport.ts';

export const URL_VERSION = 1;

export const VIEWS = ['sessions', 'overview', 'timeline', 'conflicts', 'hot', 'source', 'compare'] as const;
export type ViewName = (typeof VIEWS)[number];

export interface UrlState {
  view: ViewName;
  session?: string;
  /** timeline viewport */
  viewport?: TimeRange;
  filters: Filters;
  /** open conflict group key */
  group?: string;
  /** selected conflict (arrow id) */
  conflict?: number;
  file?: string;
  line?: number;
  /** compared sessions (server ids) */
  before?: string;
  after?: string;
}

const int = (s: string | null): number | undefined => {
  if (s === null || s === '' || !/^-?\d+$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
};

function range(s: string | null): TimeRange | undefined {
  if (!s) return undefined;
  const m = /^(-?\d+)-(-?\d+)$/.exec(s);
  if (!m) return undefined;
  const a = int(m[1]);
  const b = int(m[2]);
  return a !== undefined && b !== undefined && b > a ? { startNs: a, endNs: b } : undefined;
}

function intList(s: string | null): number[] | undefined {
  if (!s) return undefined;
  const out = s
    .split(',')
    .map((x) => int(x))
    .filter((x): x is number => x !== undefined && x >= 0 && x <= 255);
  return out.length ? [...new Set(out)].sort((a, b) => a - b) : undefined;
}

function strList(s: string | null): string[] | undefined {
  if (!s) return undefined;
  const out = s.split(',').filter((x) => /^[a-z][a-z0-9-]{0,31}$/.test(x));
  return out.length ? out : undefined;
}

/**
 * Upgraders: `UPGRADERS[n]` turns version-n params into version n+1 in place.
 * Version 0 is a URL without `v` (only `view` and `session` were known).
 */
const UPGRADERS: Record<number, (p: URLSearchParams) => void> = {
  0: () => {},
};

/** Reads the view state from a query string (`location.search`); unknown or bad values are dropped. */
export function decodeUrlState(search: string): UrlState {
  const p = new URLSearchParams(search.startsWith('?') ? search.slice(1) : search);
  let v = int(p.get('v')) ?? 0;
  while (v < URL_VERSION && UPGRADERS[v]) UPGRADERS[v++](p);
  const viewParam = p.get('view') as ViewName | null;
  const view: ViewName = viewParam && (VIEWS as readonly string[]).includes(viewParam) ? viewParam : 'overview';
  const filters: Filters = {};
  const r = range(p.get('range'));
  if (r) filters.range = r;
  const w = intList(p.get('w'));
  if (w) filters.workers = w;
  const k = strList(p.get('k'));
  if (k) filters.kinds = k;
  const q = p.get('q');
  if (q) filters.search = q.slice(0, 200);
  const st: UrlState = { view, filters };
  const session = p.get('session');
  if (session && session.length <= 200) st.session = session;
  const vp = range(p.get('t'));
  if (vp) st.viewport = vp;
  const g = p.get('g');
  if (g && g.length <= 200) st.group = g;
  const c = int(p.get('c'));
  // Conflict ids: abort rows (≥ 0) or blocked-by-inevitable waits (≤ −2, model/timeline.ts).
  if (c !== undefined && c !== -1) st.conflict = c;
  const file = p.get('file');
  if (file && file.length <= 1000) st.file = file;
  for (const k of ['before', 'after'] as const) {
    const v = p.get(k);
    if (v && v.length <= 200) st[k] = v;
  }
  const line = int(p.get('line'));
  if (line !== undefined && line > 0) st.line = line;
  return st;
}

/** Writes the view state as a query string (with leading `?`). */
export function encodeUrlState(s: UrlState): string {
  const p = new URLSearchParams();
  p.set('v', String(URL_VERSION));
  p.set('view', s.view);
  if (s.session) p.set('session', s.session);
  if (s.viewport) p.set('t', `${Math.round(s.viewport.startNs)}-${Math.round(s.viewport.endNs)}`);
  const f = s.filters;
  if (f.range) p.set('range', `${Math.round(f.range.startNs)}-${Math.round(f.range.endNs)}`);
  if (f.workers?.length) p.set('w', f.workers.join(','));
  if (f.kinds?.length) p.set('k', f.kinds.join(','));
  if (f.search) p.set('q', f.search);
  if (s.group) p.set('g', s.group);
  if (s.conflict !== undefined) p.set('c', String(s.conflict));
  if (s.file) p.set('file', s.file);
  if (s.line !== undefined) p.set('line', String(s.line));
  if (s.before) p.set('before', s.before);
  if (s.after) p.set('after', s.after);
  return `?${p.toString()}`;
}

/** The server token from a URL fragment (`#token=…`), or undefined. */
export function tokenFromHash(hash: string): string | undefined {
  const p = new URLSearchParams(hash.startsWith('#') ? hash.slice(1) : hash);
  const t = p.get('token');
  return t && /^[A-Za-z0-9_-]{8,128}$/.test(t) ? t : undefined;
}
