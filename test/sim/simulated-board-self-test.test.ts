/**
 * The simulated board's self-test failure (i90), as our firmware does it: after the test's typical
 * detection time the board closes the valve itself, holds it closed whatever the controller says,
 * and reports which test failed, by the firmware's name for it. While running it stages the tests a
 * running firmware repeats; before its boot, the start-up ones (src/board/self-tests.ts).
 */
import { describe, expect, it } from 'vitest';
import type { BoardReport } from '../../src/board/board.js';
import { PERIODIC_SELF_TESTS, selfTestDetectMs, selfTestStage, START_UP_SELF_TESTS } from '../../src/board/self-tests.js';
import { SimulatedBoard } from '../../sim/board.js';
import { DishwasherPlant } from '../../sim/physics.js';
import { VirtualClock } from '../../src/clock/virtual-clock.js';

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

  it('stages the periodic self-tests while running: a start-up one throws', () => {
    const board = new SimulatedBoard(new DishwasherPlant({ levelNoiseL: 0 }));
    expect(selfTestStage(board)?.stageableSelfTests).toEqual(PERIODIC_SELF_TESTS);
    expect(PERIODIC_SELF_TESTS).toEqual(['stack', 'adc', 'clock']);
    expect(() => board.failSelfTest('flash')).toThrow(/cannot fail the "flash" self-test/);
  });

  it.each(START_UP_SELF_TESTS)('%s broken before the boot: open() leaves the valve closed for good and reports it once, by name', async (test) => {
    const plant = new DishwasherPlant({ levelNoiseL: 0 });
    const clock = new VirtualClock();
    const board = new SimulatedBoard(plant, { clock, watchdogMs: 2_000 });
    expect(selfTestStage(board)?.bootStageableSelfTests).toEqual(START_UP_SELF_TESTS);
    board.failSelfTestAtBoot(test);
    await board.open();
    const reports: BoardReport[] = [];
    board.onReport((r) => reports.push(r)); // raised while nobody listened: kept for the first subscriber
    expect(reports).toEqual([{ type: 'selfTestFailed', test }]);
    board.keepalive();
    board.setValve(true);
    plant.step(15_000);
    expect(plant.signals().tubLevelL).toBe(0);
    clock.advance(10_000); // no keepalives: the link watchdog speaks too, the self-test does not again
    expect(reports.filter((r) => r.type === 'selfTestFailed')).toHaveLength(1);
    await board.close();
  });

  it("reports the first broken start-up test in the firmware's boot order (RAM, watchdog, flash), and stages none once booted nor a periodic one at boot", async () => {
    const board = new SimulatedBoard(new DishwasherPlant({ levelNoiseL: 0 }));
    expect(START_UP_SELF_TESTS).toEqual(['ram', 'watchdog', 'flash']);
    board.failSelfTestAtBoot('flash');
    board.failSelfTestAtBoot('watchdog');
    expect(() => board.failSelfTestAtBoot('stack')).toThrow(/cannot fail the "stack" self-test at its boot/);
    const reports: BoardReport[] = [];
    board.onReport((r) => reports.push(r));
    await board.open();
    expect(reports).toEqual([{ type: 'selfTestFailed', test: 'watchdog' }]);
    expect(() => board.failSelfTestAtBoot('ram')).toThrow(/has booted/);
  });
});
