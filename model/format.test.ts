import { describe, expect, it } from 'vitest';
import {
  CHUNK_FLAG_CRITICAL,
  ChunkType,
  FormatError,
  RecordingDecoder,
  RecordingEncoder,
  concatBytes,
  currentDescription,
  decodeRecording,
  encodeChunk,
  encodeHeader,
  encodeRecording,
  fourCC,
  type DecoderSink,
  type RecordingDescription,
} from './format.ts';
import { EVENT_TABLE, Ev, RECORD_WORDS, header } from './records.ts';
import { rec } from './testing/builder.ts';

/** Collects everything a decoder delivers. */
function collector() {
  const got = { records: [] as number[][], meta: undefined as unknown, end: undefined as unknown, unknown: [] as string[] };
  const sink: DecoderSink = {
    records(w, first, count) {
      for (let i = first; i < first + count; i++) got.records.push(Array.from(w.subarray(i * 8, i * 8 + 8)));
    },
    meta: (m) => (got.meta = m),
    end: (e) => (got.end = e),
    unknownChunk: (t) => got.unknown.push(t),
  };
  return { got, sink };
}

/** Three plain records: start, commit on worker 1, start on worker 2. */
function threeRecords(): Uint32Array {
  return new Uint32Array([
    header(Ev.TxStart, 1), 1, 100, 0, 0, 0, 0, 0,
    header(Ev.TxCommit, 1), 1, 200, 0, 3, 1, 0, 7,
    header(Ev.TxStart, 2), 1, 150, 0, 0, 0, 0, 0,
  ]);
}

