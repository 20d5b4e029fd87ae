import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInThisContext } from 'node:vm';
import { transformSync } from 'esbuild';
import { instrument } from './transform.ts';
import { attachFrameMapping, mapStackFrame, sourceLineText } from './sourcemap-node.ts';
import { siteRegistry } from '../runtime/sites.ts';

/** Runs instrumented `code` as a script named `url`, calls globalThis.__fail() and returns its top frame. */
function failFrame(code: string, url: string): { line: number; column: number } {
  siteRegistry(); // as installInstrumentation does before any user module runs
  const out = instrument(code, url, { sourceType: 'script' });
  expect(out.skipped).toBeUndefined();
  runInThisContext(out.code, { filename: url });
  const g = globalThis as { __fail?: () => void };
  const prev = Error.prepareStackTrace;
  try {
    Error.prepareStackTrace = (_e, cs) => cs;
    g.__fail!();
  } catch (e) {
    const cs = (e as { stack: NodeJS.CallSite[] }).stack[0];
    expect(cs.getFileName()).toBe(url);
    return { line: cs.getLineNumber()!, column: cs.getColumnNumber()! };
  } finally {
    Error.prepareStackTrace = prev;
    delete g.__fail;
  }
  throw new Error('did not fail');
}

describe('mapStackFrame', () => {
  it('maps a V8 frame of instrumented JavaScript back to the original column', () => {
    const url = 'file:///t/frames-plain.js';
    const src = 'globalThis.__fail = function () {\n  const o = { p: null };\n  return (o.p).q.r;\n};\n';
    const f = failFrame(src, url);
    expect(f.column).not.toBe(src.split('\n')[2].indexOf('.q') + 2); // the generated column moved
    expect(mapStackFrame(url, f.line, f.column)).toEqual({ file: '/t/frames-plain.js', line: 3, column: src.split('\n')[2].indexOf('q.r') + 1, functionName: '' });
  });

  it('maps through the TypeScript compiler map to the .ts line', () => {
    const url = 'file:///t/frames-ts.ts';
    const ts = 'type T = { a: { b: number } | null };\n(globalThis as any).__fail = function (): number {\n  const o: T = { a: null };\n  return o.a!.b;\n};\n';
    const js = transformSync(ts, { loader: 'ts', sourcemap: 'inline', sourcefile: '/t/frames-ts.ts', minifyWhitespace: true }).code;
    const f = failFrame(js, url);
    expect(f.line).toBe(1);
    expect(mapStackFrame(url, f.line, f.column)).toMatchObject({ file: '/t/frames-ts.ts', line: 4 });
  });

  it('is undefined for unknown modules and unmapped positions', () => {
    expect(mapStackFrame('file:///t/never-registered.js', 1, 1)).toBeUndefined();
  });

  it('is installed on the registry by attachFrameMapping', () => {
    const reg = siteRegistry();
    attachFrameMapping(reg);
    expect(typeof reg.mapFrame).toBe('function');
    expect(typeof reg.lineText).toBe('function');
  });
});

describe('sourceLineText', () => {
  it('reads trimmed lines of files (paths or file: URLs)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stmscope-lines-'));
    try {
      const f = join(dir, 'a.ts');
      writeFileSync(f, 'first\n   second line  \r\nthird');
      expect(sourceLineText(f, 2)).toBe('second line');
      expect(sourceLineText(`file://${f}`, 3)).toBe('third');
      expect(sourceLineText(f, 9)).toBeUndefined();
      expect(sourceLineText(join(dir, 'missing.ts'), 1)).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
