/**
 * How a fleet comes up: not every appliance at t = 0. Each is plugged in at a seeded moment
 * within `onlineSpreadMs` (one heartbeat interval: a monitor sees the whole fleet within one
 * interval, and no device can be due before it was plugged in) and starts its program at a
 * seeded moment within `programSpreadMs` after that (the program's length: at any time the
 * fleet is spread over every step of it, as a real one is, instead of filling all at once).
 *
 * The same seed and size give the same plan; each appliance's moments depend only on the seed
 * and its index, so a larger fleet keeps the plan of a smaller one for its first appliances.
 */
import { Rng } from './rng.js';
import { DISHWASHER_PROGRAM } from './program.js';

export interface ApplianceStart {
  /** Virtual ms after the fleet starts at which the appliance is plugged in, in [0, onlineSpreadMs). */
  readonly powerOnAfterMs: number;
  /** Virtual ms after its power-on at which its program starts, in [0, programSpreadMs). */
  readonly programAfterMs: number;
}

export interface FleetStartOptions {
  readonly seed: number;
  readonly onlineSpreadMs: number;
  readonly programSpreadMs: number;
}

/** The program's length without its fills and drains (which depend on the water): 64 minutes. */
export const PROGRAM_WAITS_MS = DISHWASHER_PROGRAM.reduce((sum, step) => sum + (step.kind === 'wait' ? step.ms : 0), 0);

export function fleetStartPlan(n: number, o: FleetStartOptions): ApplianceStart[] {
  return Array.from({ length: n }, (_, i) => {
    // One generator per appliance, seeded from the fleet's seed and the index.
    const rng = new Rng(Math.imul(o.seed ^ 0x5bd1e995, 0x9e3779b1) + Math.imul(i + 1, 0x85ebca6b));
    return { powerOnAfterMs: Math.floor(rng.next() * o.onlineSpreadMs), programAfterMs: Math.floor(rng.next() * o.programSpreadMs) };
  });
}
