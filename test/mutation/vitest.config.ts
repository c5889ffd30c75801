import { defineConfig } from 'vitest/config';
import base from '../vitest.config.js';
import { FastestFirstSequencer } from './fastest-first.js';
import { UnloadableFileAsFailedTest } from './unloadable-as-failed.js';

/**
 * The mutation suite for Stryker (`npm run mutate`): the suite's own config (root, scratch
 * TMPDIR, timeouts), limited to the tests that judge src/machine, src/board and src/clock quickly and
 * sharply: the machine's rule tests and the runtime's tests on what the board is told. Left
 * out for time, not because they could not kill a mutant: the properties, the model-based
 * paths and the exhaustive exploration (tens of seconds each, and every static mutant of the
 * machine's structure runs the whole set), the emulated board and the whole-scenario runs.
 * The score is therefore a lower bound of what `npm test` kills.
 */
export const MUTATION_TEST_FILES = [
  'test/machine/machine.test.ts',
  'test/machine/rules.test.ts',
  'test/machine/regions.test.ts',
  'test/machine/exercise.test.ts',
  'test/machine/sensors-and-commands.test.ts',
  'test/machine/fault-codes.test.ts',
  'test/machine/catalogue.test.ts',
  'test/machine/breaker.test.ts',
  'test/machine/purity.test.ts',
  'test/board/runtime.test.ts',
  'test/board/safety-bugs.test.ts',
  'test/board/durable-file.test.ts',
  'test/board/sampler.test.ts',
  'test/board/simulated-contract.test.ts',
  'test/sim/scenario.test.ts',
  'test/sim/physics.test.ts',
  'test/sim/engine.test.ts',
  'test/clock/virtual-clock.test.ts',
  'test/clock/duration.test.ts',
  'test/clock/clock.test.ts',
];

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: MUTATION_TEST_FILES,
    // A test file that cannot load is a failed test, not an absent one (see the reporter).
    reporters: ['default', new UnloadableFileAsFailedTest()],
    sequence: { ...base.test?.sequence, sequencer: FastestFirstSequencer },
  },
});
