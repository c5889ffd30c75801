/**
 * The README's fault table, code by code: every code has its default rule and timing in the
 * validated configuration, its reset policy in the catalogue, and is raised at that timing
 * (not a tick before), and at another timing when the configuration says so.
 */
import { describe, expect, it } from 'vitest';
import { FAULT_CODES, FAULTS, faultDefinition, isFaultCode, type FaultCode } from '../../src/machine/catalogue.js';
import { ConfigError, DEFAULT_CONFIG, parseControllerConfig } from '../../src/machine/config.js';
import { createActor } from 'xstate';
import { controllerMachine } from '../../src/machine/machine.js';
import { ImpossibleStateError } from '../../src/machine/setup.js';
import { Simulation } from '../../sim/engine.js';
import { VirtualClock } from '../../src/clock/virtual-clock.js';
import { parseScenario } from '../../sim/scenario.js';
import { createBench, healthy, level, type Bench } from './harness.js';

/** The README's fault table: code, configuration key, default, reset policy. */
const DESIGN_TABLE: readonly { code: FaultCode; key: string | null; value: number | null; reset: 'auto' | 'manual' | 'service' }[] = [
  { code: 'i10', key: 'fill.staticTimeoutMs', value: 90_000, reset: 'auto' },
  { code: 'i11', key: 'fill.dynamicTimeoutMs', value: 120_000, reset: 'auto' },
  { code: 'iF0', key: 'fill.maxFailedTopUps', value: 3, reset: 'manual' },
  { code: 'i20', key: 'drain.timeoutMs', value: 90_000, reset: 'auto' },
  { code: 'i30', key: 'leak.wetDebounceMs', value: 10_000, reset: 'manual' },
  { code: 'i41', key: 'sensors.levelLostMs', value: 2_500, reset: 'manual' },
  { code: 'i42', key: 'sensors.levelImplausibleMs', value: 5_000, reset: 'manual' },
  { code: 'iB0', key: 'valveLeak.flowMs', value: 2_000, reset: 'manual' },
  { code: 'iC0', key: 'link.watchdogMs', value: 2_000, reset: 'auto' },
  { code: 'iE0', key: 'unaccounted.ratio', value: 3, reset: 'manual' },
  { code: 'i80', key: null, value: null, reset: 'service' },
];

const get = (config: object, key: string) => key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], config);
const set = (key: string, value: number) => {
  const [group, name] = key.split('.') as [string, string];
  return { [group]: { [name]: value } };
};

/** How to provoke each timed fault from a healthy controller; `feed` runs every 100 ms tick. */
const TIMED: Record<string, { start: (b: Bench) => void; feed?: (b: Bench) => void }> = {
  i10: { start: (b) => b.send({ type: 'program.fill', targetL: 3 }) },
  i11: {
    start: (b) => {
      b.send({ type: 'program.fill', targetL: 3 });
      b.send(level(0.5));
    },
  },
  i20: {
    start: (b) => {
      b.send(level(3));
      b.send({ type: 'program.drain' });
    },
  },
  i30: { start: (b) => b.send({ type: 'sensor.float', reading: 'wet' }) },
  i41: { start: (b) => b.send({ type: 'sensor.level', reading: { status: 'open' } }) },
  i42: { start: (b) => b.send({ type: 'sensor.level', reading: { status: 'implausible', litres: 40 } }) },
  iB0: { start: () => undefined, feed: (b) => b.send({ type: 'sensor.flow', litres: 0.005 }) },
};

function raisedAfter(code: string, key: string, value: number, atMs: number): boolean {
  const b = createBench({ config: set(key, value) });
  healthy(b);
  TIMED[code]!.start(b);
  for (let t = 0; t < atMs; t += 100) {
    TIMED[code]!.feed?.(b);
    b.advance(100);
  }
  return b.of('fault.raised').some((e) => e.code === code);
}

