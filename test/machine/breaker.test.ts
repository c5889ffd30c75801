/**
 * The breaker as two tables, every row reached with real inputs (no state forced):
 * - every breaker situation x every person's command -> accepted or refused (with a reason
 *   that names the cause), the breaker after, and the valve the board is told to hold;
 * - every breaker situation x every kind of fault (a link fault, a manual, a service one) ->
 *   the breaker after, the fault it holds, and the faults it announces.
 * The README's breaker table in words; a changed target, a dropped guard or a lost reason
 * makes a row red.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../src/machine/config.js';
import { createBench, healthy, type Bench } from './harness.js';

const { leak, fill, breaker: breakerConfig, sensors } = DEFAULT_CONFIG;
const wet = { type: 'sensor.float', reading: 'wet' } as const;
const dry = { type: 'sensor.float', reading: 'dry' } as const;

function armedIdle(): Bench {
  const b = createBench();
  healthy(b);
  b.advance(leak.dryMs);
  return b;
}
/** Small flow pulses every 100 ms, with the valve closed, until past valveLeak.flowMs: iB0. */
function flowWhileClosed(b: Bench): void {
  for (let t = 0; t <= DEFAULT_CONFIG.valveLeak.flowMs; t += 100) {
    b.send({ type: 'sensor.flow', litres: 0.005 });
    b.advance(100);
  }
}
function trippedI10(): Bench {
  const b = armedIdle();
  b.send({ type: 'program.fill', targetL: 3 });
  b.advance(fill.staticTimeoutMs);
  return b;
}
function latchedI30(): Bench {
  const b = armedIdle();
  b.send(wet);
  b.advance(leak.wetDebounceMs);
  return b;
}

/** Each situation: how to get there, and the breaker state value it must then be in. */
const SITUATIONS: Record<string, { build: () => Bench; value: unknown; fault: string | null }> = {
  'armed, idle': { build: armedIdle, value: { armed: 'idle' }, fault: null },
  'armed, held closed': {
    build: () => {
      const b = armedIdle();
      b.send({ type: 'user.closeValve' });
      return b;
    },
    value: { armed: 'held' },
    fault: null,
  },
  'armed, filling': {
    build: () => {
      const b = armedIdle();
      b.send({ type: 'program.fill', targetL: 3 });
      return b;
    },
    value: { armed: 'filling' },
    fault: null,
  },
  'armed, proof test': {
    build: () => {
      const b = armedIdle();
      b.send({ type: 'user.exercise' });
      return b;
    },
    value: { armed: { exercising: 'opening' } },
    fault: null,
  },
  'tripped (i10), cooling down': { build: trippedI10, value: { tripped: 'coolingDown' }, fault: 'i10' },
  'tripped (i10), cooled down, link lost': {
    build: () => {
      const b = trippedI10();
      b.send({ type: 'board.linkLost' });
      b.advance(breakerConfig.coolDownMs);
      return b;
    },
    value: { tripped: 'waitingForLink' },
    fault: 'i10',
  },
  'tripped (iC0)': {
    build: () => {
      const b = armedIdle();
      b.send({ type: 'board.linkLost' });
      return b;
    },
    value: { tripped: 'coolingDown' },
    fault: 'iC0',
  },
  'probing, no demand': {
    build: () => {
      const b = trippedI10();
      b.send({ type: 'program.idle' });
      b.advance(breakerConfig.coolDownMs);
      return b;
    },
    value: { probing: 'waiting' },
    fault: 'i10',
  },
  'probing, probe fill': {
    build: () => {
      const b = trippedI10();
      b.advance(breakerConfig.coolDownMs);
      return b;
    },
    value: { probing: 'probeFill' },
    fault: 'i10',
  },
  'latched (i30), pan drying': {
    build: () => {
      const b = latchedI30();
      b.send(dry);
      return b;
    },
    value: 'latched',
    fault: 'i30',
  },
  'latched (i30), pan dry long enough': {
    build: () => {
      const b = latchedI30();
      b.send(dry);
      b.advance(leak.dryMs);
      return b;
    },
    value: 'latched',
    fault: 'i30',
  },
  'latched (i41)': {
    build: () => {
      const b = armedIdle();
      b.send({ type: 'sensor.level', reading: { status: 'open' } });
      b.advance(sensors.levelLostMs);
      return b;
    },
    value: 'latched',
    fault: 'i41',
  },
  'service (iH0)': {
    build: () => {
      const b = armedIdle();
      b.send({ type: 'sensor.hoseFuse' });
      return b;
    },
    value: 'service',
    fault: 'iH0',
  },
};

