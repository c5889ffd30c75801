/**
 * Water physics of a dishwasher with an Aquastop hose, as a Plant (src/board/plant.ts).
 *
 * The Aquastop valve sits at the tap. The inlet hose runs from it to the machine inside a
 * jacket: water that escapes the inner hose (a crack, a burst) runs down the jacket into
 * the base pan, unmetered; some of a crack's leak is lost outside. A one-shot mechanical
 * hose safety valve (a fuse) blows when the flow stays far above normal. The flow meter is
 * inside the machine, after the hose. The base pan's float switch trips at about 45 mL.
 * Water lost after the meter (an internal leak, a siphoning drain hose) is metered but never
 * raises the tub level: what the controller's unaccounted-water (iE0) and top-up (iF0) rules see.
 */
import type { FloatReading } from '../src/machine/events.js';
import type { Plant, PlantSignals } from '../src/board/plant.js';
import { Rng } from './rng.js';

export interface PhysicsOptions {
  /** Normal inlet flow with the valve open, L/min. */
  readonly inletFlowLpm: number;
  /** Flow through a burst hose, L/min. */
  readonly burstFlowLpm: number;
  /** Share of a burst hose's water that runs into the base pan. */
  readonly burstToPan: number;
  readonly drainLpm: number;
  readonly pulsesPerLitre: number;
  /** Pan volume at which the float rises, and (hysteresis) at which it falls again, mL. */
  readonly floatTripMl: number;
  readonly floatResetMl: number;
  /** The pan dries slowly by itself, mL/min. */
  readonly panEvaporationMlPerMin: number;
  /** The hose fuse blows above this flow ... */
  readonly hoseFuseLpm: number;
  /** ... held this long. */
  readonly hoseFuseMs: number;
  /** Standard deviation of the level sensor's noise, L. */
  readonly levelNoiseL: number;
  /** Above this the tub overflows into the base pan. */
  readonly tubMaxL: number;
}

export const DEFAULT_PHYSICS: PhysicsOptions = {
  inletFlowLpm: 4,
  burstFlowLpm: 41,
  burstToPan: 0.95,
  drainLpm: 17,
  pulsesPerLitre: 450,
  floatTripMl: 45,
  floatResetMl: 30,
  panEvaporationMlPerMin: 1,
  hoseFuseLpm: 25,
  hoseFuseMs: 1_000,
  levelNoiseL: 0.004,
  tubMaxL: 8,
};

/** Faults the simulator can inject (and clear). */
export type PlantFault =
  | { readonly kind: 'crackedHose'; readonly leakFraction: number; readonly toPanFraction: number }
  | { readonly kind: 'burstHose' }
  | { readonly kind: 'tapClosed' }
  | { readonly kind: 'valveStuckOpen' }
  | { readonly kind: 'floatChatter'; readonly periodMs: number; readonly wetMs: number }
  | { readonly kind: 'levelWireBreak' }
  | { readonly kind: 'drainBlocked' }
  | { readonly kind: 'leak'; readonly ml: number }
  /** A share of the metered inflow escapes inside the appliance before the tub (split internal hose, door seal). */
  | { readonly kind: 'internalLeak'; readonly leakFraction: number; readonly toPanFraction: number }
  /** The drain hose siphons: water runs out of the tub into the drain with the pump off. */
  | { readonly kind: 'siphon'; readonly lpm: number }
  /** The level signal picks up noise (loose connector, interference): each reading off by up to ±amplitudeL. */
  | { readonly kind: 'levelNoise'; readonly amplitudeL: number };

export type PlantFaultKind = PlantFault['kind'];

export class DishwasherPlant implements Plant {
  readonly options: PhysicsOptions;
  readonly pulsesPerLitre: number;
  private readonly rng: Rng;
  private timeMs = 0;
  private valveCoil = false;
  private pumpOn = false;
  private tubL = 0;
  private panMl = 0;
  private floatWet = false;
  private pulses = 0;
  private overFuseMs = 0;
  private fuseBlown = false;
  private crack: { leakFraction: number; toPanFraction: number } | null = null;
  private burst = false;
  private tapClosed = false;
  private stuckOpen = false;
  private chatter: { periodMs: number; wetMs: number } | null = null;
  private wireBroken = false;
  private drainBlocked = false;
  private internalLeak: { leakFraction: number; toPanFraction: number } | null = null;
  private siphonLpm = 0;
  private noiseAmplitudeL = 0;
  private noise = 0;
  /** Totals, for reports and tests. */
  readonly totals = { inflowL: 0, meteredL: 0, toPanL: 0, lostL: 0, drainedL: 0 };

  constructor(options: Partial<PhysicsOptions> & { seed?: number } = {}) {
    const { seed = 1, ...rest } = options;
    this.options = { ...DEFAULT_PHYSICS, ...rest };
    this.pulsesPerLitre = this.options.pulsesPerLitre;
    this.rng = new Rng(seed);
  }

  setValve(open: boolean): void {
    this.valveCoil = open;
  }

  setDrainPump(on: boolean): void {
    this.pumpOn = on;
  }

  /** A power cut de-energises everything: the normally-closed valve closes (unless stuck). */
  powerOff(): void {
    this.valveCoil = false;
    this.pumpOn = false;
  }

