/**
 * `npm run mutate` ends here: prints the last Stryker report (.mutation/report.json) summed up
 * as one JSON line (see summary.ts). Exit 2 when there is no report yet.
 *   npx tsx test/mutation/score.ts [report.json]
 */
import { readLastReport } from './summary.js';

const summary = readLastReport(process.argv[2]);
if (summary === null) {
  process.stderr.write('mutation: no report yet; `npm run mutate` writes .mutation/report.json\n');
  process.exit(2);
}
console.log(JSON.stringify(summary));
