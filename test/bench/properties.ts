/**
 * Property bench (`npm run bench -- properties`; `npx tsx test/bench/properties.ts` alone): runs
 * every safety property of test/machine/properties.test.ts through the runtime with many more
 * sequences than the suite: FC_RUNS per property, or 100,000 sequences in all by default,
 * shared by two worker threads. FC_SEED moves the seeds. Prints JSON, asserts nothing: per
 * property the sequences run, its seed, the time, the premises counted, and the shrunk
 * counterexample if one failed.
 */
import { cpus } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { PropertyRun } from '../machine/property-suite.js';

const TOTAL = 100_000;

export async function run(): Promise<Record<string, unknown>> {
  const { PROPERTIES } = await import('../machine/property-suite.js');
  const perProperty = process.env.FC_RUNS !== undefined ? Number(process.env.FC_RUNS) : Math.ceil(TOTAL / PROPERTIES.length);
  const threads = Math.max(1, Math.min(2, cpus().length));
  const shares: number[][] = Array.from({ length: threads }, () => []);
  PROPERTIES.forEach((_, i) => shares[i % threads]!.push(i));
  const t0 = performance.now();
  const results = (await Promise.all(shares.map((indices) => inWorker(indices, perProperty)))).flat();
  const ms = Math.round(performance.now() - t0);
  const sequences = results.reduce((n, r) => n + r.runs, 0);
  return {
    sequences,
    perProperty,
    threads,
    ms,
    sequencesPerSecond: Math.round((sequences / ms) * 1000),
    failed: results.filter((r) => r.failed).map((r) => r.name.split(':')[0]),
    properties: results.map((r) => ({
      rule: r.name.split(':')[0],
      seed: r.seed,
      sequences: r.runs,
      ms: r.ms,
      premises: r.premises,
      ...(r.starved.length > 0 ? { starved: r.starved } : {}),
      ...(r.counterexample ? { counterexample: r.counterexample } : {}),
    })),
  };
}

function inWorker(indices: number[], runs: number): Promise<PropertyRun[]> {
  const entry = new URL('../machine/property-worker.ts', import.meta.url).href;
  const boot = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
  return new Promise((resolve, reject) => {
    const worker = new Worker(boot, { eval: true, workerData: { indices, runs } });
    worker.once('message', (results: PropertyRun[]) => {
      resolve(results);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) console.log(JSON.stringify(await run(), null, 2));
