/**
 * React access to atoms: `useAtom(atom, select)` re-renders only when the
 * selected value changes (`Object.is`), through `useSyncExternalStore`.
 */

import { createContext, useContext, useRef, useSyncExternalStore } from 'react';
import type { Atom } from '../model/atom.ts';
import type { Hub } from './hub.ts';

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
