/**
 * Pure predicates the controller uses, on context and event. Kept apart from the machine
 * so they can be unit-tested and named in `setup({ guards })`.
 */
import { FAULTS, type FaultCode, type Severity } from './catalogue.js';
import type { ControllerConfig } from './config.js';
import type { ControllerEvent, PersistedLatch } from './events.js';

export type Demand = { readonly kind: 'fill'; readonly targetL: number; readonly topUp: boolean } | { readonly kind: 'drain' };

export interface ControllerContext {
  readonly config: ControllerConfig;
  /** The fault holding the breaker (tripped, latched, service), else null. */
  fault: FaultCode | null;
  faultDetail: string | undefined;
  tripCount: number;
  /** What the appliance program currently asks for. */
  demand: Demand | null;
  /** Last good tub level (litres), null until the first good reading. */
  levelL: number | null;
  /** Level when the current fill opened the valve. */
  fillStartL: number;
  /** Litres metered since the current fill opened the valve. */
  inflowL: number;
  failedTopUps: number;
  /** Valve opens within the last valve.windowMs (i13). */
  recentOpens: number;
  /** The latch restored at boot, consumed by the booting state. */
  readonly bootLatch: PersistedLatch | null;
  readonly bootMemoryFault: boolean;
}

const SEVERITY_RANK: Record<Severity, number> = { warning: 0, error: 1, critical: 2 };

export function isServiceCode(code: FaultCode): boolean {
  return FAULTS[code].reset === 'service';
}

export function isManualCode(code: FaultCode): boolean {
  return FAULTS[code].reset === 'manual';
}

/** A newly detected fault displaces the held one when it is more severe. */
export function isMorePressing(next: FaultCode, held: FaultCode): boolean {
  return SEVERITY_RANK[FAULTS[next].severity] > SEVERITY_RANK[FAULTS[held].severity];
}

export function hasFillDemand(ctx: ControllerContext): boolean {
  return ctx.demand?.kind === 'fill';
}

export function hasDrainDemand(ctx: ControllerContext): boolean {
  return ctx.demand?.kind === 'drain';
}

export function isTopUp(ctx: ControllerContext): boolean {
  return ctx.demand?.kind === 'fill' && ctx.demand.topUp;
}

/** The tub already holds what the fill asks for. */
export function isFillSatisfied(ctx: ControllerContext): boolean {
  return ctx.demand?.kind === 'fill' && ctx.levelL !== null && ctx.levelL >= ctx.demand.targetL;
}

export function isDrainSatisfied(ctx: ControllerContext): boolean {
  return ctx.demand?.kind === 'drain' && ctx.levelL !== null && ctx.levelL <= ctx.config.drain.emptyL;
}

export function hasRisen(ctx: ControllerContext): boolean {
  return ctx.levelL !== null && ctx.levelL - ctx.fillStartL >= ctx.config.fill.minRiseL;
}

/**
 * iE0: metered inflow far above what reached the tub. Both a volume (minLossL) and a
 * ratio must be exceeded, so a slow level sensor at the start of a fill does not trip it.
 */
export function isUnaccounted(ctx: ControllerContext, litres: number): boolean {
  const inflow = ctx.inflowL + litres;
  const rise = Math.max(0, (ctx.levelL ?? ctx.fillStartL) - ctx.fillStartL);
  const { minLossL, ratio } = ctx.config.unaccounted;
  return inflow - rise > minLossL && inflow > ratio * rise;
}

/**
 * The proof test must stop letting water in: the tub rose by exercise.maxRiseL, the meter
 * counted exercise.maxVolumeL, or the level can no longer be read (a rise it cannot see is no
 * rise it may ignore).
 */
export function isExerciseCapReached(ctx: ControllerContext, event: ControllerEvent): boolean {
  const { maxRiseL, maxVolumeL } = ctx.config.exercise;
  if (event.type === 'sensor.flow') return ctx.inflowL + event.litres >= maxVolumeL;
  if (event.type !== 'sensor.level') return false;
  if (event.reading.status !== 'ok') return true;
  return event.reading.litres - ctx.fillStartL >= maxRiseL;
}