type Command = 'reset' | 'resume' | 'exercise' | 'closeValve';
/** accepted, or refused with a reason matching the pattern; then the breaker's state and the valve. */
type Outcome = { ok: true; then: unknown; valve: 'open' | 'closed' } | { ok: false; reason: RegExp; valve: 'open' | 'closed' };

const NOTHING_TO_RESET = /nothing to reset/;
const NOTHING_TO_RESUME = /nothing to resume/;
const ONLY_ARMED_IDLE = /only when the breaker is armed and the appliance idle/;

const COMMANDS: Record<string, Record<Command, Outcome>> = {
  'armed, idle': {
    reset: { ok: false, reason: NOTHING_TO_RESET, valve: 'closed' },
    resume: { ok: false, reason: NOTHING_TO_RESUME, valve: 'closed' },
    exercise: { ok: true, then: { armed: { exercising: 'opening' } }, valve: 'open' },
    closeValve: { ok: true, then: { armed: 'held' }, valve: 'closed' },
  },
  'armed, held closed': {
    reset: { ok: false, reason: NOTHING_TO_RESET, valve: 'closed' },
    resume: { ok: true, then: { armed: 'idle' }, valve: 'closed' },
    exercise: { ok: false, reason: ONLY_ARMED_IDLE, valve: 'closed' },
    closeValve: { ok: true, then: { armed: 'held' }, valve: 'closed' },
  },
  'armed, filling': {
    reset: { ok: false, reason: NOTHING_TO_RESET, valve: 'open' },
    resume: { ok: false, reason: NOTHING_TO_RESUME, valve: 'open' },
    exercise: { ok: false, reason: ONLY_ARMED_IDLE, valve: 'open' },
    closeValve: { ok: true, then: { armed: 'held' }, valve: 'closed' },
  },
  'armed, proof test': {
    reset: { ok: false, reason: NOTHING_TO_RESET, valve: 'open' },
    resume: { ok: false, reason: NOTHING_TO_RESUME, valve: 'open' },
    exercise: { ok: false, reason: ONLY_ARMED_IDLE, valve: 'open' },
    closeValve: { ok: true, then: { armed: 'held' }, valve: 'closed' },
  },
  'tripped (i10), cooling down': {
    reset: { ok: false, reason: NOTHING_TO_RESET, valve: 'closed' },
    // The fill is still asked for, the pan has been dry long enough: the probe fill opens at once.
    resume: { ok: true, then: { probing: 'probeFill' }, valve: 'open' },
    exercise: { ok: false, reason: ONLY_ARMED_IDLE, valve: 'closed' },
    closeValve: { ok: true, then: { tripped: 'coolingDown' }, valve: 'closed' },
  },
  'tripped (i10), cooled down, link lost': {
    reset: { ok: false, reason: NOTHING_TO_RESET, valve: 'closed' },
    resume: { ok: false, reason: /the board link is lost: the probe waits for it/, valve: 'closed' },
    exercise: { ok: false, reason: ONLY_ARMED_IDLE, valve: 'closed' },
    closeValve: { ok: true, then: { tripped: 'waitingForLink' }, valve: 'closed' },
  },
  'tripped (iC0)': {
    reset: { ok: false, reason: NOTHING_TO_RESET, valve: 'closed' },
    resume: { ok: false, reason: /waiting for the board link to return \(iC0\)/, valve: 'closed' },
    exercise: { ok: false, reason: ONLY_ARMED_IDLE, valve: 'closed' },
    closeValve: { ok: true, then: { tripped: 'coolingDown' }, valve: 'closed' },
  },
  'probing, no demand': {
    reset: { ok: false, reason: NOTHING_TO_RESET, valve: 'closed' },
    resume: { ok: false, reason: NOTHING_TO_RESUME, valve: 'closed' },
    exercise: { ok: false, reason: ONLY_ARMED_IDLE, valve: 'closed' },
    closeValve: { ok: true, then: { tripped: 'coolingDown' }, valve: 'closed' },
  },
  'probing, probe fill': {
    reset: { ok: false, reason: NOTHING_TO_RESET, valve: 'open' },
    resume: { ok: false, reason: NOTHING_TO_RESUME, valve: 'open' },
    exercise: { ok: false, reason: ONLY_ARMED_IDLE, valve: 'open' },
    closeValve: { ok: true, then: { tripped: 'coolingDown' }, valve: 'closed' },
  },
  'latched (i30), pan drying': {
    reset: { ok: false, reason: new RegExp(`the base pan must stay dry for ${leak.dryMs / 1000} s first`), valve: 'closed' },
    resume: { ok: false, reason: NOTHING_TO_RESUME, valve: 'closed' },
    exercise: { ok: false, reason: ONLY_ARMED_IDLE, valve: 'closed' },
    closeValve: { ok: true, then: 'latched', valve: 'closed' },
  },
  'latched (i30), pan dry long enough': {
    reset: { ok: true, then: { armed: 'idle' }, valve: 'closed' },
    resume: { ok: false, reason: NOTHING_TO_RESUME, valve: 'closed' },
    exercise: { ok: false, reason: ONLY_ARMED_IDLE, valve: 'closed' },
    closeValve: { ok: true, then: 'latched', valve: 'closed' },
  },
  'latched (i41)': {
    reset: { ok: false, reason: /the level sensor signal is lost or implausible: reset refused/, valve: 'closed' },
    resume: { ok: false, reason: NOTHING_TO_RESUME, valve: 'closed' },
    exercise: { ok: false, reason: ONLY_ARMED_IDLE, valve: 'closed' },
    closeValve: { ok: true, then: 'latched', valve: 'closed' },
  },
  'service (iH0)': {
    reset: { ok: false, reason: /a service fault needs a repair: no software reset/, valve: 'closed' },
    resume: { ok: false, reason: NOTHING_TO_RESUME, valve: 'closed' },
    exercise: { ok: false, reason: ONLY_ARMED_IDLE, valve: 'closed' },
    closeValve: { ok: true, then: 'service', valve: 'closed' },
  },
};

