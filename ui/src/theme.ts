/**
 * Themes: every colour is a CSS variable (ui/src/styles.css); light and dark
 * follow `prefers-color-scheme` unless the user picks one (`data-theme` on
 * <html>). Canvas code cannot use CSS variables, so it reads them into a
 * palette here and redraws when the theme changes (Firefox Profiler PR #5740,
 * "canvas colours in script"; ../shared/reference/style.md §5).
 */

import { Atom } from './model/atom.ts';
import type { ThemeChoice } from './state/view.ts';

export interface Palette {
  bg: string;
  fg: string;
  muted: string;
  grid: string;
  laneBg: string;
  laneAlt: string;
  commit: string;
  abort: string;
  fail: string;
  wait: string;
  inevitable: string;
  unfinished: string;
  merged: string;
  mergedAbort: string;
  arrow: string;
  arrowSelected: string;
  selection: string;
  selectionEdge: string;
  highlight: string;
  label: string;
  dark: boolean;
}

const VARS: Record<Exclude<keyof Palette, 'dark'>, string> = {
  bg: '--bg',
  fg: '--fg',
  muted: '--muted',
  grid: '--grid',
  laneBg: '--lane-bg',
  laneAlt: '--lane-alt',
  commit: '--c-commit',
  abort: '--c-abort',
  fail: '--c-fail',
  wait: '--c-wait',
  inevitable: '--c-inevitable',
  unfinished: '--c-unfinished',
  merged: '--c-merged',
  mergedAbort: '--c-merged-abort',
  arrow: '--c-arrow',
  arrowSelected: '--c-arrow-selected',
  selection: '--c-selection',
  selectionEdge: '--c-selection-edge',
  highlight: '--c-highlight',
  label: '--c-label',
};

function readPalette(): Palette {
  const cs = getComputedStyle(document.documentElement);
  const p = {} as Palette;
  for (const [k, v] of Object.entries(VARS)) (p as unknown as Record<string, string>)[k] = cs.getPropertyValue(v).trim() || '#888';
  p.dark = isDark();
  return p;
}

const media = typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: dark)') : undefined;
let choice: ThemeChoice = 'system';

function isDark(): boolean {
  return choice === 'dark' || (choice === 'system' && !!media?.matches);
}

/** The current canvas palette; set again whenever the theme changes. */
export const palette = new Atom<Palette | null>(null, 'palette');

/** Applies a theme choice to <html> and refreshes the palette. */
export function applyTheme(t: ThemeChoice): void {
  choice = t;
  const root = document.documentElement;
  if (t === 'system') root.removeAttribute('data-theme');
  else root.setAttribute('data-theme', t);
  palette.set(readPalette());
}

media?.addEventListener('change', () => {
  if (choice === 'system') palette.set(readPalette());
});

/** The palette, reading it first if needed. */
export function currentPalette(): Palette {
  let p = palette.get();
  if (!p) {
    p = readPalette();
    palette.set(p);
  }
  return p;
}
