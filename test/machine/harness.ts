/**
 * Drives the controller machine directly (no board) on a virtual clock and records what it
 * emits: the test bench for the machine's own suites.
 */
import { createActor } from 'xstate';
import { parseControllerConfig, type ControllerConfigInput } from '../../src/machine/config.js';
import type { ControllerEmitted, ControllerEvent, ControllerInput } from '../../src/machine/events.js';
import { controllerMachine } from '../../src/machine/machine.js';
import { VirtualClock } from '../../src/clock/virtual-clock.js';

export interface Bench {
  readonly clock: VirtualClock;
  readonly actor: ReturnType<typeof createActor<typeof controllerMachine>>;
  readonly emitted: ControllerEmitted[];
  send(event: ControllerEvent): void;
  advance(ms: number): void;
  value(): Record<string, unknown>;
  breaker(): string;
  valveOpen(): boolean;
  pumpOn(): boolean;
  /** Emitted events of one type since the bench started. */
  of<T extends ControllerEmitted['type']>(type: T): Extract<ControllerEmitted, { type: T }>[];
  lastRejection(): string | undefined;
}

export function createBench(options: { config?: ControllerConfigInput; input?: Partial<ControllerInput> } = {}): Bench {
  const clock = new VirtualClock();
  const config = parseControllerConfig(options.config ?? {});
  const actor = createActor(controllerMachine, {
    clock: clock,
    input: { latch: null, ...options.input, config },
  });
  const emitted: ControllerEmitted[] = [];
  actor.on('*', (e) => emitted.push(e));
  actor.start();
  const value = () => actor.getSnapshot().value as Record<string, unknown>;
  const breaker = () => {
    const b = value().breaker;
    return typeof b === 'string' ? b : Object.keys(b as object)[0]!;
  };
  return {
    clock,
    actor,
    emitted,
    send: (event) => actor.send(event),
    advance: (ms) => clock.advance(ms),
    value,
    breaker,
    valveOpen: () => value().valve === 'open',
    pumpOn: () => value().pump === 'on',
    of: (type) => emitted.filter((e) => e.type === type) as never,
    lastRejection: () => {
      const r = emitted.filter((e) => e.type === 'command.rejected').at(-1);
      return r && r.type === 'command.rejected' ? r.rejection.reason : undefined;
    },
  };
}

/** The sensor readings of a healthy, empty, dry appliance. */
export function healthy(bench: Bench, levelL = 0): void {
  bench.send({ type: 'sensor.float', reading: 'dry' });
  bench.send({ type: 'sensor.level', reading: { status: 'ok', litres: levelL } });
}

export const level = (litres: number): ControllerEvent => ({ type: 'sensor.level', reading: { status: 'ok', litres } });
