/**
 * CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the checksum of zlib,
 * PNG and gzip, so any tool can verify a chunk.
 *
 * Table-driven "slicing-by-8" (Intel, Kounavis & Berry 2005): eight 256-entry
 * tables let the loop consume 8 bytes per iteration with independent lookups.
 * In V8 this runs at roughly 1-2 GB/s against ~400 MB/s for the classic
 * one-table byte loop; the decoder checksums every byte of a recording, so it
 * sits on the ingest hot path.
 */

const TABLES: Uint32Array = (() => {
  const t = new Uint32Array(256 * 8);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n];
    for (let s = 1; s < 8; s++) {
      c = t[c & 0xff] ^ (c >>> 8);
      t[s * 256 + n] = c >>> 0;
    }
  }
  return t;
})();

/**
 * Continues a CRC-32 over `bytes[start, end)`.
 *
 * @param crc the CRC of the preceding bytes (0 to start a new checksum)
 * @param start first byte index (default 0)
 * @param end one past the last byte index (default `bytes.length`)
 * @returns the CRC-32 of everything fed so far, as an unsigned 32-bit integer
 */
export function crc32(bytes: Uint8Array, crc = 0, start = 0, end = bytes.length): number {
  const t = TABLES;
  let c = ~crc;
  let i = start;
  const end8 = end - ((end - start) & 7);
  while (i < end8) {
    const a = (c ^ (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24))) >>> 0;
    c =
      t[1792 + (a & 0xff)] ^
      t[1536 + ((a >>> 8) & 0xff)] ^
      t[1280 + ((a >>> 16) & 0xff)] ^
      t[1024 + (a >>> 24)] ^
      t[768 + bytes[i + 4]] ^
      t[512 + bytes[i + 5]] ^
      t[256 + bytes[i + 6]] ^
      t[bytes[i + 7]];
    i += 8;
  }
  while (i < end) c = t[(c ^ bytes[i++]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
