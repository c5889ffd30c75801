/**
 * The simulated board's self-test failure (i90), as our firmware does it: after the test's typical
 * detection time the board closes the valve itself, holds it closed whatever the controller says,
 * and reports which test failed, by the firmware's name for it. It stages only the tests a running
 * firmware repeats (src/board/self-tests.ts).
 */
import { describe, expect, it } from 'vitest';
import type { BoardReport } from '../../src/board/board.js';
import { PERIODIC_SELF_TESTS, selfTestDetectMs, selfTestStage } from '../../src/board/self-tests.js';
import { SimulatedBoard } from '../../sim/board.js';
import { DishwasherPlant } from '../../sim/physics.js';
import { VirtualClock } from '../../sim/virtual-clock.js';

describe('the simulated board self-test', () => {
  it('closes the valve after the detection time, reports the failed test once by its name, and keeps the valve closed when told to open', async () => {
    const plant = new DishwasherPlant({ levelNoiseL: 0 });
    const clock = new VirtualClock();
    const board = new SimulatedBoard(plant, { clock, watchdogMs: 2_000 });
    const reports: BoardReport[] = [];
    board.onReport((r) => reports.push(r));
    await board.open();
    board.setValve(true);
    plant.step(15_000);
    expect(plant.signals().tubLevelL).toBeCloseTo(1, 5);

    board.failSelfTest('adc');
    clock.advance(selfTestDetectMs('adc') - 1);
    board.keepalive();
    expect(reports).toEqual([]); // the firmware needs two bad checks a second apart
    clock.advance(1);
    expect(reports).toEqual([{ type: 'selfTestFailed', test: 'adc' }]);
    board.failSelfTest('stack'); // the firmware stops its checks after the first failure
    clock.advance(1_000);
    expect(reports).toHaveLength(1);
    plant.step(15_000);
    board.setValve(true);
    plant.step(15_000);
    expect(plant.signals().tubLevelL).toBeCloseTo(1, 5);
    // The pump still obeys: draining is safe.
    board.setDrainPump(true);
    plant.step(60_000);
    expect(plant.signals().tubLevelL).toBe(0);
    await board.close();
  });

  it('stages the periodic self-tests only: a start-up one throws', () => {
    const board = new SimulatedBoard(new DishwasherPlant({ levelNoiseL: 0 }));
    expect(selfTestStage(board)?.stageableSelfTests).toEqual(PERIODIC_SELF_TESTS);
    expect(PERIODIC_SELF_TESTS).toEqual(['stack', 'adc', 'clock']);
    expect(() => board.failSelfTest('flash')).toThrow(/cannot fail the "flash" self-test/);
  });
});
