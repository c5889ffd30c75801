/**
 * An Arduino Uno (ATmega328P at 16 MHz) in avr8js: CPU, timers 0-2, USART0, ports B/C/D,
 * ADC, EEPROM (pluggable backend) and the hardware watchdog.
 *
 * What avr8js leaves out and this class adds:
 * - Pull-up resistors: an input pin nobody drives reads HIGH when its PORT bit enables the
 *   internal pull-up, LOW otherwise (avr8js reads every undriven input LOW).
 * - Resets that start over: avr8js's reset only moves PC and SP; a real chip also clears its
 *   registers and peripherals, so a reset (watchdog, external, power-on) builds a fresh machine
 *   around the same EEPROM (and, unless it is a power-on, the same SRAM) and sets MCUSR to the
 *   cause. After a watchdog reset the watchdog keeps running (WDRF forces WDE, 16 ms) as on the
 *   chip (./watchdog-reset.ts).
 * - A pending received byte survives writes to UCSR0B, as on the chip (./usart-rx-flag.ts).
 * - Host bytes reach the USART one at a time at the line rate (onRxComplete feeds the next).
 * - SLEEP: a sleeping CPU skips to its next clock event instead of executing (./sleep.ts).
 * - Faults of the part itself (`addChipFault`: a drifting ADC reference, a slow watchdog
 *   oscillator), which outlive resets as a broken part would (./self-test-faults.ts stages them).
 *
 * Time is counted in cycles, so every run is exactly repeatable; nothing here reads a clock.
 * Arduino pin numbers: D0-D7 = port D, D8-D13 = port B, A0-A5 (14-19) = port C.
 */
import { readFileSync } from 'node:fs';
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
  type EEPROMBackend,
} from 'avr8js';
import { parseIntelHex } from '../../firmware/intel-hex.js';
import { ATMEGA328P_EEPROM_BYTES } from './eeprom-file.js';
import { newCpuRunState, runCpu, type CpuRunState } from './sleep.js';
import { keepRxFlagOnControlWrites } from './usart-rx-flag.js';
import { forceWdeWhileWdrf, startAfterWatchdogReset } from './watchdog-reset.js';

export const UNO_HZ = 16_000_000;
export const CYCLES_PER_MS = UNO_HZ / 1000;
const FLASH_WORDS = 0x4000;
const SRAM_START = 0x100;
const SRAM_END = 0x900;

/** MCUSR reset-cause bits. */
export const ResetCause = { powerOn: 0x01, external: 0x02, brownOut: 0x04, watchdog: 0x08 } as const;
export type ResetCauseName = keyof typeof ResetCause;

export class EmulatorTimeoutError extends Error {
  readonly emulatorTimeout = true;
  constructor(message: string) {
    super(message);
    this.name = 'EmulatorTimeoutError';
  }
}

/** Reads an Intel HEX file into a program image for the CPU. */
export function loadHexProgram(hexPath: string): Uint16Array {
  const image = parseIntelHex(readFileSync(hexPath, 'utf8'));
  const program = new Uint16Array(FLASH_WORDS);
  new Uint8Array(program.buffer).set(image.data.subarray(0, FLASH_WORDS * 2));
  return program;
}

interface PortSlot {
  readonly port: AVRIOPort;
  readonly bit: number;
}

/** The peripherals a staged fault of the part may change (a new set after every reset). */
export interface ChipParts {
  readonly cpu: CPU;
  readonly adc: AVRADC;
  readonly watchdog: AVRWatchdog;
}

class Machine implements ChipParts {
  readonly cpu: CPU;
  readonly usart: AVRUSART;
  readonly adc: AVRADC;
  readonly watchdog: AVRWatchdog;
  readonly ports: readonly [AVRIOPort, AVRIOPort, AVRIOPort]; // B, C, D
  /** Sleep state between runs; `halted` is the watchdog's reset request. */
  readonly runState: CpuRunState;

