/**
 * Inputs from a board that speaks plain Firmata (no Aquastop safety extensions, e.g. the
 * unmodified StandardFirmata): float and tub level by analog reporting, flow pulses by digital
 * reporting of D2 with its pull-up on. Each change is handed to `onChange` as a patch.
 */
import { BoardError } from '../../src/board/board.js';
import { floatStateFromAdc, levelLitresFromAdc, type FloatState, type PinMap } from '../pins.js';
import type { Waiters } from './clock-waits.js';

/** The part of firmata.js's Board the driver uses. */
export type Firmata = {
  sysexCommand(bytes: number[]): void;
  sysexResponse(id: number, handler: (this: Firmata, data: number[]) => void): void;
  pinMode(pin: number, mode: number): void;
  digitalWrite(pin: number, value: number): void;
  analogRead(channel: number, cb: (value: number) => void): void;
  digitalRead(pin: number, cb: (value: number) => void): void;
  reportAnalogPin(channel: number, on: 0 | 1): void;
  reportDigitalPin(pin: number, on: 0 | 1): void;
  on(event: string, cb: (...args: unknown[]) => void): void;
  firmware?: { name?: string; version?: { major: number; minor: number } };
  pins?: Array<{ supportedModes?: number[] }>;
  transport?: { close?: (cb?: (err?: Error) => void) => void; isOpen?: boolean; on?: (e: string, cb: (...a: unknown[]) => void) => void };
  constructor: { SYSEX_RESPONSE?: Record<number, unknown> };
};

const MODE_INPUT = 0;
const MODE_ANALOG = 2;
const MODE_PULLUP = 0x0b;

export interface PlainInputPatch {
  readonly float?: FloatState;
  readonly tubLevelL?: number | null;
  /** New falling edges on the flow-meter pin. */
  readonly pulses?: number;
}

export function readPlainFirmataInputs(io: Firmata, map: PinMap, onChange: (patch: PlainInputPatch) => void): void {
  const { float, tubLevel, flowMeter } = map.pins;
  // firmata.js takes the analog channel (A0 = 0) for ANALOG mode, not the pin number.
  io.pinMode(tubLevel.analogChannel, MODE_ANALOG);
  io.pinMode(float.analogChannel, MODE_ANALOG);
  io.analogRead(tubLevel.analogChannel, (adc) => onChange({ tubLevelL: levelLitresFromAdc(adc, map) }));
  io.analogRead(float.analogChannel, (adc) => onChange({ float: floatStateFromAdc(adc, map) }));
  // Firmata 2.5 has a PULLUP mode; before it (StandardFirmata 2.4), INPUT plus a HIGH write switched the pull-up on.
  const modes = io.pins?.[flowMeter.pin]?.supportedModes ?? [];
  if (modes.includes(MODE_PULLUP)) io.pinMode(flowMeter.pin, MODE_PULLUP);
  else {
    io.pinMode(flowMeter.pin, MODE_INPUT);
    io.digitalWrite(flowMeter.pin, 1);
  }
  let last: number | null = null;
  io.digitalRead(flowMeter.pin, (v) => {
    if (last === 1 && v === 0) onChange({ pulses: 1 });
    last = v;
  });
}

/**
 * The driver's fallback for a board without the safety extensions: reads its inputs as plain
 * Firmata (patches handed to `apply`, `waits` woken after each) and resolves once the float and
 * the tub level have both been read, or fails with one line after `timeoutMs`.
 */
export async function startPlainFirmata(io: Firmata, map: PinMap, waits: Waiters, timeoutMs: number, apply: (patch: PlainInputPatch) => void): Promise<void> {
  const seen = { float: false, level: false };
  readPlainFirmataInputs(io, map, (patch) => {
    if (patch.float !== undefined) seen.float = true;
    if (patch.tubLevelL !== undefined) seen.level = true;
    apply(patch);
    waits.wake();
  });
  const ready = await waits.waitFor(() => seen.float && seen.level, timeoutMs);
  if (!ready) throw new BoardError('the board sends no analog readings for the float and the tub level');
}

/** The warning a plain-Firmata board gets once: protection depends on the host alone. */
export function plainFirmataWarning(firmwareName: string): string {
  const name = firmwareName || 'unknown firmware';
  return `${name} answers as plain Firmata without the Aquastop safety extensions: no local float interlock and no link watchdog; protection depends on the host alone`;
}
