import { describe } from 'vitest';
import type { Plant } from '../../src/board/plant.js';
import { SimulatedBoard } from '../../sim/board.js';
import { DishwasherPlant } from '../../sim/physics.js';
import { VirtualClock } from '../../sim/virtual-clock.js';
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
    const board = new SimulatedBoard(plant);
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