describe('the fault codes of the README', () => {
  it('are all in the catalogue, with the design reset policy', () => {
    for (const row of DESIGN_TABLE) expect(FAULTS[row.code].reset, row.code).toBe(row.reset);
  });

  it('have their default timing in the validated configuration, named in the catalogue rule', () => {
    for (const row of DESIGN_TABLE.filter((r) => r.key !== null)) {
      expect(get(DEFAULT_CONFIG, row.key!), row.key!).toBe(row.value);
      expect(FAULTS[row.code].rule, row.code).toContain(row.key!);
    }
    expect(DEFAULT_CONFIG.unaccounted.minLossL).toBe(1.5);
    expect(DEFAULT_CONFIG.fill.topUpTimeoutMs).toBe(60_000);
    expect(DEFAULT_CONFIG.leak.dryMs).toBe(60_000);
    expect(() => parseControllerConfig({ link: { watchdogMs: 0 } })).toThrow(/link\.watchdogMs/);
  });

  it.each(DESIGN_TABLE.filter((r) => r.code in TIMED))('$code is raised at $key = $value ms, not a tick before', ({ code, key, value }) => {
    expect(raisedAfter(code, key!, value!, value! - 200)).toBe(false);
    expect(raisedAfter(code, key!, value!, value! + 100)).toBe(true);
  });

  it.each(DESIGN_TABLE.filter((r) => r.code in TIMED))('$code follows a configured $key', ({ code, key, value }) => {
    // Half the default: raised long before the default timing would raise it.
    expect(raisedAfter(code, key!, value! / 2, value! / 2 - 200)).toBe(false);
    expect(raisedAfter(code, key!, value! / 2, value! / 2 + 100)).toBe(true);
  });

  it('iF0 is raised at the third failed top-up in a row, not the second', () => {
    const b = createBench();
    healthy(b);
    for (let i = 1; i <= 3; i++) {
      b.send({ type: 'program.fill', targetL: 3, topUp: true });
      b.advance(DEFAULT_CONFIG.fill.topUpTimeoutMs + 100);
      expect(
        b.of('fault.raised').map((e) => e.code),
        `after top-up ${i}`,
      ).toEqual(i < 3 ? [] : ['iF0']);
    }
    expect(b.breaker()).toBe('latched');
  });

  it('iE0 needs both the volume (1.5 L) and the ratio (3x the tub rise)', () => {
    const lost = createBench();
    healthy(lost);
    lost.send({ type: 'program.fill', targetL: 5 });
    for (let i = 0; i < 6; i++) lost.send({ type: 'sensor.flow', litres: 0.25 });
    expect(lost.of('fault.raised')).toEqual([]); // 1.5 L in, nothing in the tub: not above 1.5 L yet
    lost.send({ type: 'sensor.flow', litres: 0.25 });
    expect(lost.of('fault.raised').map((e) => e.code)).toEqual(['iE0']);

    const slowSensor = createBench();
    healthy(slowSensor);
    slowSensor.send({ type: 'program.fill', targetL: 5 });
    slowSensor.send(level(1));
    for (let i = 0; i < 10; i++) slowSensor.send({ type: 'sensor.flow', litres: 0.26 }); // 2.6 L in, 1 L rise: ratio 2.6
    expect(slowSensor.of('fault.raised')).toEqual([]);
  });

  it('i80 is raised at boot when the memory cannot be read', () => {
    const b = createBench({ input: { memoryFault: true } });
    expect(b.of('fault.raised').map((e) => e.code)).toEqual(['i80']);
    expect(b.breaker()).toBe('service');
  });

  it('iC0 is raised when the simulated board hears no keepalive for link.watchdogMs, and clears when it does again', async () => {
    const scenario = parseScenario(
      {
        name: 'link',
        description: 'the link to the board is cut at 10 s and restored at 20 s',
        duration: '30s',
        timeline: [
          { at: '10s', inject: 'linkLost' },
          { at: '20s', clear: 'linkLost' },
        ],
      },
      'test',
    );
    const sim = new Simulation({ scenario });
    await sim.start();
    const iC0 = () => sim.log.filter((e) => e.type === 'fault' && e.code === 'iC0').map((e) => [e.event, e.t]);
    await sim.runFor(11_900);
    expect(iC0()).toEqual([]);
    await sim.runFor(600);
    expect(iC0()).toEqual([['raised', expect.any(Number)]]);
    const raisedAt = iC0()[0]![1] as number;
    expect(raisedAt).toBeGreaterThanOrEqual(12_000);
    expect(raisedAt).toBeLessThanOrEqual(12_000 + DEFAULT_CONFIG.link.watchdogMs / 4);
    expect(sim.runtime!.status()).toMatchObject({ breaker: 'tripped', valve: 'closed' });
    await sim.runFor(10_000);
    expect(iC0().map(([event]) => event)).toEqual(['raised', 'cleared']);
    expect(sim.runtime!.status().breaker).toBe('armed');
  });
});

