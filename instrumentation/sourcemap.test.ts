import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { transformSync } from 'esbuild';
import remapping from '@jridgewell/remapping';
import {
  composeEdit,
  editMappings,
  encodeDecoded,
  extractInlineSourceMap,
  inlineSourceMapComment,
  lineStarts,
  parseSourceMap,
  SourceMap,
} from './sourcemap.ts';

describe('SourceMap', () => {
  const ts = [
    'type Id = number;',
    'export class Account {',
    '  balance: number = 0;',
    '  deposit(amount: Id): void {',
    '    this.balance += amount;',
    '  }',
    '}',
    '',
  ].join('\n');

  it('maps esbuild output back to TypeScript (line 1-based, column 0-based)', () => {
    const r = transformSync(ts, { loader: 'ts', sourcemap: true, sourcefile: '/src/account.ts' });
    const m = new SourceMap(r.map, 'file:///src/account.js');
    const lines = r.code.split('\n');
    const gl = lines.findIndex((l) => l.includes('this.balance +='));
    const col = lines[gl].indexOf('this.balance');
    const p = m.originalPositionFor(gl + 1, col);
    expect(p.source).toBe('file:///src/account.ts');
    expect(p.line).toBe(5);
    expect(p.column).toBe(4);
    expect(m.sourceContent(0)).toBe(ts);
  });

  it('returns no source before the first segment of a line and past the last line', () => {
    const m = new SourceMap({ version: 3, sources: ['a.js'], names: [], mappings: 'EAAA' });
    expect(m.originalPositionFor(1, 0).source).toBeNull();
    expect(m.originalPositionFor(1, 2).line).toBe(1);
    expect(m.originalPositionFor(1, 100).column).toBe(0);
    expect(m.originalPositionFor(7, 0).source).toBeNull();
  });

  it('applies sourceRoot and resolves against the map URL', () => {
    const m = new SourceMap({ version: 3, sourceRoot: 'src', sources: ['x.ts'], names: [], mappings: 'AAAA' }, 'file:///app/dist/x.js');
    expect(m.resolvedSources[0]).toBe('file:///app/dist/src/x.ts');
  });

  it('reads inline maps (base64 and percent-encoded) and ignores other comments', () => {
    const map = { version: 3, sources: ['s.ts'], names: [], mappings: 'AAAA' };
    const code = `let a = 1;\n${inlineSourceMapComment(map)}\n`;
    expect(extractInlineSourceMap(code)?.map.sources).toEqual(['s.ts']);
    const pct = `x;\n//# sourceMappingURL=data:application/json,${encodeURIComponent(JSON.stringify(map))}`;
    expect(extractInlineSourceMap(pct)?.map.mappings).toBe('AAAA');
    expect(extractInlineSourceMap('x;\n//# sourceMappingURL=x.js.map\n')).toBeUndefined();
    // the last comment wins
    const two = `${inlineSourceMapComment({ ...map, sources: ['old.ts'] })}\nlet b;\n${inlineSourceMapComment(map)}`;
    expect(extractInlineSourceMap(two)?.map.sources).toEqual(['s.ts']);
  });

  it('flattens index maps', () => {
    const raw = parseSourceMap({
      version: 3,
      sections: [
        { offset: { line: 0, column: 0 }, map: { version: 3, sources: ['a.js'], names: [], mappings: 'AAAA' } },
        { offset: { line: 1, column: 4 }, map: { version: 3, sources: ['b.js'], names: [], mappings: 'AACA' } },
      ],
    } as never);
    const m = new SourceMap(raw);
    expect(m.originalPositionFor(2, 4)).toMatchObject({ source: 'b.js', line: 2, column: 0 });
    expect(m.originalPositionFor(1, 0)).toMatchObject({ source: 'a.js', line: 1, column: 0 });
  });

  it('rejects what is not a v3 map', () => {
    expect(() => parseSourceMap('{"version":2}')).toThrow(/version/);
    expect(() => parseSourceMap('[]')).toThrow();
  });
});

describe('lineStarts', () => {
  it('counts ECMAScript line terminators like V8', () => {
    expect(Array.from(lineStarts('a\nb\r\nc\rd\u2028e'))).toEqual([0, 2, 5, 7, 9]);
  });
});

