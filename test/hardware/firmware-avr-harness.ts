/**
 * A bare emulated Uno for pin-level firmware tests (test/hardware/firmware-avr.test.ts): avr8js
 * CPU, timers, USART, ports, ADC, watchdog and an in-memory EEPROM, with no johnny-five and no
 * Plant. Time is emulated cycles (16,000 per ms). The board-level emulator the simulator uses
 * lives in hardware/boards/; this one stays independent of it on purpose, so the firmware's own
 * safety is checked against the bare chip.
 */
import {
  AVRADC, AVRClock, AVREEPROM, AVRIOPort, AVRTimer, AVRUSART, AVRWatchdog, CPU, EEPROMMemoryBackend, PinState,
  adcConfig, avrInstruction, clockConfig, eepromConfig, portBConfig, portCConfig, portDConfig, timer0Config,
  timer1Config, timer2Config, usart0Config, watchdogConfig,
} from 'avr8js';
import { floatVolts, levelVolts, pins, type FloatState } from '../../hardware/pins.js';

export const HZ = 16_000_000;
export const CYCLES_PER_MS = HZ / 1000;
export const VALVE = pins.pins.valve.pin; // port D
export const PUMP = pins.pins.drainPump.pin; // port B bit 0 (D8)

/** STATUS report bytes, decoded per PROTOCOL.md section 2. */
export interface Status {
  valve: boolean; pump: boolean; latched: boolean; linkLost: boolean; armed: boolean; valveRequested: boolean;
  float: number; reason: number; pulses: number; resetCause: number; seq: number; atCycle: number;
}

/** One Uno: CPU and peripherals. A watchdog reset builds a fresh one around the same EEPROM. */
class Machine {
  readonly cpu: CPU;
  readonly usart: AVRUSART;
  readonly adc: AVRADC;
  readonly portB: AVRIOPort;
  readonly portD: AVRIOPort;
  resetByWatchdog = false;

  constructor(program: Uint16Array, eeprom: EEPROMMemoryBackend, mcusr: number) {
    this.cpu = new CPU(program);
    const clock = new AVRClock(this.cpu, HZ, clockConfig);
    new AVRTimer(this.cpu, timer0Config);
    new AVRTimer(this.cpu, timer1Config);
    new AVRTimer(this.cpu, timer2Config);
    this.usart = new AVRUSART(this.cpu, usart0Config, HZ);
    this.adc = new AVRADC(this.cpu, adcConfig);
    this.portB = new AVRIOPort(this.cpu, portBConfig);
    new AVRIOPort(this.cpu, portCConfig);
    this.portD = new AVRIOPort(this.cpu, portDConfig);
    new AVREEPROM(this.cpu, eeprom, eepromConfig);
    new AVRWatchdog(this.cpu, watchdogConfig, clock);
    this.cpu.data[watchdogConfig.MCUSR] = mcusr;
    const reset = this.cpu.reset.bind(this.cpu);
    this.cpu.reset = () => {
      // avr8js resets only PC and SP; a real chip also clears every register. Start over instead.
      this.resetByWatchdog = true;
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
  resets = 0;
  private toBoard: number[] = [];
  private sysex: number[] | null = null;
  private base = 0; // cycles of earlier machines (before resets)
  private floatState: FloatState = 'dry';
  private litres: number | null = 2;

  constructor(private readonly program: Uint16Array) {}

  boot(mcusr = 0x01): this {
    this.machine = new Machine(this.program, this.eeprom, mcusr);
    const m = this.machine;
    m.usart.onByteTransmit = (b) => this.receive(b);
    m.portD.setPin(pins.pins.flowMeter.pin, true); // the meter's pull-up: idle high
    let last = false;
    m.portD.addListener(() => {
      const high = m.portD.pinState(VALVE) === PinState.High;
      if (high !== last) this.valveEdges.push({ high, cycle: this.cycles });
      last = high;
    });
    this.applyInputs();
    return this;
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
    this.applyInputs();
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
      if (this.toBoard.length > 0 && m.usart.writeByte(this.toBoard[0]!)) this.toBoard.shift();
      for (let i = 0; i < 64; i++) {
        avrInstruction(m.cpu);
        m.cpu.tick();
      }
      if (m.resetByWatchdog) {
        this.base += m.cpu.cycles;
        this.resets++;
        this.boot(0x08); // WDRF
      }
      if (this.cycles >= nextAction && every) {
        every.action();
        nextAction += every.ms * CYCLES_PER_MS;
      }
    }
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

  private applyInputs(): void {
    this.machine.adc.channelValues[pins.pins.float.analogChannel] = floatVolts(this.floatState);
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

export function decodeStatus(d: number[], atCycle: number): Status {
  const b = (i: number) => d[i] ?? 0;
  return {
    valve: (b(0) & 0x01) !== 0, pump: (b(0) & 0x02) !== 0, latched: (b(0) & 0x04) !== 0,
    linkLost: (b(0) & 0x08) !== 0, armed: (b(0) & 0x10) !== 0, valveRequested: (b(0) & 0x20) !== 0,
    float: b(1), reason: b(2),
    pulses: (b(3) | (b(4) << 7) | (b(5) << 14) | (b(6) << 21)) + b(7) * 2 ** 28,
    resetCause: b(12), seq: b(13), atCycle,
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
