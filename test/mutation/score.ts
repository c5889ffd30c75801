/**
 * `npm run mutate` ends here: prints the last Stryker report (.mutation/report.json) summed up
 * as one JSON line (see summary.ts), or, when the last run was stopped, the mutants it had
 * tested (`partial`). Exit 2 when there is no report yet.
 *   npx tsx test/mutation/score.ts [report.json]
 */
import { readLastReport, readTestedSoFar } from './summary.js';

// A stopped run leaves its tested mutants in the event files, newer than any old report.
const summary = (process.argv[2] ? null : readTestedSoFar()) ?? readLastReport(process.argv[2]);
if (summary === null) {
  process.stderr.write('mutation: no report yet; `npm run mutate` writes .mutation/report.json\n');
  process.exit(2);
}
console.log(JSON.stringify(summary));
