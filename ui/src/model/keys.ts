/**
 * Keyboard navigation of the timeline, by `KeyboardEvent.code`, not `key`:
 * WASD must stay where they are on AZERTY or Dvorak keyboards
 * (speedscope src/views/flamechart-pan-zoom-view.tsx, PR #184). Held keys move
 * continuously, scaled by frame time, so a slow frame never makes a jump.
 */

import { pan, zoomAt, type TimeRange } from './viewport.ts';

export type KeyAction =
  | 'zoom-in'
  | 'zoom-out'
  | 'pan-left'
  | 'pan-right'
  | 'fit'
  | 'next-conflict'
  | 'prev-conflict'
  | 'help'
  | 'clear'
  | 'zoom-selection';

/** Keys that move while held. */
export const HELD_ACTIONS: ReadonlySet<KeyAction> = new Set(['zoom-in', 'zoom-out', 'pan-left', 'pan-right']);

export interface KeyLike {
  code: string;
  key: string;
  ctrlKey?: boolean;
  metaKey?: boolean;
  altKey?: boolean;
  shiftKey?: boolean;
}

/** The action of a key press, or undefined. Modified keys (Ctrl/Cmd/Alt) belong to the browser. */
export function keyAction(e: KeyLike): KeyAction | undefined {
  if (e.ctrlKey || e.metaKey || e.altKey) return undefined;
  switch (e.code) {
    case 'KeyW':
      return 'zoom-in';
    case 'KeyS':
      return 'zoom-out';
    case 'KeyA':
    case 'ArrowLeft':
      return 'pan-left';
    case 'KeyD':
    case 'ArrowRight':
      return 'pan-right';
    case 'KeyF':
      return 'fit';
    case 'KeyZ':
      return 'zoom-selection';
    case 'BracketRight':
      return 'next-conflict';
    case 'BracketLeft':
      return 'prev-conflict';
    case 'Escape':
      return 'clear';
  }
  // `?` is a character, wherever the layout puts it.
  if (e.key === '?') return 'help';
  return undefined;
}

/** The shortcut list shown by `?`. */
export const SHORTCUTS: ReadonlyArray<{ keys: string; does: string }> = [
  { keys: 'W / S', does: 'zoom in / out (at the pointer, else the centre)' },
  { keys: 'A / D, ← / →', does: 'pan left / right' },
  { keys: 'Ctrl/⌘ + wheel', does: 'zoom at the pointer' },
  { keys: 'wheel, Shift + wheel', does: 'pan' },
  { keys: 'drag', does: 'select a time range' },
  { keys: 'F', does: 'fit the selection (or everything)' },
  { keys: 'Z', does: 'zoom to the selected range' },
  { keys: '[ / ]', does: 'previous / next conflict' },
  { keys: 'click', does: 'select a transaction or conflict arrow' },
  { keys: 'Esc', does: 'clear the selection' },
  { keys: '?', does: 'this list' },
];

/** Zoom factor per second while W/S is held (≈ ×8 per second). */
const ZOOM_PER_S = 8;
/** Pan speed while A/D is held, in view widths per second. */
const PAN_PER_S = 1.2;

/**
 * Applies held keys for `dtMs` of animation: returns the new view (the same
 * object when nothing moved). `anchor` is where zoom centres (0..1 of the view).
 */
export function applyHeld(view: TimeRange, held: ReadonlySet<KeyAction>, dtMs: number, bounds: TimeRange, anchor = 0.5): TimeRange {
  const dt = Math.min(100, Math.max(0, dtMs)) / 1000;
  let v = view;
  const z = (held.has('zoom-out') ? 1 : 0) - (held.has('zoom-in') ? 1 : 0);
  if (z !== 0) v = zoomAt(v, ZOOM_PER_S ** (z * dt), anchor, bounds);
  const p = (held.has('pan-right') ? 1 : 0) - (held.has('pan-left') ? 1 : 0);
  if (p !== 0) v = pan(v, p * PAN_PER_S * dt, bounds);
  return v;
}

/** One discrete step (a key tapped without holding): the same as ~1/6 s of holding. */
export function stepKey(view: TimeRange, action: KeyAction, bounds: TimeRange, anchor = 0.5): TimeRange {
  return applyHeld(view, new Set([action]), 166, bounds, anchor);
}
