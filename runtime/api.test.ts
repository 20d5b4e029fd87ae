import { describe, expect, it } from 'vitest';
import {
  atomic,
  attachHeap,
  becomeInevitable,
  createHeap,
  defineStruct,
  getRoot,
  HeapFullError,
  lastAbortInfo,
  ref,
  setRoot,
  StmError,
  TArray,
  TCounter,
  TLocal,
  TMap,
  TQueue,
  type Transaction,
} from './index.ts';

const Account = defineStruct('Account', { balance: 'i32', limit: 'u32', rate: 'f64', frozen: 'bool', owner: ref('Person') });
const Person = defineStruct('Person', { age: 'i32' });

describe('typed transactional data', () => {
  it('stores every field kind and reads it back', () => {
    createHeap({ size: 2 << 20 });
    const p = Person.create({ age: 33 });
    const a = Account.create({ balance: -5, limit: 4_000_000_000, rate: 0.25, frozen: true, owner: p }, { label: 'alice' });
    expect([a.balance, a.limit, a.rate, a.frozen, (a.owner as unknown as { age: number }).age]).toEqual([-5, 4_000_000_000, 0.25, true, 33]);
    expect(String(a)).toBe('alice');
    expect(String(p)).toMatch(/^Person#\d+$/);
    expect(a.typeName).toBe('Account');
    atomic(() => {
      a.owner = null;
      a.frozen = false;
    });
    expect(a.owner).toBeNull();
    expect(a.frozen).toBe(false);
  });

  it('arrays, maps, queues, counters and locals behave like their JS counterparts', () => {
    createHeap({ size: 4 << 20 });
    const xs = TArray.create('f64', 4, { init: [1, 2, 3, 4] });
    const m = TMap.create({ key: 'int', value: 'f64' });
    const q = TQueue.create({ value: 'i32', lanes: 2 });
    const c = TCounter.create({ initial: 10 });
    const l = TLocal.create('i32');
    atomic(() => {
      xs.set(0, 9.5);
      xs.add(1, 0.5);
      m.set(7, 1.5).set(-3, 2.5);
      m.delete(7);
      q.push(1);
      q.push(2);
      c.add(5);
      expect(c.get()).toBe(15); // sees its own pending add
      expect(xs.get(1)).toBe(2.5);
      l.set(4);
    });
    expect(xs.toArray()).toEqual([9.5, 2.5, 3, 4]);
    expect(atomic(() => [m.has(7), m.get(-3), m.size, m.keys()])).toEqual([false, 2.5, 1, [-3]]);
    expect(atomic(() => [q.pop(), q.pop(), q.pop(), q.isEmpty()])).toEqual([1, 2, undefined, true]);
    expect(c.value).toBe(15);
    expect(atomic(() => l.get())).toBe(4);
  });

  it('roots let other code find shared objects by name, with a type check', () => {
    createHeap({ size: 2 << 20 });
    setRoot('bob', Person.create({ age: 40 }));
    expect(getRoot('bob', Person).age).toBe(40);
    expect(() => getRoot('bob', Account)).toThrow(/root "bob" is a Person, not a Account/);
    expect(() => getRoot('carol')).toThrow(/no root named "carol" \(roots: "bob"\)/);
  });
});

describe('transactions', () => {
  it('discards all writes when the callback throws, and rethrows', () => {
    createHeap({ size: 2 << 20 });
    const a = Account.create({ balance: 1 });
    expect(() =>
      atomic(() => {
        a.balance = 2;
        Person.create({ age: 1 });
        throw new Error('nope');
      }),
    ).toThrow('nope');
    expect(a.balance).toBe(1);
  });

  it('nested atomic joins the outer transaction', () => {
    createHeap({ size: 2 << 20 });
    const a = Account.create();
    expect(() =>
      atomic(() => {
        atomic(() => {
          a.balance = 5;
        });
        expect(a.balance).toBe(5);
        throw new Error('outer fails');
      }),
    ).toThrow('outer fails');
    expect(a.balance).toBe(0);
  });

  it('runs onCommit hooks after commit only', () => {
    createHeap({ size: 2 << 20 });
    const log: string[] = [];
    atomic((tx) => tx.onCommit(() => log.push('committed')));
    expect(() =>
      atomic((tx) => {
        tx.onCommit(() => log.push('never'));
        throw new Error('x');
      }),
    ).toThrow('x');
    expect(log).toEqual(['committed']);
  });

  it('an inevitable transaction commits and reports itself inevitable', () => {
    createHeap({ size: 2 << 20 });
    const a = Account.create();
    const was = atomic((tx) => {
      becomeInevitable();
      a.balance = 3;
      return tx.isInevitable;
    });
    expect(was).toBe(true);
    expect(a.balance).toBe(3);
    expect(lastAbortInfo()).toBeNull();
  });
});

describe('bad input gives a clear error and leaves the heap intact', () => {
  it('rejects unknown field names', () => {
    createHeap({ size: 2 << 20 });
    expect(() => Account.create({ balanc: 1 } as never)).toThrow(/Account has no field "balanc" \(fields: balance, limit, rate, frozen, owner\)/);
    const a = Account.create({ balance: 1 });
    expect(() => (a as unknown as Record<string, number>).balanc = 2).toThrow(TypeError);
    expect(() => a.$get('nope')).toThrow(/Account has no field "nope"/);
    expect(() => atomic(() => a.$set('nope', 1))).toThrow(/Account has no field "nope"/);
    expect(a.balance).toBe(1);
  });

  it('rejects values of the wrong type', () => {
    createHeap({ size: 2 << 20 });
    const a = Account.create();
    expect(() => atomic(() => (a.balance = 1.5))).toThrow(/Account.balance is i32: expected an integer/);
    expect(() => atomic(() => (a.limit = -1))).toThrow(/Account.limit is u32/);
    expect(() => atomic(() => ((a as unknown as { rate: string }).rate = 'x'))).toThrow(/Account.rate is f64: expected a number, got "x"/);
    expect(() => atomic(() => ((a as unknown as { frozen: number }).frozen = 1))).toThrow(/Account.frozen is bool/);
    expect(() => atomic(() => ((a as unknown as { owner: unknown }).owner = Account.create()))).toThrow(/Account.owner references Person: got a Account/);
    const xs = TArray.create('i32', 2);
    expect(() => xs.get(2)).toThrow(/index 2 out of range for Array<i32> of length 2/);
    expect(() => atomic(() => xs.set(0, 0.5 as never))).toThrow(/Array<i32>\[0\] is i32/);
    expect(() => TMap.create({ key: 'float' as never, value: 'f64' })).toThrow(/TMap key must be 'int' or 'string'/);
    expect(() => defineStruct('Bad', { x: 'int' as never })).toThrow(/Bad.x: unknown field kind "int"/);
    expect(() => defineStruct('Account', { balance: 'f64' }).create()).toThrow(/type Account is already declared on this heap with a different layout/);
    expect([a.balance, a.limit, a.frozen]).toEqual([0, 0, false]);
  });

  it('refuses writes outside a transaction', () => {
    createHeap({ size: 2 << 20 });
    const a = Account.create();
    expect(() => (a.balance = 4)).toThrow(/only be modified inside atomic\(\)/);
    expect(() => TCounter.create().add(1)).toThrow(/inside atomic\(\)/);
  });

  it('reports a full heap with its size and keeps existing objects intact', () => {
    createHeap({ size: 1 << 20 });
    const keep = Account.create({ balance: 77 });
    let err: unknown;
    try {
      for (;;) TArray.create('f64', 10_000);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HeapFullError);
    expect((err as Error).message).toMatch(/shared heap full: cannot allocate \d+ bytes in a heap of 1 MiB; create the heap with a larger size/);
    expect(keep.balance).toBe(77);
    atomic(() => (keep.balance = 78));
    expect(keep.balance).toBe(78);
    // smaller allocations still fit in what is left
    expect(Person.create({ age: 1 }).age).toBe(1);
  });

  it('refuses a transaction handle used after its transaction ended', () => {
    createHeap({ size: 2 << 20 });
    let kept: Transaction | undefined;
    atomic((tx) => {
      kept = tx;
    });
    expect(() => kept!.becomeInevitable()).toThrow(/transaction handle used after its transaction ended/);
    expect(() => kept!.onCommit(() => {})).toThrow(/used after its transaction ended/);
    expect(() => kept!.retry()).toThrow(/used after its transaction ended/);
  });

  it('rejects bad heap options and foreign buffers', () => {
    expect(() => createHeap({ size: 100 })).toThrow(/heap size must be an integer from 1 MiB/);
    expect(() => createHeap({ maxThreads: 0 })).toThrow(/maxThreads must be an integer from 1 to 254/);
    expect(() => attachHeap({ heap: new SharedArrayBuffer(1024), rings: new SharedArrayBuffer(8), options: {} } as never)).toThrow(/not an stmscope heap/);
    expect(() => attachHeap({} as never)).toThrow(/attachHeap expects the `shared` property/);
  });

  it('refuses StmError-worthy misuse of the API', () => {
    createHeap({ size: 2 << 20 });
    expect(() => becomeInevitable()).toThrow(StmError);
    expect(() => atomic((tx) => tx.onCommit('x' as never))).toThrow(/expects a function/);
  });
});