describe('recording format', () => {
  it('round-trips meta, records and end', () => {
    const bytes = encodeRecording({ meta: { argv: ['node', 'a.js'], pid: 42 }, records: threeRecords(), end: { durationNs: 300 } });
    const { got, sink } = collector();
    const st = decodeRecording(bytes, sink);
    expect(st).toMatchObject({ complete: true, chunks: 3, records: 3, bytes: bytes.length, warnings: [] });
    expect(st.message).toBeUndefined();
    expect(got.meta).toEqual({ argv: ['node', 'a.js'], pid: 42 });
    expect(got.end).toEqual({ records: 3, durationNs: 300 });
    expect(got.records[1]).toEqual([header(Ev.TxCommit, 1), 1, 200, 0, 3, 1, 0, 7]);
  });

  it('puts the event table in the header and keeps chunks 8-byte aligned', () => {
    const h = encodeHeader();
    expect(new TextDecoder().decode(h.subarray(0, 8))).toBe('STMSCOPE');
    expect(h.length % 8).toBe(0);
    const desc = JSON.parse(new TextDecoder().decode(h.subarray(16, 16 + new DataView(h.buffer).getUint32(12, true))));
    expect(desc.events.map((e: { name: string }) => e.name)).toContain('tx_abort');
    expect(desc.recordBytes).toBe(32);
    expect(encodeChunk(ChunkType.Meta, new Uint8Array(5)).length).toBe(16 + 8);
  });

  it('decodes the same stream split at every possible byte', () => {
    const bytes = rec({ meta: { pid: 1 } }).worker(1).start(0).commit(10).worker(2).start(5).commit(20).bytes({ chunkRecords: 2 });
    const whole = collector();
    decodeRecording(bytes, whole.sink);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const part = collector();
      const d = new RecordingDecoder(part.sink);
      d.feed(bytes.subarray(0, cut));
      d.feed(bytes.subarray(cut));
      expect(d.finish().complete).toBe(true);
      expect(part.got.records).toEqual(whole.got.records);
    }
    // …and fed one byte at a time.
    const one = collector();
    const d = new RecordingDecoder(one.sink);
    for (let i = 0; i < bytes.length; i++) d.feed(bytes.subarray(i, i + 1));
    expect(d.finish()).toMatchObject({ complete: true });
    expect(one.got.records).toEqual(whole.got.records);
  });

  it('decodes records from unaligned buffers', () => {
    const bytes = encodeRecording({ records: threeRecords(), end: {} });
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    const { got, sink } = collector();
    expect(decodeRecording(shifted.subarray(3), sink).complete).toBe(true);
    expect(got.records.length).toBe(3);
  });

  it('reports a truncated file and keeps every complete chunk', () => {
    const bytes = rec().worker(1).start(0).commit(10).start(20).commit(30).bytes({ chunkRecords: 2 });
    const cut = bytes.subarray(0, bytes.length - 30); // inside the END chunk
    const { got, sink } = collector();
    const st = decodeRecording(cut, sink);
    expect(st.complete).toBe(false);
    expect(st.problem?.kind).toBe('truncated');
    expect(got.records.length).toBe(4);
    expect(st.message).toMatch(/truncated/);
    expect(st.message).toMatch(/incomplete END chunk/);
    expect(st.message).toMatch(/the 2 chunk\(s\) \(4 records\) before it were read/);
  });

  it('stops at a chunk with a bad checksum and says how much was lost', () => {
    const bytes = rec().worker(1).start(0).commit(10).start(20).commit(30).bytes({ chunkRecords: 2 });
    const headerLen = 16 + ((new DataView(bytes.buffer).getUint32(12, true) + 7) & ~7) + 8;
    const bad = bytes.slice();
    const secondChunkPayload = headerLen + (16 + 64) + 16;
    bad[secondChunkPayload + 9] ^= 0xff; // flip a bit in the second RECS chunk
    const { got, sink } = collector();
    const st = decodeRecording(bad, sink);
    expect(got.records.length).toBe(2);
    expect(st.problem).toMatchObject({ kind: 'checksum', offset: headerLen + 80, unreadBytes: bytes.length - headerLen - 80 });
    expect(st.message).toMatch(/Chunk 2 at byte [\d,]+ \(RECS, 64 bytes\) fails its checksum/);
  });

  it('counts bytes fed after a failure as unread', () => {
    const good = encodeRecording({ records: threeRecords() });
    const bad = good.slice();
    bad[bad.length - 1] ^= 1;
    const d = new RecordingDecoder(collector().sink);
    d.feed(bad);
    d.feed(new Uint8Array(100));
    expect(d.finish().problem?.unreadBytes).toBe(16 + 96 + 100);
  });

  it('rejects a chunk longer than the limit before buffering it', () => {
    const bytes = encodeRecording({ records: threeRecords() });
    const d = new RecordingDecoder(collector().sink, { maxChunkBytes: 64 });
    d.feed(bytes);
    const st = d.finish();
    expect(st.problem?.kind).toBe('oversized');
    expect(st.message).toMatch(/declares 96 bytes, over the 64 bytes limit/);
  });

  it('names foreign input clearly', () => {
    const sink = collector().sink;
    expect(() => decodeRecording(new TextEncoder().encode('{"schema":"stmscope.report/1"}'), sink)).toThrow(
      /not an stmscope recording: expected the bytes "STMSCOPE" at the start, found 7b 22 .*perhaps a report/,
    );
    expect(() => decodeRecording(new Uint8Array([0x1f, 0x8b, 8, 0]), sink)).toThrow(/gzip/);
    expect(() => decodeRecording(new TextEncoder().encode('STMGC-C8-PROF01\n'), sink)).toThrow(/PyPy-STM log/);
    expect(() => decodeRecording(new Uint8Array(0), sink)).toThrow(/empty/);
    expect(() => decodeRecording(new TextEncoder().encode('STMSC'), sink)).toThrow(/inside the file header/);
    const rnd = new Uint8Array(64).map((_, i) => (i * 97 + 13) & 0xff);
    expect(() => decodeRecording(rnd, sink)).toThrow(FormatError);
  });

  it('refuses a newer major version and a corrupt header', () => {
    const h = encodeHeader();
    const newer = h.slice();
    newer[8] = 2;
    expect(() => decodeRecording(newer, collector().sink)).toThrow(/format 2\.0, newer than this stmscope reads/);
    const corrupt = h.slice();
    corrupt[20] ^= 1;
    expect(() => decodeRecording(corrupt, collector().sink)).toThrow(/corrupt recording header: checksum/);
  });

  it('skips unknown chunks, stops at unknown critical ones', () => {
    const enc: Uint8Array[] = [];
    const e = new RecordingEncoder((b) => enc.push(b));
    e.records(threeRecords(), 0, 1);
    e.chunk(fourCC('XTRA'), new Uint8Array([1, 2, 3]));
    e.records(threeRecords(), 1, 2);
    e.end();
    const { got, sink } = collector();
    const st = decodeRecording(concatBytes(enc), sink);
    expect(got.records.length).toBe(3);
    expect(got.unknown).toEqual(['XTRA']);
    expect(st.warnings).toContain('skipped 1 chunk(s) of unknown type "XTRA"');

    const enc2: Uint8Array[] = [];
    const e2 = new RecordingEncoder((b) => enc2.push(b));
    e2.chunk(fourCC('ZSTD'), new Uint8Array(8), CHUNK_FLAG_CRITICAL);
    e2.records(threeRecords());
    const st2 = decodeRecording(concatBytes(enc2), collector().sink);
    expect(st2.problem?.kind).toBe('unsupported');
    expect(st2.message).toMatch(/"ZSTD".*critical: upgrade stmscope/);
  });

  it('warns when the END chunk is missing', () => {
    const st = decodeRecording(encodeRecording({ records: threeRecords() }), collector().sink);
    expect(st.complete).toBe(false);
    expect(st.problem).toBeUndefined();
    expect(st.message).toMatch(/no END chunk/);
  });

  it('splits big record batches between events, never inside a definition', () => {
    const b = rec({ encoder: { maxChunkBytes: 96 } });
    const s = b.site('a-very-long-file-name-to-need-two-string-records.ts:1:1');
    b.worker(1).start(0, { site: s }).commit(1).start(2, { site: s }).commit(3);
    const words = b.records();
    const chunks: number[] = [];
    const { got, sink } = collector();
    const d = new RecordingDecoder({ ...sink, records: (w, f, n) => (chunks.push(n), sink.records(w, f, n)) });
    d.feed(b.bytes());
    d.finish();
    expect(got.records.flat()).toEqual(Array.from(words));
    // The file-name string spans 3 records, the site 2: no chunk starts inside them.
    expect(chunks.every((n) => n <= 3)).toBe(true);
    expect(() => new RecordingEncoder(() => {}, { maxChunkBytes: 32 }).records(words)).toThrow(/does not fit in one chunk/);
  });

  it('maps codes, words and enumerations by name from a writer that renumbered them', () => {
    // A hypothetical future writer: tx_start is code 40, its "site" field moved
    // to word 7, and the conflict kinds list gained a kind in front.
    const desc: RecordingDescription = currentDescription('future');
    desc.events = EVENT_TABLE.map((e) =>
      e.name === 'tx_start'
        ? { ...e, code: 40, fields: e.fields.map((f) => (f.name === 'site' ? { ...f, word: 7 } : f)) }
        : e.name === 'tx_abort'
          ? { ...e, code: 41 }
          : e,
    );
    desc.events.push({ code: 50, name: 'gc_pause', definition: false, fields: [] });
    desc.events.push({ code: 60, name: 'def_blob', definition: true, fields: [] });
    desc.enums['tx_abort.kind'] = ['read-write', 'write-read', 'write-write', 'inevitable', 'user-abort'];
    const records = new Uint32Array([
      header(40, 1), 1, 100, 0, 0, 0, 0, 77, // tx_start with site 77 in word 7
      header(50, 1), 1, 110, 0, 9, 9, 9, 9, // unknown event
      header(60, 1, 2), 0, 0, 0, 1, 2, 3, 4, // unknown definition spanning 2 records
      9, 9, 9, 9, 9, 9, 9, 9,
      header(41, 1), 1, 120, 0, 2, 5, 0, 3, // tx_abort kind 2 = write-write in the new list
    ]);
    const h = encodeHeader(desc);
    const body = encodeChunk(ChunkType.Records, new Uint8Array(records.buffer));
    const { got, sink } = collector();
    const st = decodeRecording(concatBytes([h, body]), sink);
    expect(got.records[0]).toEqual([header(Ev.TxStart, 1), 1, 100, 0, 0, 77, 0, 0]);
    expect(got.records[1][0] & 0xff).toBe(0);
    expect(got.records[2][0] & 0xff).toBe(255);
    expect(got.records[2][0] >>> 16).toBe(2);
    expect(got.records[4]).toEqual([header(Ev.TxAbort, 1), 1, 120, 0, 1, 5, 0, 3]);
    expect(st.warnings.join()).toMatch(/skipped 2 event\(s\) this reader does not know \(gc_pause, def_blob\)/);
  });

  it('delivers records in the middle of big multi-frame chunks only when complete', () => {
    const words = new Uint32Array(1000 * RECORD_WORDS);
    for (let i = 0; i < 1000; i++) words.set([header(Ev.TxStart, 1), i, i, 0, 0, 0, 0, 0], i * 8);
    const bytes = encodeRecording({ records: words, end: {} });
    let n = 0;
    const d = new RecordingDecoder({ records: (_w, _f, c) => (n += c) });
    for (let i = 0; i < bytes.length; i += 4096) {
      d.feed(bytes.subarray(i, i + 4096));
      if (i + 4096 < bytes.length - 100) expect(n).toBe(0);
    }
    expect(d.finish().complete).toBe(true);
    expect(n).toBe(1000);
  });
});