/** The valve the board was last told to hold (valve.changed), closed before any. */
function toldValve(b: Bench): 'open' | 'closed' {
  const last = b.of('valve.changed').at(-1);
  return last?.open ? 'open' : 'closed';
}

describe('the breaker, situation by situation', () => {
  for (const [name, s] of Object.entries(SITUATIONS)) {
    it(`is reached: ${name}`, () => {
      const b = s.build();
      expect(b.value().breaker).toEqual(s.value);
      expect(b.actor.getSnapshot().context.fault).toBe(s.fault);
    });
  }
});

describe("every person's command in every breaker situation", () => {
  for (const [name, row] of Object.entries(COMMANDS)) {
    for (const [command, outcome] of Object.entries(row) as [Command, Outcome][]) {
      it(`${name}: ${command} is ${outcome.ok ? 'accepted' : 'refused'}, the valve told ${outcome.valve}`, () => {
        const b = SITUATIONS[name]!.build();
        const before = b.value().breaker;
        const answers = b.emitted.length;
        b.send({ type: `user.${command}` });
        const said = b.emitted.slice(answers).filter((e) => e.type === 'command.accepted' || e.type === 'command.rejected');
        expect(said, 'exactly one answer').toHaveLength(1);
        const answer = said[0]!;
        if (outcome.ok) {
          expect(answer.type).toBe('command.accepted');
          expect(b.value().breaker).toEqual(outcome.then);
        } else {
          expect(answer.type).toBe('command.rejected');
          if (answer.type === 'command.rejected') {
            expect(answer.rejection.command).toBe(`user.${command}`);
            expect(answer.rejection.reason).toMatch(outcome.reason);
          }
          expect(b.value().breaker, 'a refused command changes nothing').toEqual(before);
        }
        expect(toldValve(b)).toBe(outcome.valve);
        expect(b.valveOpen()).toBe(outcome.valve === 'open');
      });
    }
  }
});

/** How to bring on each kind of fault from any situation. */
const FAULTS: Record<string, { code: string; bring: (b: Bench) => void }> = {
  'link lost (iC0, a link fault)': { code: 'iC0', bring: (b) => b.send({ type: 'board.linkLost' }) },
  'level lost (i41, manual)': {
    code: 'i41',
    bring: (b) => {
      b.send({ type: 'sensor.level', reading: { status: 'open' } });
      b.advance(sensors.levelLostMs);
    },
  },
  'float wet (i30, manual, critical)': {
    code: 'i30',
    bring: (b) => {
      b.send(wet);
      b.advance(leak.wetDebounceMs);
    },
  },
  'hose fuse (iH0, service)': { code: 'iH0', bring: (b) => b.send({ type: 'sensor.hoseFuse' }) },
  'self-test failed (i90, service)': { code: 'i90', bring: (b) => b.send({ type: 'board.selfTestFailed', test: 'ram' }) },
};

