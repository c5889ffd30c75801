/**
 * Exhaustive exploration of the controller machine (explore.ts): every configuration reachable
 * with the abstract input alphabet, breadth first, every safety rule (safety-rules.ts) checked
 * on every step; it fails with the shortest input sequence to each rule broken.
 *
 * Two worker threads (two cores) share the focuses: the whole alphabet (`everything`) has one
 * to itself, the five focused alphabets the other. Each focus goes to depth 12 or its
 * fixpoint, or as deep as its budget of transitions allows (counted, not timed, so every
 * machine reaches the same depth); the depth reached is printed and asserted, never silently
 * cut. EXPLORE_DEPTH and EXPLORE_TRANSITIONS (per focus) override the bounds; `npm run explore`
 * is the deep run (each focus to depth 12 or its fixpoint), too slow for `npm test`.
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import type { ExploreResult } from './explore.js';

const DEPTH = Number(process.env.EXPLORE_DEPTH ?? 12);
const BUDGET = Number(process.env.EXPLORE_TRANSITIONS ?? 60_000);
const SHARES = [['everything'], ['leak and commands', 'link and breaker', 'level signal and valve cycling', 'flow and exercise', 'latches and restarts']];
/** The deep run keeps a level of a few million configurations of the whole alphabet in memory. */
const HEAP_MB = Number(process.env.EXPLORE_HEAP_MB ?? 12_288);

/** Stryker's per-process state, when the suite runs under mutation testing. */
type Coverage = { static: Record<string, number>; perTest: Record<string, Record<string, number>> };
type Stryker = { activeMutant?: string; currentTestId?: string; mutantCoverage?: Coverage };
const stryker = () => (globalThis as { __stryker__?: Stryker }).__stryker__;

/** The mutants the workers ran count as covered by this test. */
function mergeCoverage(coverage: Coverage | null): void {
  const s = stryker();
  if (!coverage || !s?.mutantCoverage) return;
  const ids = [coverage.static, ...Object.values(coverage.perTest)].flatMap((c) => Object.keys(c));
  const into = s.currentTestId ? (s.mutantCoverage.perTest[s.currentTestId] ??= {}) : s.mutantCoverage.static;
  for (const id of ids) into[id] = (into[id] ?? 0) + 1;
}

function runWorker(focuses: string[]): Promise<ExploreResult[]> {
  return new Promise((resolve, reject) => {
    // tsx loads the TypeScript inside the worker; vitest's transform does not reach it.
    const entry = new URL('./explore-worker.ts', import.meta.url).href;
    const boot = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
    const activeMutant = stryker()?.activeMutant;
    const worker = new Worker(boot, { eval: true, workerData: { focuses, depth: DEPTH, budget: BUDGET, activeMutant }, resourceLimits: { maxOldGenerationSizeMb: HEAP_MB } });
    worker.once('message', ({ results, coverage }: { results: ExploreResult[]; coverage: Coverage | null }) => {
      mergeCoverage(coverage);
      resolve(results);
      void worker.terminate();
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`exploration worker exited with ${code}`));
    });
  });
}

describe('exhaustive exploration of the controller machine', () => {
  it(
    'breaks no safety rule in any configuration reached, and reports the shortest path to any that it breaks',
    { timeout: Number(process.env.EXPLORE_TIMEOUT_MS ?? 600_000) },
    async () => {
      const t0 = performance.now();
      const results = (await Promise.all(SHARES.map(runWorker))).flat();
      const seconds = (performance.now() - t0) / 1000;
      for (const r of results) {
        const { findings, ...counts } = r;
        console.log(`exploration [${r.focus}]: ${JSON.stringify({ ...counts, violations: findings.map((f) => f.rule) })}`);
      }
      const total = {
        configurations: results.reduce((n, r) => n + r.configurations, 0),
        transitions: results.reduce((n, r) => n + r.transitions, 0),
        minDepth: Math.min(...results.map((r) => r.depth)),
        wallSeconds: Number(seconds.toFixed(1)),
      };
      console.log(`exhaustive exploration: ${JSON.stringify(total)}`);
      // The shortest path to each rule broken, over all focuses.
      const shortest = new Map<string, { path: string[]; message: string; focus: string }>();
      for (const r of results) {
        for (const f of r.findings) {
          const known = shortest.get(f.rule);
          if (!known || f.path.length < known.path.length) shortest.set(f.rule, { path: f.path, message: f.message, focus: r.focus });
        }
      }
      const report = [...shortest.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([rule, f]) => `${rule} (${f.path.length} inputs, focus "${f.focus}"): ${f.path.join(' -> ')}\n    ${f.message}`)
        .join('\n');
      if (report) console.log(`exhaustive exploration: shortest counterexamples\n${report}`);
      expect(report, 'shortest counterexamples').toBe('');
      // A focus that got nowhere proves nothing (the budget is counted, so these depths do not depend on the machine's speed).
      for (const r of results) expect(r.depth, `depth reached by "${r.focus}"`).toBeGreaterThanOrEqual(r.focus === 'everything' ? 4 : 7);
    },
  );
});
