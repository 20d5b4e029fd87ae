import { describe, expect, it } from 'vitest';
import { Aggregator } from './aggregate.ts';
import { EventAssembler } from './assemble.ts';
import { Definitions } from './defs.ts';
import { CheckpointError, packArray, unpackArray } from './checkpoint.ts';
import { bankSample, writeSyntheticRecording } from './testing/index.ts';
import { concatBytes, decodeRecording } from './format.ts';

function pipeline() {
  const defs = new Definitions();
  const aggregator = new Aggregator(defs);
  const assembler = new EventAssembler(defs, aggregator);
  aggregator.useAssembler(assembler);
  return { defs, aggregator, assembler };
}

/** Record indexes where an event starts (never inside a definition). */
function eventStarts(words: Uint32Array): number[] {
  const out: number[] = [];
  const n = words.length / 8;
  for (let i = 0; i < n; ) {
    out.push(i);
    const w0 = words[i * 8];
    i += (w0 & 0xff) >= 32 ? Math.max(1, w0 >>> 16) : 1;
  }
  out.push(n);
  return out;
}

/** The definition records among words [0, end). */
function definitionsOf(words: Uint32Array, end: number): Uint32Array {
  const keep: number[] = [];
  for (let i = 0; i < end; ) {
    const w0 = words[i * 8];
    const span = (w0 & 0xff) >= 32 ? Math.max(1, w0 >>> 16) : 1;
    if ((w0 & 0xff) >= 32) for (let k = i; k < i + span; k++) keep.push(k);
    i += span;
  }
  const out = new Uint32Array(keep.length * 8);
  keep.forEach((k, j) => out.set(words.subarray(k * 8, k * 8 + 8), j * 8));
  return out;
}

/** Snapshot of a pipeline that saw [0, cut), was checkpointed through JSON, and continued in a fresh one. */
function resumedAt(words: Uint32Array, cut: number) {
  const a = pipeline();
  a.assembler.records(words, 0, cut);
  const state = JSON.parse(JSON.stringify({ agg: a.aggregator.saveState(), asm: a.assembler.saveState() }));
  // later events must not change a checkpoint already taken
  a.assembler.records(words, cut, words.length / 8 - cut);
  const b = pipeline();
  const defs = definitionsOf(words, cut);
  b.assembler.records(defs, 0, defs.length / 8);
  b.assembler.loadState(state.asm);
  b.aggregator.loadState(state.agg);
  b.assembler.records(words, cut, words.length / 8 - cut);
  b.assembler.flush();
  return b.aggregator.snapshot();
}

describe('checkpoints of the aggregator and the assembler', () => {
  it('continue exactly where they were taken, at every event boundary of a recording with every kind of event', () => {
    const words = bankSample().records();
    const whole = pipeline();
    whole.assembler.records(words, 0, words.length / 8);
    whole.assembler.flush();
    const expected = whole.aggregator.snapshot();
    expect(expected.summary.aborts).toBeGreaterThan(0);
    expect(expected.summary.blockedNs).toBeGreaterThan(0);
    expect(expected.summary.waitingNs).toBeGreaterThan(0);
    const starts = eventStarts(words);
    for (const cut of starts) expect(resumedAt(words, cut), `cut at record ${cut}`).toEqual(expected);
  });

  it('carry the time axis after it widened (a long stream)', () => {
    const pieces: Uint8Array[] = [];
    writeSyntheticRecording((b) => pieces.push(b), { events: 60_000, workers: 3, chunkRecords: 4096 });
    let all = new Uint32Array(0);
    decodeRecording(concatBytes(pieces), {
      records: (w, f, n) => {
        const next = new Uint32Array(all.length + n * 8);
        next.set(all);
        next.set(w.subarray(f * 8, (f + n) * 8), all.length);
        all = next;
      },
    });
    const whole = pipeline();
    whole.assembler.records(all, 0, all.length / 8);
    whole.assembler.flush();
    const starts = eventStarts(all);
    const cut = starts[Math.floor(starts.length * 0.6)];
    const got = resumedAt(all, cut);
    expect(got).toEqual(whole.aggregator.snapshot());
    expect(got.timeline.bucketNs).toBeGreaterThan(1024);
  });

  it('refuse a state that does not fit, naming the field', () => {
    const a = pipeline();
    const s = a.aggregator.saveState();
    const other = new Aggregator(new Definitions(), { maxHotObjects: 5 });
    expect(() => other.loadState(s)).toThrow(CheckpointError);
    expect(() => other.loadState(s)).toThrow(/limits/);
    const bad = { ...a.assembler.saveState(), arrays: [] };
    expect(() => pipeline().assembler.loadState(bad)).toThrow(/arrays/);
    expect(() => unpackArray({ $: 'Float64Array', n: 3, i: [0], v: [1] }, new Float64Array(4), 'x')).toThrow(/x is not a Float64Array\(4\)/);
  });

  it('pack typed arrays sparsely and exactly (infinities included)', () => {
    const a = new Float64Array(256);
    a[3] = 1.5;
    a[200] = -Infinity;
    a[7] = 2 ** 53;
    const p = JSON.parse(JSON.stringify(packArray(a)));
    expect(p.i).toEqual([3, 7, 200]);
    const b = new Float64Array(256).fill(9);
    unpackArray(p, b, 'a');
    expect(b).toEqual(a);
  });
});
