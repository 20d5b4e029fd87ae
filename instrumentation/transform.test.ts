import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { cacheDirFromEnv, TransformCache } from './loader/cache.ts';
import { TransformProgress } from './loader/progress.ts';
import { instrument, PROLOGUE, type InstrumentOptions } from './transform.ts';
import { SITE_STRIDE, siteRegistry, type ModuleSites } from '../runtime/sites.ts';
import { extractInlineSourceMap, SourceMap } from './sourcemap.ts';
import { transformSync } from 'esbuild';

/** The user-code part of the output, with `__stm$c[0]=__stm$b+K` shown as `SK` and `__stm$t` as `T`. */
function core(code: string, opts?: InstrumentOptions): string {
  const r = instrument(code, 'file:///t/x.js', opts);
  if (r.skipped === 'no sites') return code;
  if (r.skipped) return `<skipped: ${r.skipped}>`;
  const user = r.code.slice(0, r.code.lastIndexOf('\nfunction __stm$m'));
  return user.replace(PROLOGUE, '').replace(/__stm\$c\[0\]=__stm\$b\+(\d+)/g, 'S$1').replace(/__stm\$t/g, 'T');
}

function siteList(s: ModuleSites): Array<{ line: number; column: number; fn: string; text: string; file: string }> {
  const out = [];
  for (let i = 0; i < s.sites.length; i += SITE_STRIDE) {
    const [src, line, column, fn, text] = s.sites.slice(i, i + SITE_STRIDE);
    out.push({ file: s.sources[src], line, column, fn: s.names[fn], text: s.names[text] });
  }
  return out;
}

describe('golden: member accesses', () => {
  it.each([
    ['o.p', '(S0,o).p'],
    ['o.p.q', '(T=(S1,o).p,S0,T).q'],
    ['this.x', '(S0,this).x'],
    ['(a, b).p', '(S0,(a, b)).p'],
    ['f().p', '(T=(S1,f)(),S0,T).p'],
    ["'a.b'.length", "(S0,'a.b').length"],
    ['`${o.p}.x`', '`${(S0,o).p}.x`'],
    ['x = o.p // a.b\n/* c.d */ "e.f"', 'x = (S0,o).p // a.b\n/* c.d */ "e.f"'],
    ['o[k]', 'o[k]'],
    ['new a.B()', 'new (S0,a).B()'],
    ['new a.B', 'new (S0,a).B'],
    ['new a.b.C(1)', 'new (T=(S1,a).b,S0,T).C(1)'],
    ['class A extends o.B {}', 'class A extends (S0,o).B {}'],
    ['o.tag`x${1}`', '(S0,o).tag`x${1}`'],
    ['delete o.p', 'delete (S0,o).p'],
    ['o.p++', '(S0,o).p++'],
    ['--o.p', '--(S0,o).p'],
    ['typeof o.p', 'typeof (S0,o).p'],
  ])('%s', (input, expected) => {
    expect(core(input)).toBe(expected);
  });
});

describe('golden: optional chains (only the head and links before the first ?. are wrapped)', () => {
  it.each([
    ['a?.b', '(S0,a)?.b'],
    ['a?.b.c', '(S0,a)?.b.c'],
    ['a?.b.c.d', '(S0,a)?.b.c.d'],
    ['a.b?.c.d', '(T=(S1,a).b,S0,T)?.c.d'],
    ['a?.b()', '(S0,a)?.b()'],
    ['a?.b.m(x)', '(S1,a)?.b.m((T=x,S0,T))'],
    ['a.m?.()', '(S0,a).m?.()'],
    ['f?.(x)', '(S0,f)?.(x)'],
    ['(a?.b).c', '(T=((S1,a)?.b),S0,T).c'],
  ])('%s', (input, expected) => {
    expect(core(input)).toBe(expected);
  });
});

