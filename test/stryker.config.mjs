// @ts-check
/**
 * Stryker for `npm run mutate` (test/mutation/run.ts): mutates src/machine, src/board and src/clock (the clocks and the duration grammar the board's timing rests on), and
 * judges each mutant with the tests in test/mutation/vitest.config.ts. Kept under test/ (the
 * top level holds only what the project promises), so the command line names it; paths below
 * are from the repository root. Everything Stryker writes goes under the git-ignored
 * `.mutation/`: the sandboxes (removed after a successful run) and the reports, which
 * test/mutation/score.ts and the bench read.
 *
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'test/mutation/vitest.config.ts', related: true },
  mutate: ['src/machine/**/*.ts', 'src/board/**/*.ts', 'src/clock/**/*.ts'],
  // Each mutant runs only the tests that executed its code in the dry run.
  coverageAnalysis: 'perTest',
  // Static mutants (code run only while a module loads) are most of src/machine: the machine's
  // states, targets and guard references are one object literal. Each needs every test, with
  // the modules reloaded, so they are most of the run time; `npm run mutate -- --ignoreStatic`
  // skips them (reported as "Ignored") for a quicker pass over guard and action bodies.
  ignoreStatic: false,
  concurrency: 2,
  // The property tests take ~13 s unmutated; a mutant that makes them loop must time out, not hang.
  timeoutMS: 30_000,
  tempDirName: '.mutation/sandbox',
  cleanTempDir: true,
  // Not needed by the tests: keep them out of every sandbox copy.
  ignorePatterns: ['/.mutation', '/build', '/test-artifacts', '/.aquastop'],
  // event-recorder: one file per mutant as soon as it is tested, so an interrupted run still
  // tells what it found (score.ts reads them when there is no report).
  reporters: ['clear-text', 'progress', 'json', 'html', 'event-recorder'],
  eventReporter: { baseDir: '.mutation/events' },
  jsonReporter: { fileName: '.mutation/report.json' },
  htmlReporter: { fileName: '.mutation/report.html' },
  clearTextReporter: { allowColor: false, logTests: false },
  // `npm run mutate -- --incremental` re-tests only the mutants whose code or tests changed.
  incrementalFile: '.mutation/incremental.json',
};
