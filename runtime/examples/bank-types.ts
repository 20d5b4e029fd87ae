import { defineStruct } from '../index.ts';

/** Declared in a module every thread imports, so all threads agree on the layout. */
export const Account = defineStruct('Account', { balance: 'i32' });