/** The breaker after, the fault it holds, and whether the new fault is announced (fault.raised). */
type After = { breaker: string; holds: string; announced: boolean };
const ON_FAULT: Record<string, Record<string, After>> = {
  'armed, idle': {
    'link lost (iC0, a link fault)': { breaker: 'tripped', holds: 'iC0', announced: true },
    'level lost (i41, manual)': { breaker: 'latched', holds: 'i41', announced: true },
    'float wet (i30, manual, critical)': { breaker: 'latched', holds: 'i30', announced: true },
    'hose fuse (iH0, service)': { breaker: 'service', holds: 'iH0', announced: true },
    'self-test failed (i90, service)': { breaker: 'service', holds: 'i90', announced: true },
  },
  'armed, proof test': {
    'link lost (iC0, a link fault)': { breaker: 'tripped', holds: 'iC0', announced: true },
    'level lost (i41, manual)': { breaker: 'latched', holds: 'i41', announced: true },
    'float wet (i30, manual, critical)': { breaker: 'latched', holds: 'i30', announced: true },
    'hose fuse (iH0, service)': { breaker: 'service', holds: 'iH0', announced: true },
    'self-test failed (i90, service)': { breaker: 'service', holds: 'i90', announced: true },
  },
  'tripped (i10), cooling down': {
    // Recorded beside the fault it holds, not acted on.
    'link lost (iC0, a link fault)': { breaker: 'tripped', holds: 'i10', announced: true },
    'level lost (i41, manual)': { breaker: 'latched', holds: 'i41', announced: true },
    'float wet (i30, manual, critical)': { breaker: 'latched', holds: 'i30', announced: true },
    'hose fuse (iH0, service)': { breaker: 'service', holds: 'iH0', announced: true },
    'self-test failed (i90, service)': { breaker: 'service', holds: 'i90', announced: true },
  },
  'probing, probe fill': {
    // The link, not the appliance, failed: back to waiting for it, the probe's fault kept.
    'link lost (iC0, a link fault)': { breaker: 'tripped', holds: 'i10', announced: true },
    'level lost (i41, manual)': { breaker: 'latched', holds: 'i41', announced: true },
    'float wet (i30, manual, critical)': { breaker: 'latched', holds: 'i30', announced: true },
    'hose fuse (iH0, service)': { breaker: 'service', holds: 'iH0', announced: true },
    'self-test failed (i90, service)': { breaker: 'service', holds: 'i90', announced: true },
  },
  'probing, no demand': {
    'link lost (iC0, a link fault)': { breaker: 'tripped', holds: 'i10', announced: true },
    'level lost (i41, manual)': { breaker: 'latched', holds: 'i41', announced: true },
    'hose fuse (iH0, service)': { breaker: 'service', holds: 'iH0', announced: true },
  },
  'latched (i30), pan dry long enough': {
    // A less pressing fault is announced; the latch keeps the more pressing one.
    'link lost (iC0, a link fault)': { breaker: 'latched', holds: 'i30', announced: true },
    'level lost (i41, manual)': { breaker: 'latched', holds: 'i30', announced: true },
    // The fault it holds already: nothing new to say.
    'float wet (i30, manual, critical)': { breaker: 'latched', holds: 'i30', announced: false },
    'hose fuse (iH0, service)': { breaker: 'service', holds: 'iH0', announced: true },
    'self-test failed (i90, service)': { breaker: 'service', holds: 'i90', announced: true },
  },
  'latched (i41)': {
    // More pressing (critical over error): the latch takes it.
    'float wet (i30, manual, critical)': { breaker: 'latched', holds: 'i30', announced: true },
    'link lost (iC0, a link fault)': { breaker: 'latched', holds: 'i41', announced: true },
    'hose fuse (iH0, service)': { breaker: 'service', holds: 'iH0', announced: true },
  },
  'service (iH0)': {
    'link lost (iC0, a link fault)': { breaker: 'service', holds: 'iH0', announced: true },
    'float wet (i30, manual, critical)': { breaker: 'service', holds: 'iH0', announced: true },
    'self-test failed (i90, service)': { breaker: 'service', holds: 'iH0', announced: true },
    'hose fuse (iH0, service)': { breaker: 'service', holds: 'iH0', announced: false },
  },
};

describe('every kind of fault in every breaker situation', () => {
  for (const [name, row] of Object.entries(ON_FAULT)) {
    for (const [fault, after] of Object.entries(row)) {
      it(`${name}: ${fault} -> ${after.breaker} holding ${after.holds}${after.announced ? '' : ', not announced again'}`, () => {
        const b = SITUATIONS[name]!.build();
        const raised = b.of('fault.raised').length;
        FAULTS[fault]!.bring(b);
        const breaker = b.value().breaker;
        expect(typeof breaker === 'string' ? breaker : Object.keys(breaker as object)[0]).toBe(after.breaker);
        expect(b.actor.getSnapshot().context.fault).toBe(after.holds);
        const announced = b
          .of('fault.raised')
          .slice(raised)
          .map((f) => f.code);
        expect(announced).toEqual(after.announced ? [FAULTS[fault]!.code] : []);
        expect(toldValve(b), 'a fault never leaves the valve open').toBe('closed');
      });
    }
  }
});

