/**
 * What the runtime (controller actor bound to a board) shows the outside world.
 * Telemetry, the CLI timeline and the monitor listen to these events; none of them reach
 * into a board or the machine.
 */
import type { FaultCode, ResetPolicy, Severity } from '../machine/catalogue.js';
import type { Breaker, ExerciseResult } from '../machine/events.js';
import type { Board, BoardReport } from './board.js';

/** A snapshot of one device, as published on `aquastop/<id>` (retained state). */
export interface DeviceStatus {
  /** Machine state path, e.g. "armed.filling", "latched". */
  readonly state: string;
  readonly breaker: Breaker;
  readonly valve: 'open' | 'closed';
  readonly drainPump: 'on' | 'off';
  /** Base-pan float reads wet (or its signal is lost). */
  readonly leak: boolean;
  /** The fault holding the breaker (tripped, latched, service), else null. */
  readonly fault: FaultCode | null;
  /** Trips since this boot. */
  readonly tripCount: number;
  readonly uptimeS: number;
  /** Tub level in litres, null when the signal is lost. */
  readonly tubLevelL: number | null;
}

export interface FaultEvent {
  readonly event: 'raised' | 'cleared';
  readonly code: FaultCode;
  readonly display: string;
  readonly text: string;
  readonly severity: Severity;
  readonly reset: ResetPolicy;
  readonly detail?: string;
  /** Clock time in ms (virtual in the simulator). */
  readonly ts: number;
  /** Unique per device: `${boot}-${n}`; a re-delivered event carries the same id. */
  readonly id: string;
}

/** Commands a person (button, CLI key, remote MQTT) may give. */
export type UserCommand = 'resume' | 'reset' | 'closeValve' | 'exercise';

export type CommandResult = { readonly ok: true } | { readonly ok: false; readonly error: string };

export type RuntimeEvent =
  | { readonly type: 'status'; readonly status: DeviceStatus; readonly ts: number }
  | { readonly type: 'fault'; readonly fault: FaultEvent }
  | { readonly type: 'valve'; readonly open: boolean; readonly ts: number }
  | { readonly type: 'pump'; readonly on: boolean; readonly ts: number }
  | { readonly type: 'breaker'; readonly breaker: Breaker; readonly code: FaultCode | null; readonly ts: number }
  | { readonly type: 'command'; readonly command: UserCommand; readonly result: CommandResult; readonly ts: number }
  | { readonly type: 'board'; readonly report: BoardReport; readonly ts: number }
  /** A program step the controller finished: the fill reached its level, or the tub is empty. */
  | { readonly type: 'phase'; readonly done: 'fill' | 'drain'; readonly ts: number }
  /** A proof test of the shut-off ended (`user.exercise`): passed, failed (with the fault, e.g. iB0) or stopped by a person. */
  | { readonly type: 'exercise'; readonly result: ExerciseResult; readonly inflowL: number; readonly code?: FaultCode; readonly ts: number }
  /** An exception inside the runtime: the valve has been closed. */
  | { readonly type: 'error'; readonly message: string; readonly ts: number };

export type RuntimeEventType = RuntimeEvent['type'];
export type RuntimeEventOf<T extends RuntimeEventType> = Extract<RuntimeEvent, { type: T }>;

/** Requests from the appliance program (the simulator's dishwasher program, or none on a real board). */
export type ProgramRequest = { readonly type: 'fill'; readonly targetL: number; readonly topUp?: boolean } | { readonly type: 'drain' } | { readonly type: 'idle' };

/**
 * A controller actor bound to a board (created by `startRuntime` in runtime.ts).
 * All time comes from the injected clock; the runtime ticks the board every `tickMs`.
 */
export interface Runtime {
  readonly deviceId: string;
  /** Boot counter from the store, incremented on every start (heartbeat `boot`). */
  readonly boot: number;
  readonly boardKind: Board['kind'];
  status(): DeviceStatus;
  /** Listen to one kind of event; returns an unsubscribe function. */
  on<T extends RuntimeEventType>(type: T, listener: (event: RuntimeEventOf<T>) => void): () => void;
  /** Listen to every event, in the order they happen. */
  onAny(listener: (event: RuntimeEvent) => void): () => void;
  /** A person's command; the result says why it was refused. Never throws. */
  command(command: UserCommand): CommandResult;
  program(request: ProgramRequest): void;
  /** Counters for benchmarks and diagnostics: events handed to the controller, board samples taken. */
  stats(): { readonly controllerEvents: number; readonly samples: number };
  /** The persisted fault memory, newest last. */
  faultMemory(): readonly { readonly code: FaultCode; readonly at: number; readonly detail?: string }[];
  /** Clean stop: valve closed, pump off, board closed. */
  stop(): Promise<void>;
  /** Power cut: everything stops at once; nothing more is written or sent. */
  halt(): void;
}