describe('golden: calls', () => {
  it.each([
    ['f(x)', '(S0,f)(x)'],
    ['atomic(() => { o.p = 1 })', '(S0,atomic)(() => { (S1,o).p = 1 })'],
    ['f(g(x))', 'f((T=(S1,g)(x),S0,T))'],
    ['f(a, ...o.list)', 'f(a, ...(T=(S1,o).list,S0,T))'],
    ['o.m(1, x)', '(S0,o).m(1, x)'],
    ['o.m(g())', 'o.m((T=(S1,g)(),S0,T))'],
    ['arr.set(i, arr.get(i) + 1)', 'arr.set(i, (T=(S1,arr).get(i) + 1,S0,T))'],
    ['eval("x")', 'eval("x")'],
    ['require("x")', 'require("x")'],
    ['Math.max(o.p, 1)', 'Math.max((S0,o).p, 1)'],
    ['console.log(x)', 'console.log(x)'],
    ['JSON.stringify(o)', 'JSON.stringify(o)'],
    ['with (o) f(x)', 'with (o) f(x)'],
    ['__name(f, "f"); __defProp.call(o, k)', '__name(f, "f"); __defProp.call(o, k)'],
    ['(f)(x)', '(f)(x)'],
  ])('%s', (input, expected) => {
    expect(core(input, { sourceType: 'script' })).toBe(expected);
  });
});

describe('golden: assignments and patterns', () => {
  it.each([
    ['o.p = 1', '(S0,o).p = 1'],
    ['o.p = v', '(S0,o).p = v'],
    ['o.p = f()', 'o.p = (T=(S1,f)(),S0,T)'],
    ['o.p += a.b', '(S0,o).p += (T=(S1,a).b,S0,T)'],
    ['o.p ??= 1', '(S0,o).p ??= 1'],
    ['o.p ||= g()', '(S0,o).p ||= (T=(S1,g)(),S0,T)'],
    ['[o.p, q.r] = arr', '[(S0,o).p, (S1,q).r] = arr'],
    ['({ a: o.p, b: q.r = 1 } = x)', '({ a: (S0,o).p, b: (S1,q).r = 1 } = x)'],
    ['for (o.p of xs);', 'for ((S0,o).p of xs);'],
    ['const { a = o.p } = x', 'const { a = (S0,o).p } = x'],
  ])('%s', (input, expected) => {
    expect(core(input)).toBe(expected);
  });
});

describe('golden: exclusions', () => {
  it.each([
    ['import.meta.url', 'import.meta.url'],
    ['class A extends B { m() { return super.x } }', 'class A extends B { m() { return super.x } }'],
    ['function F() { return new.target.name }', 'function F() { return new.target.name }'],
    ['class A { #x = 1; m() { return this.#x } }', 'class A { #x = 1; m() { return this.#x } }'],
    ['process.env.X', 'process.env.X'],
    ['Math.PI.toFixed(2)', 'Math.PI.toFixed(2)'],
    ['globalThis.x', 'globalThis.x'],
    ['exports.a = 1; module.exports.b = 2', 'exports.a = 1; module.exports.b = 2'],
  ])('%s', (input, expected) => {
    expect(core(input)).toBe(expected);
  });
});

describe('golden: classes, getters, setters, fields', () => {
  it('instruments bodies, initialisers and computed keys', () => {
    const src = [
      'class A {',
      '  static s = o.p;',
      '  f = this.x;',
      '  [k.name]() {}',
      '  get v() { return this._v }',
      '  set v(x) { this._v = x }',
      '}',
      'const obj = { get g() { return this.h }, [k.c]: q.r };',
    ].join('\n');
    expect(core(src)).toBe(
      [
        'class A {',
        '  static s = (S0,o).p;',
        '  f = (S1,this).x;',
        '  [(S2,k).name]() {}',
        '  get v() { return (S3,this)._v }',
        '  set v(x) { (S4,this)._v = x }',
        '}',
        'const obj = { get g() { return (S5,this).h }, [(S6,k).c]: (S7,q).r };',
      ].join('\n'),
    );
  });
});

