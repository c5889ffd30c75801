/**
 * `npm run mutate [-- stryker options]`: runs Stryker with test/stryker.config.mjs (options
 * after `--` go to Stryker: `--ignoreStatic`, `--incremental`, `--mutate src/machine/guards.ts`),
 * then prints the report as one JSON line (score.ts). Exits with Stryker's status.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, readLastReport } from './summary.js';

const stryker = spawnSync(join(ROOT, 'node_modules/.bin/stryker'), ['run', 'test/stryker.config.mjs', ...process.argv.slice(2)], { cwd: ROOT, stdio: 'inherit' });
if (stryker.status !== 0) {
  process.stderr.write(
    `mutate: stryker ${stryker.signal ? `stopped by ${stryker.signal}` : `exited ${stryker.status}`}; \`npx tsx test/mutation/score.ts\` sums up the mutants it tested\n`,
  );
  process.exit(stryker.status ?? 1);
}
const summary = readLastReport();
if (summary) console.log(JSON.stringify(summary));
