/**
 * Runs explorations in a worker thread (exhaustive.test.ts starts two): outside vitest's
 * module graph, so xstate's production build runs (about three times faster than the
 * development build vitest resolves), and the two cores work at once.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { explore } from './explore.js';

const { focuses, depth, budgetMs } = workerData as { focuses: string[]; depth: number; budgetMs: number };
const results = focuses.map((focus) => explore(focus, depth, budgetMs));
parentPort?.postMessage(results);
