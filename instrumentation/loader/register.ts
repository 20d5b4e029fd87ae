/**
 * `--import` entry: `node --import stmscope/register app.js` (or in
 * NODE_OPTIONS, which `stmscope record/run` use, so worker_threads run it too)
 * instruments the program's modules in every thread that runs it.
 */
import { installInstrumentation } from './install.ts';

installInstrumentation();
