/** One worker of the property bench (test/bench/properties.ts): runs the properties it is given (indices into PROPERTIES) and posts the results. */
import { parentPort, workerData } from 'node:worker_threads';
import { checkProperty, PROPERTIES, seedFor, type PropertyRun } from './property-suite.js';

const { indices, runs } = workerData as { indices: number[]; runs: number };
const results: PropertyRun[] = [];
for (const i of indices) results.push(await checkProperty(PROPERTIES[i]!, seedFor(i), runs));
parentPort?.postMessage(results);
