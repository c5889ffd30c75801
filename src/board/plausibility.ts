/**
 * Turns raw board samples into what the controller reasons about. The board says what it
 * measured; this says whether it can be believed (out-of-range or jumping level readings
 * are implausible; a missing level signal is open).
 */
import type { ControllerConfig } from '../machine/config.js';
import type { LevelReading } from '../machine/events.js';

export function classifyLevel(raw: number | null, previousRaw: number | null, sensors: ControllerConfig['sensors']): LevelReading {
  if (raw === null) return { status: 'open' };
  // NaN or ±Infinity is a reading no sensor can give: implausible (i42), not a broken wire.
  if (!Number.isFinite(raw)) return { status: 'implausible' };
  if (raw < sensors.levelMinL || raw > sensors.levelMaxL) return { status: 'implausible', litres: raw };
  // Compared with the previous raw sample, so one jump flags one sample and a noisy signal keeps flagging.
  if (previousRaw !== null && Number.isFinite(previousRaw) && Math.abs(raw - previousRaw) > sensors.levelMaxJumpL) {
    return { status: 'implausible', litres: raw };
  }
  return { status: 'ok', litres: raw };
}

/** Level readings closer than this are the same for the controller (saves events). */
export const LEVEL_RESOLUTION_L = 0.005;

export function sameLevel(a: LevelReading | null, b: LevelReading): boolean {
  if (a === null || a.status !== b.status) return false;
  if (a.status === 'open' || b.status === 'open') return true;
  const la = a.litres;
  const lb = (b as { litres?: number }).litres;
  if (la === undefined || lb === undefined) return la === lb;
  return Math.abs(la - lb) < LEVEL_RESOLUTION_L;
}
