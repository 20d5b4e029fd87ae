/** Test helpers for every layer: the recording builder, sample recordings, a synthetic generator. */
export { rec, us, ms, RecordingBuilder, type SiteRef, type ObjRef, type AbortOptions, type BuilderOptions, type WaitReasonName } from './builder.ts';
export { bankSample } from './samples.ts';
export { writeSyntheticRecording, type SyntheticOptions } from './synthetic.ts';
