/**
 * Every fault code in the catalogue is reachable: a built-in scenario raises it on the
 * simulated board with the default controller configuration, and checks it: raised within a
 * time, and where the breaker and the valve are at the end. The codes come from the catalogue,
 * so a new code without such a scenario fails here. Each built-in scenario also passes its own
 * expectations.
 */
import { describe, expect, it } from 'vitest';
import { FAULT_CODES, type FaultCode } from '../../src/machine/catalogue.js';
import { DEFAULT_CONFIG } from '../../src/machine/config.js';
import { Simulation, type LogEntry } from '../../sim/engine.js';
import { evaluate, type ExpectationResult } from '../../sim/expectations.js';
import type { Expectation, Scenario } from '../../sim/scenario.js';
import { builtinScenarioNames, loadBuiltinScenario } from '../../sim/scenarios/index.js';

interface Outcome {
  readonly scenario: Scenario;
  readonly results: readonly ExpectationResult[];
  /** Codes raised in the run that a passing `fault` expectation with `within` names. */
  readonly checked: ReadonlySet<FaultCode>;
  /** The scenario checks the breaker and the valve at the end. */
  readonly checksEnd: boolean;
}

const runs = new Map<string, Promise<Outcome>>();

/** Runs a built-in scenario in-process on the simulated board, once per name. */
function outcome(name: string): Promise<Outcome> {
  let run = runs.get(name);
  if (!run) {
    run = runScenario(loadBuiltinScenario(name)!);
    runs.set(name, run);
  }
  return run;
}

async function runScenario(scenario: Scenario): Promise<Outcome> {
  const sim = new Simulation({ scenario });
  await sim.start();
  await sim.runFor(scenario.duration);
  await sim.settle();
  const status = sim.runtime?.status() ?? null;
  const results = evaluate(scenario.expect, sim.log, { status, programCompleted: sim.cyclesCompleted > 0 });
  await sim.stop();
  expect(sim.boardKind).toBe('simulated');
  const checked = new Set<FaultCode>();
  scenario.expect.forEach((e, i) => {
    if (!('fault' in e) || !e.raised || e.within === undefined || !results[i]!.passed) return;
    for (const code of raisedIn(sim.log, e)) checked.add(code);
  });
  const checksEnd = scenario.expect.some((e) => 'breaker' in e) && scenario.expect.some((e) => 'valve' in e);
  return { scenario, results, checked, checksEnd };
}

/** The codes of a `fault` expectation that the log shows raised in its time window. */
function raisedIn(log: readonly LogEntry[], e: Extract<Expectation, { fault: unknown }>): FaultCode[] {
  const codes: FaultCode[] = Array.isArray(e.fault) ? e.fault : [e.fault];
  return codes.filter((code) => log.some((l) => l.type === 'fault' && l.event === 'raised' && l.code === code && l.t >= (e.after ?? 0) && l.t <= e.within!));
}

const names = builtinScenarioNames();

describe('built-in scenarios', () => {
  it.each(names)('%s passes its own expectations', async (name) => {
    const { results } = await outcome(name);
    expect(results.filter((r) => !r.passed)).toEqual([]);
  });

  it('raise every fault code in the catalogue between them, with the default controller configuration', async () => {
    const reachedBy = new Map<FaultCode, string[]>();
    for (const name of names) {
      const { scenario, checked, checksEnd } = await outcome(name);
      // A scenario that tunes the controller proves nothing about the configuration that ships.
      if (!checksEnd || JSON.stringify(scenario.controller) !== JSON.stringify(DEFAULT_CONFIG)) continue;
      for (const code of checked) reachedBy.set(code, [...(reachedBy.get(code) ?? []), name]);
    }
    const missing = FAULT_CODES.filter((code) => !reachedBy.has(code));
    expect(missing, `codes no built-in scenario raises and checks: ${missing.join(', ')}`).toEqual([]);
  });
});
