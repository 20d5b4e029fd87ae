/**
 * The dashboard protocol: what the server and the dashboard exchange, and the
 * timeline level-of-detail query both sides answer (the server for sessions it
 * holds, the dashboard's Web Worker for a recording opened locally).
 *
 * Transport (docs/PROTOCOL.md):
 * - HTTP JSON API under /api (token in `Authorization: Bearer <token>`)
 * - one WebSocket at /ws carrying JSON messages ({@link ClientMessage},
 *   {@link ServerMessage}); the first client message is `hello` with the token.
 * Recordings themselves travel in the binary recording format (format.ts),
 * never as JSON events.
 *
 * Times are integer nanoseconds since the session's recording epoch.
 */
import type { AggregateSnapshot } from './aggregate.ts';

export const PROTOCOL_VERSION = 1;

// ---------------------------------------------------------------------------
// Sessions and programs

export type SessionSource = 'attach' | 'run' | 'import' | 'view' | 'demo' | 'record';

export interface SessionInfo {
  /** stable id (also the recording's file name stem in the data directory) */
  id: string;
  /** short human title, e.g. the script name */
  title: string;
  program: { argv: string[]; cwd: string; pid: number } | null;
  /** ISO time of the recording epoch, null if unknown */
  startTime: string | null;
  /** ns from epoch to the last event seen */
  durationNs: number;
  /** still receiving events */
  live: boolean;
  source: SessionSource;
  totals: { events: number; commits: number; aborts: number; timeLostNs: number; waitNs: number; droppedEvents: number; workers: number };
  /** recording size on disk */
  sizeBytes: number;
  /** what could not be read (truncated/corrupt tail), if anything */
  problem?: string;
  /** the retention policy of a stored session and what it dropped (absent: none applies, e.g. stmscope view) */
  retention?: SessionRetention;
}

/**
 * A session's retention (server/session/retention.ts, docs/PROTOCOL.md): when
 * its stored detail (recording + timeline) would pass `maxBytes`, or is older
 * than `maxAgeMs`, the oldest detail is dropped; the aggregates (totals,
 * per-worker figures, conflict groups, hot objects, rates) keep counting it.
 */
export interface SessionRetention {
  /** cap on the session's stored detail, bytes */
  maxBytes: number;
  /** detail older than this is dropped (ms); absent: no age cap */
  maxAgeMs?: number;
  /** detail before this time (ns since the epoch) was dropped; absent while nothing was */
  droppedBeforeNs?: number;
  /** ISO wall-clock time of `droppedBeforeNs` when the epoch is known */
  droppedBeforeTime?: string;
  /** bytes of recording dropped so far */
  droppedBytes?: number;
  /** what made it drop the last time: the size cap or the age cap */
  reason?: 'size' | 'age';
  /** bytes the session's detail takes on disk now (recording + timeline) */
  diskBytes?: number;
}

export interface ProgramInfo {
  pid: number;
  argv: string[];
  cwd: string;
  startTime: string;
  workers: number;
  /** session currently streaming from this program, if attached */
  sessionId?: string;
}

// ---------------------------------------------------------------------------
// Timeline level-of-detail queries

/** Largest `pixels` of a window query. */
export const MAX_PIXELS = 8192;
/** Default `maxMarks` of a window query. */
export const DEFAULT_MAX_MARKS = 5000;

export interface WindowQuery {
  startNs: number;
  endNs: number;
  /** horizontal resolution: the result has this many buckets per lane (1..8192) */
  pixels: number;
  /** lanes to include (heap thread indexes); default all */
  workers?: number[];
  /**
   * Return individual attempts when at most this many fall in the window
   * (default 5000); beyond that only per-pixel summaries come back.
   */
  maxMarks?: number;
}

/** Outcome codes of an attempt mark. */
export type AttemptOutcome = 'commit' | 'abort' | 'fail' | 'unfinished';

