/**
 * What the dashboard says about a session whose oldest detail the server's
 * retention policy dropped (SessionInfo.retention, docs/PROTOCOL.md): the
 * aggregates still count everything, the timeline has nothing before
 * `droppedBeforeNs`. Pure: no React, no DOM.
 */
import type { SessionInfo, SessionRetention } from '../../../model/protocol.ts';
import { fmtBytes, fmtNs } from './figures.ts';

/** The dropped range of a session: detail before `beforeNs` is gone; undefined when nothing was dropped. */
export function droppedRange(info: Pick<SessionInfo, 'retention'> | undefined): { beforeNs: number } | undefined {
  const b = info?.retention?.droppedBeforeNs;
  return typeof b === 'number' && Number.isFinite(b) && b > 0 ? { beforeNs: b } : undefined;
}

/** `12:03:10` (local time, or UTC), from an ISO time. */
function clock(iso: string, utc: boolean): string | undefined {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return undefined;
  const p = (n: number) => String(n).padStart(2, '0');
  return utc ? `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}` : `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Why it was dropped: `cap 256 MiB`, or the age cap. */
function why(r: SessionRetention): string {
  if (r.reason === 'age' && r.maxAgeMs) {
    const h = r.maxAgeMs / 3600_000;
    return `older than ${h >= 48 ? `${+(h / 24).toFixed(1)} days` : h >= 1 ? `${+h.toFixed(1)} h` : `${Math.round(r.maxAgeMs / 60_000)} min`}`;
  }
  return `cap ${fmtBytes(r.maxBytes).replace('.0 ', ' ')}`;
}

/**
 * `detail before 12:03:10 dropped (cap 256 MiB)`: the wall-clock time when
 * the recording's epoch is known, else the session time (`before 1.25 s`).
 * Null when nothing was dropped.
 * @param opts.utc print the clock in UTC (default: local time)
 */
export function droppedNote(r: SessionRetention | undefined, opts: { utc?: boolean } = {}): string | null {
  if (!r || !droppedRange({ retention: r })) return null;
  const at = (r.droppedBeforeTime && clock(r.droppedBeforeTime, opts.utc ?? false)) || fmtNs(r.droppedBeforeNs!);
  return `detail before ${at} dropped (${why(r)})`;
}

/** The short label drawn on the timeline's dropped range: `detail dropped (cap 256 MiB)`. */
export function droppedLabel(r: SessionRetention | undefined): string | null {
  if (!r || !droppedRange({ retention: r })) return null;
  return `detail dropped (${why(r)})`;
}
