/**
 * Property-based tests (fast-check): random sequences of inputs and delays against the
 * controller on the virtual clock. Five properties, 2,000 sequences each (10,000 in all),
 * each checked after every step. Every property also counts how often its premise came up
 * (the valve open, a reset while wet, a restart while latched) and fails if the generator
 * stopped producing it, so a property cannot pass by never being put to the test.
 */
import fc from 'fast-check';
import { createActor } from 'xstate';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../src/machine/config.js';
import type { ControllerEmitted, ControllerEvent, PersistedLatch } from '../../src/machine/events.js';
import { controllerMachine } from '../../src/machine/machine.js';
import { VirtualClock } from '../../sim/virtual-clock.js';

type Step = { kind: 'event'; event: ControllerEvent } | { kind: 'wait'; ms: number } | { kind: 'restart' };

const ev = <E extends ControllerEvent>(e: E) => fc.constant<ControllerEvent>(e);

/**
 * Weighted so that sequences spend time in every breaker state: mostly a healthy appliance
 * asking for water (so the valve opens), often a person pressing buttons, regularly a sensor
 * fault, and rarely the hose fuse (service is for ever, so it would end every sequence).
 */
const eventArb: fc.Arbitrary<ControllerEvent> = fc.oneof(
  { weight: 12, arbitrary: ev({ type: 'sensor.float', reading: 'dry' }) },
  { weight: 6, arbitrary: ev({ type: 'sensor.float', reading: 'wet' }) },
  { weight: 2, arbitrary: ev({ type: 'sensor.float', reading: 'open' }) },
  {
    weight: 12,
    arbitrary: fc.double({ min: 0, max: 6, noNaN: true }).map((litres) => ({ type: 'sensor.level', reading: { status: 'ok', litres } }) as ControllerEvent),
  },
  { weight: 2, arbitrary: ev({ type: 'sensor.level', reading: { status: 'open' } }) },
  { weight: 2, arbitrary: ev({ type: 'sensor.level', reading: { status: 'implausible', litres: 30 } }) },
  { weight: 6, arbitrary: fc.double({ min: 0, max: 0.2, noNaN: true }).map((litres) => ({ type: 'sensor.flow', litres }) as ControllerEvent) },
  { weight: 3, arbitrary: ev({ type: 'sensor.flowStopped' }) },
  {
    weight: 10,
    arbitrary: fc
      .record({ targetL: fc.double({ min: 0.5, max: 5, noNaN: true }), topUp: fc.boolean() })
      .map(({ targetL, topUp }) => ({ type: 'program.fill', targetL, topUp }) as ControllerEvent),
  },
  { weight: 3, arbitrary: ev({ type: 'program.drain' }) },
  { weight: 2, arbitrary: ev({ type: 'program.idle' }) },
  { weight: 4, arbitrary: ev({ type: 'user.resume' }) },
  { weight: 6, arbitrary: ev({ type: 'user.reset' }) },
  { weight: 2, arbitrary: ev({ type: 'user.closeValve' }) },
  { weight: 2, arbitrary: ev({ type: 'user.exercise' }) },
  { weight: 2, arbitrary: ev({ type: 'board.linkLost' }) },
  { weight: 2, arbitrary: ev({ type: 'board.linkRestored' }) },
  { weight: 1, arbitrary: ev({ type: 'sensor.hoseFuse' }) },
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

const RUNS = 2_000; // per property: five properties, 10,000 sequences in all
const TICK = 100;

function drive(d: Device, steps: readonly Step[], each: (step: Step) => void = () => undefined): void {
  for (const step of steps) {
    if (step.kind === 'event') d.actor.send(step.event);
    else if (step.kind === 'wait') d.clock.advance(step.ms);
    else d.restart();
    each(step);
  }
}

// fast-check keeps arrays short by default; these sequences use the whole length range.
/** Half the time the sequence ends with a healthy appliance asking for water, so a fault meets an open valve. */
function maybeHealthy(d: Device, healthy: boolean): void {
  if (!healthy) return;
  d.actor.send({ type: 'sensor.float', reading: 'dry' });
  d.actor.send({ type: 'sensor.level', reading: { status: 'ok', litres: 0.1 } });
}

/** How often each property's premise came up; must be at least `min`, printed at the end. */
const premises: Record<string, number> = {};
function premise(name: string, count: number, min: number): void {
  premises[name] = count;
  expect(count, name).toBeGreaterThan(min);
}
afterAll(() => console.log(`property premises (of ${RUNS} sequences each): ${JSON.stringify(premises)}`));

const sequences = (maxLength: number) => fc.array(stepArb, { minLength: 1, maxLength, size: 'max' });

describe('controller properties over random input sequences', () => {
  it('never has the valve open unless the breaker is armed or probing', () => {
    let opened = 0;
    fc.assert(
      fc.property(sequences(60), (steps) => {
        const d = new Device();
        let seenOpen = false;
        drive(d, steps, () => {
          if (!d.valveOpen()) return;
          seenOpen = true;
          expect(['armed', 'probing']).toContain(d.breaker());
        });
        if (seenOpen) opened++;
      }),
      { numRuns: RUNS },
    );
    premise('sequences in which the valve opened at all', opened, RUNS / 10);
  });

  it('closes the valve within one tick of the float being wet for the debounce time, and keeps it closed', () => {
    let openBefore = 0;
    fc.assert(
      fc.property(sequences(40), fc.boolean(), fc.array(eventArb, { maxLength: 20 }), (steps, healthy, later) => {
        const d = new Device();
        drive(d, steps);
        maybeHealthy(d, healthy);
        // A fill is wanted from here on; the float reads wet without a break, one reading per tick.
        d.actor.send({ type: 'program.fill', targetL: 4 });
        if (d.valveOpen()) openBefore++;
        d.actor.send({ type: 'sensor.float', reading: 'wet' });
        for (let t = 0; t < DEFAULT_CONFIG.leak.wetDebounceMs; t += TICK) {
          d.clock.advance(TICK);
          d.actor.send({ type: 'sensor.float', reading: 'wet' });
        }
        d.clock.advance(TICK);
        expect(d.valveOpen()).toBe(false);
        // Whatever comes next, while the float stays wet the valve stays closed.
        for (const event of later) {
          if (event.type === 'sensor.float') continue;
          d.actor.send(event);
          d.clock.advance(TICK);
          expect(d.valveOpen()).toBe(false);
        }
      }),
      { numRuns: RUNS },
    );
    premise('sequences with the valve open when the float went wet', openBefore, RUNS / 10);
  });

  it('closes the valve on any sensor fault (float or level signal lost, implausible level), and keeps it closed', () => {
    const faults: ControllerEvent[] = [
      { type: 'sensor.float', reading: 'open' },
      { type: 'sensor.level', reading: { status: 'open' } },
      { type: 'sensor.level', reading: { status: 'implausible', litres: 30 } },
    ];
    let openBefore = 0;
    fc.assert(
      fc.property(sequences(40), fc.boolean(), fc.constantFrom(...faults), fc.integer({ min: 0, max: 200_000 }), (steps, healthy, fault, wait) => {
        const d = new Device();
        drive(d, steps);
        maybeHealthy(d, healthy);
        if (healthy) d.actor.send({ type: 'program.fill', targetL: 4 });
        if (d.valveOpen()) openBefore++;
        d.actor.send(fault);
        expect(d.valveOpen()).toBe(false);
        d.actor.send({ type: 'program.fill', targetL: 4 });
        d.actor.send({ type: 'user.resume' });
        d.actor.send({ type: 'user.exercise' });
        d.actor.send({ type: 'user.reset' });
        d.clock.advance(wait);
        expect(d.valveOpen()).toBe(false);
      }),
      { numRuns: RUNS },
    );
    premise('sequences with the valve open when the sensor failed', openBefore, RUNS / 20);
  });

  it('keeps a latched trip across a restart: same breaker, same fault', () => {
    let restartsWhileLatched = 0;
    fc.assert(
      fc.property(sequences(60), (steps) => {
        const d = new Device();
        let before = { breaker: d.breaker(), fault: d.actor.getSnapshot().context.fault };
        drive(d, steps, (step) => {
          if (step.kind === 'restart' && (before.breaker === 'latched' || before.breaker === 'service')) {
            restartsWhileLatched++;
            expect({ breaker: d.breaker(), fault: d.actor.getSnapshot().context.fault }).toEqual(before);
          }
          before = { breaker: d.breaker(), fault: d.actor.getSnapshot().context.fault };
        });
      }),
      { numRuns: RUNS },
    );
    premise('restarts while latched', restartsWhileLatched, RUNS / 10);
  });

  it('never accepts a reset while the pan is wet (float wet or its signal lost)', () => {
    let refusedWet = 0;
    let acceptedDry = 0;
    fc.assert(
      fc.property(sequences(60), (steps) => {
        const d = new Device();
        let floatWet = false;
        for (const step of steps) {
          if (step.kind !== 'event' || step.event.type !== 'user.reset') {
            drive(d, [step]);
            if (step.kind === 'event' && step.event.type === 'sensor.float') floatWet = step.event.reading !== 'dry';
            // A restart does not dry the pan: the float reading is unknown until the board reports it.
            continue;
          }
          const latched = d.breaker() === 'latched';
          const accepted = d.emitted.filter((e) => e.type === 'command.accepted').length;
          d.actor.send(step.event);
          const nowAccepted = d.emitted.filter((e) => e.type === 'command.accepted').length > accepted;
          if (!latched) continue;
          if (floatWet) {
            refusedWet++;
            expect(nowAccepted).toBe(false);
            expect(d.breaker()).toBe('latched');
          } else if (nowAccepted) {
            acceptedDry++;
          }
        }
      }),
      { numRuns: RUNS },
    );
    premise('resets tried while latched and wet', refusedWet, RUNS / 10);
    premise('resets accepted once dry (the property is not vacuous)', acceptedDry, 0);
  });
});
