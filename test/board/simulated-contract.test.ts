import { describe, expect, it } from 'vitest';
import type { BoardReport } from '../../src/board/board.js';
import type { Plant } from '../../src/board/plant.js';
import { SimulatedBoard } from '../../sim/board.js';
import { DishwasherPlant } from '../../sim/physics.js';
import { VirtualClock } from '../../src/clock/virtual-clock.js';
import { boardContract } from './contract.js';

/** The simulator's plant, with its actuator states visible to the test. */
class WatchedPlant implements Plant {
  valve = false;
  pump = false;
  readonly pulsesPerLitre: number;
  constructor(readonly inner: DishwasherPlant) {
    this.pulsesPerLitre = inner.pulsesPerLitre;
  }
  setValve(open: boolean): void {
    this.valve = open;
    this.inner.setValve(open);
  }
  setDrainPump(on: boolean): void {
    this.pump = on;
    this.inner.setDrainPump(on);
  }
  step(dtMs: number): void {
    this.inner.step(dtMs);
  }
  signals() {
    return this.inner.signals();
  }
}

describe('simulated board over the dishwasher physics', () => {
  boardContract('simulated (DishwasherPlant)', async () => {
    const clock = new VirtualClock();
    const plant = new WatchedPlant(new DishwasherPlant({ seed: 1 }));
    const board = new SimulatedBoard(plant, { clock, watchdogMs: 2_000 });
    return {
      board,
      async advance(ms) {
        for (let done = 0; done < ms; done += 100) {
          clock.advance(100);
          plant.step(100);
          board.keepalive();
        }
      },
      plant: {
        valve: () => plant.valve,
        pump: () => plant.pump,
        setFloat: (f) => {
          if (f === 'wet') plant.inner.inject({ kind: 'leak', ml: 100 });
          else if (f === 'dry') plant.inner.dryPan();
          else return false; // the physics has no float-wire fault
          return true;
        },
      },
      dispose: () => board.close(),
    };
  });
});

describe('the simulated board link watchdog (iC0)', () => {
  async function rig() {
    const clock = new VirtualClock();
    const plant = new WatchedPlant(new DishwasherPlant({ seed: 1 }));
    const board = new SimulatedBoard(plant, { clock, watchdogMs: 2_000 });
    const reports: [number, BoardReport['type']][] = [];
    board.onReport((r) => reports.push([clock.now(), r.type]));
    await board.open();
    const run = (ms: number) => {
      for (let t = 0; t < ms; t += 100) {
        clock.advance(100);
        board.keepalive();
      }
    };
    return { clock, plant, board, reports, run };
  }

  it('stays quiet while keepalives arrive every tick', async () => {
    const r = await rig();
    r.board.setValve(true);
    r.run(60_000);
    expect(r.reports).toEqual([]);
    expect(r.plant.valve).toBe(true);
  });

  it('closes the valve and reports linkLost within a quarter timeout after 2 s of silence, and holds it closed', async () => {
    const r = await rig();
    r.board.setValve(true);
    r.run(1_000);
    r.board.cutLink();
    r.run(1_900);
    expect(r.reports).toEqual([]);
    expect(r.plant.valve).toBe(true);
    r.run(600);
    expect(r.reports.map(([, type]) => type)).toEqual(['linkLost']);
    expect(r.reports[0]![0]).toBeGreaterThanOrEqual(3_000);
    expect(r.reports[0]![0]).toBeLessThanOrEqual(3_500);
    expect(r.plant.valve).toBe(false);
    r.board.setValve(true);
    expect(r.plant.valve).toBe(false);
  });

  it('reports linkRestored at the first keepalive after the link returns, and obeys the valve again', async () => {
    const r = await rig();
    r.board.cutLink();
    r.run(5_000);
    r.board.restoreLink();
    r.run(100);
    expect(r.reports.map(([, type]) => type)).toEqual(['linkLost', 'linkRestored']);
    r.board.setValve(true);
    expect(r.plant.valve).toBe(true);
  });

  it('stops watching after close()', async () => {
    const r = await rig();
    await r.board.close();
    r.clock.advance(10_000);
    expect(r.reports).toEqual([]);
  });
});
