import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One scratch directory per run (TMPDIR), removed at the end.
    globalSetup: ['test/helpers/scratch-dir.ts'],
    exclude: ['test/bench/**', 'node_modules/**'],
    // CLI, broker and emulator tests start child processes; two cores, so keep forks modest.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
