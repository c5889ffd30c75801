/**
 * The host side of the firmware's safety extensions (hardware/firmware/PROTOCOL.md §2):
 * sysex ids, request frames and the STATUS report decoder. Pure functions, no I/O.
 * Every decoder validates length and the 7-bit rule and returns null for a frame it cannot
 * trust, so line noise never becomes a reading.
 *
 * Versions (PROTOCOL.md §2 "Versions"): a board's SAFETY_VERSION says which STATUS layout it
 * sends. This driver reads every minor of major SAFETY_MAJOR up to SAFETY_MINOR; an older minor
 * decodes with the layout of its day (minor 0: 15 bytes, no hose-fuse input, so never blown), a
 * newer minor or another major is refused (`safetyCompatibility`).
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
  'none',
  'float wet',
  'float wire fault',
  'EEPROM record invalid at boot',
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

/** The safety protocol this driver speaks: major 1, every minor up to 1 (1 added the hose fuse). */
export const SAFETY_MAJOR = 1;
export const SAFETY_MINOR = 1;
/** The first safety minor with the hose-fuse input (STATUS byte 15, trip reason 10, RESULT 5). */
export const HOSE_FUSE_MINOR = 1;

/** STATUS data bytes a board of this safety minor sends: 15 before the hose fuse, 16 from minor 1. */
export function statusBytes(minor: number): number {
  return minor >= HOSE_FUSE_MINOR ? 16 : 15;
}

const sevenBit = z.array(z.number().int().min(0).max(0x7f));

/**
 * Decodes a STATUS report's data bytes (after the id) as a board of safety `minor` sends them
 * (default: this driver's own); null if the frame is malformed for that minor: another length, or
 * a trip reason that minor does not have. A minor 0 board has no hose-fuse input: `hoseFuseBlown`
 * is always false.
 */
export function decodeStatus(data: readonly number[], map: PinMap = pins, minor: number = SAFETY_MINOR): SafetyStatus | null {
  const parsed = sevenBit.length(statusBytes(minor)).safeParse(data);
  if (!parsed.success) return null;
  const d = parsed.data;
  const b = (i: number) => d[i]!;
  const hoseFuse = minor >= HOSE_FUSE_MINOR;
  const float = FLOAT_STATES[b(1)];
  const reason = hoseFuse || b(2) !== TRIP_HOSE ? TRIP_REASONS[b(2)] : undefined;
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
    hoseFuseBlown: hoseFuse && ((b(15) & 0x01) !== 0 || b(2) === TRIP_HOSE),
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

/**
 * Whether this driver can run a board with safety version `v` (PROTOCOL.md §2 "Versions"): an
 * older minor of our major runs, with one warning line telling what it lacks and how to re-flash
 * it; a newer minor or another major is refused with one line (its STATUS may carry safety inputs
 * this driver cannot read). `port` goes into the re-flash command.
 */
export function safetyCompatibility(v: Pick<SafetyVersion, 'major' | 'minor'>, port: string): { readonly refused: string | null; readonly warning: string | null } {
  const theirs = `${v.major}.${v.minor}`;
  const ours = `${SAFETY_MAJOR}.${SAFETY_MINOR}`;
  const reflash = `aquastop firmware flash --port ${port}`;
  if (v.major !== SAFETY_MAJOR || v.minor > SAFETY_MINOR) {
    const fix = v.major < SAFETY_MAJOR ? `re-flash it: ${reflash}` : `update aquastop, or re-flash the firmware this version ships: ${reflash}`;
    return { refused: `the board's firmware speaks safety protocol ${theirs}, which this aquastop (${ours}) cannot read; ${fix}`, warning: null };
  }
  if (v.minor < HOSE_FUSE_MINOR) {
    return {
      refused: null,
      warning: `the board's firmware is older (safety protocol ${theirs}, this aquastop speaks ${ours}): it has no hose-fuse input, so a blown hose safety valve (iH0) goes unseen; re-flash it: ${reflash}`,
    };
  }
  return { refused: null, warning: null };
}

export const RESULT_CODES: Record<number, string> = {
  0: 'ok',
  1: 'refused: float wet',
  2: 'refused: float wire fault',
  3: 'refused: bad key',
  4: 'refused: a self-test failed (service only)',
  5: 'refused: the hose safety valve reads blown (replace the hose)',
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