describe('a fault during a proof test fails it, with the code', () => {
  for (const fault of ['link lost (iC0, a link fault)', 'level lost (i41, manual)', 'float wet (i30, manual, critical)', 'hose fuse (iH0, service)']) {
    it(`${fault}: the proof test is reported failed with ${FAULTS[fault]!.code}`, () => {
      const b = SITUATIONS['armed, proof test']!.build();
      FAULTS[fault]!.bring(b);
      expect(b.of('exercise.done')).toEqual([{ type: 'exercise.done', result: 'failed', inflowL: 0, code: FAULTS[fault]!.code }]);
    });
  }
  it('a fault while no proof test runs reports no proof test', () => {
    const b = armedIdle();
    b.send({ type: 'sensor.hoseFuse' });
    expect(b.of('exercise.done')).toEqual([]);
  });
});

/**
 * Every fault the controller raises says why, in words a person reads on the dashboard and
 * in the fault memory: each code provoked with real inputs, its detail naming the cause.
 */
const DETAILS: Record<string, { provoke: () => Bench; code: string; detail: RegExp }> = {
  'no rise at all': { provoke: trippedI10, code: 'i10', detail: /^no level rise after the valve opened$/ },
  'a fill too slow': {
    provoke: () => {
      const b = armedIdle();
      b.send({ type: 'program.fill', targetL: 3 });
      b.send({ type: 'sensor.level', reading: { status: 'ok', litres: 0.5 } });
      b.advance(fill.dynamicTimeoutMs);
      return b;
    },
    code: 'i11',
    detail: /^fill level not reached in time$/,
  },
  'top-ups that fail': {
    provoke: () => {
      const b = createBench();
      healthy(b, 2);
      for (let i = 0; i < fill.maxFailedTopUps; i++) {
        b.send({ type: 'program.fill', targetL: 3, topUp: true });
        b.advance(fill.topUpTimeoutMs + 100);
      }
      return b;
    },
    code: 'iF0',
    detail: /^top-up fill did not reach its level$/,
  },
  'a drain that does not empty': {
    provoke: () => {
      const b = createBench();
      healthy(b, 3);
      b.send({ type: 'program.drain' });
      b.advance(DEFAULT_CONFIG.drain.timeoutMs);
      return b;
    },
    code: 'i20',
    detail: /^tub not empty after the drain time$/,
  },
  'a wet pan': { provoke: latchedI30, code: 'i30', detail: /^water in the base pan$/ },
  'a broken float wire': {
    provoke: () => {
      const b = armedIdle();
      b.send({ type: 'sensor.float', reading: 'open' });
      return b;
    },
    code: 'i30',
    detail: /^base-pan float signal lost \(open circuit\)$/,
  },
  'a lost level': { provoke: SITUATIONS['latched (i41)']!.build, code: 'i41', detail: /^level sensor signal lost$/ },
  'a noisy level': {
    provoke: () => {
      const b = armedIdle();
      b.send({ type: 'sensor.level', reading: { status: 'implausible', litres: 40 } });
      b.advance(sensors.levelImplausibleMs);
      return b;
    },
    code: 'i42',
    detail: /^level sensor implausible or too noisy$/,
  },
  'flow with the valve closed': {
    provoke: () => {
      const b = armedIdle();
      flowWhileClosed(b);
      return b;
    },
    code: 'iB0',
    detail: /^flow while the valve is closed$/,
  },
  'a lost link': { provoke: SITUATIONS['tripped (iC0)']!.build, code: 'iC0', detail: /^board watchdog: no keepalive from the controller$/ },
  'water unaccounted for': {
    provoke: () => {
      const b = armedIdle();
      b.send({ type: 'program.fill', targetL: 3 });
      for (let i = 0; i < 30; i++) b.send({ type: 'sensor.flow', litres: 0.1 });
      return b;
    },
    code: 'iE0',
    detail: /^metered inflow far above the tub level rise$/,
  },
  'a chattering valve': {
    provoke: () => {
      const b = armedIdle();
      b.send({ type: 'program.fill', targetL: 3 });
      for (let i = 0; i <= DEFAULT_CONFIG.valve.maxOpens; i++) {
        b.send(wet);
        b.send(dry);
      }
      return b;
    },
    code: 'i13',
    detail: new RegExp(`^the valve would open more than ${DEFAULT_CONFIG.valve.maxOpens} times in ${DEFAULT_CONFIG.valve.windowMs / 1000} s$`),
  },
  'unreadable memory at boot': {
    provoke: () => createBench({ input: { memoryFault: true } }),
    code: 'i80',
    detail: /^persistent memory unreadable at boot$/,
  },
  'a blown hose valve': { provoke: SITUATIONS['service (iH0)']!.build, code: 'iH0', detail: /^hose safety valve blown$/ },
  'a failed board self-test': {
    provoke: () => {
      const b = armedIdle();
      b.send({ type: 'board.selfTestFailed', test: 'ram' });
      return b;
    },
    code: 'i90',
    detail: /^board self-test failed: ram$/,
  },
};

