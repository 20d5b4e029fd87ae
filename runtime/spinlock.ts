/**
 * A spin-then-sleep lock on one Int32 word of a SharedArrayBuffer (0 free, 1
 * held). Used only for short critical sections outside transactions: moving the
 * allocation pointers, creating type records, strings and map entries.
 */
export function lockWord(i32: Int32Array, word: number): void {
  let spins = 0;
  while (Atomics.compareExchange(i32, word, 0, 1) !== 0) {
    if (++spins > 64) Atomics.wait(i32, word, 1, 0.1);
  }
}

export function unlockWord(i32: Int32Array, word: number): void {
  Atomics.store(i32, word, 0);
  Atomics.notify(i32, word, 1);
}
