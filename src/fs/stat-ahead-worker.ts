import { parentPort, workerData } from 'node:worker_threads';
import type { AheadStart } from './stat-ahead-format.ts';
import { runStatAhead } from './stat-ahead-walker.ts';

/** A thread of its own for StatAhead, when no other thread hosts the walk (stat-ahead.ts). */
runStatAhead(parentPort!, workerData as AheadStart);
