import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Kept under test/ (the top level holds only what the project promises); `npm test` passes it.

export default defineConfig({
  // The repository, not this folder: test paths and process.cwd() are the project root.
  root: fileURLToPath(new URL('..', import.meta.url)),
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
