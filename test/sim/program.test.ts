/**
 * The simulated dishwasher program: fills, wash, drains and rinses, about 9 L in all; it
 * waits (paused) while the breaker is tripped and (locked) while it is latched.
 */
import { describe, expect, it } from 'vitest';
import { Simulation } from '../../sim/engine.js';
import { DISHWASHER_PROGRAM } from '../../sim/program.js';
import { parseScenario } from '../../sim/scenario.js';
import { loadBuiltinScenario } from '../../sim/scenarios/index.js';

async function run(scenario: ReturnType<typeof parseScenario>, ms = scenario.duration) {
  const sim = new Simulation({ scenario });
  await sim.start();
  await sim.runFor(ms);
  return sim;
}

describe('the dishwasher program', () => {
  it('runs every step in order, takes in about 9 L through the meter and ends with an empty tub', async () => {
    const sim = await run(loadBuiltinScenario('normal-cycle')!);
    const steps = sim.log.filter((e) => e.type === 'program' && e.event === 'step').map((e) => e.name);
    expect(steps).toEqual(DISHWASHER_PROGRAM.map((s) => s.name));
    for (const kind of ['fill', 'wash', 'drain', 'rinse'])
      expect(
        steps.some((s) => String(s).includes(kind)),
        kind,
      ).toBe(true);
    expect(sim.cyclesCompleted).toBe(1);
    expect(sim.plant.totals.meteredL).toBeGreaterThan(8.5);
    expect(sim.plant.totals.meteredL).toBeLessThan(10);
    expect(sim.plant.signals().tubLevelL!).toBeLessThan(0.2);
    const done = sim.log.find((e) => e.type === 'program' && e.event === 'done')!;
    expect(done.t / 60_000).toBeGreaterThan(60);
    expect(done.t / 60_000).toBeLessThan(75);
  });

  it('asks a top-up that fell short again after 2 minutes of washing, until the controller latches iF0', async () => {
    const sim = await run(loadBuiltinScenario('siphoning-drain')!);
    const topUps = sim.log.filter((e) => e.type === 'program' && e.event === 'step' && e.name === 'main wash top-up').map((e) => e.t);
    expect(topUps).toHaveLength(3);
    // Each try holds the valve open for the 60 s top-up timeout, then the program washes for 2 minutes.
    expect([topUps[1]! - topUps[0]!, topUps[2]! - topUps[1]!]).toEqual([180_000, 180_000]);
    const faults = sim.log.filter((e) => e.type === 'fault' && e.event === 'raised').map((e) => [e.code, e.t]);
    expect(faults).toEqual([['iF0', topUps[2]! + 60_000]]);
    expect(sim.runtime!.status().breaker).toBe('latched');
  });

  it('waits while the breaker is tripped: no step starts between i10 and the probe', async () => {
    const scenario = parseScenario(
      {
        name: 'paused',
        description: 'tap closed, opened again during the cool-down',
        duration: '10m',
        timeline: [
          { at: '0s', inject: 'tapClosed' },
          { at: '100s', clear: 'tapClosed' },
        ],
      },
      'test',
    );
    const sim = await run(scenario);
    const steps = sim.log.filter((e) => e.type === 'program' && e.event === 'step');
    const fault = sim.log.find((e) => e.type === 'fault' && e.code === 'i10')!;
    expect(fault.t).toBe(90_000);
    // The prewash fill started at 0 s; the next step (prewash) only after the probe fill succeeded, after the 120 s cool-down.
    expect(steps.slice(0, 2).map((s) => s.name)).toEqual(['prewash fill', 'prewash']);
    expect(steps[0]!.t).toBe(0);
    expect(steps[1]!.t).toBeGreaterThan(90_000 + 120_000);
    expect(sim.runtime!.status().breaker).toBe('armed');
  });
});
