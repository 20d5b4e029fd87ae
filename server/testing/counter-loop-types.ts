import { defineStruct } from '../../runtime/index.ts';

export const Stats = defineStruct('LoopStats', { hits: 'i32', other: 'i32' });
