/**
 * Controller timings and thresholds: validated configuration with defaults taken from
 * AEG/Electrolux dishwasher service documentation (the README's fault table).
 *
 * Every key is optional in input; `parseControllerConfig({})` gives the defaults.
 * Volumes are litres, durations milliseconds.
 */
import { z } from 'zod';

const ms = (def: number) =>
  z
    .number()
    .int()
    .positive()
    .max(24 * 3_600_000)
    .default(def);
const litres = (def: number) => z.number().nonnegative().max(1000).default(def);

export const controllerConfigSchema = z
  .object({
    fill: z
      .object({
        /** i10: no level rise at all this long after the valve opens. */
        staticTimeoutMs: ms(90_000),
        /** i11: fill level not reached within this much valve-open time. */
        dynamicTimeoutMs: ms(120_000),
        /** A rise smaller than this counts as "no rise" for i10. */
        minRiseL: litres(0.1),
        /** A top-up fill that has not reached its level in this time counts as failed. */
        topUpTimeoutMs: ms(60_000),
        /** iF0 after this many failed top-ups in a row. */
        maxFailedTopUps: z.number().int().min(1).max(100).default(3),
      })
      .strict()
      .prefault({}),
    drain: z
      .object({
        /** i20: tub not below emptyL within this much drain-pump time. */
        timeoutMs: ms(90_000),
        emptyL: litres(0.2),
      })
      .strict()
      .prefault({}),
    leak: z
      .object({
        /** i30: float wet this long without a break. */
        wetDebounceMs: ms(10_000),
        /** The pan must read dry this long before a reset of i30 is accepted. */
        dryMs: ms(60_000),
      })
      .strict()
      .prefault({}),
    breaker: z
      .object({
        /** Tripped (retryable fault) -> probing after this cool-down. */
        coolDownMs: ms(120_000),
      })
      .strict()
      .prefault({}),
    sensors: z
      .object({
        /** i41: level signal missing this long. */
        levelLostMs: ms(2_500),
        /** i42: level implausible this long. */
        levelImplausibleMs: ms(5_000),
        /** Plausible tub level range. */
        levelMinL: z.number().min(-10).max(0).default(-0.5),
        levelMaxL: litres(12),
        /** A jump larger than this between two samples is implausible (noise or a loose wire). */
        levelMaxJumpL: litres(1.5),
        /**
         * After an implausible reading the level counts as good again only once it has read
         * plausible this long; an implausible reading before then continues the same noisy
         * spell, so a noisy signal ends in i42 instead of a chattering valve.
         */
        levelSettleMs: ms(2_000),
      })
      .strict()
      .prefault({}),
    valveLeak: z
      .object({
        /** iB0: flow pulses this long while the valve is commanded closed. */
        flowMs: ms(2_000),
        /** Flow counts as stopped after this long without a pulse. */
        quietMs: ms(1_000),
      })
      .strict()
      .prefault({}),
    unaccounted: z
      .object({
        /** iE0 needs metered inflow above tub rise by more than minLossL ... */
        minLossL: litres(1.5),
        /** ... and inflow greater than ratio x the rise. */
        ratio: z.number().min(1).max(100).default(3),
      })
      .strict()
      .prefault({}),
    link: z
      .object({
        /**
         * iC0: a board with a watchdog closes the valve and reports the link lost when it has
         * heard no keepalive for this long. The board times it, not the controller (which may
         * be the part that died); boards that can be configured take it from here.
         */
        watchdogMs: ms(2_000),
      })
      .strict()
      .prefault({}),
    valve: z
      .object({
        /** i13: the valve would open more than this many times within windowMs (a chattering signal or control loop). */
        maxOpens: z.number().int().min(1).max(1000).default(6),
        windowMs: ms(60_000),
      })
      .strict()
      .prefault({}),
    exercise: z
      .object({
        /** The proof test holds the valve open at most this long ... */
        durationMs: ms(2_000),
        /** ... and closes it early once the tub rose this much ... */
        maxRiseL: z.number().positive().max(1000).default(0.3),
        /** ... or this much water went through the meter. */
        maxVolumeL: z.number().positive().max(1000).default(0.25),
        /** It starts only with the tub below this level. */
        maxStartLevelL: litres(0.3),
        /** At most one proof test per interval. */
        intervalMs: ms(3_600_000),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type ControllerConfig = z.output<typeof controllerConfigSchema>;
export type ControllerConfigInput = z.input<typeof controllerConfigSchema>;

export class ConfigError extends Error {
  readonly configError = true;
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** One line naming the first problem: "fill.staticTimeoutMs: Too small: expected number to be >0". */
export function formatZodError(error: z.ZodError, prefix = ''): string {
  const issue = error.issues[0];
  if (!issue) return `${prefix}invalid`;
  const path = issue.path.length > 0 ? issue.path.join('.') : '(root)';
  return `${prefix}${path}: ${issue.message}`;
}

export function parseControllerConfig(input: unknown = {}): ControllerConfig {
  const result = controllerConfigSchema.safeParse(input ?? {});
  if (!result.success) throw new ConfigError(formatZodError(result.error, 'controller config '));
  return result.data;
}

export const DEFAULT_CONFIG: ControllerConfig = parseControllerConfig({});
