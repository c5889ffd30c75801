import { defineConfig } from 'vitest/config';
import base from '../vitest.config.js';
import { FastestFirstSequencer } from './fastest-first.js';

/**
 * The suite's own config, limited to the test folders that exercise src/machine and
 * src/board, for Stryker (`npm run mutate`). Stryker forces its own pool (one thread per
 * worker); everything else (root, scratch TMPDIR, timeouts) stays as in `npm test`, so a
 * mutant is judged by the same tests, only fewer of them, the quickest files first.
 */
export const MUTATION_TEST_FOLDERS = ['test/machine', 'test/board', 'test/sim'];

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: MUTATION_TEST_FOLDERS.map((folder) => `${folder}/**/*.test.ts`),
    sequence: { ...base.test?.sequence, sequencer: FastestFirstSequencer },
  },
});