describe('golden: layout', () => {
  it('guards statements that now start with ( against ASI', () => {
    expect(core('let x = y\no.p = 1\nz()\n')).toBe('let x = y\n;(S0,o).p = 1\n;(S1,z)()\n');
    expect(core('let x = y;\no.p = 1\n')).toBe('let x = y;\n(S0,o).p = 1\n');
    expect(core('function f() {}\no.p = 1\n')).toBe('function f() {}\n(S0,o).p = 1\n');
    expect(core('if (a) o.p = 1\nelse q.r = 2\n')).toBe('if (a) (S0,o).p = 1\nelse (S1,q).r = 2\n');
    expect(core('x = {};\n(o).p = 1')).toBe('x = {};\n(S0,(o)).p = 1');
    expect(core('x = y\n(o).p = 1')).toBe('x = (T=(S1,y)\n(o),S0,T).p = 1'); // already one statement
  });

  it('puts the prologue after the hashbang and directives, on their lines', () => {
    const r = instrument('#!/usr/bin/env node\n"use strict"\no.p\n', 'file:///t/x.js', { sourceType: 'script' });
    const lines = r.code.split('\n');
    expect(lines[0]).toBe('#!/usr/bin/env node');
    expect(lines[1]).toBe('"use strict"');
    expect(lines[2].startsWith(PROLOGUE + ';')).toBe(true); // guard after the directive
  });

  it('never adds lines inside user code and keeps untouched lines byte-identical', () => {
    const src = 'const a = 1;\n\nfunction f(o) {\n  // o.p here\n  return o.p;\n}\nexport { f };\n';
    const r = instrument(src, 'file:///t/x.js');
    const inLines = src.split('\n');
    const outLines = r.code.split('\n');
    for (let i = 1; i < inLines.length; i++) if (!inLines[i].includes('return')) expect(outLines[i]).toBe(inLines[i]);
    expect(outLines[4]).toBe('  return (__stm$c[0]=__stm$b+0,o).p;');
    expect(outLines.length).toBe(inLines.length + 1);
  });

  it('is idempotent and skips what it cannot parse or has no sites', () => {
    const once = instrument('o.p', 'file:///t/x.js');
    expect(instrument(once.code, 'file:///t/x.js').skipped).toMatch(/already instrumented/);
    expect(instrument('let x = <div/>;', 'file:///t/x.js').skipped).toMatch(/parse error/);
    expect(instrument('let x = 1;', 'file:///t/x.js').skipped).toBe('no sites');
  });

  it('replaces the input sourceMappingURL comment with its own when asked', () => {
    const r = instrument('o.p\n//# sourceMappingURL=x.js.map\n', 'file:///nonexistent/x.js', { inlineMap: true });
    expect(r.code).not.toContain('x.js.map');
    expect(r.code.trimEnd().split('\n').pop()).toMatch(/^\/\/# sourceMappingURL=data:application\/json;charset=utf-8;base64,/);
  });
});

// ---- semantics ------------------------------------------------------------------------

/**
 * Runs `body` (a function body ending in `return`) as written and instrumented,
 * with a `spy` helper wrapping objects in proxies that log every property
 * get/set/delete along with the current site id.
 */
function both(body: string): { plain: unknown; inst: unknown; log: Array<[string, string, number]>; sites: ModuleSites } {
  const reg = siteRegistry();
  const exec = (code: string, log: Array<[string, string, number]>) => {
    // proxies log property reads (not method fetches) and writes; probe methods
    // stand for uninstrumented runtime code and log the site current when called
    const spy = (target: object) =>
      new Proxy(target, {
        get(t, k, r) {
          const v = Reflect.get(t, k, r);
          if (typeof k === 'string' && typeof v !== 'function') log.push(['get', k, reg.cell[0]]);
          return v;
        },
        set(t, k, v, r) {
          if (typeof k === 'string') log.push(['set', k, reg.cell[0]]);
          return Reflect.set(t, k, v, r);
        },
      });
    const probe = {
      read(x: unknown) {
        log.push(['call', 'read', reg.cell[0]]);
        return x;
      },
      write(...args: unknown[]) {
        log.push(['call', 'write', reg.cell[0]]);
        return args.length;
      },
    };
    return new Function('spy', 'probe', code)(spy, probe);
  };
  const url = `file:///t/sem${Math.random().toString(36).slice(2)}.js`;
  const r = instrument(body, url, { sourceType: 'script' });
  expect(r.skipped).toBeUndefined();
  const plain = exec(body, []);
  const log: Array<[string, string, number]> = [];
  const inst = exec(r.code, log);
  return { plain, inst, log, sites: reg.module(url)! };
}

/** Every logged access happened while the cell named a site whose source column is that property. */
function expectAttributed(body: string, res: ReturnType<typeof both>): void {
  const reg = siteRegistry();
  const lines = body.split('\n');
  expect(res.log.length).toBeGreaterThan(0);
  for (const [op, key, id] of res.log) {
    const s = reg.site(id);
    expect(s, `${op} ${key}: site ${id}`).toBeDefined();
    const at = lines[s!.line - 1].slice(s!.column - 1);
    expect(at.startsWith(key), `${op} ${key} attributed to "${at}"`).toBe(true);
  }
}

describe('semantics: instrumented code computes the same', () => {
  it.each([
    ['this binding of method calls', 'const o = { v: 1, m() { return this.v } }; return o.m() + o["m"]();'],
    ['this binding through chains', 'const o = { i: { v: 2, m() { return this.v } } }; return o.i.m();'],
    ['optional chain short-circuits', 'const a = null; const b = { c: null }; return [a?.b.c.d, a?.b(), b.c?.d.e, b.c?.(), a?.[0]];'],
    ['errors stay errors', 'const a = {}; try { a.b.c } catch (e) { return e.constructor.name + ":" + e.message }'],
    ['assignment values', 'const o = {}; const x = (o.p = 5); const y = (o.q = o.p + 1); return [x, y, o.p, o.q];'],
    ['compound and logical assignment', 'let n = 0; const f = () => ++n; const o = { a: 1, b: 0 }; o.a ||= f(); o.b ||= f(); o.a += f(); o.c ??= 7; return [o, n];'],
    ['update, delete, in, typeof', 'const o = { p: 1, q: 2 }; o.p++; --o.p; delete o.q; return [o.p, "q" in o, typeof o.p, typeof o.zz];'],
    ['destructuring targets', 'const o = {}, arr = [1, 2]; [o.a, o.b] = arr; ({ x: o.c, y: o.d = 4 } = { x: 3 }); for (o.e of [5, 6]); return o;'],
    ['new with member callee', 'const ns = { B: class { constructor(x) { this.x = x } } }; return [new ns.B(1).x, new ns.B().x];'],
    ['tagged templates keep this', 'const o = { s: "!", tag(q, v) { return q[0] + v + this.s } }; return o.tag`a${1}`;'],
    ['getters and setters run once each', 'let g = 0, s = 0; const o = { get v() { g++; return 1 }, set v(x) { s++ } }; o.v; o.v = 2; o.v += 1; return [g, s];'],
    ['evaluation order of arguments', 'const log = []; const o = { m(...a) { log.push("m" + a.join()); return this } }; const t = (x) => { log.push(x); return x }; o.m(t(1), t(2)).m(t(3)); return log;'],
    ['generators across yield', 'function* g(o) { const x = (yield o.a).b; return x + o.c; } const it = g({ a: 1, c: 2 }); it.next(); return it.next({ b: 40 });'],
    ['classes with fields, statics, private', 'class A { static s = 1; #p = 2; f = this.#p + A.s; get v() { return this.f } } return new A().v;'],
    ['ASI-sensitive layout', 'let o = { p: 0 }\nlet x = 1\no.p = x\nlet f = () => o\nf().p++\nreturn o.p'],
    ['eval stays direct', 'const o = { v: 1 }; const local = 42; return eval("local") + o.v;'],
    ['async functions', 'const o = { async m() { return (await Promise.resolve(this)).v }, v: 3 }; return o.m();'],
  ])('%s', async (_name, body) => {
    const { plain, inst } = both(body);
    expect(await inst).toEqual(await plain);
  });
});

describe('semantics: every access carries its own site', () => {
  it.each([
    ['gets', 'const o = spy({ a: 1, b: { c: 2 } });\nconst x = o.a + o.b.c;\nreturn x;'],
    ['sets after the value is computed', 'const o = spy({ a: 1 });\nconst q = spy({ b: 2 });\no.a = q.b + 1;\nreturn o.a;'],
    ['compound assignment', 'const o = spy({ a: 1 });\nconst q = spy({ b: 2 });\no.a += q.b;\nreturn o.a;'],
    [
      'method bodies run after their arguments',
      'const q = spy({ b: 2, c: 3 });\nreturn probe.read(q.b) + probe.write(1, q.c, probe.read(q.b));',
    ],
    ['calls of plain functions', 'const read = probe.read;\nconst q = spy({ b: 2 });\nreturn read(q.b) + read(1);'],
    ['chains', 'const o = spy({ a: spy({ b: spy({ c: 1 }) }) });\nreturn o.a.b.c;'],
    ['multi-line', 'const o = spy({ a: 1 });\nconst q = spy({ b: 2 });\no.a =\n  q.b *\n  2;\nreturn o.a;'],
  ])('%s', (_name, body) => {
    const res = both(body);
    expect(res.inst).toEqual(res.plain);
    expectAttributed(body, res);
  });
});

describe('site table', () => {
  it('names functions, lines, columns and text', () => {
    const src = [
      'export function transfer(from, to, amount) {', // 1
      '  atomic(() => {', // 2
      '    from.balance -= amount;', // 3
      '  });', // 4
      '}', // 5
      'class Bank {', // 6
      '  move(x) { return this.accounts; }', // 7
      '  static make = () => Bank.x;', // 8
      '}', // 9
      'const helper = function () { return a.b; };', // 10
      'const arrow = () => c.d;', // 11
      'obj.run = function () { return e.f; };', // 12
      'e.g;', // 13
    ].join('\n');
    const r = instrument(src, 'file:///proj/src/bank.js');
    const s = siteList(r.sites);
    expect(s).toEqual([
      { file: '/proj/src/bank.js', line: 2, column: 3, fn: 'transfer', text: 'atomic(() => {' },
      { file: '/proj/src/bank.js', line: 3, column: 10, fn: 'transfer/<atomic callback>', text: 'from.balance -= amount;' },
      { file: '/proj/src/bank.js', line: 7, column: 25, fn: 'Bank.move', text: 'move(x) { return this.accounts; }' },
      { file: '/proj/src/bank.js', line: 8, column: 28, fn: 'Bank.make', text: 'static make = () => Bank.x;' },
      { file: '/proj/src/bank.js', line: 10, column: 39, fn: 'helper', text: 'const helper = function () { return a.b; };' },
      { file: '/proj/src/bank.js', line: 11, column: 23, fn: 'arrow', text: 'const arrow = () => c.d;' },
      { file: '/proj/src/bank.js', line: 12, column: 5, fn: '<top-level>', text: 'obj.run = function () { return e.f; };' },
      { file: '/proj/src/bank.js', line: 12, column: 34, fn: 'obj.run', text: 'obj.run = function () { return e.f; };' },
      { file: '/proj/src/bank.js', line: 13, column: 3, fn: '<top-level>', text: 'e.g;' },
    ]);
  });

  it('registers with the thread registry when the code runs', () => {
    const url = 'file:///t/registered.js';
    const r = instrument('const o = { p: 1 };\nreturn o.p;', url, { sourceType: 'script' });
    const reg = siteRegistry();
    const before = reg.count;
    expect(new Function(r.code)()).toBe(1);
    expect(reg.module(url)?.sites).toEqual(r.sites.sites);
    expect(reg.count).toBe(before + 1);
    expect(reg.site(before)).toMatchObject({ file: '/t/registered.js', line: 2, column: 10, text: 'return o.p;' });
    expect(typeof reg.module(url)?.map).toBe('string');
  });

  it('runs without a registry (throwaway cell)', () => {
    const key = Symbol.for('stmscope.sites');
    const g = globalThis as Record<symbol, unknown>;
    const saved = g[key];
    delete g[key];
    try {
      const r = instrument('const o = { p: 1 };\nreturn o.p;', 'file:///t/noreg.js', { sourceType: 'script' });
      expect(new Function(r.code)()).toBe(1);
    } finally {
      g[key] = saved;
    }
  });

  it('survives calls before the module body ran (import cycles)', () => {
    // hoisted functions may run before the prologue: simulate by removing it
    const r = instrument('function early() { const o = { p: 1 }; return o.p + g(); }\nfunction g() { return 1 }\nreturn early();', 'file:///t/cycle.js', {
      sourceType: 'script',
    });
    const before = r.code.replace(PROLOGUE, '');
    expect(before).not.toContain('__stm$r');
    expect(new Function(before)()).toBe(2);
  });
});

describe('output source map', () => {
  it('maps instrumented positions back to the original (identity input)', () => {
    const src = 'const o = { p: { q: 1 } };\nfunction f() { return o.p.q; }\nf();\n';
    const r = instrument(src, 'file:///t/m.js');
    const m = new SourceMap(r.map!);
    const out = r.code.split('\n');
    const col = out[1].indexOf('.q') + 1;
    expect(m.originalPositionFor(2, col)).toMatchObject({ source: 'file:///t/m.js', line: 2, column: src.split('\n')[1].indexOf('.q') + 1 });
    const callCol = out[2].indexOf('f)') ;
    expect(m.originalPositionFor(3, callCol).column).toBe(0);
    // `(s,f)()` is reported by V8 at its "(": maps to f
    expect(m.originalPositionFor(3, out[2].indexOf(')(') + 1).column).toBe(0);
  });
});

describe('site table for TypeScript compiled by esbuild (input source map)', () => {
  const TS = [
    'import { atomic } from "./rt.ts";', // 1
    'export interface Account { balance: number; owner: { name: string } }', // 2
    'type Cents = number;', // 3
    'export class Bank {', // 4
    '  private fee: Cents = 1;', // 5
    '  transfer(from: Account, to: Account, amount: Cents): void {', // 6
    '    atomic(() => {', // 7
    '      from.balance -= amount + this.fee;', // 8
    '      to.balance = to.balance + (amount as number);', // 9
    '    });', // 10
    '  }', // 11
    '  owner(a: Account): string {', // 12
    '    return a.owner.name;', // 13
    '  }', // 14
    '}', // 15
  ].join('\n');
  const tsLines = TS.split('\n');

  const check = (s: ReturnType<typeof siteList>) => {
    const at = (line: number, needle: string) => ({ line, column: tsLines[line - 1].indexOf(needle) + 1 });
    const find = (line: number, needle: string) => s.find((x) => x.line === line && x.column === at(line, needle).column);
    expect(find(7, 'atomic')).toMatchObject({ file: '/proj/src/bank.ts', fn: 'Bank.transfer', text: 'atomic(() => {' });
    expect(find(8, 'balance')).toMatchObject({ fn: 'Bank.transfer/<atomic callback>', text: 'from.balance -= amount + this.fee;' });
    expect(find(8, 'fee')).toBeDefined();
    expect(find(9, 'balance =')).toBeDefined();
    expect(find(9, 'balance +')).toBeDefined();
    expect(find(13, 'owner.')).toMatchObject({ fn: 'Bank.owner', text: 'return a.owner.name;' });
    expect(find(13, 'name')).toBeDefined();
    // every site points at a property name or a callee in the TypeScript text
    for (const x of s) {
      const rest = tsLines[x.line - 1].slice(x.column - 1);
      expect(rest, JSON.stringify(x)).toMatch(/^[A-Za-z_$][\w$]*/);
      const before = tsLines[x.line - 1].slice(0, x.column - 1).trimEnd();
      expect(before.endsWith('.') || /^[A-Za-z_$][\w$]*\s*\(/.test(rest), JSON.stringify(x)).toBe(true);
    }
  };

  it('readable esbuild output', () => {
    const js = transformSync(TS, { loader: 'ts', sourcemap: 'inline', sourcefile: '/proj/src/bank.ts' }).code;
    const r = instrument(js, 'file:///proj/src/bank.ts');
    expect(r.skipped).toBeUndefined();
    check(siteList(r.sites));
  });

  it('whitespace-minified output (as tsx emits it)', () => {
    const js = transformSync(TS, { loader: 'ts', sourcemap: 'inline', sourcefile: '/proj/src/bank.ts', minifyWhitespace: true }).code;
    expect(js.split('\n').length).toBeLessThan(5);
    const r = instrument(js, 'file:///proj/src/bank.ts');
    check(siteList(r.sites));
  });

  it('without sourcesContent the text is read from the original file', () => {
    const js = transformSync(TS, { loader: 'ts', sourcemap: 'inline', sourcefile: '/proj/src/bank.ts', sourcesContent: false }).code;
    const reads: string[] = [];
    const r = instrument(js, 'file:///proj/src/bank.ts', { readFile: (p) => (reads.push(p), p === '/proj/src/bank.ts' ? TS : undefined) });
    expect(reads).toContain('/proj/src/bank.ts');
    check(siteList(r.sites));
  });

  it('the output map composes: generated site positions map to the TypeScript positions', () => {
    const js = transformSync(TS, { loader: 'ts', sourcemap: 'inline', sourcefile: '/proj/src/bank.ts' }).code;
    const r = instrument(js, 'file:///proj/src/bank.ts', { inlineMap: true });
    const m = new SourceMap(r.map!, 'file:///proj/src/bank.ts');
    const out = r.code.split('\n');
    const gl = out.findIndex((l) => l.includes('a).owner'));
    const col = out[gl].indexOf('a).owner') + 3;
    expect(m.originalPositionFor(gl + 1, col)).toMatchObject({ source: 'file:///proj/src/bank.ts', line: 13, column: tsLines[12].indexOf('owner') });
    // the inline comment carries the same map
    expect(extractInlineSourceMap(r.code)?.map.mappings).toBe(JSON.parse(r.map!).mappings);
  });
});

describe('source maps through trace-mapping and remapping', () => {
  it('the composed map names absolute sources and keeps sourcesContent; the registered map drops it', () => {
    const ts = 'type T = { v: number };\nexport function f(o: T) {\n  return o.v;\n}\n';
    const js = transformSync(ts, { loader: 'ts', sourcemap: 'inline', sourcefile: 'f.ts' }).code;
    const r = instrument(js, 'file:///proj/f.ts');
    const map = JSON.parse(r.map!);
    expect(map.sources).toEqual(['file:///proj/f.ts']);
    expect(map.sourcesContent).toEqual([ts]);
    expect(JSON.parse(r.sites.map!).sourcesContent).toBeUndefined();
    const m = new SourceMap(r.map!);
    const out = r.code.split('\n');
    const gl = out.findIndex((l) => l.includes('o).v'));
    expect(m.originalPositionFor(gl + 1, out[gl].indexOf('o).v') + 3)).toMatchObject({ line: 3, column: 11 });
  });

  it('a bad input map is ignored, not fatal', () => {
    const code = 'o.p;\n//# sourceMappingURL=data:application/json;base64,' + Buffer.from('{"version":3,"sources":["a"],"mappings":"!!"}').toString('base64');
    const r = instrument(code, 'file:///t/bad.js');
    expect(r.skipped).toBeUndefined();
    expect(siteList(r.sites)[0]).toMatchObject({ line: 1 });
  });

  it('a sourceMappingURL lookalike inside a template is not cut off before parsing', () => {
    const code = 'const s = `\n//# sourceMappingURL=x.map\n`;\no.p;\n';
    const r = instrument(code, 'file:///t/tpl.js');
    expect(r.skipped).toBeUndefined();
    expect(r.code).toContain('//# sourceMappingURL=x.map');
    const code2 = 'o.p; const s = `\n//# sourceMappingURL=x.map\n`\n';
    const r2 = instrument(code2, 'file:///t/tpl2.js');
    expect(r2.skipped).toBeUndefined();
    expect(r2.code).toContain('//# sourceMappingURL=x.map');
  });
});

describe('transform cache (loader/cache.ts)', () => {
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'stmscope-cache-'));
    dirs.push(d);
    return d;
  };
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const compute = (src: string, calls: string[]) => (read: (p: string) => string | undefined) => {
    calls.push(src);
    const out = instrument(src, 'file:///t/c.js', { readFile: read });
    return out.skipped ? { code: src, skipped: out.skipped } : { code: out.code };
  };

  it('misses, then hits with the same output; another source, url or option misses', () => {
    const cache = new TransformCache(join(tmp(), 'c'));
    const calls: string[] = [];
    const a = cache.get('esm', 'file:///t/c.js', { x: 1 }, 'o.p;', compute('o.p;', calls));
    const b = cache.get('esm', 'file:///t/c.js', { x: 1 }, 'o.p;', compute('o.p;', calls));
    expect(calls).toEqual(['o.p;']);
    expect(b).toEqual(a);
    expect(cache.stats).toMatchObject({ hits: 1, misses: 1, invalid: 0 });
    cache.get('esm', 'file:///t/c.js', { x: 1 }, 'o.q;', compute('o.q;', calls));
    cache.get('esm', 'file:///t/d.js', { x: 1 }, 'o.p;', compute('o.p;', calls));
    cache.get('esm', 'file:///t/c.js', { x: 2 }, 'o.p;', compute('o.p;', calls));
    expect(cache.stats.misses).toBe(4);
    // a fresh instance (another thread, the next run) reads the same entry
    const again = new TransformCache(cache.dir);
    expect(again.get('esm', 'file:///t/c.js', { x: 1 }, 'o.p;', compute('o.p;', calls))).toEqual(a);
    expect(again.stats.hits).toBe(1);
  });

  it('keeps skipped results without storing the unchanged source twice', () => {
    const cache = new TransformCache(join(tmp(), 'c'));
    const calls: string[] = [];
    const src = 'let x = 1;\n';
    cache.get('esm', 'file:///t/s.js', null, src, compute(src, calls));
    const hit = cache.get('esm', 'file:///t/s.js', null, src, compute(src, calls));
    expect(hit).toEqual({ code: src, skipped: 'no sites' });
    expect(calls.length).toBe(1);
    const key = TransformCache.key('esm', 'file:///t/s.js', null, src);
    const text = readFileSync(join(cache.dir, key.slice(0, 2), `${key}.stc`), 'utf8');
    expect(text.endsWith('\n')).toBe(true); // header only
  });

  it('a corrupt or truncated entry is a miss and is rewritten', () => {
    const cache = new TransformCache(join(tmp(), 'c'));
    const calls: string[] = [];
    const src = 'a.b.c;';
    const first = cache.get('esm', 'u', null, src, compute(src, calls));
    const key = TransformCache.key('esm', 'u', null, src);
    const file = join(cache.dir, key.slice(0, 2), `${key}.stc`);
    const good = readFileSync(file, 'utf8');
    for (const bad of [good.slice(0, -5), good.replace('__stm$b+1', '__stm$b+7'), 'not json\n' + first.code, '']) {
      writeFileSync(file, bad);
      expect(cache.get('esm', 'u', null, src, compute(src, calls))).toEqual(first);
    }
    expect(cache.stats.invalid).toBe(4);
    expect(calls.length).toBe(5);
    expect(readFileSync(file, 'utf8')).toBe(good);
    // no temporary files left behind
    expect(readdirSync(join(cache.dir, key.slice(0, 2))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a changed original source (read for site text) invalidates the entry', () => {
    const dir = tmp();
    const ts = join(dir, 'bank.ts');
    writeFileSync(ts, 'export const f = (o: { p: number }) => o.p;\n');
    const js = transformSync(readFileSync(ts, 'utf8'), { loader: 'ts', sourcemap: 'inline', sourcefile: ts, sourcesContent: false }).code;
    const cache = new TransformCache(join(dir, 'c'));
    const calls: string[] = [];
    const run = (read: (p: string) => string | undefined) => {
      calls.push('x');
      return { code: instrument(js, pathToFileURL(ts).href, { readFile: read }).code };
    };
    cache.get('esm', 'u', null, js, run);
    cache.get('esm', 'u', null, js, run);
    expect(calls.length).toBe(1);
    writeFileSync(ts, 'export const f = (o: { p: number }) => o.p; // edited\n');
    utimesSync(ts, new Date(), new Date(Date.now() + 5000));
    cache.get('esm', 'u', null, js, run);
    expect(calls.length).toBe(2);
    expect(cache.stats.invalid).toBe(1);
  });

  it('refuses a directory it cannot make private, and just computes', () => {
    const dir = tmp();
    const file = join(dir, 'file');
    writeFileSync(file, 'x');
    const cache = new TransformCache(join(file, 'sub'));
    const calls: string[] = [];
    expect(cache.get('esm', 'u', null, 'o.p;', compute('o.p;', calls)).code).toContain('__stm$');
    expect(cache.get('esm', 'u', null, 'o.p;', compute('o.p;', calls)).code).toContain('__stm$');
    expect(calls.length).toBe(2);
  });

  it('cacheDirFromEnv: explicit dir, STMSCOPE_HOME, XDG, off', () => {
    expect(cacheDirFromEnv({ STMSCOPE_CACHE_DIR: '/x' })).toBe('/x');
    expect(cacheDirFromEnv({ STMSCOPE_HOME: '/h' })).toBe('/h/cache/transform');
    expect(cacheDirFromEnv({ XDG_CACHE_HOME: '/c' })).toBe('/c/stmscope/transform');
    expect(cacheDirFromEnv({ STMSCOPE_CACHE: '0', STMSCOPE_CACHE_DIR: '/x' })).toBeUndefined();
  });
});

describe('progress line (loader/progress.ts)', () => {
  it('is silent under the threshold, then one line per further threshold of transforming', () => {
    const lines: string[] = [];
    const p = new TransformProgress((l) => lines.push(l), ' (thread 2)', 1000);
    p.record(400, 1e6, false);
    p.record(500, 1e6, true);
    expect(lines).toEqual([]);
    p.record(200, 2e6, false);
    expect(lines).toEqual(['stmscope: instrumenting modules (thread 2): 3 files, 4.0 MB, 0.0 s (1 from cache)\n']);
    p.record(500, 0, false);
    expect(lines.length).toBe(1);
    p.record(600, 0, false);
    expect(lines.length).toBe(2);
  });
});
