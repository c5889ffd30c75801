import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Runs the quickest test files first. Stryker stops a mutant's run at its first failing test
 * (bail), and vitest's own order is the slowest file first, so most mutants would wait for
 * the model-based and property tests (tens of seconds) before a unit test killed them in
 * milliseconds. Cost: the last recorded duration of the file, else its size.
 */
export class FastestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const cost = (spec: TestSpecification): [number, number] => {
      const key = `${spec.project.name}:${relative(this.ctx.config.root, spec.moduleId)}`;
      const duration = this.ctx.cache.getFileTestResults(key)?.duration;
      return duration === undefined ? [1, this.ctx.cache.getFileStats(key)?.size ?? 0] : [0, duration];
    };
    return [...files]
      .map((spec) => ({ spec, cost: cost(spec) }))
      .sort((a, b) => a.cost[0] - b.cost[0] || a.cost[1] - b.cost[1])
      .map(({ spec }) => spec);
  }
}
