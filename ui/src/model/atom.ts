/**
 * A tiny observable value (speedscope's `Atom<T>`, src/lib/atom.ts): the
 * dashboard's session data (snapshots, sessions, programs) lives in atoms, not
 * in zustand, so high-frequency updates reach the canvas and charts through
 * `subscribe` without a React render per update. React reads atoms through
 * `useAtom` (ui/src/data/hooks.ts, `useSyncExternalStore`).
 */

export type Listener<T> = (value: T, previous: T) => void;

export class Atom<T> {
  private value: T;
  private readonly listeners = new Set<Listener<T>>();

  constructor(initial: T, readonly debugName = 'atom') {
    this.value = initial;
  }

  get(): T {
    return this.value;
  }

  set(next: T): void {
    if (Object.is(this.value, next)) {
      // No-op if the value didn't actually change (speedscope's rule).
      return;
    }
    const prev = this.value;
    this.value = next;
    for (const l of [...this.listeners]) l(next, prev);
  }

  /** Shallow-merges a patch into an object value (a new object, so `Object.is` sees the change). */
  patch(p: Partial<T>): void {
    this.set({ ...(this.value as object), ...(p as object) } as T);
  }

  /** Calls `l` on every change; returns the unsubscribe function. */
  subscribe(l: Listener<T>): () => void {
    this.listeners.add(l);
    return () => {
      this.listeners.delete(l);
    };
  }

  /** Number of listeners (tests check that views unsubscribe). */
  get listenerCount(): number {
    return this.listeners.size;
  }
}

/**
 * A gate for live data: while paused, the `shown` atom keeps its value and the
 * latest input is held back; resuming shows the latest at once.
 */
export class PauseGate<T> {
  readonly shown: Atom<T>;
  private latest: T;
  private paused = false;

  constructor(initial: T) {
    this.shown = new Atom(initial, 'shown');
    this.latest = initial;
  }

  push(v: T): void {
    this.latest = v;
    if (!this.paused) this.shown.set(v);
  }

  /** Replaces both the held and shown value (opening another session). */
  reset(v: T): void {
    this.latest = v;
    this.shown.set(v);
  }

  setPaused(p: boolean): void {
    this.paused = p;
    if (!p) this.shown.set(this.latest);
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** True when newer data is held back by a pause. */
  get behind(): boolean {
    return this.paused && !Object.is(this.latest, this.shown.get());
  }
}
