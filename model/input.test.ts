import { describe, expect, it } from 'vitest';
import { convertInput, detectInputKind, InputError, RecordingInput, toRecordingBytes } from './input.ts';
import { ingestBytes } from './ingest.ts';
import { bankSample } from './testing/samples.ts';
import { pypyLog } from './pypy/testing.ts';
import { PypyFormatError } from './pypy/convert.ts';

const enc = new TextEncoder();

function c8Log() {
  return pypyLog('c8-n16')
    .ev(0, 1, 'TRANSACTION_START')
    .ev(100, 1, 'CONTENTION_WRITE_READ', { marker: 'File "x.py", line 3, in f (#1)' })
    .ev(110, 1, 'TRANSACTION_ABORT')
    .ev(120, 1, 'TRANSACTION_START')
    .ev(200, 1, 'TRANSACTION_COMMIT')
    .bytes();
}

describe('detectInputKind', () => {
  it('tells recordings, both PyPy-STM logs and common mistakes apart', () => {
    expect(detectInputKind(bankSample().bytes()).kind).toBe('stmscope');
    expect(detectInputKind(enc.encode('STMGC-C7-PROF01\n')).kind).toBe('pypy-stm-c7');
    expect(detectInputKind(enc.encode('STMGC-C8-PROF01\n')).kind).toBe('pypy-stm-c8');
    expect(detectInputKind(new Uint8Array(0)).kind).toBe('empty');
    expect(detectInputKind(enc.encode('STMGC-C')).certain).toBe(false);
    expect(detectInputKind(new Uint8Array([0x1f, 0x8b, 8, 0])).description).toMatch(/: a gzip file \(decompress it first\)$/);
    expect(detectInputKind(enc.encode('{"traceEvents":[{"ph":"M"}]}')).description).toMatch(/a Chrome trace/);
    expect(detectInputKind(enc.encode('{"schema":"stmscope.report/1"}')).description).toMatch(/an stmscope report, not a recording/);
    expect(detectInputKind(enc.encode('STMGC-C9-PROF01\n')).description).toMatch(/unknown PyPy-STM log header "STMGC-C9-PROF01\\n"/);
    expect(detectInputKind(new Uint8Array([1, 2, 3, 250])).description).toMatch(/^01 02 03 fa \("\.\.\.\."\): data of an unknown kind$/);
  });
});

describe('toRecordingBytes', () => {
  it('passes recordings through unchanged', () => {
    const rec = bankSample().bytes();
    expect(toRecordingBytes(rec)).toBe(rec);
  });

  it('converts PyPy-STM logs so every reader takes them', () => {
    const { bytes, status } = convertInput(c8Log());
    expect(status.kind).toBe('pypy-stm-c8');
    expect(status.pypy).toMatchObject({ variant: 'c8-n16', records: 5 });
    const { ingest } = ingestBytes(bytes);
    expect(ingest.aggregator!.snapshot().summary).toMatchObject({ commits: 1, aborts: 1 });
    expect(ingest.meta?.importedFrom).toMatchObject({ format: 'PyPy-STM log', variant: 'c8-n16' });
  });

  it('passes the variant and META extras to the importer', () => {
    const { status, bytes } = convertInput(c8Log(), { pypy: { variant: 'c8-n16', meta: { cwd: '/src/app' } } });
    expect(status.pypy?.guessed).toBe(false);
    expect(ingestBytes(bytes).ingest.meta?.cwd).toBe('/src/app');
  });

  it('refuses anything else with a message naming what it found', () => {
    expect(() => toRecordingBytes(new Uint8Array(0))).toThrow(InputError);
    expect(() => toRecordingBytes(new Uint8Array(0))).toThrow(/not an stmscope recording: the input is empty \(stmscope reads recordings and PyPy-STM logs\)/);
    expect(() => toRecordingBytes(enc.encode('hello world, not a log'))).toThrow(
      /not an stmscope recording: expected the bytes "STMSCOPE" at the start, found 68 65 6c 6c 6f .*: text \(stmscope also reads PyPy-STM logs, which start with "STMGC-C7-PROF01" or "STMGC-C8-PROF01"\)/,
    );
    expect(() => toRecordingBytes(new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0]))).toThrow(/found 1f 8b 08 00 00 00 \(.*\): a gzip file \(decompress it first\)/);
    expect(() => toRecordingBytes(enc.encode('STMGC-C8-PROF01\n\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff'))).toThrow(PypyFormatError);
  });

  it('streams byte by byte into the same result', () => {
    const log = c8Log();
    for (const input of [log, bankSample().bytes()]) {
      const out: Uint8Array[] = [];
      const ri = new RecordingInput((b) => out.push(b.slice()));
      for (let i = 0; i < input.length; i++) ri.feed(input.subarray(i, i + 1));
      const st = ri.finish();
      const joined = new Uint8Array(out.reduce((n, b) => n + b.length, 0));
      let at = 0;
      for (const b of out) {
        joined.set(b, at);
        at += b.length;
      }
      const a = ingestBytes(joined).ingest.aggregator!.snapshot().summary;
      const b = ingestBytes(toRecordingBytes(input)).ingest.aggregator!.snapshot().summary;
      expect(a, st.kind).toEqual(b);
    }
  });
});
