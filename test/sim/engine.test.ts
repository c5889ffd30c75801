/**
 * The simulation's event log tells what happened to the appliance, including what the
 * controller could not say itself.
 */
import { describe, expect, it } from 'vitest';
import { Simulation } from '../../sim/engine.js';
import { parseScenario } from '../../sim/scenario.js';

describe('the event log', () => {
  it('records that the normally-closed valve shuts (and the pump stops) when the power is cut', async () => {
    const scenario = parseScenario(
      { name: 'cut-while-filling', description: 'power cut in the middle of the first fill', duration: '1m', timeline: [{ at: '10s', power: 'cut' }] },
      'test',
    );
    const sim = new Simulation({ scenario });
    await sim.start();
    await sim.runFor(60_000);
    const at10 = sim.log.filter((e) => e.t === 10_000).map(({ t: _t, ...rest }) => rest);
    expect(at10).toEqual([
      { type: 'power', event: 'cut' },
      { type: 'valve', state: 'closed', cause: 'power cut' },
    ]);
    expect(sim.log.filter((e) => e.type === 'valve').map((e) => e.state)).toEqual(['open', 'closed']);
    await sim.stop();
  });
});
