/**
 * Runs explorations in a worker thread (exhaustive.test.ts starts two): outside vitest's
 * module graph, so xstate's production build runs (about three times faster than the
 * development build vitest resolves), and the two cores work at once.
 *
 * Under Stryker the worker takes the parent's active mutant and hands back the mutant
 * coverage it recorded, so a mutant in the machine is seen (and killed) by the exploration.
 * EXPLORE_PROGRESS=1 prints each level as it ends (the deep run takes minutes per level), straight
 * to stderr: a busy worker's console is not forwarded until the worker is done.
 */
import { writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

type Stryker = { activeMutant?: string; mutantCoverage?: { static: Record<string, number>; perTest: Record<string, Record<string, number>> } };
const { focuses, depth, budget, activeMutant } = workerData as { focuses: string[]; depth: number; budget: number; activeMutant?: string };
const g = globalThis as { __stryker__?: Stryker };
if (activeMutant !== undefined) g.__stryker__ = { ...g.__stryker__, activeMutant };
const { explore } = await import('./explore.js');
const progress = process.env.EXPLORE_PROGRESS === '1';
const results = focuses.map((focus) =>
  explore(
    focus,
    depth,
    budget,
    progress ? (p) => writeSync(2, `exploration [${focus}] level ${JSON.stringify({ ...p, heapMB: Math.round(process.memoryUsage().heapUsed / 2 ** 20) })}\n`) : undefined,
  ),
);
parentPort?.postMessage({ results, coverage: g.__stryker__?.mutantCoverage ?? null });
