/**
 * A bare emulated Uno for pin-level firmware tests (test/hardware/firmware-avr.test.ts): avr8js
 * CPU, timers, USART, ports, ADC, watchdog and an in-memory EEPROM, with no johnny-five and no
 * Plant. Time is emulated cycles (16,000 per ms). The board-level emulator the simulator uses
 * lives in hardware/boards/; this one stays independent of it on purpose, so the firmware's own
 * safety is checked against the bare chip. It shares only the two corrections that make avr8js
 * behave like the ATmega328P (hardware/boards/avr/usart-rx-flag.ts, watchdog-reset.ts).
 *
 * `onMachine` lets a test break the chip on purpose (a stuck RAM bit, a wrong ADC reference, a
 * slow watchdog oscillator) to show that a self-test notices.
 */
import {
  AVRADC,
  AVRClock,
  AVREEPROM,
  AVRIOPort,
  AVRTimer,
  AVRUSART,
  AVRWatchdog,
  CPU,
  EEPROMMemoryBackend,
  PinState,
  adcConfig,
  clockConfig,
  eepromConfig,
  portBConfig,
  portCConfig,
  portDConfig,
  timer0Config,
  timer1Config,
  timer2Config,
  usart0Config,
  watchdogConfig,
} from 'avr8js';
import { newCpuRunState, runCpu, type CpuRunState } from '../../hardware/boards/avr/sleep.js';
import { keepRxFlagOnControlWrites } from '../../hardware/boards/avr/usart-rx-flag.js';
import { forceWdeWhileWdrf, startAfterWatchdogReset } from '../../hardware/boards/avr/watchdog-reset.js';
import { floatVolts, levelVolts, pins, type FloatState } from '../../hardware/pins.js';

export const HZ = 16_000_000;
const SLICE_CYCLES = 1600;
const SRAM_START = 0x100;
const SRAM_END = 0x900;
export const CYCLES_PER_MS = HZ / 1000;
export const VALVE = pins.pins.valve.pin; // port D
export const PUMP = pins.pins.drainPump.pin; // port B bit 0 (D8)
export const HOSE = pins.pins.hoseFuse.pin; // port D

/** STATUS report bytes, decoded per PROTOCOL.md section 2. */
export interface Status {
  valve: boolean;
  pump: boolean;
  latched: boolean;
  linkLost: boolean;
  armed: boolean;
  valveRequested: boolean;
  float: number;
  reason: number;
  pulses: number;
  resetCause: number;
  seq: number;
  atCycle: number;
  /** STATUS byte 15 bit 0: the hose-fuse contact read open for the debounce time. */
  hoseBlown: boolean;
}

/** One Uno: CPU and peripherals. A watchdog reset builds a fresh one around the same EEPROM. */
export class Machine {
  readonly cpu: CPU;
  readonly usart: AVRUSART;
  readonly adc: AVRADC;
  readonly portB: AVRIOPort;
  readonly portD: AVRIOPort;
  readonly watchdog: AVRWatchdog;
  readonly runState: CpuRunState;
  resetByWatchdog = false;

  constructor(program: Uint16Array, eeprom: EEPROMMemoryBackend, mcusr: number, sram: Uint8Array | undefined, modelSleep: boolean) {
    this.runState = newCpuRunState(modelSleep);
    this.cpu = new CPU(program);
    if (sram) this.cpu.data.set(sram, SRAM_START); // a reset keeps SRAM; only power-on loses it
    const clock = new AVRClock(this.cpu, HZ, clockConfig);
    new AVRTimer(this.cpu, timer0Config);
    new AVRTimer(this.cpu, timer1Config);
    new AVRTimer(this.cpu, timer2Config);
    this.usart = new AVRUSART(this.cpu, usart0Config, HZ);
    keepRxFlagOnControlWrites(this.cpu, this.usart, usart0Config);
    this.adc = new AVRADC(this.cpu, adcConfig);
    this.portB = new AVRIOPort(this.cpu, portBConfig);
    new AVRIOPort(this.cpu, portCConfig);
    this.portD = new AVRIOPort(this.cpu, portDConfig);
    new AVREEPROM(this.cpu, eeprom, eepromConfig);
    this.watchdog = new AVRWatchdog(this.cpu, watchdogConfig, clock);
    forceWdeWhileWdrf(this.cpu, watchdogConfig);
    this.cpu.data[watchdogConfig.MCUSR] = mcusr;
    if (mcusr & 0x08) startAfterWatchdogReset(this.cpu, watchdogConfig);
    const reset = this.cpu.reset.bind(this.cpu);
    this.cpu.reset = () => {
      // avr8js resets only PC and SP; a real chip also clears every register. Start over instead.
      this.resetByWatchdog = true;
      this.runState.halted = true;
      reset();
    };
  }
}