describe('every fault says why', () => {
  for (const [what, d] of Object.entries(DETAILS)) {
    it(`${what}: ${d.code}, "${d.detail.source.replace(/^\^|\$$/g, '')}"`, () => {
      const raised = d.provoke().of('fault.raised');
      expect(raised.map((f) => f.code)).toContain(d.code);
      expect(raised.find((f) => f.code === d.code)!.detail).toMatch(d.detail);
    });
  }
});

describe('a latch restored at boot', () => {
  for (const [breaker, code] of [
    ['latched', 'i30'],
    ['service', 'iH0'],
  ] as const) {
    it(`comes back ${breaker} with ${code}, announces it as restored, and keeps its detail for the latch`, () => {
      const b = createBench({ input: { latch: { code, breaker, detail: 'water in the base pan' } } });
      expect(b.value().breaker).toBe(breaker);
      expect(b.actor.getSnapshot().context.fault).toBe(code);
      expect(b.of('fault.raised')).toEqual([{ type: 'fault.raised', code, detail: 'restored after a restart: latched before the power was lost' }]);
      expect(b.of('latch.changed').at(-1)).toEqual({ type: 'latch.changed', latch: { code, breaker, detail: 'water in the base pan' } });
      expect(toldValve(b)).toBe('closed');
    });
  }
});

describe('demands met, withdrawn, or arriving late', () => {
  it('a fill the tub already holds is done, and forgotten: a later drop in level opens nothing', () => {
    const b = createBench();
    healthy(b, 3);
    b.advance(leak.dryMs);
    b.send({ type: 'program.fill', targetL: 3 });
    expect(b.of('fill.done')).toHaveLength(1);
    b.send({ type: 'sensor.level', reading: { status: 'ok', litres: 1 } });
    expect(b.value().breaker).toEqual({ armed: 'idle' });
    expect(toldValve(b)).toBe('closed');
  });

  it('a drain of a tub already empty is done, and forgotten: a later rise in level runs no pump', () => {
    const b = armedIdle();
    b.send({ type: 'program.drain' });
    expect(b.of('drain.done')).toHaveLength(1);
    b.send({ type: 'sensor.level', reading: { status: 'ok', litres: 2 } });
    expect(b.value().breaker).toEqual({ armed: 'idle' });
    expect(b.pumpOn()).toBe(false);
  });

  it('a drain withdrawn while armed goes back to idle, not to a probe', () => {
    const b = createBench();
    healthy(b, 2);
    b.send({ type: 'program.drain' });
    expect(b.value().breaker).toEqual({ armed: 'draining' });
    b.send({ type: 'program.idle' });
    expect(b.value().breaker).toEqual({ armed: 'idle' });
    expect(b.pumpOn()).toBe(false);
  });

  it('a fill withdrawn while armed goes back to idle, not to a probe', () => {
    const b = SITUATIONS['armed, filling']!.build();
    b.send({ type: 'program.idle' });
    expect(b.value().breaker).toEqual({ armed: 'idle' });
    expect(toldValve(b)).toBe('closed');
  });

  it('a probe waiting for a demand runs a probe fill when a fill is asked for', () => {
    const b = SITUATIONS['probing, no demand']!.build();
    expect(toldValve(b)).toBe('closed');
    b.send({ type: 'program.fill', targetL: 3 });
    expect(b.value().breaker).toEqual({ probing: 'probeFill' });
    expect(toldValve(b)).toBe('open');
  });

  it('a probe waiting for a demand runs a probe drain when a drain is asked for', () => {
    const b = SITUATIONS['probing, no demand']!.build();
    b.send({ type: 'sensor.level', reading: { status: 'ok', litres: 2 } });
    b.send({ type: 'program.drain' });
    expect(b.value().breaker).toEqual({ probing: 'probeDrain' });
    expect(b.pumpOn()).toBe(true);
  });

  it('a probe fill whose demand is withdrawn proved nothing: it waits for the next demand, keeping its fault', () => {
    const b = SITUATIONS['probing, probe fill']!.build();
    b.send({ type: 'program.idle' });
    expect(b.value().breaker).toEqual({ probing: 'waiting' });
    expect(b.actor.getSnapshot().context.fault).toBe('i10');
    expect(toldValve(b)).toBe('closed');
  });

  it('a probe drain whose demand is withdrawn proved nothing: it waits for the next demand, keeping its fault', () => {
    const b = SITUATIONS['probing, no demand']!.build();
    b.send({ type: 'sensor.level', reading: { status: 'ok', litres: 2 } });
    b.send({ type: 'program.drain' });
    b.send({ type: 'program.idle' });
    expect(b.value().breaker).toEqual({ probing: 'waiting' });
    expect(b.actor.getSnapshot().context.fault).toBe('i10');
    expect(b.pumpOn()).toBe(false);
  });

  it('a probe that succeeds arms the breaker, clears its fault and tells so', () => {
    const b = SITUATIONS['probing, probe fill']!.build();
    b.send({ type: 'sensor.level', reading: { status: 'ok', litres: 3 } });
    expect(b.value().breaker).toEqual({ armed: 'idle' });
    expect(b.actor.getSnapshot().context.fault).toBe(null);
    expect(b.of('fault.cleared').map((f) => f.code)).toEqual(['i10']);
    expect(b.of('breaker.changed').at(-1)).toEqual({ type: 'breaker.changed', breaker: 'armed', code: null });
  });
});

