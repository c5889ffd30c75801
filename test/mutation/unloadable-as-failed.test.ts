/**
 * The mutation suite's reporter (unloadable-as-failed.ts) on a real vitest run, read the way
 * Stryker's vitest runner reads it: a test file whose import throws must come out as a failed
 * test, or a static mutant that breaks a module's load is scored Survived.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createVitest } from 'vitest/node';
import { TestStatus } from '@stryker-mutator/api/test-runner';
import { UnloadableFileAsFailedTest } from './unloadable-as-failed.js';

// The runner's own helpers (not in its package exports): what it keeps of a run decides Killed or Survived.
type Task = { type: string; tasks?: Task[] };
const helpers = (await import(new URL('../../node_modules/@stryker-mutator/vitest-runner/dist/src/vitest-helpers.js', import.meta.url).href)) as {
  collectTestsFromSuite(suite: unknown): Task[];
  convertTestToTestResult(test: Task): { status: TestStatus };
};
const { collectTestsFromSuite, convertTestToTestResult } = helpers;

const dir = mkdtempSync(join(tmpdir(), 'aquastop-unloadable-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const quiet = () => new Writable({ write: (_chunk, _enc, done) => done() });

async function statuses(withReporter: boolean): Promise<Record<string, string[]>> {
  writeFileSync(join(dir, 'broken.js'), "throw new Error('module refused to load');\nexport const x = 1;\n");
  writeFileSync(join(dir, 'fine.js'), 'export const x = 1;\n');
  writeFileSync(join(dir, 'broken.test.js'), "import { it, expect } from 'vitest';\nimport { x } from './broken.js';\nit('reads x', () => expect(x).toBe(1));\n");
  writeFileSync(join(dir, 'fine.test.js'), "import { it, expect } from 'vitest';\nimport { x } from './fine.js';\nit('reads x', () => expect(x).toBe(1));\n");
  const ctx = await createVitest(
    'test',
    {
      root: dir,
      config: false,
      include: ['*.test.js'],
      watch: false,
      reporters: withReporter ? [new UnloadableFileAsFailedTest()] : [],
    },
    {},
    { stdout: quiet(), stderr: quiet() },
  ); // the inner run's "FAIL broken.test.js" is expected, not news
  try {
    await ctx.start();
    const out: Record<string, string[]> = {};
    for (const file of ctx.state.getFiles()) {
      out[file.name] = collectTestsFromSuite(file)
        .map((t) => TestStatus[convertTestToTestResult(t).status])
        .sort();
    }
    return out;
  } finally {
    await ctx.close();
  }
}

describe('a test file that cannot load, as Stryker sees it', () => {
  it('is one failed test with the reporter, and no test at all without it', async () => {
    const without = await statuses(false);
    expect(without).toEqual({ 'broken.test.js': [], 'fine.test.js': ['Success'] });
    const withIt = await statuses(true);
    expect(withIt).toEqual({ 'broken.test.js': ['Failed'], 'fine.test.js': ['Success'] });
  }, 60_000);
});
