/**
 * The `selfTestFail` step with the power as it is when the step comes, on both boards: a periodic
 * test while the board runs (board-self-test), a start-up test while the power is off, which the
 * next boot finds and reports by name (i90 at power-on), and anything else refused before the run
 * starts with one line naming the step and the board, never silently skipped; so is such a step
 * given while the simulation runs (the interactive keys, the dashboard).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { simBoardFactory, type SimBoardKind } from '../../src/commands/sim-boards.js';
import { START_UP_SELF_TESTS, type SelfTestName } from '../../src/board/self-tests.js';
import { Simulation } from '../../sim/engine.js';
import { parseScenario, ScenarioError } from '../../sim/scenario.js';
import { hasTools } from '../helpers/tools.js';

const BOARDS: readonly SimBoardKind[] = ['simulated', 'emulated'];
const canEmulate = hasTools('avr-gcc', 'avr-g++', 'avr-objcopy', 'avr-ar');

async function simulation(board: SimBoardKind, timeline: unknown[], duration = '12s'): Promise<Simulation> {
  const scenario = parseScenario({ name: 'self-test-steps', description: 'selfTestFail and the power', duration, timeline }, 'test');
  const createBoard = await simBoardFactory(board, { eepromPath: join(mkdtempSync(join(tmpdir(), 'aquastop-selftest-')), 'eeprom.bin') });
  return new Simulation({ scenario, ...(createBoard ? { createBoard } : {}) });
}

const offWindow = (test: SelfTestName) => [
  { at: '5s', power: 'cut' },
  { at: '6s', inject: 'selfTestFail', test },
  { at: '7s', power: 'restore' },
];

for (const board of BOARDS) {
  describe.skipIf(board === 'emulated' && !canEmulate)(`selfTestFail and the power, on the ${board} board`, () => {
    it.each(START_UP_SELF_TESTS)(
      '%s broken while the power is off: the next boot reports it by name and the controller raises i90 at power-on',
      async (test) => {
        const sim = await simulation(board, offWindow(test));
        await sim.start();
        await sim.runFor(12_000);
        await sim.settle();
        const reports = sim.log.filter((e) => e.type === 'board' && e.report === 'selfTestFailed');
        expect(reports.map((e) => [e.t, e.test])).toEqual([[7_000, test]]);
        const i90 = sim.log.filter((e) => e.type === 'fault' && e.code === 'i90');
        expect(i90.map((e) => [e.t, e.event])).toEqual([[7_000, 'raised']]);
        expect(sim.runtime?.status()).toMatchObject({ breaker: 'service', valve: 'closed' });
        await sim.stop();
      },
      60_000,
    );

    it('refuses a periodic test while the power is off before the run starts: one line naming the step, the board and why', async () => {
      const sim = await simulation(board, offWindow('stack'));
      const started = sim.start();
      await expect(started).rejects.toBeInstanceOf(ScenarioError);
      await expect(started).rejects.toThrow(
        new RegExp(
          `^timeline\\.1: the ${board} board cannot perform "inject: selfTestFail" with test "stack" while the power is off: "stack" is a periodic self-test, which a board without power does not run`,
        ),
      );
      expect(sim.log.some((e) => e.type === 'inject')).toBe(false);
    }, 60_000);

    it('refuses a start-up test while the board runs, before the run starts', async () => {
      const sim = await simulation(board, [{ at: '5s', inject: 'selfTestFail', test: 'ram' }]);
      await expect(sim.start()).rejects.toThrow(/^timeline\.0: .* with test "ram": "ram" is a start-up self-test, which a running board does not repeat/);
    }, 60_000);

    it('refuses, rather than skips, a periodic test given while the power is off during a run', async () => {
      const sim = await simulation(board, [{ at: '5s', power: 'cut' }]);
      await sim.start();
      await sim.runFor(6_000);
      await expect(sim.apply({ inject: 'selfTestFail', test: 'adc' } as never)).rejects.toThrow(
        new RegExp(`^the ${board} board cannot perform "inject: selfTestFail" with test "adc" while the power is off`),
      );
      await sim.stop();
    }, 60_000);
  });
}
