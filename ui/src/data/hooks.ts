/**
 * React access to atoms: `useAtom(atom, select)` re-renders only when the
 * selected value changes (`Object.is`), through `useSyncExternalStore`.
 */

import { createContext, useContext, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import type { Hub } from './hub.ts';
import { Atom } from '../model/atom.ts';
import type { SessionInfo } from '../../../model/protocol.ts';
import { displayPath, shortLocation } from '../model/figures.ts';

export function useAtom<T>(atom: Atom<T>): T;
export function useAtom<T, U>(atom: Atom<T>, select: (v: T) => U): U;
export function useAtom<T, U>(atom: Atom<T>, select?: (v: T) => U): T | U {
  const sel = useRef(select);
  sel.current = select;
  const get = () => (sel.current ? sel.current(atom.get()) : atom.get());
  return useSyncExternalStore(
    (cb) => atom.subscribe(cb),
    get,
    get,
  );
}

export const HubContext = createContext<Hub | null>(null);

export function useHub(): Hub {
  const h = useContext(HubContext);
  if (!h) throw new Error('useHub outside <HubContext.Provider>');
  return h;
}

/** The open program's working directory (to show paths relative to it), if known. */
export function useCwd(): string | undefined {
  const hub = useHub();
  const cur = useAtom(hub.current);
  const sessions = useAtom(hub.server?.sessions ?? NO_SESSIONS);
  if (!cur) return undefined;
  if (cur.local) return typeof cur.local.meta.cwd === 'string' ? cur.local.meta.cwd : undefined;
  return sessions.find((s) => s.id === cur.id)?.program?.cwd;
}

const NO_SESSIONS = new Atom<SessionInfo[]>([]);

/** `file:line` of a location, relative to the program's directory. */
export function useLoc(): (loc: string) => string {
  const cwd = useCwd();
  return (loc: string) => displayPath(shortLocation(loc), cwd);
}

/** `value`, updated at most every `ms` (the latest value always lands). For costly follow-ups of live data. */
export function useThrottled<T>(value: T, ms: number): T {
  const [shown, setShown] = useState(value);
  const last = useRef(0);
  useEffect(() => {
    const wait = last.current + ms - Date.now();
    if (wait <= 0) {
      last.current = Date.now();
      setShown(value);
      return;
    }
    const t = setTimeout(() => {
      last.current = Date.now();
      setShown(value);
    }, wait);
    return () => clearTimeout(t);
  }, [value, ms]);
  return shown;
}
