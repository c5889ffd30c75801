/**
 * Safety rules of the controller that were missing or broken: the valve cycle bound (i13),
 * a noisy level ending in i42, nothing opening while the board link is lost, and a person's
 * command letting water in only with the pan dry for leak.dryMs. Each boundary is tested on
 * both sides, so a `<` for a `<=` goes red.
 */
import type { AnyStateNode } from 'xstate';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../src/machine/config.js';
import { FACT_NAMES, FACTS } from '../../src/machine/facts.js';
import { controllerMachine } from '../../src/machine/machine.js';
import { createBench, healthy, level, type Bench } from './harness.js';

const S = 1000;
const { valve, sensors, breaker, fill, leak } = DEFAULT_CONFIG;
const wet = { type: 'sensor.float', reading: 'wet' } as const;
const dry = { type: 'sensor.float', reading: 'dry' } as const;
const noisy = { type: 'sensor.level', reading: { status: 'implausible', litres: 40 } } as const;
const opens = (b: Bench) => b.of('valve.changed').filter((v) => v.open).length;

/** Opens and closes the valve once, by a short wet blip of the float during a fill. */
function cycle(b: Bench): void {
  b.send(wet);
  b.send(dry);
}

describe('valve cycle bound (i13)', () => {
  it(`allows valve.maxOpens opens within valve.windowMs, refuses the next one and latches i13`, () => {
    const b = createBench();
    healthy(b);
    b.send({ type: 'program.fill', targetL: 3 });
    for (let i = 1; i < valve.maxOpens; i++) cycle(b);
    expect(opens(b)).toBe(valve.maxOpens);
    expect(b.valveOpen()).toBe(true);
    cycle(b);
    expect(opens(b)).toBe(valve.maxOpens);
    expect(b.valveOpen()).toBe(false);
    expect(b.of('fault.raised')).toEqual([{ type: 'fault.raised', code: 'i13', detail: 'the valve would open more than 6 times in 60 s' }]);
    expect(b.breaker()).toBe('latched');
  });

  it('counts opens in a sliding window: an open leaves it exactly valve.windowMs later', () => {
    /** Open #1 at t=0, opens #2..#max at t=1 s (the program withdraws and renews its demand), valve closed at the end. */
    function spend(): Bench {
      const b = createBench();
      healthy(b);
      b.send({ type: 'program.fill', targetL: 3 });
      b.advance(S);
      for (let i = 1; i < valve.maxOpens; i++) {
        b.send({ type: 'program.idle' });
        b.send({ type: 'program.fill', targetL: 3 });
      }
      b.send({ type: 'program.idle' });
      expect(opens(b)).toBe(valve.maxOpens);
      return b;
    }
    const early = spend();
    early.advance(valve.windowMs - S - 1); // t = window - 1 ms: open #1 still counts
    early.send({ type: 'program.fill', targetL: 3 });
    expect(early.of('fault.raised').map((f) => f.code)).toEqual(['i13']);
    expect(early.valveOpen()).toBe(false);

    const onTime = spend();
    onTime.advance(valve.windowMs - S); // t = window: open #1 has left it
    onTime.send({ type: 'program.fill', targetL: 3 });
    expect(onTime.of('fault.raised')).toEqual([]);
    expect(onTime.valveOpen()).toBe(true);
    // Only open #1 left: opens #2..#max are still in the window, so the next open is one too many.
    onTime.send({ type: 'program.idle' });
    onTime.send({ type: 'program.fill', targetL: 3 });
    expect(onTime.of('fault.raised').map((f) => f.code)).toEqual(['i13']);
  });
});

