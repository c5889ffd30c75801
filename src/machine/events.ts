/**
 * What goes into the controller and what comes out of it.
 *
 * Inputs are dot-namespaced events: `sensor.*` from the board runtime (already classified,
 * never raw pins), `program.*` from the appliance program that asks for water, `user.*`
 * from buttons or remote commands, `board.*` reports from the board's own firmware.
 * Outputs are emitted domain events; the machine knows nothing of who listens.
 */
import type { FaultCode } from './catalogue.js';

/** Base-pan float as classified by the board: a broken wire reads `open`, never `dry`. */
export type FloatReading = 'dry' | 'wet' | 'open';

/**
 * Tub level signal: `ok` with a value in litres, `open` (wire broken), `implausible` (out of
 * range, jumping, or not a number at all: then without litres).
 */
export type LevelReading = { readonly status: 'ok'; readonly litres: number } | { readonly status: 'open' } | { readonly status: 'implausible'; readonly litres?: number };

export type ControllerEvent =
  | { type: 'sensor.float'; reading: FloatReading }
  | { type: 'sensor.level'; reading: LevelReading }
  /**
   * Litres metered by the flow meter since the previous flow event, sent when pulses arrive.
   * The controller itself counts the flow as stopped after valveLeak.quietMs without one.
   */
  | { type: 'sensor.flow'; litres: number }
  /** The one-shot hose safety valve blew (a fuse). */
  | { type: 'sensor.hoseFuse' }
  /** The appliance program asks for water up to a tub level. `topUp` marks a top-up during washing. */
  | { type: 'program.fill'; targetL: number; topUp?: boolean }
  | { type: 'program.drain' }
  /** The program no longer needs water or draining (cycle step finished, program cancelled). */
  | { type: 'program.idle' }
  /** Resume after a retryable trip, or after a remote close. */
  | { type: 'user.resume' }
  /** Reset a latched trip. Refused (emitted `reset.rejected`) unless the cause is gone. */
  | { type: 'user.reset' }
  /** Close the valve now. Always allowed. Holds the valve closed until `user.resume`. */
  | { type: 'user.closeValve' }
  /**
   * A proof test of the shut-off: open the valve briefly (supervised, volume-capped), close it,
   * and check the flow stops. Only when armed and idle, the pan dry for leak.dryMs, the tub
   * nearly empty, the level and link good; at most once per exercise.intervalMs.
   */
  | { type: 'user.exercise' }
  /** The board's firmware closed the valve because it heard nothing from us (iC0). */
  | { type: 'board.linkLost' }
  | { type: 'board.linkRestored' }
  /** The board's firmware failed one of its self-tests (i90): it cannot be trusted to hold the valve. */
  | { type: 'board.selfTestFailed'; test: string };

export type ControllerEventType = ControllerEvent['type'];

export type Breaker = 'booting' | 'armed' | 'tripped' | 'probing' | 'latched' | 'service';

/** Why a user command was refused. `reason` is one sentence for people. */
export interface Rejection {
  readonly command: 'user.reset' | 'user.resume' | 'user.exercise';
  readonly reason: string;
}

export type ControllerEmitted =
  | { type: 'breaker.changed'; breaker: Breaker; code: FaultCode | null }
  | { type: 'valve.changed'; open: boolean }
  | { type: 'pump.changed'; on: boolean }
  | { type: 'fault.raised'; code: FaultCode; detail?: string }
  | { type: 'fault.cleared'; code: FaultCode }
  /** A latched or service trip to persist (or, with null, to clear). */
  | { type: 'latch.changed'; latch: PersistedLatch | null }
  | { type: 'fill.done'; levelL: number }
  | { type: 'drain.done' }
  | { type: 'command.rejected'; rejection: Rejection }
  | { type: 'command.accepted'; command: ControllerEventType }
  /** A proof test ended: passed (flow stopped after the close), failed (a fault, e.g. iB0), or stopped (closed by a person). */
  | { type: 'exercise.done'; result: ExerciseResult; inflowL: number; code?: FaultCode };

export type ExerciseResult = 'passed' | 'failed' | 'stopped';

export type ControllerEmittedType = ControllerEmitted['type'];

/** A trip that must survive a power cycle. */
export interface PersistedLatch {
  readonly code: FaultCode;
  readonly breaker: 'latched' | 'service';
  readonly detail?: string;
}

/** What the controller is given at boot, read from the store by the runtime. */
export interface ControllerInput {
  /** The latch read from the store, or null when none. */
  readonly latch: PersistedLatch | null;
  /** True when the store could not be read: the controller goes to service with i80. */
  readonly memoryFault?: boolean;
}