  constructor(program: Uint16Array, eeprom: EEPROMBackend, mcusr: number, modelSleep: boolean, sram?: Uint8Array) {
    this.runState = newCpuRunState(modelSleep);
    this.cpu = new CPU(program);
    if (sram) this.cpu.data.set(sram, SRAM_START); // a reset keeps SRAM; only power-on loses it
    const clock = new AVRClock(this.cpu, UNO_HZ, clockConfig);
    new AVRTimer(this.cpu, timer0Config);
    new AVRTimer(this.cpu, timer1Config);
    new AVRTimer(this.cpu, timer2Config);
    this.usart = new AVRUSART(this.cpu, usart0Config, UNO_HZ);
    keepRxFlagOnControlWrites(this.cpu, this.usart, usart0Config);
    this.adc = new AVRADC(this.cpu, adcConfig);
    this.ports = [new AVRIOPort(this.cpu, portBConfig), new AVRIOPort(this.cpu, portCConfig), new AVRIOPort(this.cpu, portDConfig)];
    new AVREEPROM(this.cpu, eeprom, eepromConfig);
    this.watchdog = new AVRWatchdog(this.cpu, watchdogConfig, clock);
    forceWdeWhileWdrf(this.cpu, watchdogConfig);
    this.cpu.data[watchdogConfig.MCUSR] = mcusr;
    if (mcusr & ResetCause.watchdog) startAfterWatchdogReset(this.cpu, watchdogConfig);
    this.cpu.reset = () => {
      this.runState.halted = true;
    };
  }
}

export interface UnoOptions {
  readonly program: Uint16Array;
  /** Default: erased in-memory EEPROM (use FileEEPROMBackend to keep it across runs). */
  readonly eeprom?: EEPROMBackend;
  /** Default true; false leaves SLEEP a no-op, so the firmware spins (benchmarks of the bare CPU). */
  readonly modelSleep?: boolean;
}

export class EmulatedUno {
  readonly program: Uint16Array;
  readonly eeprom: EEPROMBackend;
  readonly modelSleep: boolean;
  /** Resets since construction, by cause. */
  readonly resets: ResetCauseName[] = [];
  /** Called with every byte the firmware transmits. */
  onSerialByte: ((byte: number) => void) | null = null;
  /** Called after every reset (the new machine is running). */
  onReset: ((cause: ResetCauseName) => void) | null = null;

  private m!: Machine;
  private base = 0;
  private sleptBefore = 0;
  private readonly rxQueue: number[] = [];
  /** Externally driven digital levels by Arduino pin; absent = nobody drives the pin. */
  private readonly driven = new Map<number, boolean>();
  private readonly volts = new Map<number, number>();
  private readonly chipFaults: Array<(parts: ChipParts) => void> = [];

  constructor(options: UnoOptions) {
    this.program = options.program;
    this.modelSleep = options.modelSleep ?? true;
    this.eeprom = options.eeprom ?? new EEPROMMemoryBackend(ATMEGA328P_EEPROM_BYTES);
    this.boot(ResetCause.powerOn);
  }

  /** Cycles since construction, across resets. */
  get cycles(): number {
    return this.base + this.m.cpu.cycles;
  }

  get cpu(): CPU {
    return this.m.cpu;
  }

  /** True while the firmware sleeps (SLEEP with SE set) waiting for an interrupt. */
  get asleep(): boolean {
    return this.m.runState.asleep;
  }

  /** Cycles the CPU spent asleep since construction, across resets. */
  get sleptCycles(): number {
    return this.sleptBefore + this.m.runState.sleptCycles;
  }

  /** Host-to-board bytes waiting for the USART. */
  get pendingRx(): number {
    return this.rxQueue.length;
  }

  /** Queues bytes for the firmware's serial input; they arrive at the line rate. */
  sendSerial(bytes: ArrayLike<number>): void {
    for (let i = 0; i < bytes.length; i++) this.rxQueue.push(bytes[i]! & 0xff);
    this.feedRx();
  }

  /** Drives a digital input (true HIGH, false LOW), or releases it (null): then the pull-up decides. */
  setDigitalInput(pin: number, level: boolean | null): void {
    if (level === null) this.driven.delete(pin);
    else this.driven.set(pin, level);
    const slot = this.slot(pin);
    this.applyPin(slot.port, slot.bit, pin);
  }

  /** Puts a voltage on an analog channel (A0 = 0). */
  setAnalogVolts(channel: number, volts: number): void {
    this.volts.set(channel, volts);
    this.m.adc.channelValues[channel] = volts;
  }

  /** True when the pin is an output driven HIGH. */
  outputHigh(pin: number): boolean {
    const { port, bit } = this.slot(pin);
    return port.pinState(bit) === PinState.High;
  }

  /** The pin's state as avr8js sees it (output level, or input with/without pull-up). */
  pinState(pin: number): PinState {
    const { port, bit } = this.slot(pin);
    return port.pinState(bit);
  }

  /**
   * A fault of the part itself: `apply` changes the running chip's peripherals now and again after
   * every reset (a broken part stays broken); only a new EmulatedUno is healthy.
   */
  addChipFault(apply: (parts: ChipParts) => void): void {
    this.chipFaults.push(apply);
    apply(this.m);
  }

