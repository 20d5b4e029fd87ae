import { describe, expect, it } from 'vitest';
import * as zlib from 'node:zlib';
import { crc32, useNativeCrc32 } from './crc32.ts';

const ascii = (s: string) => new TextEncoder().encode(s);

describe('crc32', () => {
  it('matches the standard check value', () => {
    // The CRC-32 "check" value of the catalogue of parametrised CRCs.
    expect(crc32(ascii('123456789'))).toBe(0xcbf43926);
  });

  it('is 0 for no bytes and matches zlib for a pangram', () => {
    expect(crc32(new Uint8Array(0))).toBe(0);
    expect(crc32(ascii('The quick brown fox jumps over the lazy dog'))).toBe(0x414fa339);
  });

  it('matches a bitwise reference on unaligned buffers of every length', () => {
    const ref = (b: Uint8Array) => {
      let c = ~0;
      for (const x of b) {
        c ^= x;
        for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      }
      return ~c >>> 0;
    };
    const data = new Uint8Array(300).map((_, i) => (i * 131 + 7) & 0xff);
    for (let off = 0; off < 5; off++) {
      for (const len of [0, 1, 15, 16, 17, 63, 64, 65, 100, 250]) {
        const v = data.subarray(off, off + len);
        expect(crc32(v)).toBe(ref(v));
      }
    }
  });

  it('continues across arbitrary splits and sub-ranges', () => {
    const data = new Uint8Array(1000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919) & 0xff;
    const whole = crc32(data);
    for (const cut of [0, 1, 7, 8, 9, 500, 999, 1000]) {
      expect(crc32(data, crc32(data, 0, 0, cut), cut)).toBe(whole);
    }
    expect(crc32(data, 0, 10, 20)).toBe(crc32(data.subarray(10, 20)));
  });

  it('gives the same values with a native implementation installed (whole, continued, sub-ranges)', () => {
    const buf = new Uint8Array(70_001);
    for (let i = 0; i < buf.length; i++) buf[i] = (i * 2654435761) >>> 24;
    const cases = (): number[] => [crc32(buf), crc32(buf, crc32(buf, 0, 0, 1000), 1000), crc32(buf, 0, 3, 60_003), crc32(buf, 0, 7, 300), crc32(buf, 0, 5, 100)];
    const tables = cases();
    let calls = 0;
    useNativeCrc32((d, v) => (calls++, zlib.crc32(d, v)));
    try {
      expect(cases()).toEqual(tables);
      expect(calls).toBe(5); // all but the 95-byte range, which stays on the tables
    } finally {
      useNativeCrc32(null);
    }
    expect(tables[1]).toBe(tables[0]);
  });
});
