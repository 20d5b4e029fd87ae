/**
 * PyPy-STM markers → stmscope code sites.
 *
 * A marker is the innermost interpreter position only (a "single-entry
 * traceback", ../shared/reference/pypy-stm.md §5), expanded by PyPy as
 *
 * ```
 * File "<co_filename>", line <N>, in <co_name> (#<bytecode index>)   (c8; the suffix since 605cad75)
 * File "<co_filename>", line <N>, in <co_name>                       (c7)
 * ```
 *
 * Long names are cut with `<`/`>` by PyPy and kept as they are. Without an
 * expander the marker is the raw 8-byte odd number. Each distinct marker must
 * stay a distinct location (print_stm_log.py groups by the exact marker
 * bytes), so the bytecode index becomes the column (index + 1; stmscope
 * columns are 1-based, 0 = unknown) and markers that are not `File …` text
 * keep their whole text as the file name, with line 0.
 */

/** A marker resolved to the pieces of a stmscope site. */
export interface MarkerSite {
  /** Identity of the marker (its exact bytes as text): equal keys ⇔ one site. */
  key: string;
  file: string;
  /** 1-based, 0 when the marker names no line. */
  line: number;
  /** bytecode index + 1 when the marker has `(#N)`, else 0. */
  column: number;
  function: string;
}

const MARKER_RE = /^File "(.*)", line (\d+), in (.*?)(?: \(#(\d+)\))?$/s;
const utf8 = new TextDecoder('utf-8', { fatal: true });
const latin1 = new TextDecoder('latin1');

function hexOf(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += b[i].toString(16).padStart(2, '0');
  return s;
}

/** Decodes marker bytes as text: UTF-8 when valid, else Latin-1 (Python 2 byte strings). */
export function markerText(b: Uint8Array): string {
  try {
    return utf8.decode(b);
  } catch {
    return latin1.decode(b);
  }
}

/** Resolves a non-empty marker. */
export function parseMarker(b: Uint8Array): MarkerSite {
  // The default expander writes the raw odd number (x86-64: 8 bytes, little-endian).
  if (b.length === 8 && (b[0] & 1) === 1) {
    let hex = '';
    for (let i = 7; i >= 0; i--) hex += b[i].toString(16).padStart(2, '0');
    const num = `0x${hex.replace(/^0+(?=.)/, '')}`;
    return { key: `raw:${hexOf(b)}`, file: `(PyPy-STM marker ${num})`, line: 0, column: 0, function: '' };
  }
  const text = markerText(b);
  const m = MARKER_RE.exec(text);
  if (m) {
    const line = Number(m[2]);
    const index = m[4] === undefined ? -1 : Number(m[4]);
    return {
      key: text,
      file: m[1],
      line: Number.isSafeInteger(line) ? line : 0,
      column: index >= 0 && index < 0xfffffffe ? index + 1 : 0,
      function: m[3],
    };
  }
  // Any other text (a custom expander): printable text is the "file", binary junk its hex.
  // eslint-disable-next-line no-control-regex
  const printable = !/[\u0000-\u0008\u000e-\u001f\u007f]/.test(text);
  return printable
    ? { key: text, file: text, line: 0, column: 0, function: '' }
    : { key: `raw:${hexOf(b)}`, file: `(PyPy-STM marker bytes ${hexOf(b)})`, line: 0, column: 0, function: '' };
}
