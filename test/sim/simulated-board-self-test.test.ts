/**
 * The simulated board's self-test failure (i90), as our firmware does it: the board closes the
 * valve itself, holds it closed whatever the controller says, and reports which test failed.
 */
import { describe, expect, it } from 'vitest';
import type { BoardReport } from '../../src/board/board.js';
import { SimulatedBoard } from '../../sim/board.js';
import { DishwasherPlant } from '../../sim/physics.js';
import { VirtualClock } from '../../sim/virtual-clock.js';

describe('the simulated board self-test', () => {
  it('closes the valve, reports the failed test once, and keeps the valve closed when told to open', async () => {
    const plant = new DishwasherPlant({ levelNoiseL: 0 });
    const board = new SimulatedBoard(plant, { clock: new VirtualClock(), watchdogMs: 2_000 });
    const reports: BoardReport[] = [];
    board.onReport((r) => reports.push(r));
    await board.open();
    board.setValve(true);
    plant.step(15_000);
    expect(plant.signals().tubLevelL).toBeCloseTo(1, 5);

    board.failSelfTest('flash CRC');
    expect(reports).toEqual([{ type: 'selfTestFailed', test: 'flash CRC' }]);
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
});
