/**
 * The host side of the firmware's safety extensions (hardware/firmware/PROTOCOL.md §2):
 * sysex ids, request frames and the STATUS report decoder. Pure functions, no I/O.
 * Every decoder validates length and the 7-bit rule and returns null for a frame it cannot
 * trust, so line noise never becomes a reading.
 */
import { z } from 'zod';
import { levelLitresFromAdc, pins, type FloatState, type PinMap } from '../pins.js';

export const SYSEX = {
  keepalive: 0x01,
  arm: 0x02,
  clearLatch: 0x03,
  status: 0x04,
  result: 0x05,
  safetyVersion: 0x06,
  testHang: 0x0f,
} as const;

/** Sysex bodies (without F0/F7) for `io.sysexCommand`. */
export const FRAMES = {
  keepalive: [SYSEX.keepalive],
  arm: [SYSEX.arm],
  clearLatch: [SYSEX.clearLatch, 0x4c, 0x43],
  statusQuery: [SYSEX.status],
  safetyVersionQuery: [SYSEX.safetyVersion],
  testHang: [SYSEX.testHang, 0x48, 0x47],
} as const;

const FLOAT_STATES: readonly FloatState[] = ['dry', 'wet', 'open'];
/** The firmware's class B self-tests, in the order of their trip reasons (4 = flash ... 9 = clock). */
export const SELF_TESTS = ['flash', 'ram', 'watchdog', 'stack', 'adc', 'clock'] as const;
export type SelfTestName = (typeof SELF_TESTS)[number];
const TRIP_REASONS = [
  'none', 'float wet', 'float wire fault', 'EEPROM record invalid at boot',
  ...SELF_TESTS.map((t) => `self-test failed: ${t}` as const),
  'hose safety valve blown',
] as const;
/** STATUS byte 2 values: 4-9 the self-tests in SELF_TESTS order, 10 the hose fuse. */
const TRIP_SELFTEST_FIRST = 4;
export const TRIP_HOSE = 10;
export type TripReason = (typeof TRIP_REASONS)[number];

export interface SafetyStatus {
  readonly valveOutput: boolean;
  readonly pumpOutput: boolean;
  readonly latched: boolean;
  readonly linkLost: boolean;
  readonly armed: boolean;
  readonly valveRequested: boolean;
  readonly pumpForced: boolean;
  readonly float: FloatState;
  readonly tripReason: TripReason;
  /** The self-test whose failure latched the board (service only), or null. */
  readonly selfTest: SelfTestName | null;
  /**
   * The hose's safety valve has blown: its contact (pins.json `hoseFuse`) read open for the
   * debounce time, now (STATUS byte 15) or when the board latched for it (trip reason 10), which
   * outlives a contact that closes again and a power cycle.
   */
  readonly hoseFuseBlown: boolean;
  /** Flow pulses since the board booted (32-bit counter). */
  readonly pulses: number;
  readonly levelAdc: number;
  readonly tubLevelL: number | null;
  readonly floatAdc: number;
  readonly resetCause: number;
  readonly seq: number;
  readonly floatNotDryS: number;
}

const sevenBit = z.array(z.number().int().min(0).max(0x7f));
const statusBody = sevenBit.length(16);

/** Decodes a STATUS report's 16 data bytes (after the id); null if the frame is malformed. */
export function decodeStatus(data: readonly number[], map: PinMap = pins): SafetyStatus | null {
  const parsed = statusBody.safeParse(data);
  if (!parsed.success) return null;
  const d = parsed.data;
  const b = (i: number) => d[i]!;
  const float = FLOAT_STATES[b(1)];
  const reason = TRIP_REASONS[b(2)];
  if (float === undefined || reason === undefined) return null;
  const levelAdc = b(8) | (b(9) << 7);
  const floatAdc = b(10) | (b(11) << 7);
  if (levelAdc > 1023 || floatAdc > 1023) return null;
  const flags = b(0);
  return {
    valveOutput: (flags & 0x01) !== 0,
    pumpOutput: (flags & 0x02) !== 0,
    latched: (flags & 0x04) !== 0,
    linkLost: (flags & 0x08) !== 0,
    armed: (flags & 0x10) !== 0,
    valveRequested: (flags & 0x20) !== 0,
    pumpForced: (flags & 0x40) !== 0,
    float,
    tripReason: reason,
    selfTest: SELF_TESTS[b(2) - TRIP_SELFTEST_FIRST] ?? null,
    hoseFuseBlown: (b(15) & 0x01) !== 0 || b(2) === TRIP_HOSE,
    pulses: (b(3) | (b(4) << 7) | (b(5) << 14) | (b(6) << 21)) + (b(7) & 0x0f) * 2 ** 28,
    levelAdc,
    tubLevelL: levelLitresFromAdc(levelAdc, map),
    floatAdc,
    resetCause: b(12),
    seq: b(13),
    floatNotDryS: b(14),
  };
}

export interface SafetyVersion {
  readonly major: number;
  readonly minor: number;
  readonly wetDebounceMs: number;
  readonly linkTimeoutMs: number;
  readonly statusPeriodMs: number;
}

/** Decodes a SAFETY_VERSION reply's data bytes; null if malformed. */
export function decodeSafetyVersion(data: readonly number[]): SafetyVersion | null {
  const parsed = sevenBit.length(7).safeParse(data);
  if (!parsed.success) return null;
  const d = parsed.data;
  return {
    major: d[0]!,
    minor: d[1]!,
    wetDebounceMs: (d[2]! | (d[3]! << 7)) * 100,
    linkTimeoutMs: (d[4]! | (d[5]! << 7)) * 100,
    statusPeriodMs: d[6]! * 10,
  };
}

export const RESULT_CODES: Record<number, string> = {
  0: 'ok', 1: 'refused: float wet', 2: 'refused: float wire fault', 3: 'refused: bad key',
  4: 'refused: a self-test failed (service only)', 5: 'refused: the hose safety valve reads blown (replace the hose)',
};

export function describeResetCause(mcusr: number): string {
  const causes = [
    [0x01, 'power-on'],
    [0x02, 'external'],
    [0x04, 'brown-out'],
    [0x08, 'watchdog'],
  ] as const;
  const names = causes.filter(([bit]) => (mcusr & bit) !== 0).map(([, n]) => n);
  return names.length > 0 ? names.join('+') : 'unknown';
}
