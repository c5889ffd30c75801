/**
 * Same scenario, same seed: the same event log, byte for byte, for every built-in scenario
 * (power cuts, resumes and resets included). The CLI's --json output is checked the same
 * way in test/e2e/scenarios.test.ts; this covers every scenario without a child process each.
 */
import { describe, expect, it } from 'vitest';
import { Simulation } from '../../sim/engine.js';
import { builtinScenarioNames, loadBuiltinScenario } from '../../sim/scenarios/index.js';

async function logOf(name: string, seed?: number): Promise<string> {
  const scenario = loadBuiltinScenario(name)!;
  const sim = new Simulation({ scenario, ...(seed !== undefined ? { seed } : {}) });
  await sim.start();
  await sim.runFor(scenario.duration);
  await sim.settle();
  const log = sim.log.map((entry) => JSON.stringify(entry)).join('\n');
  await sim.stop();
  return log;
}

describe('determinism of the simulator', () => {
  it.each(builtinScenarioNames())('%s gives the same event log twice', async (name) => {
    const [a, b] = [await logOf(name), await logOf(name)];
    expect(a.split('\n').length).toBeGreaterThan(5);
    expect(b).toBe(a);
  });

  it('gives another log for another seed (the seed reaches the sensor noise)', async () => {
    // normal-cycle: level noise decides the exact moment each fill reaches its level.
    expect(await logOf('normal-cycle', 2)).not.toBe(await logOf('normal-cycle', 1));
  });
});
