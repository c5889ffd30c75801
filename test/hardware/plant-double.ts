/**
 * A plant a test sets by hand (float, level, pulses) and whose actuators it reads back:
 * enough to check the wiring of the emulated board without water physics.
 */
import type { FloatReading } from '../../src/machine/events.js';
import type { Plant, PlantSignals } from '../../src/board/plant.js';

export class PlantDouble implements Plant {
  readonly pulsesPerLitre = 450;
  float: FloatReading = 'dry';
  flowPulses = 0;
  tubLevelL: number | null = 2;
  hoseFuseBlown = false;
  valve = false;
  pump = false;
  readonly valveEdges: boolean[] = [];

  setValve(open: boolean): void {
    if (open !== this.valve) this.valveEdges.push(open);
    this.valve = open;
  }
  setDrainPump(on: boolean): void {
    this.pump = on;
  }
  step(): void {}
  signals(): PlantSignals {
    return { float: this.float, flowPulses: this.flowPulses, tubLevelL: this.tubLevelL, hoseFuseBlown: this.hoseFuseBlown };
  }
}