describe('a noisy level signal', () => {
  function filling(): Bench {
    const b = createBench();
    healthy(b, 1);
    b.send({ type: 'program.fill', targetL: 3 });
    expect(b.valveOpen()).toBe(true);
    return b;
  }

  it('closes the valve at the first implausible reading and keeps it closed through plausible ones in between', () => {
    const b = filling();
    b.send(noisy);
    expect(b.valveOpen()).toBe(false);
    b.send(level(1.1));
    expect(b.valveOpen()).toBe(false);
    b.advance(sensors.levelSettleMs - 1);
    expect(b.valveOpen()).toBe(false);
    b.advance(1);
    expect(b.valveOpen()).toBe(true); // plausible for levelSettleMs: good again
  });

  it('raises i42 after levelImplausibleMs of one noisy spell, however often a plausible sample comes between', () => {
    const b = filling();
    const step = sensors.levelSettleMs / 2;
    for (let t = 0; t < sensors.levelImplausibleMs - step; t += step) {
      b.send(noisy);
      b.send(level(1 + t / 1e5));
      b.advance(step);
    }
    expect(b.of('fault.raised')).toEqual([]);
    b.send(noisy);
    b.advance(step);
    expect(b.of('fault.raised').map((f) => f.code)).toEqual(['i42']);
    expect(b.breaker()).toBe('latched');
    expect(opens(b)).toBe(1);
  });

  it('one plausible sample inside a noisy spell does not end a fill, and after i42 a reset waits for a settled signal', () => {
    const b = filling();
    b.send(noisy);
    b.send(level(3.2)); // at the fill target, but inside the spell
    expect(b.of('fill.done')).toEqual([]);
    b.send(noisy);
    b.advance(sensors.levelImplausibleMs);
    expect(b.of('fault.raised').map((f) => f.code)).toEqual(['i42']);
    b.advance(leak.dryMs);
    b.send(level(1));
    b.send({ type: 'user.reset' });
    expect(b.lastRejection()).toMatch(/level sensor/);
    b.advance(sensors.levelSettleMs - 1);
    b.send({ type: 'user.reset' });
    expect(b.lastRejection()).toMatch(/level sensor/);
    b.advance(1);
    b.send({ type: 'user.reset' });
    expect(b.breaker()).toBe('armed');
  });

  it('an implausible reading after a lost one starts a noisy spell: the level is not good again without a plausible reading', () => {
    const b = filling();
    b.send({ type: 'sensor.level', reading: { status: 'open' } });
    b.send(noisy);
    b.advance(sensors.levelSettleMs * 2);
    expect(b.valveOpen()).toBe(false);
    expect(b.actor.getSnapshot().hasTag('levelGood')).toBe(false);
  });

  it('no level reading yet is no good level: the valve stays closed until the first plausible one', () => {
    const b = createBench();
    b.send(dry);
    b.send({ type: 'program.fill', targetL: 3 });
    expect(b.valveOpen()).toBe(false);
    b.send(level(0));
    expect(b.valveOpen()).toBe(true);
  });

  it('a single implausible sample followed by a settled signal raises nothing', () => {
    const b = filling();
    b.send(noisy);
    b.send(level(1.2));
    b.advance(sensors.levelImplausibleMs * 3);
    expect(b.of('fault.raised')).toEqual([]);
  });
});

/** Tripped with i10: a fill that never rose, the pan dry for leak.dryMs before it. */
function trippedI10(): Bench {
  const b = createBench();
  healthy(b);
  b.advance(leak.dryMs);
  b.send({ type: 'program.fill', targetL: 3 });
  b.advance(fill.staticTimeoutMs);
  expect(b.breaker()).toBe('tripped');
  return b;
}

describe('nothing opens the valve while the board link is lost', () => {
  it('a cool-down that ends while the link is lost waits; the probe runs when it returns', () => {
    const b = trippedI10();
    b.send({ type: 'board.linkLost' });
    b.advance(breaker.coolDownMs * 3);
    expect(b.breaker()).toBe('tripped');
    expect(opens(b)).toBe(1);
    b.send({ type: 'board.linkRestored' });
    expect(b.breaker()).toBe('probing');
    expect(b.valveOpen()).toBe(true);
    expect(b.of('fault.cleared').map((f) => f.code)).toEqual(['iC0']);
    expect(b.actor.getSnapshot().context.fault).toBe('i10');
  });

  it('a resume while the link is lost is refused', () => {
    const b = trippedI10();
    b.send({ type: 'board.linkLost' });
    b.send({ type: 'user.resume' });
    expect(b.lastRejection()).toMatch(/link/);
    expect(b.breaker()).toBe('tripped');
  });

  it('the valve closes the moment the link is lost in any state, and reopens only when it returns', () => {
    const b = createBench();
    healthy(b);
    b.send({ type: 'program.fill', targetL: 3 });
    b.send({ type: 'board.linkLost' });
    expect(b.valveOpen()).toBe(false);
    expect(b.of('fault.raised').map((f) => f.code)).toEqual(['iC0']);
    b.send({ type: 'board.linkRestored' });
    expect(b.breaker()).toBe('armed');
    expect(b.of('fault.cleared').map((f) => f.code)).toEqual(['iC0']);
  });

  it('an iC0 recorded beside a latched i30 is cleared when the link returns, and the latch stays', () => {
    const b = createBench();
    healthy(b);
    b.send(wet);
    b.advance(leak.wetDebounceMs);
    b.send({ type: 'board.linkLost' });
    b.send({ type: 'board.linkRestored' });
    expect(b.of('fault.raised').map((f) => f.code)).toEqual(['i30', 'iC0']);
    expect(b.of('fault.cleared').map((f) => f.code)).toEqual(['iC0']);
    expect(b.breaker()).toBe('latched');
  });
});

