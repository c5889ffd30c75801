/**
 * Bench section `mutation`: the mutation score of src/machine and src/board from the last
 * `npm run mutate` (its date included), without running Stryker, which takes tens of minutes.
 * To refresh: `npm run mutate`, then `npm run bench -- mutation`.
 */
import { readLastReport, readTestedSoFar } from '../mutation/summary.js';

export async function run(): Promise<Record<string, unknown>> {
  const summary = readTestedSoFar() ?? readLastReport();
  if (summary === null) return { report: null, refresh: 'npm run mutate' };
  const { survivors, ...rest } = summary;
  return { ...rest, survivors: survivors.length, survivorList: survivors.map((s) => `${s.at} ${s.mutator} ${s.status === 'NoCoverage' ? '(no coverage) ' : ''}${s.replacement}`) };
}