  inject(fault: PlantFault): void {
    switch (fault.kind) {
      case 'crackedHose':
        this.crack = { leakFraction: fault.leakFraction, toPanFraction: fault.toPanFraction };
        break;
      case 'burstHose':
        this.burst = true;
        break;
      case 'tapClosed':
        this.tapClosed = true;
        break;
      case 'valveStuckOpen':
        this.stuckOpen = true;
        break;
      case 'floatChatter':
        this.chatter = { periodMs: fault.periodMs, wetMs: fault.wetMs };
        break;
      case 'levelWireBreak':
        this.wireBroken = true;
        break;
      case 'drainBlocked':
        this.drainBlocked = true;
        break;
      case 'leak':
        this.panMl += fault.ml;
        break;
      case 'internalLeak':
        this.internalLeak = { leakFraction: fault.leakFraction, toPanFraction: fault.toPanFraction };
        break;
      case 'siphon':
        this.siphonLpm = fault.lpm;
        break;
      case 'levelNoise':
        this.noiseAmplitudeL = fault.amplitudeL;
        break;
    }
  }

  clear(kind: PlantFaultKind): void {
    if (kind === 'crackedHose') this.crack = null;
    else if (kind === 'burstHose') this.burst = false;
    else if (kind === 'tapClosed') this.tapClosed = false;
    else if (kind === 'valveStuckOpen') this.stuckOpen = false;
    else if (kind === 'floatChatter') this.chatter = null;
    else if (kind === 'levelWireBreak') this.wireBroken = false;
    else if (kind === 'drainBlocked') this.drainBlocked = false;
    else if (kind === 'internalLeak') this.internalLeak = null;
    else if (kind === 'siphon') this.siphonLpm = 0;
    else if (kind === 'levelNoise') this.noiseAmplitudeL = 0;
  }

  /** Someone mops the base pan dry. */
  dryPan(): void {
    this.panMl = 0;
  }

  /** Water leaves the tub without the pump (soaked up by the load): the program's top-up need. */
  absorb(litres: number): void {
    this.tubL = Math.max(0, this.tubL - litres);
  }

  step(dtMs: number): void {
    const o = this.options;
    this.timeMs += dtMs;
    const minutes = dtMs / 60_000;
    const open = (this.valveCoil || this.stuckOpen) && !this.tapClosed && !this.fuseBlown;
    const supplyLpm = this.burst ? o.burstFlowLpm : o.inletFlowLpm;
    if (open && supplyLpm > o.hoseFuseLpm) {
      this.overFuseMs += dtMs;
      if (this.overFuseMs >= o.hoseFuseMs) this.fuseBlown = true;
    } else {
      this.overFuseMs = 0;
    }
    const flowL = open ? supplyLpm * minutes : 0;
    let toPanL = 0;
    let lostL = 0;
    if (this.burst) {
      toPanL = flowL * o.burstToPan;
      lostL = flowL - toPanL;
    } else if (this.crack) {
      const leak = flowL * this.crack.leakFraction;
      toPanL = leak * this.crack.toPanFraction;
      lostL = leak - toPanL;
    }
    const meteredL = flowL - toPanL - lostL;
    this.pulses += meteredL * o.pulsesPerLitre;
    this.totals.meteredL += meteredL;
    let toTubL = meteredL;
    if (this.internalLeak) {
      // After the meter: counted as inflow, never reaches the tub.
      const leak = meteredL * this.internalLeak.leakFraction;
      const leakToPan = leak * this.internalLeak.toPanFraction;
      toTubL -= leak;
      toPanL += leakToPan;
      lostL += leak - leakToPan;
    }
    this.totals.inflowL += flowL;
    this.totals.toPanL += toPanL;
    this.totals.lostL += lostL;
    this.tubL += toTubL;
    let drainLpm = this.pumpOn && !this.drainBlocked ? o.drainLpm : 0;
    drainLpm += this.siphonLpm;
    if (drainLpm > 0) {
      const drained = Math.min(this.tubL, drainLpm * minutes);
      this.tubL -= drained;
      this.totals.drainedL += drained;
    }
    if (this.tubL > o.tubMaxL) {
      toPanL += this.tubL - o.tubMaxL;
      this.tubL = o.tubMaxL;
    }
    this.panMl = Math.max(0, this.panMl + toPanL * 1000 - o.panEvaporationMlPerMin * minutes);
    if (this.panMl >= o.floatTripMl) this.floatWet = true;
    else if (this.panMl < o.floatResetMl) this.floatWet = false;
    this.noise = this.rng.gaussian() * o.levelNoiseL;
    // Drawn only while injected, so a run without it keeps its noise sequence.
    if (this.noiseAmplitudeL > 0) this.noise += (this.rng.next() * 2 - 1) * this.noiseAmplitudeL;
  }

  signals(): PlantSignals {
    return {
      float: this.floatReading(),
      flowPulses: Math.floor(this.pulses),
      tubLevelL: this.wireBroken ? null : Math.max(0, this.tubL + this.noise),
      hoseFuseBlown: this.fuseBlown,
    };
  }

  /** For reports and the interactive footer. */
  readings(): { tubL: number; panMl: number; fuseBlown: boolean } {
    return { tubL: this.tubL, panMl: this.panMl, fuseBlown: this.fuseBlown };
  }

  private floatReading(): FloatReading {
    if (this.floatWet) return 'wet';
    if (this.chatter && this.timeMs % this.chatter.periodMs < this.chatter.wetMs) return 'wet';
    return 'dry';
  }
}
