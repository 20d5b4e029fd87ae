/**
 * V8 stack captures, used only when recording: once per code site (to give a
 * site its callers) and at abort time for code that was not transformed.
 * A capture costs 1-3 µs plus ~8 µs to read structured frames
 * (node-costs.md), so nothing here runs per access.
 */
import { fileURLToPath } from 'node:url';

export interface RawFrame {
  /** file path (file: URLs converted) or URL */
  file: string;
  /** URL as V8 reports it, for source-map lookup */
  url: string;
  line: number;
  column: number;
  functionName: string;
}

const runtimeDir = dirOf(import.meta.url);
const repoDir = runtimeDir.replace(/[\\/]runtime[\\/]?$/, '');
// Frames from stmscope itself are never user frames.
const ownDirs = ['runtime', 'instrumentation', 'model', 'server', 'dist'].map((d) => `${repoDir}/${d}/`);

function dirOf(url: string): string {
  const p = url.startsWith('file:') ? fileURLToPath(url) : url;
  return p.replace(/[\\/][^\\/]*$/, '');
}

function toPath(url: string): string {
  if (url.startsWith('file:')) {
    try {
      return fileURLToPath(url);
    } catch {
      return url;
    }
  }
  return url;
}

export function isOwnFile(file: string): boolean {
  for (const d of ownDirs) if (file.startsWith(d)) return true;
  return false;
}

export function isUserFrame(file: string): boolean {
  if (!file || file.startsWith('node:') || file.startsWith('internal/')) return false;
  if (file.includes('/node_modules/')) return false;
  return !isOwnFile(file);
}

type CallSite = {
  getFileName(): string | null | undefined;
  getScriptNameOrSourceURL?(): string | null | undefined;
  getLineNumber(): number | null;
  getColumnNumber(): number | null;
  getFunctionName(): string | null;
  getMethodName(): string | null;
  getTypeName(): string | null;
};

/**
 * Captures up to `depth` user frames (innermost first), skipping frames of
 * stmscope, node internals and node_modules.
 */
export function captureUserFrames(depth: number): RawFrame[] {
  const prevPrepare = Error.prepareStackTrace;
  const prevLimit = Error.stackTraceLimit;
  let sites: CallSite[] = [];
  try {
    Error.stackTraceLimit = depth + 24;
    Error.prepareStackTrace = (_e, cs) => cs;
    const holder: { stack?: unknown } = {};
    Error.captureStackTrace(holder, captureUserFrames);
    sites = (holder.stack as CallSite[]) ?? [];
  } finally {
    Error.prepareStackTrace = prevPrepare;
    Error.stackTraceLimit = prevLimit;
  }
  const out: RawFrame[] = [];
  for (const cs of sites) {
    const url = cs.getFileName() ?? cs.getScriptNameOrSourceURL?.() ?? '';
    const file = toPath(url);
    if (!isUserFrame(file)) continue;
    const fn = cs.getFunctionName();
    const type = cs.getTypeName();
    const method = cs.getMethodName();
    const name = fn ? (type && type !== 'Object' && !fn.includes('.') ? `${type}.${fn}` : fn) : method ? `${type ?? ''}.${method}` : '<anonymous>';
    out.push({ file, url, line: cs.getLineNumber() ?? 0, column: cs.getColumnNumber() ?? 0, functionName: name });
    if (out.length >= depth) break;
  }
  return out;
}
