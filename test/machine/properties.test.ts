/**
 * Property-based tests (fast-check) of the safety rules, through the runtime on a scripted
 * board and the virtual clock, checked on the commands the board received (property-suite.ts,
 * safety-rules.ts). One property per rule (R4 and R8 share one), each with a fixed seed that
 * is printed; FC_SEED moves the seeds, FC_RUNS sets the sequences per property. A property
 * also fails when its premises stopped coming up (the valve never opened, no command met a
 * wet pan...), so it cannot pass by never being put to the test.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { checkProperty, droppedConfigKeys, PROPERTIES, seedFor, type PropertyRun } from './property-suite.js';

const RUNS = process.env.FC_RUNS !== undefined ? Number(process.env.FC_RUNS) : 150;
const done: PropertyRun[] = [];

afterAll(() => {
  const summary = done.map((r) => ({ rule: r.name.split(':')[0], seed: r.seed, runs: r.runs, ms: r.ms, premises: r.premises }));
  console.log(`properties (FC_SEED/FC_RUNS override): ${JSON.stringify(summary)}`);
  if (droppedConfigKeys.length > 0) console.log(`properties: configuration keys the controller does not know yet: ${droppedConfigKeys.join(', ')}`);
});

describe('safety rules over random sequences through the runtime (what the board is told)', () => {
  PROPERTIES.forEach((def, index) => {
    it(def.name, { timeout: 600_000 }, async () => {
      const seed = seedFor(index);
      const run = await checkProperty(def, seed, RUNS);
      done.push(run);
      console.log(`${def.name.split(':')[0]}: seed ${seed}, ${run.runs} sequences, ${run.ms} ms, premises ${JSON.stringify(run.premises)}`);
      expect(run.counterexample, `counterexample (seed ${seed})`).toBeNull();
      expect(run.starved, 'premises that did not come up often enough').toEqual([]);
    });
  });
});
