/**
 * Turns board samples into controller events: only what changed since the last sample,
 * with the level classified for plausibility and the flow-meter counter turned into litres.
 * The runtime calls `sample()` every tick with the board's latest reading.
 */
import type { ControllerConfig } from '../machine/config.js';
import type { ControllerEvent, FloatReading, LevelReading } from '../machine/events.js';
import type { BoardInputs } from './board.js';
import { classifyLevel, sameLevel } from './plausibility.js';

export class InputSampler {
  /** The raw tub level of the last sample (for status), null when the signal is lost. */
  tubLevelL: number | null = null;
  private lastFloat: FloatReading | null = null;
  private lastLevel: LevelReading | null = null;
  private lastRawLevel: number | null = null;
  private lastPulses: number | null = null;
  private hoseFuseSent = false;

  constructor(
    private readonly config: ControllerConfig,
    private readonly pulsesPerLitre: number,
  ) {}

  /** The events one sample gives the controller, in order: level, float, flow, hose fuse. */
  sample(inputs: BoardInputs): ControllerEvent[] {
    const events: ControllerEvent[] = [];
    // The level goes first: a level that turns bad closes the valve at once, while one that turns
    // good must settle first. So a float that dries in the same sample as the level turns bad
    // never lets the valve pulse open between the two events.
    this.tubLevelL = inputs.tubLevelL;
    const level = classifyLevel(inputs.tubLevelL, this.lastRawLevel, this.config.sensors);
    this.lastRawLevel = inputs.tubLevelL;
    if (!sameLevel(this.lastLevel, level)) {
      this.lastLevel = level;
      events.push({ type: 'sensor.level', reading: level });
    }
    if (inputs.float !== this.lastFloat) {
      this.lastFloat = inputs.float;
      events.push({ type: 'sensor.float', reading: inputs.float });
    }
    const pulses = inputs.flowPulses;
    // A counter that went backwards (board restarted) restarts the baseline rather than inventing flow.
    const delta = this.lastPulses === null || pulses < this.lastPulses ? 0 : pulses - this.lastPulses;
    this.lastPulses = pulses;
    // Only pulses are news: when the flow has stopped is the controller's rule (valveLeak.quietMs), timed on its clock.
    if (delta > 0) events.push({ type: 'sensor.flow', litres: delta / this.pulsesPerLitre });
    if (inputs.hoseFuseBlown && !this.hoseFuseSent) {
      this.hoseFuseSent = true;
      events.push({ type: 'sensor.hoseFuse' });
    }
    return events;
  }
}
