/**
 * The dashboard's view state (zustand): which view, which session, shared
 * filters, selections, the timeline viewport, pause, theme. Only view state:
 * session data (snapshots, windows) lives in atoms (ui/src/data/hub.ts) and
 * reaches the canvas through subscriptions.
 *
 * The timeline viewport changes every animation frame while navigating; no
 * React component selects it: the timeline canvas and the URL writer read it
 * through `useView.subscribe` (zustand's transient-update pattern).
 *
 * Reset in tests with `useView.setState(useView.getInitialState(), true)`.
 */

import { create } from 'zustand';
import type { AttemptMark, ConflictArrow } from '../../../model/protocol.ts';
import type { Filters } from '../model/filters.ts';
import type { ViewName } from '../model/url.ts';
import type { TimeRange } from '../model/viewport.ts';

export type ThemeChoice = 'system' | 'light' | 'dark';

export interface Toast {
  id: number;
  kind: 'info' | 'error';
  text: string;
}

export interface ViewState {
  view: ViewName;
  /** server session id, or `local:<name>` for a file opened in the browser */
  session?: string;
  filters: Filters;
  /** conflict group open in the Conflicts view */
  group?: string;
  /** selected conflict (arrow id); the arrow itself when known */
  conflict?: number;
  conflictArrow?: ConflictArrow;
  /** selected attempt on the timeline */
  attempt?: AttemptMark;
  /** timeline viewport (transient: read through subscribe) */
  viewport?: TimeRange;
  /** range selected by dragging on the timeline */
  selection?: TimeRange;
  file?: string;
  line?: number;
  /** compared sessions (server ids) */
  before?: string;
  after?: string;
  paused: boolean;
  /** live sessions: keep the latest time in view */
  follow: boolean;
  theme: ThemeChoice;
  help: boolean;
  toasts: Toast[];
}

export interface ViewActions {
  setView(view: ViewName): void;
  setSession(session: string | undefined): void;
  setFilters(f: Filters): void;
  patchFilters(p: Partial<Filters>): void;
  clearFilters(): void;
  openGroup(key: string | undefined): void;
  selectConflict(a: ConflictArrow | undefined, id?: number): void;
  selectAttempt(a: AttemptMark | undefined): void;
  setViewport(v: TimeRange | undefined): void;
  setSelection(r: TimeRange | undefined): void;
  openSource(file: string, line?: number): void;
  setCompare(before: string | undefined, after: string | undefined): void;
  setPaused(p: boolean): void;
  setFollow(f: boolean): void;
  setTheme(t: ThemeChoice): void;
  setHelp(h: boolean): void;
  toast(kind: Toast['kind'], text: string): void;
  dismissToast(id: number): void;
}

let toastId = 1;

/** Drops keys whose value is undefined (filters stay minimal, so `hasFilters` and the URL stay honest). */
function compact(f: Filters): Filters {
  const out: Filters = {};
  if (f.range) out.range = f.range;
  if (f.workers && f.workers.length) out.workers = [...f.workers].sort((a, b) => a - b);
  if (f.kinds && f.kinds.length) out.kinds = f.kinds;
  if (f.search && f.search.length) out.search = f.search;
  return out;
}

export const useView = create<ViewState & ViewActions>()((set, get) => ({
  view: 'sessions',
  filters: {},
  paused: false,
  follow: true,
  theme: 'system',
  help: false,
  toasts: [],

  setView: (view) => set({ view }),
  setSession: (session) =>
    set({
      session,
      group: undefined,
      conflict: undefined,
      conflictArrow: undefined,
      attempt: undefined,
      viewport: undefined,
      selection: undefined,
      paused: false,
      follow: true,
    }),
  setFilters: (f) => set({ filters: compact(f) }),
  patchFilters: (p) => set({ filters: compact({ ...get().filters, ...p }) }),
  clearFilters: () => set({ filters: {} }),
  openGroup: (group) => set({ group }),
  selectConflict: (a, id) => set({ conflictArrow: a, conflict: a ? a.id : id }),
  selectAttempt: (attempt) => set({ attempt }),
  setViewport: (viewport) => set({ viewport }),
  setSelection: (selection) => set({ selection }),
  openSource: (file, line) => set({ view: 'source', file, line }),
  setCompare: (before, after) => set({ before, after }),
  setPaused: (paused) => set({ paused }),
  setFollow: (follow) => set({ follow }),
  setTheme: (theme) => set({ theme }),
  setHelp: (help) => set({ help }),
  toast: (kind, text) => {
    const t = { id: toastId++, kind, text };
    set({ toasts: [...get().toasts.slice(-3), t] });
    setTimeout(() => get().dismissToast(t.id), kind === 'error' ? 8000 : 4000);
  },
  dismissToast: (id) => set({ toasts: get().toasts.filter((t) => t.id !== id) }),
}));
