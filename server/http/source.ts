/**
 * Source snippets for stack frames (`GET /api/sessions/:id/source`), read
 * from the program's own files, only below its cwd and the source roots it
 * reported (META): a `..` segment is refused outright, and after resolving
 * symlinks the file must still lie inside one of the roots.
 */
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RecordingMeta } from '../../model/format.ts';

/** Largest source file read. */
const MAX_SOURCE_BYTES = 8 << 20;

/** A refused or impossible source request; `status` is the HTTP status to answer. */
export class SourceError extends Error {
  override name = 'SourceError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export interface SourceSnippet {
  file: string;
  /** 1-based line number of lines[0] */
  startLine: number;
  lines: string[];
  /** the line asked for */
  line: number;
}

/** The roots a recording allows reading below (real paths of cwd + sourceRoots that exist here). */
export function sourceRoots(meta: RecordingMeta | undefined): string[] {
  const out: string[] = [];
  const cands = [meta?.cwd, ...(Array.isArray(meta?.sourceRoots) ? meta!.sourceRoots : [])];
  for (const c of cands) {
    if (typeof c !== 'string' || !isAbsolute(c)) continue;
    try {
      out.push(realpathSync(c));
    } catch {
      /* a root that does not exist here allows nothing */
    }
  }
  return out;
}

/**
 * Reads `context` lines around `line` of `file` (relative to the program's cwd or absolute).
 * @throws SourceError naming the problem
 */
export function readSnippet(meta: RecordingMeta | undefined, file: string, line: number, context: number): SourceSnippet {
  if (!file) throw new SourceError('file is required', 400);
  if (!Number.isInteger(line) || line < 1) throw new SourceError(`line must be an integer ≥ 1, got ${JSON.stringify(line)}`, 400);
  if (!Number.isInteger(context) || context < 0 || context > 500) throw new SourceError(`context must be an integer from 0 to 500, got ${JSON.stringify(context)}`, 400);
  let p = file;
  if (p.startsWith('file://')) {
    try {
      p = fileURLToPath(p);
    } catch {
      throw new SourceError(`${JSON.stringify(file)} is not a file URL this server can read`, 400);
    }
  }
  if (p.includes('\0')) throw new SourceError('file contains a NUL byte', 400);
  if (p.split(/[\\/]/).includes('..')) throw new SourceError(`path traversal refused: ${JSON.stringify(file)} contains a ".." segment`, 403);
  const roots = sourceRoots(meta);
  if (roots.length === 0) throw new SourceError("this session's program directory does not exist on this machine, so no source can be shown", 404);
  const cwd = typeof meta?.cwd === 'string' ? meta.cwd : roots[0];
  const abs = isAbsolute(p) ? p : resolve(cwd, p);
  let real: string;
  try {
    real = realpathSync(abs);
  } catch {
    throw new SourceError(`${file}: no such file`, 404);
  }
  const inside = roots.some((root) => {
    const rel = relative(root, real);
    return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
  });
  if (!inside) throw new SourceError(`${file} is outside the program's directory and source roots; refused`, 403);
  const st = statSync(real);
  if (!st.isFile()) throw new SourceError(`${file} is not a file`, 400);
  if (st.size > MAX_SOURCE_BYTES) throw new SourceError(`${file} is larger than ${MAX_SOURCE_BYTES >> 20} MiB; not shown`, 413);
  const all = readFileSync(real, 'utf8').split(/\r?\n/);
  if (line > all.length) throw new SourceError(`${file} has ${all.length} lines, not ${line}`, 404);
  const start = Math.max(1, line - context);
  const end = Math.min(all.length, line + context);
  return { file, startLine: start, lines: all.slice(start - 1, end), line };
}
