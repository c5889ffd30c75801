import { experimental_getRunnerTask, type Reporter, type TestModule } from 'vitest/node';

/**
 * Counts a test file that fails to load as one failed test, for the mutation suite only.
 *
 * Stryker's vitest runner builds a mutant's result from the tests vitest collected, and a test
 * file whose imports throw collects none: a static mutant that stops a module from loading
 * (`type: 'parallel'` -> `''` in the machine, a target that names no state) made every test
 * file fail, and Stryker scored it Survived. Here such a file gets one failed test carrying its
 * load error, so the mutant counts as Killed. Files that loaded are left as they are.
 */
export class UnloadableFileAsFailedTest implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    for (const module of modules) {
      const file = experimental_getRunnerTask(module);
      if (file.result?.state !== 'fail' || file.tasks.length > 0) continue;
      // Built after the run, read only for its id, name, state and error: vitest's test
      // context is not needed by anyone at this point, hence the cast.
      const loadFailure = {
        type: 'test',
        id: `${file.id}_load`,
        name: 'the test file loads',
        mode: 'run',
        file,
        suite: file,
        meta: {},
        result: { state: 'fail', duration: 0, errors: file.result.errors ?? [{ message: 'the test file failed to load' }] },
      };
      file.tasks.push(loadFailure as unknown as (typeof file.tasks)[number]);
    }
  }
}