export interface AttemptMark {
  /** stable id of the attempt within the session (row index) */
  id: number;
  worker: number;
  txSeq: number;
  attempt: number;
  startNs: number;
  endNs: number;
  outcome: AttemptOutcome;
  inevitable: boolean;
  /** transaction name, if named */
  name?: string;
  /** for aborts: id of its conflict (see ConflictArrow.id), -1 if none */
  conflict: number;
  /** ns spent waiting inside the attempt */
  waitNs: number;
}

/** A wait shown on a lane (blocked by an inevitable transaction, backoff, …). */
export interface WaitMark {
  worker: number;
  startNs: number;
  endNs: number;
  reason: string;
}

/** One conflict: the culprit's commit invalidated the victim's attempt. */
export interface ConflictArrow {
  /** stable id within the session (abort row index) */
  id: number;
  kind: string;
  /** conflict group key (matches AggregateSnapshot groups[].key) */
  groupKey: string;
  victimWorker: number;
  victimTxSeq: number;
  /** time of the abort */
  victimNs: number;
  /** -1 when the culprit is unknown */
  culpritWorker: number;
  culpritTxSeq: number;
  /** time of the culprit's commit, -1 when unknown */
  culpritNs: number;
  /** `Account#17.balance` */
  object: string;
  timeLostNs: number;
}

export interface LaneSummary {
  worker: number;
  /** per bucket: ns of committed / aborted / waiting / inevitable work overlapping it */
  committedNs: number[];
  abortedNs: number[];
  waitingNs: number[];
  inevitableNs: number[];
  /** per bucket: attempts ending in it */
  commits: number[];
  aborts: number[];
}

export interface WindowResult {
  startNs: number;
  endNs: number;
  pixels: number;
  bucketNs: number;
  lanes: LaneSummary[];
  /** individual attempts, present when the window holds at most maxMarks */
  attempts?: AttemptMark[];
  waits?: WaitMark[];
  /** conflicts whose abort lies in the window (capped at maxMarks) */
  arrows: ConflictArrow[];
  /** true when marks or arrows were capped */
  truncated: boolean;
  /**
   * Present when the session's retention policy dropped the detail before
   * this time (ns) and the window starts before it: buckets before it are 0
   * and no marks or arrows before it are listed (SessionInfo.retention).
   */
  droppedBeforeNs?: number;
}

/** One occurrence of a conflict group (for the occurrence list). */
export interface Occurrence extends ConflictArrow {
  victimAttempt: number;
}

/**
 * What answers timeline queries: implemented over an in-memory EventStore
 * (model/timeline.ts) and by the server for large, disk-backed sessions.
 */
export interface TimelineSource {
  /** [first, last] event time */
  bounds(): { startNs: number; endNs: number };
  workers(): number[];
  query(q: WindowQuery): WindowResult;
  occurrences(groupKey: string, offset: number, limit: number): { total: number; items: Occurrence[] };
}

// ---------------------------------------------------------------------------
// WebSocket messages

export type ClientMessage =
  | { type: 'hello'; token: string; protocol: number }
  | { type: 'subscribe'; session: string }
  | { type: 'unsubscribe'; session: string }
  | { type: 'window'; id: number; session: string; query: WindowQuery }
  | { type: 'occurrences'; id: number; session: string; groupKey: string; offset?: number; limit?: number };

export type ServerMessage =
  | { type: 'welcome'; protocol: number; version: string }
  | { type: 'sessions'; sessions: SessionInfo[] }
  | { type: 'programs'; programs: ProgramInfo[] }
  /** aggregates of a subscribed session; sent on subscribe and then at most 10 times per second while it changes */
  | { type: 'snapshot'; session: string; seq: number; live: boolean; snapshot: AggregateSnapshot; bounds: { startNs: number; endNs: number }; workers: number[] }
  | { type: 'window'; id: number; result: WindowResult }
  | { type: 'occurrences'; id: number; total: number; items: Occurrence[] }
  | { type: 'error'; id?: number; message: string };
