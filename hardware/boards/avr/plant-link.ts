/**
 * Wires an emulated Uno to a Plant, the way the real board is wired to the appliance:
 * float and tub level become voltages on A1/A0, flow-meter pulses pull D2 low (an open-collector
 * sensor on the pin's pull-up, so pulses arrive through INT0), the hose-fuse contact holds D4 low
 * while the hose's safety valve is intact and lets go (the pin's pull-up reads HIGH) once it has
 * blown, and the valve (D7) and drain-pump (D8) outputs drive the plant's actuators.
 *
 * Time: `runFor(cycles)` runs the CPU and the CycleClock's timers. `followClock(clock)` then keeps
 * the emulation at the outside clock's pace: every `stepMs` it runs the cycles the clock has
 * moved on (16,000 per ms). The link never steps the plant's physics: its owner does.
 */
import type { Clock } from '../../../src/clock/clock.js';
import type { Plant } from '../../../src/board/plant.js';
import { floatVolts, levelVolts, pins as defaultPins, type PinMap } from '../../pins.js';
import { CycleClock } from './cycle-clock.js';
import { CYCLES_PER_MS, type EmulatedUno } from './uno.js';

/** How long the meter holds D2 low per pulse, at most. */
const PULSE_LOW_CYCLES = CYCLES_PER_MS / 2;

export interface PlantLinkOptions {
  readonly uno: EmulatedUno;
  readonly plant: Plant;
  readonly pins?: PinMap;
}

export class PlantLink {
  readonly uno: EmulatedUno;
  readonly cycleClock: CycleClock;
  private readonly plant: Plant;
  private readonly map: PinMap;
  private lastPulses: number | null = null;
  private valve = false;
  private pump = false;
  private timer: unknown = null;
  private following: { clock: Clock; stepMs: number; clockStart: number; cycleStart: number } | null = null;

  constructor(options: PlantLinkOptions) {
    this.uno = options.uno;
    this.plant = options.plant;
    this.map = options.pins ?? defaultPins;
    this.cycleClock = new CycleClock(() => this.uno.cycles, CYCLES_PER_MS);
    this.plant.setValve(false);
    this.plant.setDrainPump(false);
  }

  /** Runs `cycles` of emulation: inputs in, pulses on D2, timers, outputs out. */
  runFor(cycles: number): void {
    const end = this.uno.cycles + cycles;
    const signals = this.plant.signals();
    const { float, tubLevel, flowMeter, hoseFuse } = this.map.pins;
    this.uno.setAnalogVolts(float.analogChannel, floatVolts(signals.float, this.map));
    this.uno.setAnalogVolts(tubLevel.analogChannel, levelVolts(signals.tubLevelL, this.map));
    // A normally-closed contact to GND: closed drives the pin LOW; open leaves it to the pull-up.
    this.uno.setDigitalInput(hoseFuse.pin, signals.hoseFuseBlown ? null : false);
    const pulses = this.lastPulses === null ? 0 : Math.max(0, signals.flowPulses - this.lastPulses);
    this.lastPulses = signals.flowPulses;
    // Spread this step's pulses evenly over it: LOW for up to half a ms, then released to the pull-up.
    const spacing = pulses > 0 ? cycles / pulses : Infinity;
    const low = Math.max(1, Math.min(PULSE_LOW_CYCLES, Math.floor(spacing / 2)));
    for (let i = 0; i < pulses; i++) {
      const startAt = this.uno.cycles + Math.floor(spacing) - 2 * low;
      this.runTo(Math.max(this.uno.cycles, startAt));
      this.uno.setDigitalInput(flowMeter.pin, false);
      this.runTo(this.uno.cycles + low);
      this.uno.setDigitalInput(flowMeter.pin, null);
      this.runTo(this.uno.cycles + low);
    }
    this.runTo(end);
  }

  /** Keeps pace with `clock` from now on, stepping every `stepMs` of its time. */
  followClock(clock: Clock, stepMs = 10): void {
    this.stop();
    this.following = { clock, stepMs, clockStart: clock.now(), cycleStart: this.uno.cycles };
    this.timer = clock.setTimeout(this.step, stepMs);
  }

  stop(): void {
    if (this.following && this.timer !== null) this.following.clock.clearTimeout(this.timer);
    this.timer = null;
    this.following = null;
  }

  private step = (): void => {
    const f = this.following;
    if (!f) return;
    const target = f.cycleStart + Math.round((f.clock.now() - f.clockStart) * CYCLES_PER_MS);
    const behind = target - this.uno.cycles;
    // On wall time an emulator slower than the chip cannot catch up: drop the backlog instead of spiralling.
    const maxCycles = 20 * f.stepMs * CYCLES_PER_MS;
    if (behind > maxCycles) f.cycleStart -= behind - maxCycles;
    if (behind > 0) this.runFor(Math.min(behind, maxCycles));
    this.timer = f.clock.setTimeout(this.step, f.stepMs);
  };

  private runTo(target: number): void {
    while (this.uno.cycles < target) {
      const next = Math.min(target, this.cycleClock.nextDueCycles());
      if (next > this.uno.cycles) this.uno.run(next - this.uno.cycles);
      this.cycleClock.fireDue();
      this.syncOutputs();
    }
    this.syncOutputs();
  }

  private syncOutputs(): void {
    const valve = this.uno.outputHigh(this.map.pins.valve.pin);
    const pump = this.uno.outputHigh(this.map.pins.drainPump.pin);
    if (valve !== this.valve) {
      this.valve = valve;
      this.plant.setValve(valve);
    }
    if (pump !== this.pump) {
      this.pump = pump;
      this.plant.setDrainPump(pump);
    }
  }
}