export class EmulatedUno {
  machine!: Machine;
  readonly eeprom = new EEPROMMemoryBackend(1024);
  readonly fromBoard: number[] = [];
  readonly frames: number[][] = [];
  readonly statuses: Status[] = [];
  readonly valveEdges: Array<{ high: boolean; cycle: number }> = [];
  /** Watchdog resets since construction (the power-on self-test makes one at every start). */
  resets = 0;
  /** `cycles` at each of those resets. */
  readonly resetCycles: number[] = [];
  /** `resets` when `start()` finished: the self-test's reset is part of starting. */
  private resetsAtStart = 0;
  /** Called with every new machine (boot and each reset), before it runs. */
  onMachine: ((m: Machine) => void) | null = null;
  private toBoard: number[] = [];
  private sysex: number[] | null = null;
  private base = 0; // cycles of earlier machines (before resets)
  private floatState: FloatState = 'dry';
  private floatVoltsOverride: number | null = null;
  private litres: number | null = 2;
  /** The hose-fuse contact (normally closed to GND): closed unless a test opens it. */
  private hoseContactClosed = true;

  /**
   * `modelSleep`: a sleeping CPU skips to its next event (hardware/boards/avr/sleep.ts) instead
   * of spinning through SLEEP as a no-op, about ten times faster for an idle firmware. Off by
   * default: the older tests check that the firmware behaves the same without it.
   */
  constructor(
    private readonly program: Uint16Array,
    private readonly options: { modelSleep?: boolean } = {},
  ) {}

  boot(mcusr = 0x01, sram?: Uint8Array): this {
    this.machine = new Machine(this.program, this.eeprom, mcusr, sram, this.options.modelSleep ?? false);
    const m = this.machine;
    m.usart.onRxComplete = () => this.feed();
    this.onMachine?.(m);
    m.usart.onByteTransmit = (b) => this.receive(b);
    m.portD.setPin(pins.pins.flowMeter.pin, true); // the meter's pull-up: idle high
    let last = false;
    m.portD.addListener(() => {
      const high = m.portD.pinState(VALVE) === PinState.High;
      if (high !== last) this.valveEdges.push({ high, cycle: this.cycles });
      last = high;
      this.applyHose(); // the firmware may have switched the pin's pull-up
    });
    this.applyHose();
    this.applyInputs();
    return this;
  }

  /**
   * Boots and runs until the first STATUS report (start-up self-tests included: the march test, at
   * power-on the watchdog's deliberate reset, the flash CRC, a fresh EEPROM's record).
   */
  start(mcusr = 0x01, maxMs = 300): this {
    this.boot(mcusr);
    const seen = this.statuses.length;
    for (let t = 0; t < maxMs && this.statuses.length === seen; t++) this.run(1);
    if (this.statuses.length === seen) throw new Error(`no STATUS within ${maxMs} ms of boot`);
    this.resetsAtStart = this.resets;
    return this;
  }

  /** Watchdog resets after `start()` returned. */
  get resetsSinceStart(): number {
    return this.resets - this.resetsAtStart;
  }

  get cycles(): number {
    return this.base + this.machine.cpu.cycles;
  }
  get valveOpen(): boolean {
    return this.machine.portD.pinState(VALVE) === PinState.High;
  }
  get pumpOn(): boolean {
    return this.machine.portB.pinState(PUMP - 8) === PinState.High;
  }
  get lastStatus(): Status {
    const s = this.statuses[this.statuses.length - 1];
    if (!s) throw new Error('the board sent no STATUS');
    return s;
  }

  setFloat(state: FloatState): void {
    this.floatState = state;
    this.floatVoltsOverride = null;
    this.applyInputs();
  }
  /** Any voltage on the float input (a value between the ranges, a shorted wire at 0 V). */
  setFloatVolts(volts: number): void {
    this.floatVoltsOverride = volts;
    this.applyInputs();
  }
  /**
   * The hose-fuse contact: closed (hose intact, or the maker's jumper to GND) or open (the safety
   * valve blew, or the wire broke). Open, the pin reads HIGH only through the pull-up the firmware
   * must switch on; without it, the floating pin reads LOW here (avr8js), as it might on the chip.
   */
  setHoseContact(closed: boolean): void {
    this.hoseContactClosed = closed;
    this.applyHose();
  }
  /** CLEAR_LATCH with its key. */
  clearLatch(): void {
    this.send(0xf0, 0x03, 0x4c, 0x43, 0xf7);
  }
  /** The 4-byte latch record in EEPROM (PROTOCOL.md section 3). */
  get latchRecord(): number[] {
    return [...this.eeprom.memory.subarray(0x10, 0x14)];
  }
  /** STRING_DATA notes the board sent, decoded. */
  get notes(): string[] {
    return this.frames.filter((f) => f[0] === 0x71).map((f) => String.fromCharCode(...f.slice(1).filter((_, i) => i % 2 === 0)));
  }
  send(...bytes: number[]): void {
    this.toBoard.push(...bytes);
  }
  keepalive(): void {
    this.send(0xf0, 0x01, 0xf7);
  }
  arm(): void {
    this.send(0xf0, 0x02, 0xf7);
  }
  requestValve(open: boolean): void {
    this.send(0xf5, VALVE, open ? 1 : 0);
  }

