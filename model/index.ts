/**
 * stmscope's pure data layer (no I/O, no Node-only or DOM-only API): the
 * record layout, the recording/wire format, the columnar store, streaming
 * aggregation, advice and report rendering. See model/README.md.
 */

export * from './records.ts';
export { crc32 } from './crc32.ts';
export {
  MAGIC,
  FORMAT_MAJOR,
  FORMAT_MINOR,
  CHUNK_HEADER_BYTES,
  DEFAULT_MAX_CHUNK_BYTES,
  MAX_DESCRIPTION_BYTES,
  CHUNK_FLAG_CRITICAL,
  ChunkType,
  FormatError,
  RecordingEncoder,
  RecordingDecoder,
  encodeRecording,
  decodeRecording,
  encodeHeader,
  encodeChunk,
  currentDescription,
  concatBytes,
  fourCC,
  fourCCName,
  fmtBytes,
  type RecordingDescription,
  type RecordingMeta,
  type RecordingEnd,
  type RecordingParts,
  type EncoderOptions,
  type DecoderOptions,
  type DecoderSink,
  type DecodeProblem,
  type DecodeStatus,
} from './format.ts';
export { ColumnTable, IntList, type Columns, type ColumnSchema } from './columns.ts';
export { Definitions, LOC_NONE, type Frame, type ObjectInfo } from './defs.ts';
export { EventAssembler, TeeSink, Outcome, OUTCOME_NAMES, type AttemptSink, type AssemblyAnomalies } from './assemble.ts';
export { EventStore, type StoreOptions } from './store.ts';
export { CommittedIndex } from './lookup.ts';
export { TimeAxis, resample, DEFAULT_TIME_BUCKETS } from './histogram.ts';
export {
  Aggregator,
  type AggregatorOptions,
  type AggregateSnapshot,
  type SnapshotOptions,
  type Summary,
  type WorkerFigures,
  type ConflictGroup,
  type GroupSide,
  type GroupObject,
  type StackExample,
  type HotObject,
  type Timeline,
} from './aggregate.ts';
export { ADVICE_RULES, adviseGroup, adviseFeatures, groupFeatures, type Advice, type AdviceRule, type GroupFeatures } from './advice.ts';
export { Ingest, ingestBytes, type IngestOptions } from './ingest.ts';
export {
  buildReport,
  reportFrames,
  REPORT_SCHEMA,
  type Report,
  type ReportConflict,
  type ReportFrame,
  type ReportSide,
  type ReportObject,
  type ReportHotObject,
  type ReportWorker,
  type BuildReportOptions,
} from './report/build.ts';
export { renderJson } from './report/json.ts';
export { renderText, type TextOptions } from './report/text.ts';
export { renderMarkdown, type MarkdownOptions } from './report/markdown.ts';
export { renderHtml, esc as escapeHtml, type HtmlOptions } from './report/html.ts';
export { fmtNs, fmtPct, fmtInt, asciiTimeline } from './report/util.ts';
export {
  detectInputKind,
  toRecordingBytes,
  convertInput,
  RecordingInput,
  InputError,
  type InputKind,
  type InputKindName,
  type InputOptions,
  type InputStatus,
} from './input.ts';
export {
  PypyLogConverter,
  PypyFormatError,
  convertPypyLog,
  UNKNOWN_THREAD_WORKER,
  type PypyImportOptions,
  type PypyImportStatus,
  type VariantScore,
} from './pypy/convert.ts';
export { PYPY_VARIANTS, PYPY_VARIANT_IDS, pypyVariant, type PypyVariant, type PypyEventName } from './pypy/events.ts';
export {
  chromeTrace,
  chromeTraceChunks,
  workerTid,
  type ChromeTraceOptions,
  type ChromeTraceStats,
  type ChromeTraceEvent,
} from './export/chrome.ts';
export {
  AbortProfileCollector,
  buildSpeedscope,
  speedscopeFromStore,
  SPEEDSCOPE_SCHEMA,
  type SpeedscopeFile,
  type SpeedscopeFrame,
  type SpeedscopeSampledProfile,
  type SpeedscopeOptions,
} from './export/speedscope.ts';
export {
  diffSnapshots,
  renderDiffText,
  renderDiffMarkdown,
  renderDiffJson,
  totalTimeLost,
  DIFF_SCHEMA,
  type RecordingDiff,
  type DiffRun,
  type DiffOptions,
  type DiffGroup,
  type DiffFigure,
  type DiffSite,
  type DiffRenderOptions,
  type GroupStatus,
  type MatchTier,
} from './diff.ts';