describe('a reset of a latched breaker, every reason to refuse it and what an accepted one does', () => {
  const refusedReset = (b: Bench, reason: RegExp) => {
    b.send({ type: 'user.reset' });
    const answer = b.of('command.rejected').at(-1);
    expect(answer?.rejection.command).toBe('user.reset');
    expect(answer?.rejection.reason).toMatch(reason);
    expect(b.value().breaker).toBe('latched');
  };

  it('refused while the pan is still wet', () => {
    const b = latchedI30();
    refusedReset(b, /^the base pan is wet or its float signal is lost: reset refused until it is dry$/);
  });

  it('refused after a restart before the float has been read', () => {
    const b = createBench({ input: { latch: { code: 'i30', breaker: 'latched' } } });
    b.send({ type: 'sensor.level', reading: { status: 'ok', litres: 0 } });
    refusedReset(b, /^the base-pan float has not been read yet: reset refused$/);
  });

  it('refused while water still flows with the valve closed; accepted once it stopped, and the flow watch starts afresh', () => {
    const b = SITUATIONS['armed, idle']!.build();
    flowWhileClosed(b);
    expect(b.actor.getSnapshot().context.fault).toBe('iB0');
    b.send({ type: 'sensor.flow', litres: 0.005 });
    refusedReset(b, /^water is flowing while the valve is closed: reset refused$/);
    b.advance(DEFAULT_CONFIG.valveLeak.quietMs);
    b.send({ type: 'user.reset' });
    expect(b.value().breaker).toEqual({ armed: 'idle' });
    expect(b.value().inflow).toBe('quiet');
  });

  it('refused while the board link is lost', () => {
    const b = SITUATIONS['latched (i30), pan dry long enough']!.build();
    b.send({ type: 'board.linkLost' });
    refusedReset(b, /^the board link is lost: reset refused$/);
  });

  it('accepted: the latch is dropped from memory, the fault cleared, the breaker armed and told', () => {
    const b = SITUATIONS['latched (i30), pan dry long enough']!.build();
    b.send({ type: 'user.reset' });
    expect(b.of('latch.changed').at(-1)).toEqual({ type: 'latch.changed', latch: null });
    expect(b.of('fault.cleared').map((f) => f.code)).toEqual(['i30']);
    expect(b.actor.getSnapshot().context.fault).toBe(null);
    expect(b.of('breaker.changed').at(-1)).toEqual({ type: 'breaker.changed', breaker: 'armed', code: null });
  });

  it('accepted after iF0: the count of failed top-ups starts again from zero', () => {
    const b = DETAILS['top-ups that fail']!.provoke();
    expect(b.value().breaker).toBe('latched');
    b.send({ type: 'user.reset' });
    // The program still asks for its top-up: one more that fails is the first of a new count.
    expect(b.value().breaker).toEqual({ armed: 'filling' });
    b.advance(fill.topUpTimeoutMs + 100);
    expect(b.value().breaker).toEqual({ armed: 'idle' });
    expect(b.of('fault.raised').map((f) => f.code)).toEqual(['iF0']);
  });
});

