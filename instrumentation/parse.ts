/**
 * The transform's parser choice, kept apart from the walk (transform.ts).
 *
 * meriyah (pure JavaScript, ESTree with `start`/`end` UTF-16 offsets like
 * acorn's) parses the transform benchmark's corpus about twice as fast as
 * acorn (interleaved warm passes in one process: 19–26 vs 10–12 MB/s on the
 * shared machine), and parsing was half of the transform's time. acorn stays
 * the reference: whatever meriyah rejects is parsed again with acorn, so code
 * acorn accepts is never skipped because of meriyah, and parse errors keep
 * acorn's messages. meriyah is loaded lazily and optionally: without it
 * (not installed) acorn does everything.
 *
 * oxc-parser 0.160 was measured too and lost (6–8 MB/s here): on Node 20 its
 * AST crosses from Rust as JSON text that JavaScript then parses;
 * `experimentalRawTransfer` (the fast path) needs Node ≥ 22.
 */
import { parse as acornParse, type Node as AcornNode, type Options as AcornOptions } from 'acorn';
import { createRequire } from 'node:module';

/** An ESTree node as acorn produces it (meriyah's are shaped the same), read loosely. */
export type AstNode = AcornNode & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Called for each comment with its start and end offsets. */
export type CommentListener = (start: number, end: number) => void;

type MeriyahParse = (code: string, opts: Record<string, unknown>) => AstNode;

let meriyah: MeriyahParse | null | undefined;

function loadMeriyah(): MeriyahParse | null {
  if (meriyah !== undefined) return meriyah;
  if (process.env.STMSCOPE_PARSER === 'acorn') return (meriyah = null);
  try {
    meriyah = (createRequire(import.meta.url)('meriyah') as { parse: MeriyahParse }).parse;
  } catch {
    meriyah = null; // not installed: acorn alone
  }
  return meriyah;
}

const ACORN_BASE: AcornOptions = { ecmaVersion: 'latest', allowHashBang: true, preserveParens: true };

function acornEither(code: string, sourceType: 'module' | 'script' | 'unknown', onComment?: CommentListener): AstNode {
  const listener: AcornOptions['onComment'] = onComment ? (_b, _t, start, end) => onComment(start, end) : undefined;
  if (sourceType !== 'script') {
    try {
      return acornParse(code, { ...ACORN_BASE, sourceType: 'module', onComment: listener }) as AstNode;
    } catch (e) {
      if (sourceType === 'module') throw e;
    }
  }
  return acornParse(code, { ...ACORN_BASE, sourceType: 'script', allowReturnOutsideFunction: true, onComment: listener }) as AstNode;
}

function meriyahEither(parse: MeriyahParse, code: string, sourceType: 'module' | 'script' | 'unknown', onComment?: CommentListener): AstNode {
  // webcompat: Annex B syntax (HTML comments, legacy octal) as acorn accepts it
  const base = {
    // start and end only: the `range` array per node costs a fifth of the parse
    ranges: { start: true, end: true },
    next: true,
    preserveParens: true,
    webcompat: true,
    onComment: onComment ? (_t: string, _v: string, start: number, end: number) => onComment(start, end) : undefined,
  };
  if (sourceType !== 'script') {
    try {
      return parse(code, { ...base, sourceType: 'module' });
    } catch (e) {
      if (sourceType === 'module') throw e;
    }
  }
  return parse(code, { ...base, sourceType: 'script', globalReturn: true });
}

/**
 * Forces a parser (benchmarks and tests compare them); `undefined` goes back
 * to the default (meriyah when installed and `STMSCOPE_PARSER` is not `acorn`).
 */
export function useParser(name: 'meriyah' | 'acorn' | undefined): void {
  meriyah = undefined;
  if (name === 'acorn') meriyah = null;
  else if (loadMeriyah() === null && name === 'meriyah') throw new Error('meriyah is not installed');
}

/** The parser in use: `'meriyah'`, or `'acorn'` (meriyah missing, or `STMSCOPE_PARSER=acorn`). */
export function parserName(): 'meriyah' | 'acorn' {
  return loadMeriyah() ? 'meriyah' : 'acorn';
}

/**
 * Parses `code` as a module (or, for `'unknown'`, a module then a script;
 * scripts may `return` at top level and start with a hashbang). Parentheses
 * are kept as ParenthesizedExpression nodes. Throws acorn's SyntaxError when
 * neither parser accepts the code.
 */
export function parseProgram(code: string, sourceType: 'module' | 'script' | 'unknown', onComment?: CommentListener): AstNode {
  const fast = loadMeriyah();
  if (fast) {
    // a comment listener may have been called before a failure: collect, replay on success only
    const comments: number[] | undefined = onComment ? [] : undefined;
    let ast: AstNode | undefined;
    try {
      ast = meriyahEither(fast, code, sourceType, comments ? (s, e) => comments.push(s, e) : undefined);
    } catch {
      ast = undefined; // acorn decides (and reports) below
    }
    if (ast) {
      if (comments) for (let i = 0; i < comments.length; i += 2) onComment!(comments[i], comments[i + 1]);
      return ast;
    }
  }
  return acornEither(code, sourceType, onComment);
}
