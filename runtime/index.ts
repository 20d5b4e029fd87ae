/**
 * stmscope runtime: a multi-core Software Transactional Memory for Node.js.
 * See runtime/README.md for the programming model and a runnable example.
 */
export { createHeap, attachHeap, currentHeap, useHeap, Heap } from './heap.ts';
export type { HeapOptions, SharedHeap, Transaction, AbortInfo } from './heap.ts';
export { atomic, becomeInevitable, hintCommitSoon, lastAbortInfo, inTransaction } from './api.ts';
export { StmError, HeapFullError } from './errors.ts';
export { defineStruct, ref, StructType, TArray, TCounter, TLocal, ObjectView, ObjectType, sameObject, viewOf } from './types.ts';
export type { StructView, FieldSpec, FieldKind, ElementKind, ElementValue, CreateOptions, ViewOf } from './types.ts';
export { TMap, setRoot, getRoot } from './map.ts';
export type { KeyKind } from './map.ts';
export { TQueue } from './queue.ts';
export { TransactionPool, addTask, currentTask } from './pool.ts';
export type { PoolOptions, PoolStats } from './pool.ts';