describe('a latching breaker tells the board and the memory what it holds', () => {
  for (const [name, breaker, code] of [
    ['latched (i41)', 'latched', 'i41'],
    ['service (iH0)', 'service', 'iH0'],
  ] as const) {
    it(`${name}: breaker.changed and a persisted latch of ${breaker} with ${code}`, () => {
      const b = SITUATIONS[name]!.build();
      expect(b.of('breaker.changed').at(-1)).toEqual({ type: 'breaker.changed', breaker, code });
      expect(b.of('latch.changed').at(-1)).toMatchObject({ type: 'latch.changed', latch: { code, breaker } });
    });
  }
});

describe('supervision ends what it started', () => {
  const toldPump = (b: Bench) => (b.of('pump.changed').at(-1)?.on ? 'on' : 'off');

  it('a top-up that fails (not yet the last) ends the fill: the program is told, the demand dropped, the valve closed', () => {
    const b = createBench();
    healthy(b, 2);
    b.advance(leak.dryMs);
    b.send({ type: 'program.fill', targetL: 3, topUp: true });
    expect(toldValve(b)).toBe('open');
    b.advance(fill.topUpTimeoutMs);
    expect(b.of('fill.done')).toHaveLength(1);
    expect(b.value().breaker).toEqual({ armed: 'idle' });
    expect(toldValve(b)).toBe('closed');
    b.send({ type: 'sensor.level', reading: { status: 'ok', litres: 1.5 } });
    expect(toldValve(b), 'the dropped demand opens nothing').toBe('closed');
  });

  it('a drain that empties the tub is done: the program is told, the pump told off, a later rise runs no pump', () => {
    const b = createBench();
    healthy(b, 2);
    b.send({ type: 'program.drain' });
    expect(toldPump(b)).toBe('on');
    b.send({ type: 'sensor.level', reading: { status: 'ok', litres: 0.1 } });
    expect(b.of('drain.done')).toHaveLength(1);
    expect(toldPump(b)).toBe('off');
    b.send({ type: 'sensor.level', reading: { status: 'ok', litres: 1 } });
    expect(toldPump(b)).toBe('off');
    expect(b.value().breaker).toEqual({ armed: 'idle' });
  });

  it('the link back beside a latched fault: iC0 cleared, the link good again, so a reset is taken', () => {
    const b = SITUATIONS['latched (i30), pan dry long enough']!.build();
    b.send({ type: 'board.linkLost' });
    b.send({ type: 'board.linkRestored' });
    expect(b.of('fault.cleared').map((f) => f.code)).toEqual(['iC0']);
    b.send({ type: 'user.reset' });
    expect(b.value().breaker).toEqual({ armed: 'idle' });
  });

  it('i13 is not for ever: after an accepted reset, past the window, the valve opens again', () => {
    const b = DETAILS['a chattering valve']!.provoke();
    expect(b.actor.getSnapshot().context.fault).toBe('i13');
    const opens = b.of('valve.changed').filter((v) => v.open).length;
    b.advance(leak.dryMs + DEFAULT_CONFIG.valve.windowMs);
    b.send({ type: 'user.reset' });
    expect(b.value().breaker).toEqual({ armed: 'filling' });
    expect(toldValve(b)).toBe('open');
    expect(b.of('valve.changed').filter((v) => v.open).length).toBe(opens + 1);
  });
});

describe('water that is no water', () => {
  const zero = { type: 'sensor.flow', litres: 0 } as const;
  const pulse = { type: 'sensor.flow', litres: 0.005 } as const;

  it('zero-litre flow events do not keep a suspect flow going: it counts as stopped after valveLeak.quietMs, no iB0', () => {
    const b = armedIdle();
    b.send(pulse);
    for (let t = 0; t < DEFAULT_CONFIG.valveLeak.flowMs; t += 100) {
      b.send(zero);
      b.advance(100);
    }
    expect(b.value().inflow).toBe('quiet');
    expect(b.of('fault.raised')).toEqual([]);
  });

  it('after iB0, zero-litre events neither keep the flow going nor start it again: the reset is taken', () => {
    const b = DETAILS['flow with the valve closed']!.provoke();
    for (let t = 0; t < 2 * DEFAULT_CONFIG.valveLeak.quietMs; t += 100) {
      b.send(zero);
      b.advance(100);
    }
    b.send(zero);
    b.send({ type: 'user.reset' });
    expect(b.value().breaker).toEqual({ armed: 'idle' });
  });
});
