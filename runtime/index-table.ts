/**
 * A concurrent, append-only hash index living in the shared heap: used for the
 * string intern table and for the key → entry index of `TMap`.
 *
 * It is deliberately *not* transactional. An entry, once created, exists for
 * ever (like PyPy-STM's hashtable entries): creating the entry for a key is a
 * short critical section under the owner's lock, outside any read/write set, so
 * two transactions working on different keys never conflict on the index.
 * Whether a key is *present* is a transactional field of its entry.
 *
 * Lookups take no lock: tables are immutable once replaced (a resize publishes a
 * new table and leaves the old one valid), and a value word is published with
 * `Atomics.store` after its key.
 *
 * ```
 * slot t      header (type INDEX_TYPE_ID)
 * slot t+1    words [capacity, count, 0, 0]
 * slot t+2+i  f64 key (bytes 0-7), word +2 value (entry/string address, 0 = empty), word +3 hash
 * ```
 */
import type { Heap } from './heap.ts';
import { INDEX_TYPE_ID } from './heap-reader.ts';
import { lockWord, unlockWord } from './spinlock.ts';

/** Owner words: `ptrWord` holds the current table address, `lockWord` is the owner's spin lock. */
export interface IndexOwner {
  ptrWord: number;
  lockWord: number;
}

export function hashNumber(k: number): number {
  if ((k | 0) === k) return Math.imul(k, 0x9e3779b1) | 0;
  // non-int32 integers: mix both halves
  const hi = Math.floor(k / 4294967296) | 0;
  const lo = k >>> 0;
  return (Math.imul(lo, 0x9e3779b1) ^ Math.imul(hi + 0x7f4a7c15, 0x85ebca6b)) | 0;
}

export function createTable(heap: Heap, capacity: number): number {
  const t = heap.allocMeta(2 + capacity);
  heap.initHeader(t, INDEX_TYPE_ID, 0, 0);
  heap.i32[4 * (t + 1)] = capacity;
  return t;
}

/** Finds the value stored for a number key, or 0. */
export function lookupNumber(heap: Heap, owner: IndexOwner, key: number, hash: number): number {
  const i32 = heap.i32;
  const t = Atomics.load(i32, owner.ptrWord);
  if (t === 0) return 0;
  const cap = i32[4 * (t + 1)];
  const mask = cap - 1;
  let i = hash & mask;
  for (;;) {
    const s = t + 2 + i;
    const v = Atomics.load(i32, 4 * s + 2);
    if (v === 0) return 0;
    if (heap.f64[2 * s] === key) return v;
    i = (i + 1) & mask;
  }
}

/**
 * Finds the value for `key` or creates it with `make()` under the owner's lock.
 * `make` must allocate permanent memory only.
 */
export function findOrInsertNumber(heap: Heap, owner: IndexOwner, key: number, hash: number, make: () => number): number {
  const found = lookupNumber(heap, owner, key, hash);
  if (found !== 0) return found;
  lock(heap, owner.lockWord);
  try {
    const again = lookupNumber(heap, owner, key, hash);
    if (again !== 0) return again;
    const value = make();
    insertLocked(heap, owner, key, hash, value);
    return value;
  } finally {
    unlock(heap, owner.lockWord);
  }
}

/** Finds a value by hash with a custom key comparison (strings), or 0. */
export function lookupBy(heap: Heap, owner: IndexOwner, hash: number, matches: (value: number) => boolean): number {
  const i32 = heap.i32;
  const t = Atomics.load(i32, owner.ptrWord);
  if (t === 0) return 0;
  const mask = i32[4 * (t + 1)] - 1;
  let i = hash & mask;
  for (;;) {
    const s = t + 2 + i;
    const v = Atomics.load(i32, 4 * s + 2);
    if (v === 0) return 0;
    if (i32[4 * s + 3] === hash && matches(v)) return v;
    i = (i + 1) & mask;
  }
}

export function findOrInsertBy(heap: Heap, owner: IndexOwner, hash: number, matches: (value: number) => boolean, make: () => number): number {
  const found = lookupBy(heap, owner, hash, matches);
  if (found !== 0) return found;
  lock(heap, owner.lockWord);
  try {
    const again = lookupBy(heap, owner, hash, matches);
    if (again !== 0) return again;
    const value = make();
    insertLocked(heap, owner, hash, hash, value);
    return value;
  } finally {
    unlock(heap, owner.lockWord);
  }
}

/** Calls `fn(value)` for every value in the current table (racy snapshot; callers validate transactionally). */
export function forEachValue(heap: Heap, owner: IndexOwner, fn: (value: number) => void): void {
  const i32 = heap.i32;
  const t = Atomics.load(i32, owner.ptrWord);
  if (t === 0) return;
  const cap = i32[4 * (t + 1)];
  for (let i = 0; i < cap; i++) {
    const v = Atomics.load(i32, 4 * (t + 2 + i) + 2);
    if (v !== 0) fn(v);
  }
}

function insertLocked(heap: Heap, owner: IndexOwner, key: number, hash: number, value: number): void {
  const i32 = heap.i32;
  let t = Atomics.load(i32, owner.ptrWord);
  if (t === 0) {
    t = createTable(heap, 16);
    Atomics.store(i32, owner.ptrWord, t);
  }
  let cap = i32[4 * (t + 1)];
  const count = i32[4 * (t + 1) + 1];
  if ((count + 1) * 2 > cap) {
    // grow: copy into a new table, publish it; readers of the old one stay correct
    const nt = createTable(heap, cap * 2);
    for (let i = 0; i < cap; i++) {
      const s = t + 2 + i;
      const v = i32[4 * s + 2];
      if (v !== 0) place(heap, nt, heap.f64[2 * s], i32[4 * s + 3], v);
    }
    i32[4 * (nt + 1) + 1] = count;
    Atomics.store(i32, owner.ptrWord, nt);
    t = nt;
    cap *= 2;
  }
  place(heap, t, key, hash, value);
  i32[4 * (t + 1) + 1] = count + 1;
}

function place(heap: Heap, t: number, key: number, hash: number, value: number): void {
  const i32 = heap.i32;
  const mask = i32[4 * (t + 1)] - 1;
  let i = hash & mask;
  while (i32[4 * (t + 2 + i) + 2] !== 0) i = (i + 1) & mask;
  const s = t + 2 + i;
  heap.f64[2 * s] = key;
  i32[4 * s + 3] = hash;
  // publish last: a reader that sees the value also sees key and hash
  Atomics.store(i32, 4 * s + 2, value);
}

function lock(heap: Heap, word: number): void {
  lockWord(heap.i32, word);
}

function unlock(heap: Heap, word: number): void {
  unlockWord(heap.i32, word);
}