describe('the fault catalogue and configuration', () => {
  it('has a display, text and reset policy for every code, displays matching codes', () => {
    for (const code of FAULT_CODES) {
      expect(FAULTS[code].display).toBe(`,${code.slice(1)}`);
      expect(FAULTS[code].text.length).toBeGreaterThan(5);
    }
  });

  it('defaults to the appliance timings', () => {
    expect(DEFAULT_CONFIG.fill.staticTimeoutMs).toBe(90_000);
    expect(DEFAULT_CONFIG.fill.dynamicTimeoutMs).toBe(120_000);
    expect(DEFAULT_CONFIG.drain.timeoutMs).toBe(90_000);
    expect(DEFAULT_CONFIG.leak.wetDebounceMs).toBe(10_000);
    expect(DEFAULT_CONFIG.sensors.levelLostMs).toBe(2_500);
    expect(DEFAULT_CONFIG.valveLeak.flowMs).toBe(2_000);
    expect(DEFAULT_CONFIG.fill.maxFailedTopUps).toBe(3);
  });

  it('rejects an invalid configuration with one line naming the key', () => {
    expect(() => parseControllerConfig({ fill: { staticTimeoutMs: -1 } })).toThrow(ConfigError);
    expect(() => parseControllerConfig({ fill: { staticTimeoutMs: -1 } })).toThrow(/^controller config fill\.staticTimeoutMs: Too small/);
    expect(() => parseControllerConfig({ leak: { bogus: 1 } })).toThrow(/^controller config leak: Unrecognized key/);
    expect(() => parseControllerConfig(42)).toThrow(/^controller config \(root\): /);
    const err = (() => {
      try {
        parseControllerConfig({ valve: { maxOpens: 0 } });
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(err).toMatchObject({ name: 'ConfigError', configError: true, message: expect.stringMatching(/^controller config valve\.maxOpens: /) });
    expect(err!.message).not.toMatch(/\n/);
    expect(parseControllerConfig(undefined)).toEqual(DEFAULT_CONFIG);
    expect(parseControllerConfig(null)).toEqual(DEFAULT_CONFIG);
  });

  it('knows its codes and nothing else', () => {
    for (const code of FAULT_CODES) {
      expect(isFaultCode(code)).toBe(true);
      expect(faultDefinition(code)).toBe(FAULTS[code]);
    }
    for (const other of ['i99', 'I30', 'toString', '', 30, null, undefined, ['i30']]) expect(isFaultCode(other), String(other)).toBe(false);
  });
});

describe('a more pressing fault while latched', () => {
  it('a critical fault displaces a held error (i41 -> i30) and is persisted; one of the same severity is only recorded', () => {
    const b = createBench();
    healthy(b);
    b.send({ type: 'sensor.level', reading: { status: 'open' } });
    b.advance(DEFAULT_CONFIG.sensors.levelLostMs);
    expect(b.actor.getSnapshot().context.fault).toBe('i41');
    b.send({ type: 'board.linkLost' }); // iC0, the same severity (error): recorded, not displacing
    expect(b.actor.getSnapshot().context.fault).toBe('i41');
    b.send({ type: 'sensor.float', reading: 'wet' });
    b.advance(DEFAULT_CONFIG.leak.wetDebounceMs);
    expect(b.actor.getSnapshot().context.fault).toBe('i30');
    expect(b.of('latch.changed').at(-1)).toMatchObject({ latch: { code: 'i30', breaker: 'latched' } });
    expect(b.of('fault.raised').map((f) => f.code)).toEqual(['i41', 'iC0', 'i30']);
  });

  it('names the failed board self-test in the i90 detail, cut to 80 characters', () => {
    const b = createBench();
    healthy(b);
    b.send({ type: 'board.selfTestFailed', test: 'flash CRC' });
    expect(b.of('fault.raised')).toEqual([{ type: 'fault.raised', code: 'i90', detail: 'board self-test failed: flash CRC' }]);
    expect(b.breaker()).toBe('service');
    const c = createBench();
    c.send({ type: 'board.selfTestFailed', test: 'x'.repeat(500) });
    expect(c.of('fault.raised')[0]!.detail).toBe(`board self-test failed: ${'x'.repeat(80)}`);
  });

  it('does not raise the held fault again: a second wet spell while i30 is latched says nothing new', () => {
    const b = createBench();
    healthy(b);
    b.send({ type: 'sensor.float', reading: 'wet' });
    b.advance(DEFAULT_CONFIG.leak.wetDebounceMs);
    b.send({ type: 'sensor.float', reading: 'dry' });
    b.send({ type: 'sensor.float', reading: 'wet' });
    b.advance(DEFAULT_CONFIG.leak.wetDebounceMs);
    expect(b.of('fault.raised').map((f) => f.code)).toEqual(['i30']);
    expect(b.of('latch.changed')).toHaveLength(1);
  });

  it('boots into service from a persisted service latch, where no reset helps', () => {
    const b = createBench({ input: { latch: { code: 'iH0', breaker: 'service' } } });
    healthy(b);
    b.advance(DEFAULT_CONFIG.leak.dryMs);
    expect(b.breaker()).toBe('service');
    b.send({ type: 'user.reset' });
    expect(b.lastRejection()).toMatch(/repair/);
    expect(b.breaker()).toBe('service');
  });
});

describe('an impossible state', () => {
  it('stops the controller with an ImpossibleStateError that says what was impossible, and invents no code', () => {
    const clock = new VirtualClock();
    const actor = createActor(controllerMachine, {
      clock: clock,
      input: { latch: { breaker: 'latched' } as never, config: DEFAULT_CONFIG },
    });
    const emitted: string[] = [];
    actor.on('*', (e) => emitted.push(e.type));
    let error: unknown;
    actor.subscribe({ error: (err) => (error = err) });
    actor.start();
    expect(error).toBeInstanceOf(ImpossibleStateError);
    expect(error).toMatchObject({
      name: 'ImpossibleStateError',
      impossibleState: true,
      message: 'impossible controller state: a latch restored at boot without a held fault',
    });
    expect(emitted).not.toContain('fault.raised');
  });
});
