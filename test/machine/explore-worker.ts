/**
 * Runs explorations in a worker thread (exhaustive.test.ts starts two): outside vitest's
 * module graph, so xstate's production build runs (about three times faster than the
 * development build vitest resolves), and the two cores work at once.
 *
 * Under Stryker the worker takes the parent's active mutant and hands back the mutant
 * coverage it recorded, so a mutant in the machine is seen (and killed) by the exploration.
 */
import { parentPort, workerData } from 'node:worker_threads';

type Stryker = { activeMutant?: string; mutantCoverage?: { static: Record<string, number>; perTest: Record<string, Record<string, number>> } };
const { focuses, depth, budget, activeMutant } = workerData as { focuses: string[]; depth: number; budget: number; activeMutant?: string };
const g = globalThis as { __stryker__?: Stryker };
if (activeMutant !== undefined) g.__stryker__ = { ...g.__stryker__, activeMutant };
const { explore } = await import('./explore.js');
const results = focuses.map((focus) => explore(focus, depth, budget));
parentPort?.postMessage({ results, coverage: g.__stryker__?.mutantCoverage ?? null });
