/**
 * The emulated Uno on a byte stream: what arrives on `input` is what the host sends to the
 * USART, `output` gets what the firmware transmits (gathered every 2 ms). Runs at the clock's
 * pace (default wall time) against a still plant: float as given, tub at 2 L, no flow.
 * `aquastop emulate` (src/commands/emulate.ts) serves it on stdin/stdout for a pty.
 *
 * Contract: `ended` resolves when `input` ends; the emulation has stopped by then (bytes not yet
 * written are dropped). `stop()` stops it at once. No process exit, no environment: the caller
 * owns the process.
 */
import { wallClock, type Clock } from '../../../src/clock/clock.js';
import type { Plant, PlantSignals } from '../../../src/board/plant.js';
import type { FloatReading } from '../../../src/machine/events.js';
import { FileEEPROMBackend } from './eeprom-file.js';
import { PlantLink } from './plant-link.js';
import { EmulatedUno, loadHexProgram } from './uno.js';

/** How often the firmware's bytes are handed to `output`. */
const FLUSH_MS = 2;
/** Clock ms between emulation steps. */
const STEP_MS = 5;

class StillPlant implements Plant {
  readonly pulsesPerLitre = 450;
  constructor(private readonly float: FloatReading) {}
  setValve(): void {}
  setDrainPump(): void {}
  step(): void {}
  signals(): PlantSignals {
    return { float: this.float, flowPulses: 0, tubLevelL: 2, hoseFuseBlown: false };
  }
}

export interface StreamUnoOptions {
  /** Firmware image (Intel HEX). */
  readonly hexPath: string;
  /** EEPROM kept in this file; default in memory. */
  readonly eepromPath?: string | undefined;
  readonly float: FloatReading;
  readonly input: NodeJS.ReadableStream;
  readonly output: NodeJS.WritableStream;
  /** Default wall time. */
  readonly clock?: Clock;
}

export interface StreamUno {
  readonly uno: EmulatedUno;
  /** Resolves once `input` has ended and the emulation stopped. */
  readonly ended: Promise<void>;
  stop(): void;
}

export function serveUnoOnStreams(options: StreamUnoOptions): StreamUno {
  const clock = options.clock ?? wallClock;
  const eeprom = options.eepromPath ? new FileEEPROMBackend(options.eepromPath) : undefined;
  const uno = new EmulatedUno({ program: loadHexProgram(options.hexPath), eeprom });
  const link = new PlantLink({ uno, plant: new StillPlant(options.float) });
  let out: number[] = [];
  uno.onSerialByte = (b) => out.push(b);
  const onData = (chunk: Buffer): void => uno.sendSerial(chunk);
  options.input.on('data', onData);
  link.followClock(clock, STEP_MS);
  let flushTimer: unknown = null;
  const flush = (): void => {
    if (out.length > 0) {
      options.output.write(Buffer.from(out));
      out = [];
    }
    flushTimer = clock.setTimeout(flush, FLUSH_MS);
  };
  flushTimer = clock.setTimeout(flush, FLUSH_MS);
  let stopped = false;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    options.input.off('data', onData);
    link.stop();
    clock.clearTimeout(flushTimer);
  };
  const ended = new Promise<void>((resolve) =>
    options.input.once('end', () => {
      stop();
      resolve();
    }),
  );
  return { uno, ended, stop };
}
