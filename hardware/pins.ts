/**
 * Typed loader of hardware/pins.json: the one pin map and safety timing table shared by the
 * firmware (build.ts turns it into the aq_pins.h header), the host driver and the emulated board.
 * The helpers convert between ADC counts and what the sensors mean, exactly as the firmware does.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

const pinNo = z.number().int().min(0).max(19);
const adc = z.number().int().min(0).max(1023);

export const pinsSchema = z.object({
  board: z.string(),
  mcu: z.literal('atmega328p'),
  fCpuHz: z.number().int().positive(),
  baud: z.number().int().positive(),
  pins: z.object({
    flowMeter: z.object({
      pin: z.literal(2),
      mode: z.literal('INPUT_PULLUP'),
      interrupt: z.literal(0),
      edge: z.literal('FALLING'),
      pulsesPerLitre: z.number().positive(),
    }),
    /** Normally-closed contact on the hose's safety valve to GND, read with the pin's pull-up: HIGH = blown (or a broken wire). */
    hoseFuse: z.object({ pin: pinNo, mode: z.literal('INPUT_PULLUP'), contact: z.literal('NC') }),
    valve: z.object({ pin: pinNo, mode: z.literal('OUTPUT'), activeHigh: z.literal(true), normallyClosed: z.literal(true) }),
    drainPump: z.object({ pin: pinNo, mode: z.literal('OUTPUT'), activeHigh: z.literal(true) }),
    statusLed: z.object({ pin: pinNo, mode: z.literal('OUTPUT') }),
    float: z.object({ pin: z.number().int().min(14).max(19), analogChannel: z.number().int().min(0).max(5), name: z.string() }),
    tubLevel: z.object({ pin: z.number().int().min(14).max(19), analogChannel: z.number().int().min(0).max(5), name: z.string() }),
  }),
  float: z
    .object({
      pullUpOhm: z.number().positive(),
      endOfLineOhm: z.number().positive(),
      contactSeriesOhm: z.number().positive(),
      wetMin: adc,
      wetMax: adc,
      dryMin: adc,
      dryMax: adc,
    })
    .refine((f) => f.wetMin <= f.wetMax && f.wetMax < f.dryMin && f.dryMin <= f.dryMax, 'float ranges must be ordered wet < dry'),
  tubLevel: z.object({
    vAtZero: z.number(),
    vAtFull: z.number(),
    fullScaleL: z.number().positive(),
    openBelowV: z.number().nonnegative(),
    pullDownOhm: z.number().positive(),
  }),
  safety: z.object({
    wetDebounceMs: z.number().int().min(100).max(60_000),
    wireFaultDebounceMs: z.number().int().min(10).max(10_000),
    hoseFuseDebounceMs: z.number().int().min(10).max(10_000),
    linkTimeoutMs: z.number().int().min(500).max(60_000),
    statusPeriodMs: z.number().int().min(50).max(1_000),
    watchdogMs: z.union([z.literal(250), z.literal(500), z.literal(1000), z.literal(2000)]),
  }),
});

export type PinMap = z.infer<typeof pinsSchema>;

/** Absolute path of pins.json (the build hashes it). */
export const pinsJsonPath = fileURLToPath(new URL('./pins.json', import.meta.url));

export function loadPins(path = pinsJsonPath): PinMap {
  return pinsSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
}

/** The validated pin map, loaded once. */
export const pins: PinMap = loadPins();

export type FloatState = 'dry' | 'wet' | 'open';

/** Float ADC count -> state, the same ranges the firmware uses (before its debounce). */
export function floatStateFromAdc(count: number, map: PinMap = pins): FloatState {
  const f = map.float;
  if (count >= f.wetMin && count <= f.wetMax) return 'wet';
  if (count >= f.dryMin && count <= f.dryMax) return 'dry';
  return 'open';
}

/** Voltage the float network puts on its pin (what an emulator feeds the ADC). */
export function floatVolts(state: FloatState, map: PinMap = pins, vcc = 5): number {
  const f = map.float;
  if (state === 'open') return vcc;
  const toGround = state === 'dry' ? f.endOfLineOhm : (f.endOfLineOhm * f.contactSeriesOhm) / (f.endOfLineOhm + f.contactSeriesOhm);
  return (vcc * toGround) / (toGround + f.pullUpOhm);
}

/** Tub level ADC count -> litres, or null when the signal is lost (broken wire). */
export function levelLitresFromAdc(count: number, map: PinMap = pins, vcc = 5): number | null {
  const t = map.tubLevel;
  const volts = (count * vcc) / 1023;
  if (volts < t.openBelowV) return null;
  return ((volts - t.vAtZero) / (t.vAtFull - t.vAtZero)) * t.fullScaleL;
}

/** Litres (or null = broken wire) -> sensor output volts (what an emulator feeds the ADC). */
export function levelVolts(litres: number | null, map: PinMap = pins): number {
  const t = map.tubLevel;
  if (litres === null) return 0;
  return t.vAtZero + (litres / t.fullScaleL) * (t.vAtFull - t.vAtZero);
}

/** One row of the pin map as WIRING.md shows it (test/hardware checks that they agree). */
export interface PinRow {
  /** Arduino name: D2, D7, A0 ... */
  readonly name: string;
  /** Key in pins.json `pins`. */
  readonly role: keyof PinMap['pins'];
}

export function arduinoPinName(pin: number): string {
  return pin >= 14 ? `A${pin - 14}` : `D${pin}`;
}

/** The pin map as rows, sorted by pin number. */
export function pinRows(map: PinMap = pins): PinRow[] {
  return (Object.keys(map.pins) as Array<keyof PinMap['pins']>)
    .map((role) => ({ role, pin: map.pins[role].pin }))
    .sort((a, b) => a.pin - b.pin)
    .map(({ role, pin }) => ({ name: arduinoPinName(pin), role }));
}
