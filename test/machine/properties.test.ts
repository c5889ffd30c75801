/**
 * Property-based tests (fast-check): random sequences of inputs and delays against the
 * controller on the virtual clock. Each property is checked after every step, over at
 * least 10,000 sequences in all.
 */
import fc from 'fast-check';
import { createActor } from 'xstate';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../src/machine/config.js';
import type { ControllerEmitted, ControllerEvent, PersistedLatch } from '../../src/machine/events.js';
import { controllerMachine } from '../../src/machine/machine.js';
import { VirtualClock } from '../../sim/virtual-clock.js';

type Step = { kind: 'event'; event: ControllerEvent } | { kind: 'wait'; ms: number } | { kind: 'restart' };

const eventArb: fc.Arbitrary<ControllerEvent> = fc.oneof(
  fc.constantFrom<ControllerEvent>(
    { type: 'sensor.float', reading: 'dry' },
    { type: 'sensor.float', reading: 'wet' },
    { type: 'sensor.float', reading: 'open' },
    { type: 'sensor.level', reading: { status: 'open' } },
    { type: 'sensor.level', reading: { status: 'implausible', litres: 30 } },
    { type: 'sensor.flowStopped' },
    { type: 'sensor.hoseFuse' },
    { type: 'program.drain' },
    { type: 'program.idle' },
    { type: 'user.resume' },
    { type: 'user.reset' },
    { type: 'user.closeValve' },
    { type: 'user.exercise' },
    { type: 'board.linkLost' },
    { type: 'board.linkRestored' },
  ),
  fc.double({ min: 0, max: 6, noNaN: true }).map((litres) => ({ type: 'sensor.level', reading: { status: 'ok', litres } }) as ControllerEvent),
  fc.double({ min: 0, max: 0.2, noNaN: true }).map((litres) => ({ type: 'sensor.flow', litres }) as ControllerEvent),
  fc.record({ targetL: fc.double({ min: 0.5, max: 5, noNaN: true }), topUp: fc.boolean() }).map(
    ({ targetL, topUp }) => ({ type: 'program.fill', targetL, topUp }) as ControllerEvent,
  ),
);

// Waits cluster around the controller's timings so the sequences cross them often.
const waitArb = fc.oneof(
  fc.integer({ min: 1, max: 1_000 }),
  fc.constantFrom(2_000, 2_500, 9_000, 10_000, 10_100, 60_000, 90_000, 120_000),
  fc.integer({ min: 1_000, max: 130_000 }),
);

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: eventArb.map((event) => ({ kind: 'event' as const, event })) },
  { weight: 3, arbitrary: waitArb.map((ms) => ({ kind: 'wait' as const, ms })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
);

/**
 * A controller with a persisted latch, as the runtime keeps it: `restart` is a power cycle
 * (the actor is replaced; the latch survives through the store).
 */
class Device {
  clock = new VirtualClock();
  latch: PersistedLatch | null = null;
  emitted: ControllerEmitted[] = [];
  actor = this.boot();

  boot() {
    const actor = createActor(controllerMachine, { clock: this.clock as never, input: { latch: this.latch, config: DEFAULT_CONFIG } });
    actor.on('*', (e) => {
      const ev = e as ControllerEmitted;
      this.emitted.push(ev);
      if (ev.type === 'latch.changed') this.latch = ev.latch;
    });
    actor.start();
    return actor;
  }
  restart() {
    this.actor.stop();
    this.clock = new VirtualClock(this.clock.now());
    this.actor = this.boot();
  }
  value() {
    return this.actor.getSnapshot().value as Record<string, unknown>;
  }
  breaker(): string {
    const b = this.value().breaker;
    return typeof b === 'string' ? b : Object.keys(b as object)[0]!;
  }
  valveOpen() {
    return this.value().valve === 'open';
  }
}

const RUNS = 2_500; // per property; four properties with sequences of up to 60 steps

describe('controller properties over random input sequences', () => {
  it('never has the valve open unless the breaker is armed or probing', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 60 }), (steps) => {
        const d = new Device();
        for (const step of steps) {
          if (step.kind === 'event') d.actor.send(step.event);
          else if (step.kind === 'wait') d.clock.advance(step.ms);
          else d.restart();
          if (d.valveOpen()) expect(['armed', 'probing']).toContain(d.breaker());
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('closes the valve within one tick of the float being wet for the debounce time', () => {
    const tick = 100;
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 40 }), fc.integer({ min: 0, max: 20 }), (steps, extraTicks) => {
        const d = new Device();
        for (const step of steps) {
          if (step.kind === 'event') d.actor.send(step.event);
          else if (step.kind === 'wait') d.clock.advance(step.ms);
          else d.restart();
        }
        // From here the float reads wet, without a break, whatever else the program asks.
        d.actor.send({ type: 'sensor.float', reading: 'wet' });
        d.actor.send({ type: 'program.fill', targetL: 4 });
        for (let t = 0; t < DEFAULT_CONFIG.leak.wetDebounceMs + tick * (1 + extraTicks); t += tick) {
          d.clock.advance(tick);
          d.actor.send({ type: 'sensor.flow', litres: 0.006 });
        }
        expect(d.valveOpen()).toBe(false);
        expect(['latched', 'service']).toContain(d.breaker());
      }),
      { numRuns: RUNS },
    );
  });

  it('closes the valve on any sensor fault (float or level signal lost, implausible level)', () => {
    const faults: ControllerEvent[] = [
      { type: 'sensor.float', reading: 'open' },
      { type: 'sensor.level', reading: { status: 'open' } },
      { type: 'sensor.level', reading: { status: 'implausible', litres: 30 } },
    ];
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 40 }), fc.constantFrom(...faults), fc.integer({ min: 0, max: 200_000 }), (steps, fault, wait) => {
        const d = new Device();
        for (const step of steps) {
          if (step.kind === 'event') d.actor.send(step.event);
          else if (step.kind === 'wait') d.clock.advance(step.ms);
          else d.restart();
        }
        d.actor.send(fault);
        expect(d.valveOpen()).toBe(false);
        d.actor.send({ type: 'program.fill', targetL: 4 });
        d.actor.send({ type: 'user.resume' });
        d.actor.send({ type: 'user.exercise' });
        d.clock.advance(wait);
        expect(d.valveOpen()).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it('keeps a latched trip across a restart, and never accepts a reset while the pan is wet', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 60 }), (steps) => {
        const d = new Device();
        let floatWet = false;
        for (const step of steps) {
          if (step.kind === 'event') {
            if (step.event.type === 'sensor.float') floatWet = step.event.reading !== 'dry';
            const before = d.breaker();
            const accepted = d.emitted.filter((e) => e.type === 'command.accepted').length;
            d.actor.send(step.event);
            if (step.event.type === 'user.reset' && before === 'latched') {
              const nowAccepted = d.emitted.filter((e) => e.type === 'command.accepted').length > accepted;
              if (floatWet) expect(nowAccepted).toBe(false);
              if (floatWet) expect(d.breaker()).toBe('latched');
            }
          } else if (step.kind === 'wait') {
            d.clock.advance(step.ms);
          } else {
            const before = d.breaker();
            const fault = d.actor.getSnapshot().context.fault;
            d.restart();
            floatWet = false;
            if (before === 'latched' || before === 'service') {
              expect(d.breaker()).toBe(before);
              expect(d.actor.getSnapshot().context.fault).toBe(fault);
            }
          }
        }
      }),
      { numRuns: RUNS },
    );
  });
});