describe('editMappings and composeEdit', () => {
  it('identity: shifts columns after insertions and maps inserted text to its offset', () => {
    // "ab.c" with 3 chars inserted before "ab" and 1 after it
    const code = 'ab.c\nxy';
    const out = editMappings(lineStarts(code), [{ offset: 0, length: 3 }, { offset: 2, length: 1 }], [3]);
    const m = new SourceMap({ version: 3, sources: ['s'], names: [], mappings: encodeDecoded(out) });
    expect(m.originalPositionFor(1, 0).column).toBe(0); // inserted text -> "a"
    expect(m.originalPositionFor(1, 3).column).toBe(0); // "a"
    expect(m.originalPositionFor(1, 5).column).toBe(2); // inserted ")" -> "."
    expect(m.originalPositionFor(1, 7).column).toBe(3); // "c" (anchor)
    expect(m.originalPositionFor(2, 1)).toMatchObject({ line: 2, column: 0 });
  });

  it('composed: output positions map through the input map', () => {
    const ts = 'const o: { p: number } = { p: 1 };\nexport const v: number = o.p;\n';
    const r = transformSync(ts, { loader: 'ts', sourcemap: true, sourcefile: 'o.ts' });
    const base = new SourceMap(r.map);
    const starts = lineStarts(r.code);
    const at = r.code.indexOf('o.p');
    const anchors = base.lines.flatMap((segs, l) => segs.map((s) => starts[l] + s[0]));
    const m = new SourceMap(composeEdit(editMappings(starts, [{ offset: at, length: 10 }, { offset: at + 1, length: 1 }], anchors), 'o.js', JSON.parse(r.map), 'o.js'));
    const line = r.code.slice(0, at).split('\n').length;
    const col = at - starts[line - 1];
    // the inserted text and the object map to `o` in the TypeScript source
    expect(m.originalPositionFor(line, col)).toMatchObject({ line: 2, column: 25 });
    expect(m.originalPositionFor(line, col + 10)).toMatchObject({ line: 2, column: 25 });
    // an unedited line is unchanged
    expect(m.originalPositionFor(1, 0)).toMatchObject(base.originalPositionFor(1, 0));
  });

  it('mapTo sends the text after an insertion to another offset', () => {
    const code = 'f(x)';
    const out = editMappings(lineStarts(code), [{ offset: 0, length: 2 }, { offset: 1, length: 1, mapTo: 0 }], []);
    const m = new SourceMap({ version: 3, sources: ['s'], names: [], mappings: encodeDecoded(out) });
    expect(m.originalPositionFor(1, 4).column).toBe(0); // "(" reported by V8 for (s,f)(x) -> f
  });
});

describe('composeEdit against remapping (the reference it replaces)', () => {
  /** every segment as (generated line:col -> resolved source, line, col, name), the form two equal maps share */
  const positions = (raw: { sources: Array<string | null>; names: string[]; mappings: string }): string[] => {
    const m = new SourceMap({ version: 3, sources: raw.sources, names: raw.names, mappings: raw.mappings });
    return m.lines.flatMap((segs, l) =>
      segs.map((s) => (s.length === 1 ? `${l}:${s[0]}` : `${l}:${s[0]} ${raw.sources[s[1]]} ${s[2]}:${s[3]} ${s.length === 5 ? raw.names[s[4]] : ''}`)),
    );
  };

  it('gives the same segments as remapping on compiled runtime sources with insertions everywhere', () => {
    const dir = new URL('../runtime/', import.meta.url);
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')).slice(0, 8);
    expect(files.length).toBeGreaterThan(3);
    let compared = 0;
    for (const f of files) {
      const r = transformSync(readFileSync(new URL(f, dir), 'utf8'), { loader: 'ts', sourcemap: 'external', sourcesContent: true, sourcefile: f, minifyWhitespace: true });
      const input = JSON.parse(r.map);
      const base = new SourceMap(input, 'file:///p/' + f);
      const starts = lineStarts(r.code);
      // an insertion before every 7th character and every dot (as the transform's site stores land)
      const insertions = [];
      for (let i = 0; i < r.code.length; i++) if (i % 7 === 0 || r.code[i] === '.') insertions.push({ offset: i, length: 1 + (i % 5), mapTo: i % 3 === 0 ? Math.max(0, i - 1) : undefined });
      const anchors = base.lines.flatMap((segs, l) => segs.map((s) => starts[l] + s[0]));
      const edit = editMappings(starts, insertions, anchors);
      const ours = composeEdit(edit, 'file:///p/' + f, base, f);
      const theirs = remapping({ version: 3, file: f, sources: ['file:///p/' + f], names: [], mappings: edit }, (_s, ctx) => (ctx.depth === 1 ? input : null));
      const a = positions(ours);
      expect(a).toEqual(positions(theirs as never));
      const content = (m: { sourcesContent?: Array<string | null> | null }) => (m.sourcesContent ?? []).filter((c) => c != null);
      expect(content(ours)).toEqual(content(theirs));
      if (f === files[0]) expect(content(ours)).toEqual([readFileSync(new URL(f, dir), 'utf8')]);
      compared += a.length;
    }
    expect(compared).toBeGreaterThan(2_000);
  });

  it('a null source and a sourceless segment come out as in remapping', () => {
    const input = { version: 3, sources: ['a.ts', null], names: ['n'], mappings: 'AAAAA,EAAE,ECAA,E' };
    const edit = [[[0, 0, 0, 0], [1, 0, 0, 2], [3, 0, 0, 4], [5, 0, 0, 6], [9, 0, 0, 9]]] as never;
    const ours = composeEdit(edit, 'file:///p/x.js', input as never, 'x.js');
    const theirs = remapping({ version: 3, sources: ['file:///p/x.js'], names: [], mappings: edit }, (_s, ctx) => (ctx.depth === 1 ? (input as never) : null));
    expect(positions(ours)).toEqual(positions(theirs as never));
    expect(positions(ours).some((p) => !p.includes(' '))).toBe(true);
  });
});