describe('a fault while the breaker is tripped or probing', () => {
  function probingI10(): Bench {
    const b = trippedI10();
    b.advance(breaker.coolDownMs);
    expect(b.breaker()).toBe('probing');
    expect(b.valveOpen()).toBe(true);
    return b;
  }

  for (const [when, start] of [
    ['cooling down', trippedI10],
    ['probing', probingI10],
  ] as const) {
    it(`a service fault (iH0) while ${when} goes to service with that code, the valve closed`, () => {
      const b = start();
      b.send({ type: 'sensor.hoseFuse' });
      expect(b.breaker()).toBe('service');
      expect(b.actor.getSnapshot().context.fault).toBe('iH0');
      expect(b.of('fault.raised').map((f) => f.code)).toEqual(['i10', 'iH0']);
      expect(b.valveOpen()).toBe(false);
    });

    it(`a manual fault (i30) while ${when} latches with that code, the valve closed`, () => {
      const b = start();
      b.send(wet);
      b.advance(leak.wetDebounceMs);
      expect(b.breaker()).toBe('latched');
      expect(b.actor.getSnapshot().context.fault).toBe('i30');
      expect(b.of('fault.raised').map((f) => f.code)).toEqual(['i10', 'i30']);
      expect(b.valveOpen()).toBe(false);
    });
  }

  it('closeValve during a probe fill closes the valve at once and goes back to tripped', () => {
    const b = probingI10();
    b.send({ type: 'user.closeValve' });
    expect(b.valveOpen()).toBe(false);
    expect(b.breaker()).toBe('tripped');
  });

  it('a probe with a drain asked for runs the drain, and the breaker arms once the tub is empty', () => {
    const b = trippedI10();
    b.send(level(2));
    b.send({ type: 'program.drain' });
    b.advance(breaker.coolDownMs);
    expect(b.breaker()).toBe('probing');
    expect(b.pumpOn()).toBe(true);
    expect(b.valveOpen()).toBe(false);
    b.send(level(0));
    expect(b.breaker()).toBe('armed');
    expect(b.pumpOn()).toBe(false);
  });
});

describe("a person's command lets water in only with the pan dry for leak.dryMs", () => {
  it('resume after a remote close is refused while the pan is drying, accepted once dry long enough', () => {
    const b = createBench();
    healthy(b);
    b.send({ type: 'program.fill', targetL: 3 });
    b.send({ type: 'user.closeValve' });
    b.send({ type: 'user.resume' });
    expect(b.lastRejection()).toMatch(/dry for 60 s/);
    expect(b.valveOpen()).toBe(false);
    b.advance(leak.dryMs);
    b.send({ type: 'user.resume' });
    expect(b.valveOpen()).toBe(true);
  });

  it('a probe fill waits for a pan dry for leak.dryMs, however early the resume', () => {
    const b = createBench();
    healthy(b);
    b.send({ type: 'program.fill', targetL: 3 });
    b.advance(fill.staticTimeoutMs); // i10 while the pan has been dry 90 s
    b.send(wet);
    b.send(dry); // a splash: drying again
    b.send({ type: 'user.resume' });
    expect(b.breaker()).toBe('probing');
    expect(b.valveOpen()).toBe(false);
    b.advance(leak.dryMs - 1);
    expect(b.valveOpen()).toBe(false);
    b.advance(1);
    expect(b.valveOpen()).toBe(true);
  });
});

describe('one definition of each fact', () => {
  const all = (node: AnyStateNode): AnyStateNode[] => [node, ...Object.values(node.states).flatMap((c) => all(c as AnyStateNode))];
  const nodes = all(controllerMachine.root);

  it('every state node carries exactly the tags the facts table gives it, and every id in the table exists', () => {
    for (const fact of FACT_NAMES) {
      const tagged = nodes.filter((n) => n.tags.includes(fact)).map((n) => `#${n.id}`);
      expect(tagged.sort(), fact).toEqual([...FACTS[fact]].sort());
    }
  });

  it('the status reads the leak from the tag: wet, debouncing and a lost float are a leak; unknown and drying are not', () => {
    const b = createBench();
    const leakNow = () => b.actor.getSnapshot().hasTag('leak');
    expect(leakNow()).toBe(false); // unknown
    b.send(wet);
    expect(leakNow()).toBe(true);
    b.send({ type: 'sensor.float', reading: 'open' });
    expect(leakNow()).toBe(true);
    b.send(dry);
    expect(leakNow()).toBe(false);
  });
});

describe('what the breaker tells', () => {
  it('counts trips, names the fault of every breaker state but armed, and persists the latch with its detail', () => {
    const b = createBench();
    healthy(b);
    b.advance(leak.dryMs);
    b.send({ type: 'program.fill', targetL: 3 });
    b.advance(fill.staticTimeoutMs); // i10: tripped
    b.advance(breaker.coolDownMs); // probe fill, no rise again: latched
    b.advance(fill.staticTimeoutMs);
    expect(b.actor.getSnapshot().context.tripCount).toBe(2);
    expect(b.of('breaker.changed').map((e) => [e.breaker, e.code])).toEqual([
      ['armed', null],
      ['tripped', 'i10'],
      ['probing', 'i10'],
      ['latched', 'i10'],
    ]);
    expect(b.of('latch.changed')).toEqual([{ type: 'latch.changed', latch: { code: 'i10', breaker: 'latched', detail: 'no level rise after the valve opened' } }]);
  });
});
