/**
 * The vocabulary of a safety trace (safety-rules.ts): what the controller was given, what the
 * board was told, what the outside world saw, and the configuration the rules are stated in.
 * The runtime rig and the exploration both write traces in these terms.
 */

export type RuleId = 'R1' | 'R2' | 'R3' | 'R4' | 'R5' | 'R6' | 'R7' | 'R8';
export type FloatReading = 'dry' | 'wet' | 'open';
export type LevelSignal = { readonly status: 'ok'; readonly litres: number } | { readonly status: 'lost' } | { readonly status: 'implausible' };
export type UserCommandName = 'reset' | 'resume' | 'exercise' | 'closeValve';

export type TraceInput =
  | { readonly kind: 'float'; readonly reading: FloatReading }
  | { readonly kind: 'level'; readonly signal: LevelSignal }
  /** Litres metered since the previous sample (only when pulses arrived). */
  | { readonly kind: 'flow'; readonly litres: number }
  | { readonly kind: 'program'; readonly request: 'fill' | 'drain' | 'idle' }
  | { readonly kind: 'command'; readonly command: UserCommandName }
  | { readonly kind: 'report'; readonly report: 'linkLost' | 'linkRestored' }
  /** Anything else the controller is told (hose fuse, self-test report): no rule reads it. */
  | { readonly kind: 'other'; readonly what: string }
  /** A power cycle: the board comes back with the valve closed, the store keeps its contents. */
  | { readonly kind: 'restart' }
  /** Time passed (a board sample with no change, a timer firing). */
  | { readonly kind: 'time' };

export type BoardCommand = { readonly kind: 'setValve'; readonly open: boolean } | { readonly kind: 'setDrainPump'; readonly on: boolean } | { readonly kind: 'resetLatch' };

export type Observed =
  | { readonly kind: 'breaker'; readonly breaker: string; readonly code: string | null }
  | { readonly kind: 'fault'; readonly event: 'raised' | 'cleared'; readonly code: string }
  | { readonly kind: 'commandResult'; readonly command: UserCommandName; readonly ok: boolean }
  | { readonly kind: 'phaseDone'; readonly phase: 'fill' | 'drain' }
  | { readonly kind: 'exerciseDone'; readonly result: string };

export interface Violation {
  readonly rule: RuleId;
  /** Index of the step (0-based) and its clock time. */
  readonly step: number;
  readonly at: number;
  readonly message: string;
}

/** The timings and thresholds the rules are stated in: the controller's configuration. */
export interface RuleConfig {
  readonly leak: { readonly wetDebounceMs: number; readonly dryMs: number };
  readonly sensors: { readonly levelSettleMs?: number };
  readonly breaker?: { readonly coolDownMs: number };
  readonly valveLeak?: { readonly flowMs: number; readonly quietMs: number };
  readonly valve?: { readonly maxOpens: number; readonly windowMs: number };
  readonly exercise: {
    readonly durationMs: number;
    readonly intervalMs?: number;
    readonly maxStartLevelL?: number;
    readonly maxRiseL?: number;
    readonly maxVolumeL?: number;
  };
}

/** The values the rules use where a configuration does not (yet) name them: the documented defaults. */
export const DEFAULTS = { levelSettleMs: 2_000, maxOpens: 6, windowMs: 60_000, intervalMs: 3_600_000, maxStartLevelL: 0.3, maxRiseL: 0.3, maxVolumeL: 0.25 };

/** Everything a property or the exploration counts to prove its premise came up. */
export const PREMISES = [
  'valveOpened',
  'openWhileFilling',
  'wetWhileOpen',
  'wetDebounceElapsed',
  'commandWhileWet',
  'commandWhileDrying',
  'commandOpenedValve',
  'restartWhileLatched',
  'resetAccepted',
  'resetRefused',
  'linkLostWhileOpen',
  'linkLostDuringCoolDownWithDemand',
  'linkLostPastCoolDown',
  'noisyLevel',
  'noisyWhileFilling',
  'openAfterNoise',
  'maxOpensReached',
  'i13Raised',
  'exerciseAttempted',
  'exerciseAccepted',
  'exerciseOpened',
  'exerciseDone',
  'exerciseCapped',
  'closeValveWhileOpen',
] as const;
export type Premise = (typeof PREMISES)[number];
