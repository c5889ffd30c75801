/**
 * The appliance ("plant") as a board sees it: outputs in, sensor signals out.
 *
 * sim/ implements it with water physics; hardware/'s emulated board accepts one and wires
 * it to the firmware's pins. Neither side imports the other: the command puts them together.
 */
import type { FloatReading } from '../machine/events.js';

export interface PlantSignals {
  readonly float: FloatReading;
  /** Flow-meter pulses since the plant started (monotonic). */
  readonly flowPulses: number;
  /** Tub level in litres, or null when the level sensor wire is broken. */
  readonly tubLevelL: number | null;
  readonly hoseFuseBlown: boolean;
}

export interface Plant {
  /** Flow-meter calibration of the simulated meter. */
  readonly pulsesPerLitre: number;
  /** The inlet valve's coil: true = energised = open (unless stuck). */
  setValve(open: boolean): void;
  setDrainPump(on: boolean): void;
  /** Advance the physics by `dtMs` of plant time. */
  step(dtMs: number): void;
  signals(): PlantSignals;
}
