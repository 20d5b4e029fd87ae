import { defineStruct } from '../index.ts';
/** A two-field struct used by the runtime's tests. */
export const Cell = defineStruct('Cell', { x: 'i32', y: 'i32' });
