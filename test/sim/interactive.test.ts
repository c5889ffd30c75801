/**
 * `aquastop sim` without a scenario: the looping program and the single keys of the
 * terminal, driven on the virtual clock (the terminal loop only forwards keys to handleKey).
 */
import { describe, expect, it } from 'vitest';
import { Simulation, type LogEntry } from '../../sim/engine.js';
import { FOOTER, handleKey, interactiveScenario } from '../../sim/interactive.js';

async function started(): Promise<Simulation> {
  const sim = new Simulation({ scenario: interactiveScenario() });
  await sim.start();
  return sim;
}

async function press(sim: Simulation, key: string): Promise<void> {
  const result = handleKey(sim, key);
  expect(result.next, `key ${key}`).toBe('continue');
  await result.done;
}

function run(sim: Simulation, ms: number): void {
  for (let t = 0; t < ms; t += sim.tickMs) sim.tick();
}

const raised = (log: readonly LogEntry[]) => log.filter((e) => e.type === 'fault' && e.event === 'raised').map((e) => e.code);

describe('interactive simulation', () => {
  it('has a valid built-in scenario that loops the dishwasher program', async () => {
    const scenario = interactiveScenario();
    expect(scenario.program).toEqual({ start: true, loop: true });
    const sim = await started();
    run(sim, 2 * 3_600_000);
    expect(sim.cyclesCompleted).toBeGreaterThanOrEqual(1);
    expect(raised(sim.log)).toEqual([]);
  });

  it('lists leak, burst hose, tap closed, resume, reset, power cut and quit in the footer', () => {
    for (const label of ['l=leak', 'b=burst hose', 't=tap closed', 'r=resume', 'x=reset', 'p=power cut/restore', 'q=quit']) {
      expect(FOOTER).toContain(label);
    }
  });

  it('quits on q and on Ctrl-C, and shows the footer again for an unknown key', async () => {
    const sim = await started();
    expect(handleKey(sim, 'q').next).toBe('quit');
    expect(handleKey(sim, '\u0003').next).toBe('quit');
    expect(handleKey(sim, 'z').next).toBe('footer');
    expect(sim.log.filter((e) => e.type === 'inject' || e.type === 'command')).toEqual([]);
  });

  it('l leaks into the base pan: i30 after the debounce; x is refused while wet, accepted once dried', async () => {
    const sim = await started();
    run(sim, 5_000);
    await press(sim, 'l');
    run(sim, 10_500);
    expect(raised(sim.log)).toEqual(['i30']);
    await press(sim, 'x');
    expect(sim.log.at(-1)).toMatchObject({ type: 'command', command: 'reset', ok: false });
    await press(sim, 'd');
    run(sim, 61_000);
    await press(sim, 'x');
    expect(sim.log.filter((e) => e.type === 'command').at(-1)).toMatchObject({ command: 'reset', ok: true });
  });

  it('t closes the tap: i10; r resumes into a probe fill', async () => {
    const sim = await started();
    await press(sim, 't');
    run(sim, 91_000);
    expect(raised(sim.log)).toEqual(['i10']);
    expect(sim.runtime!.status().breaker).toBe('tripped');
    await press(sim, 'r');
    expect(sim.runtime!.status().breaker).toBe('probing');
  });

  it('b bursts the hose: the valve closes and i30 latches', async () => {
    const sim = await started();
    run(sim, 5_000);
    await press(sim, 'b');
    run(sim, 15_000);
    expect(raised(sim.log)).toContain('i30');
    expect(sim.runtime!.status()).toMatchObject({ breaker: 'latched', valve: 'closed' });
  });

  it('p cuts the power and restores it; a latched i30 comes back at boot', async () => {
    const sim = await started();
    await press(sim, 'l');
    run(sim, 11_000);
    await press(sim, 'p');
    expect(sim.runtime).toBeNull();
    run(sim, 5_000);
    await press(sim, 'p');
    expect(sim.runtime!.boot).toBe(2);
    run(sim, 100);
    expect(sim.runtime!.status()).toMatchObject({ breaker: 'latched', fault: 'i30', valve: 'closed' });
  });
});
