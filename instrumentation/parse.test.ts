import { parse as acornParse } from 'acorn';
import { describe, expect, it } from 'vitest';
import { parseProgram, parserName } from './parse.ts';

/** [type, start, end] of every node, depth first, in key order (the shape the walk relies on). */
function shape(node: unknown, out: Array<[string, number, number]> = []): Array<[string, number, number]> {
  if (Array.isArray(node)) {
    for (const n of node) shape(n, out);
  } else if (node && typeof node === 'object' && typeof (node as { type?: unknown }).type === 'string') {
    const n = node as Record<string, unknown> & { type: string; start: number; end: number };
    out.push([n.type, n.start, n.end]);
    for (const k of Object.keys(n).sort()) if (k !== 'loc' && k !== 'range') shape(n[k], out);
  }
  return out;
}

const SAMPLE = `"use strict";
const é = "ü😀"; // non-ASCII before the accesses: offsets must count UTF-16 code units
const s = \`\${a.b}\u2028\${c?.d.e}\`;
class K extends o.Base { #p = 1; static { this.x = f(y); } get v() { return this.#p; } }
label: for (const { a, b: [c] } of list.items) { c.n++; delete a.m; }
async function* g() { yield* (await p.q)(r[s]); new.target; }
x ??= y.z; (o).p = v => v.w; new (m.N)(...args); tag\`t\`;
`;

describe('parseProgram', () => {
  it('uses meriyah when installed', () => {
    expect(parserName()).toBe('meriyah');
  });

  it('gives the same node types and UTF-16 offsets as acorn', () => {
    const ours = shape(parseProgram(SAMPLE, 'module'));
    const ref = shape(acornParse(SAMPLE, { ecmaVersion: 'latest', sourceType: 'module', preserveParens: true }));
    expect(ours.length).toBeGreaterThan(80);
    expect(ours).toEqual(ref);
    const prop = SAMPLE.indexOf('b}');
    expect(ours.some(([t, s]) => t === 'Identifier' && s === prop)).toBe(true);
  });

  it('falls back to script (top-level return, sloppy with) for unknown', () => {
    const ast = parseProgram('with (o) { p.q(); }\nreturn 1;', 'unknown');
    expect(ast.body.map((s: { type: string }) => s.type)).toEqual(['WithStatement', 'ReturnStatement']);
    expect(() => parseProgram('return 1;', 'module')).toThrow(SyntaxError);
  });

  it("reports acorn's error with a position", () => {
    expect(() => parseProgram('let x = ;', 'unknown')).toThrow(/Unexpected token \(1:8\)/);
  });

  it('reports each comment once per successful parse', () => {
    const seen: number[] = [];
    parseProgram('a.b; /* c */ d.e; // f\n', 'unknown', (s, e) => seen.push(s, e));
    expect(seen).toEqual([5, 12, 18, 22]);
  });
});