  /** Calls `listener` after any change of any port's output or direction registers. */
  onPortsChange(listener: () => void): () => void {
    const attach = () => {
      for (const p of this.m.ports) p.addListener(listener);
    };
    attach();
    const previous = this.onResetHooks;
    this.onResetHooks = [...previous, attach];
    return () => {
      for (const p of this.m.ports) p.removeListener(listener);
      this.onResetHooks = this.onResetHooks.filter((h) => h !== attach);
    };
  }

  /** Runs `cycles` CPU cycles (and resets the chip when the watchdog fires). */
  run(cycles: number): void {
    const end = this.cycles + cycles;
    while (this.cycles < end) {
      const m = this.m;
      runCpu(m.cpu, end - this.base, m.runState);
      if (m.runState.halted) this.reset('watchdog');
    }
  }

  runMs(ms: number): void {
    this.run(Math.round(ms * CYCLES_PER_MS));
  }

  /**
   * Runs in small slices until `predicate()` holds; throws an EmulatorTimeoutError after
   * `maxCycles` instead of hanging. Returns the cycles it took.
   */
  runUntil(predicate: () => boolean, maxCycles: number, what = 'condition', sliceCycles = 1600): number {
    const start = this.cycles;
    while (!predicate()) {
      if (this.cycles - start >= maxCycles) {
        throw new EmulatorTimeoutError(`${what} not reached within ${maxCycles} cycles (${(maxCycles / CYCLES_PER_MS).toFixed(1)} ms emulated)`);
      }
      this.run(sliceCycles);
    }
    return this.cycles - start;
  }

  /** Resets the chip: a fresh CPU and peripherals, same program, same EEPROM, inputs still applied. */
  reset(cause: ResetCauseName): void {
    this.base += this.m.cpu.cycles;
    this.sleptBefore += this.m.runState.sleptCycles;
    this.resets.push(cause);
    this.boot(ResetCause[cause], cause === 'powerOn' ? undefined : this.m.cpu.data.slice(SRAM_START, SRAM_END));
    this.onReset?.(cause);
  }

  private onResetHooks: Array<() => void> = [];

  private boot(mcusr: number, sram?: Uint8Array): void {
    this.retryArmed = false;
    this.m = new Machine(this.program, this.eeprom, mcusr, this.modelSleep, sram);
    this.m.usart.onRxComplete = () => this.feedRx();
    this.m.usart.onByteTransmit = (b) => this.onSerialByte?.(b);
    for (const port of this.m.ports) port.addListener(() => this.applyPort(port));
    for (const [ch, v] of this.volts) this.m.adc.channelValues[ch] = v;
    for (const fault of this.chipFaults) fault(this.m);
    for (const port of this.m.ports) this.applyPort(port);
    for (const hook of this.onResetHooks) hook();
    // Bytes still queued (the previous chip reset before taking them) wait for this one's receiver.
    this.feedRx();
  }

  private feedRx(): void {
    const usart = this.m.usart;
    if (this.rxQueue.length === 0 || usart.rxBusy) return;
    // Before the firmware enables the receiver writeByte refuses; the byte stays queued.
    if (usart.writeByte(this.rxQueue[0]!)) this.rxQueue.shift();
    else if (this.rxQueue.length > 0) this.retryFeed();
  }

  private retryArmed = false;
  private retryFeed(): void {
    if (this.retryArmed) return;
    this.retryArmed = true;
    this.m.cpu.addClockEvent(() => {
      this.retryArmed = false;
      this.feedRx();
    }, CYCLES_PER_MS / 10);
  }

  private slot(pin: number): PortSlot {
    const [b, c, d] = this.m.ports;
    if (pin >= 0 && pin <= 7) return { port: d, bit: pin };
    if (pin >= 8 && pin <= 13) return { port: b, bit: pin - 8 };
    if (pin >= 14 && pin <= 19) return { port: c, bit: pin - 14 };
    throw new RangeError(`no Uno pin ${pin}`);
  }

  private pinBase(port: AVRIOPort): number {
    const [b, c] = this.m.ports;
    return port === b ? 8 : port === c ? 14 : 0;
  }

  private applyPort(port: AVRIOPort): void {
    const base = this.pinBase(port);
    const bits = base === 8 || base === 14 ? 6 : 8;
    for (let bit = 0; bit < bits; bit++) this.applyPin(port, bit, base + bit);
  }

  /** The level an input pin reads: what drives it, else its pull-up, else LOW (floating). */
  private applyPin(port: AVRIOPort, bit: number, pin: number): void {
    const ext = this.driven.get(pin);
    const level = ext ?? port.pinState(bit) === PinState.InputPullUp;
    port.setPin(bit, level);
  }
}