  /** Runs `ms` of emulated time, feeding queued bytes at the line rate. */
  run(ms: number, every?: { ms: number; action: () => void }): void {
    const end = this.cycles + ms * CYCLES_PER_MS;
    let nextAction = every ? this.cycles + every.ms * CYCLES_PER_MS : Infinity;
    while (this.cycles < end) {
      const m = this.machine;
      this.feed();
      // Slices of 0.1 ms: the host's actions and the byte feed keep that resolution.
      runCpu(m.cpu, m.cpu.cycles + Math.min(SLICE_CYCLES, end - this.cycles), m.runState);
      if (m.resetByWatchdog) {
        this.resetCycles.push(this.cycles);
        this.base += m.cpu.cycles;
        this.resets++;
        this.boot(0x08, m.cpu.data.slice(SRAM_START, SRAM_END)); // WDRF
      }
      if (this.cycles >= nextAction && every) {
        every.action();
        nextAction += every.ms * CYCLES_PER_MS;
      }
    }
  }

  /** Hands the next queued byte to the USART when it can take one (again as each byte completes). */
  private feed(): void {
    const usart = this.machine.usart;
    if (this.toBoard.length > 0 && !usart.rxBusy && usart.writeByte(this.toBoard[0]!)) this.toBoard.shift();
  }

  /** Runs until a frame matching `pred` arrives (at most `maxMs`); fails loudly otherwise. */
  expectFrame(pred: (f: number[]) => boolean, maxMs = 200): number[] {
    const seen = this.frames.length;
    for (let t = 0; t < maxMs; t++) {
      this.run(1);
      const hit = this.frames.slice(seen).find(pred);
      if (hit) return hit;
    }
    throw new Error(`no matching frame within ${maxMs} ms of emulated time`);
  }

  private applyHose(): void {
    const m = this.machine;
    m.portD.setPin(HOSE, !this.hoseContactClosed && m.portD.pinState(HOSE) === PinState.InputPullUp);
  }

  private applyInputs(): void {
    this.machine.adc.channelValues[pins.pins.float.analogChannel] = this.floatVoltsOverride ?? floatVolts(this.floatState);
    this.machine.adc.channelValues[pins.pins.tubLevel.analogChannel] = levelVolts(this.litres);
  }

  private receive(b: number): void {
    this.fromBoard.push(b);
    if (b === 0xf0) this.sysex = [];
    else if (b === 0xf7 && this.sysex) {
      this.frames.push(this.sysex);
      if (this.sysex[0] === 0x04) this.statuses.push(decodeStatus(this.sysex.slice(1), this.cycles));
      this.sysex = null;
    } else if (this.sysex) this.sysex.push(b);
  }
}

/** The record the firmware writes: A7 <latched> <reason> <A7 ^ latched ^ reason ^ 5A>. */
export function latchRecord(latched: 0 | 1, reason: number): number[] {
  return [0xa7, latched, reason, 0xa7 ^ latched ^ reason ^ 0x5a];
}

export function decodeStatus(d: number[], atCycle: number): Status {
  const b = (i: number) => d[i] ?? 0;
  return {
    valve: (b(0) & 0x01) !== 0,
    pump: (b(0) & 0x02) !== 0,
    latched: (b(0) & 0x04) !== 0,
    linkLost: (b(0) & 0x08) !== 0,
    armed: (b(0) & 0x10) !== 0,
    valveRequested: (b(0) & 0x20) !== 0,
    float: b(1),
    reason: b(2),
    pulses: (b(3) | (b(4) << 7) | (b(5) << 14) | (b(6) << 21)) + b(7) * 2 ** 28,
    resetCause: b(12),
    seq: b(13),
    atCycle,
    hoseBlown: (b(15) & 0x01) !== 0,
  };
}

export function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
