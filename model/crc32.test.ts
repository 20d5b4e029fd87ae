import { describe, expect, it } from 'vitest';
import { crc32 } from './crc32.ts';

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

  it('continues across arbitrary splits and sub-ranges', () => {
    const data = new Uint8Array(1000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919) & 0xff;
    const whole = crc32(data);
    for (const cut of [0, 1, 7, 8, 9, 500, 999, 1000]) {
      expect(crc32(data, crc32(data, 0, 0, cut), cut)).toBe(whole);
    }
    expect(crc32(data, 0, 10, 20)).toBe(crc32(data.subarray(10, 20)));
  });
});
