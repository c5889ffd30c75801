/**
 * The mutation summary (`npm run mutate`, bench section `mutation`) read from a small
 * Stryker report; Stryker itself never runs in the suite.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTestedSoFar, summarise, type StrykerReport } from './summary.js';

const at = (line: number) => ({ start: { line, column: 3 } });
const report: StrykerReport = {
  projectRoot: '/repo',
  performance: { setup: 1500, initialRun: 20_000, mutation: 600_000 },
  files: {
    'src/machine/guards.ts': {
      mutants: [
        { mutatorName: 'ConditionalExpression', replacement: 'true', status: 'Killed', location: at(10) },
        { mutatorName: 'EqualityOperator', replacement: 'a <=\n    b', status: 'Survived', location: at(12) },
        { mutatorName: 'BlockStatement', replacement: '{}', status: 'Timeout', location: at(20) },
        { mutatorName: 'StringLiteral', replacement: '""', status: 'Ignored', location: at(1) },
      ],
    },
    'src/board/runtime.ts': {
      mutants: [
        { mutatorName: 'BooleanLiteral', replacement: 'false', status: 'NoCoverage', location: at(7) },
        { mutatorName: 'ArithmeticOperator', replacement: 'a - b', status: 'CompileError', location: at(8) },
      ],
    },
  },
};

describe('mutation summary', () => {
  const summary = summarise(report, '/repo', { report: '.mutation/report.json', date: '2026-11-29T11:00:00.000Z' });

  it('scores detected (killed or timed out) over valid (detected, survived, no coverage)', () => {
    expect(summary).toMatchObject({ killed: 1, timeout: 1, survived: 1, noCoverage: 1, ignored: 1, other: 1, mutants: 6, score: 50 });
  });

  it('scores each folder and each file on its own', () => {
    expect(summary.folders['src/machine']).toMatchObject({ score: 66.7, survived: 1 });
    expect(summary.folders['src/board']).toMatchObject({ score: 0, noCoverage: 1, other: 1 });
    expect(summary.files['src/board/runtime.ts']?.score).toBe(0);
  });

  it('lists every mutant no test killed, at file:line:column, the replacement on one line', () => {
    expect(summary.survivors).toEqual([
      { at: 'src/board/runtime.ts:7:3', mutator: 'BooleanLiteral', replacement: 'false', status: 'NoCoverage' },
      { at: 'src/machine/guards.ts:12:3', mutator: 'EqualityOperator', replacement: 'a <= b', status: 'Survived' },
    ]);
  });

  it("keeps Stryker's timings, in seconds", () => {
    expect(summary.seconds).toEqual({ setup: 1.5, initialRun: 20, mutation: 600, total: 621.5 });
  });

  it('has no score, rather than 0 %, when no mutant counts', () => {
    expect(summarise({ files: {} }, '/repo', { report: 'r', date: 'd' }).score).toBeNull();
  });
});

describe('mutation summary of a stopped run', () => {
  it('counts the mutants tested so far from the event files', () => {
    const root = mkdtempSync(join(tmpdir(), 'mutation-events-'));
    const dir = join(root, 'events');
    mkdirSync(dir);
    const event = (i: number, name: string, data: unknown) => writeFileSync(join(dir, `0000${i}-${name}.json`), JSON.stringify(data));
    event(1, 'onMutationTestingPlanReady', { mutantPlans: [{}, {}, {}] });
    const mutant = { fileName: join(root, 'src/machine/guards.ts'), mutatorName: 'BooleanLiteral', replacement: 'false', location: { start: { line: 4, column: 2 } } };
    event(2, 'onMutantTested', { ...mutant, status: 'Killed' });
    event(3, 'onMutantTested', { ...mutant, status: 'Survived' });
    const summary = readTestedSoFar('events', root);
    expect(summary).toMatchObject({ partial: { tested: 2, planned: 3 }, score: 50 });
    expect(summary?.survivors).toEqual([{ at: 'src/machine/guards.ts:4:2', mutator: 'BooleanLiteral', replacement: 'false', status: 'Survived' }]);
    event(4, 'onMutationTestReportReady', {});
    expect(readTestedSoFar('events', root)).toBeNull();
  });
});
