/**
 * The controller on its own (no board), on the virtual clock: sensor faults (level signal,
 * stuck valve, unaccounted water, board link), service faults and the persisted latch, and
 * what people and remote commands may and may not do.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../src/machine/config.js';
import { createBench, healthy, level } from './harness.js';

const S = 1000;

describe('level sensor (i41, i42)', () => {
  it('closes the valve at once when the level signal is lost, and latches i41 after 2.5 s', () => {
    const b = createBench();
    healthy(b);
    b.send({ type: 'program.fill', targetL: 3 });
    b.send({ type: 'sensor.level', reading: { status: 'open' } });
    expect(b.valveOpen()).toBe(false);
    b.advance(2.4 * S);
    expect(b.breaker()).toBe('armed');
    b.advance(0.2 * S);
    expect(b.breaker()).toBe('latched');
    expect(b.of('fault.raised').map((e) => e.code)).toEqual(['i41']);
  });

  it('refuses a reset of i41 while the signal is still lost', () => {
    const b = createBench();
    healthy(b);
    b.advance(61 * S);
    b.send({ type: 'sensor.level', reading: { status: 'open' } });
    b.advance(3 * S);
    b.send({ type: 'user.reset' });
    expect(b.lastRejection()).toMatch(/level sensor/);
    b.send(level(0));
    b.send({ type: 'user.reset' });
    expect(b.lastRejection()).toMatch(/level sensor/); // back, but not settled yet
    b.advance(DEFAULT_CONFIG.sensors.levelSettleMs);
    b.send({ type: 'user.reset' });
    expect(b.breaker()).toBe('armed');
  });

  it('latches i42 when the level stays implausible', () => {
    const b = createBench();
    healthy(b);
    b.send({ type: 'sensor.level', reading: { status: 'implausible', litres: 40 } });
    b.advance(5.1 * S);
    expect(b.breaker()).toBe('latched');
    expect(b.of('fault.raised').map((e) => e.code)).toEqual(['i42']);
  });
});

describe('valve stuck open (iB0) and unaccounted water (iE0)', () => {
  it('latches iB0 after 2 s of flow while the valve is closed', () => {
    const b = createBench();
    healthy(b);
    for (let i = 0; i < 25; i++) {
      b.send({ type: 'sensor.flow', litres: 0.005 });
      b.advance(0.1 * S);
    }
    expect(b.breaker()).toBe('latched');
    expect(b.of('fault.raised').map((e) => e.code)).toEqual(['iB0']);
  });

  it('does not trip on the last pulses that arrive just after the valve closed', () => {
    const b = createBench();
    healthy(b);
    b.send({ type: 'program.fill', targetL: 3 });
    b.send(level(3));
    b.send({ type: 'sensor.flow', litres: 0.006 });
    b.advance(DEFAULT_CONFIG.valveLeak.quietMs - 100);
    b.send({ type: 'sensor.flow', litres: 0.006 }); // a last drop restarts the quiet wait, not the iB0 timer
    b.advance(DEFAULT_CONFIG.valveLeak.quietMs);
    b.advance(10 * S);
    expect(b.of('fault.raised')).toEqual([]);
  });

  it('i10 counts the rise from where the fill started: just under fill.minRiseL trips, exactly it does not', () => {
    const start = 1;
    const minRiseL = 0.25; // exact in binary, so "exactly" means exactly
    for (const [rise, i10] of [
      [minRiseL - 0.0625, true],
      [minRiseL, false],
    ] as const) {
      const b = createBench({ config: { fill: { minRiseL } } });
      healthy(b, start);
      b.send({ type: 'program.fill', targetL: 3 });
      b.send(level(start + rise));
      b.advance(DEFAULT_CONFIG.fill.staticTimeoutMs);
      expect(
        b.of('fault.raised').map((f) => f.code),
        `rise ${rise}`,
      ).toEqual(i10 ? ['i10'] : []);
    }
  });

  it('iE0 needs both: more than unaccounted.minLossL lost and more than ratio x the rise metered (each boundary exclusive)', () => {
    const run = (riseL: number, inflowL: number) => {
      const b = createBench({ config: { unaccounted: { minLossL: 1, ratio: 4 } } });
      healthy(b, 0);
      b.send({ type: 'program.fill', targetL: 5 });
      b.send(level(riseL));
      for (let i = 0; i < 8; i++) b.send({ type: 'sensor.flow', litres: inflowL / 8 });
      return b.of('fault.raised').map((f) => f.code);
    };
    expect(run(0.25, 1.25)).toEqual([]); // lost exactly 1 L (ratio 5 > 4): not more than minLossL
    expect(run(0.25, 1.5)).toEqual(['iE0']);
    expect(run(0.5, 2)).toEqual([]); // lost 1.5 L, but exactly 4 x the rise
    expect(run(0.5, 2.5)).toEqual(['iE0']);
  });

  it('a flow event of no water is no flow: it never makes a closed valve suspect', () => {
    const b = createBench();
    healthy(b);
    for (let i = 0; i < 50; i++) {
      b.send({ type: 'sensor.flow', litres: 0 });
      b.advance(100);
    }
    expect(b.value().inflow).toBe('quiet');
    expect(b.of('fault.raised')).toEqual([]);
  });

  it('does not call a drain done before the level has been read at all', () => {
    const b = createBench();
    b.send({ type: 'sensor.float', reading: 'dry' });
    b.send({ type: 'program.drain' });
    expect(b.of('drain.done')).toEqual([]);
    expect(b.pumpOn()).toBe(true);
  });

  it('finishes a fill the tub already holds (level exactly at the target) without opening the valve', () => {
    const b = createBench();
    healthy(b, 2);
    b.send({ type: 'program.fill', targetL: 2 });
    expect(b.of('fill.done')).toEqual([{ type: 'fill.done', levelL: 2 }]);
    expect(b.of('valve.changed')).toEqual([]);
    b.send({ type: 'program.fill', targetL: 2.01 });
    expect(b.valveOpen()).toBe(true);
  });

  it('finishes a drain of a tub already empty (level exactly drain.emptyL) without running the pump', () => {
    const b = createBench();
    healthy(b, DEFAULT_CONFIG.drain.emptyL);
    b.send({ type: 'program.drain' });
    expect(b.of('drain.done')).toHaveLength(1);
    expect(b.of('pump.changed')).toEqual([]);
    b.send(level(DEFAULT_CONFIG.drain.emptyL + 0.01));
    b.send({ type: 'program.drain' });
    expect(b.pumpOn()).toBe(true);
  });

  it('counts the flow as stopped only after valveLeak.quietMs without a pulse (the controller times it)', () => {
    const b = createBench();
    healthy(b);
    b.advance(DEFAULT_CONFIG.leak.dryMs);
    b.send({ type: 'sensor.flow', litres: 0.006 }); // a pulse with the valve closed: suspect
    b.advance(DEFAULT_CONFIG.valveLeak.quietMs - 1);
    expect(b.value().inflow).not.toBe('quiet');
    b.advance(1);
    expect(b.value().inflow).toBe('quiet');
    // Pulses spaced just under the quiet time keep the suspicion alive until iB0.
    const gap = DEFAULT_CONFIG.valveLeak.quietMs - 1;
    for (let t = 0; t <= DEFAULT_CONFIG.valveLeak.flowMs; t += gap) {
      b.send({ type: 'sensor.flow', litres: 0.006 });
      b.advance(gap);
    }
    expect(b.of('fault.raised').map((e) => e.code)).toEqual(['iB0']);
  });

  it('latches iE0 when metered inflow is far above the tub rise', () => {
    const b = createBench();
    healthy(b);
    b.send({ type: 'program.fill', targetL: 3 });
    for (let i = 0; i < 30; i++) b.send({ type: 'sensor.flow', litres: 0.1 });
    expect(b.breaker()).toBe('latched');
    expect(b.of('fault.raised').map((e) => e.code)).toEqual(['iE0']);
  });
});

describe('board link (iC0)', () => {
  it('trips on a lost link, refuses resume, and re-arms when the link returns', () => {
    const b = createBench();
    healthy(b);
    b.send({ type: 'board.linkLost' });
    expect(b.breaker()).toBe('tripped');
    b.advance(DEFAULT_CONFIG.breaker.coolDownMs * 2);
    expect(b.breaker()).toBe('tripped');
    b.send({ type: 'user.resume' });
    expect(b.lastRejection()).toMatch(/board link/);
    b.send({ type: 'board.linkRestored' });
    expect(b.breaker()).toBe('armed');
  });
});

describe('service faults (i80, iH0) and the persisted latch', () => {
  it('goes to service with i80 when the memory could not be read, and refuses any reset', () => {
    const b = createBench({ input: { memoryFault: true } });
    healthy(b);
    expect(b.breaker()).toBe('service');
    b.send({ type: 'program.fill', targetL: 3 });
    b.send({ type: 'user.reset' });
    expect(b.valveOpen()).toBe(false);
    expect(b.lastRejection()).toMatch(/repair/);
  });

  it('goes to service when the hose safety valve blows', () => {
    const b = createBench();
    healthy(b);
    b.send({ type: 'sensor.hoseFuse' });
    expect(b.breaker()).toBe('service');
    expect(b.of('latch.changed').at(-1)).toMatchObject({ latch: { code: 'iH0', breaker: 'service' } });
  });

  it('runs the drain pump at once when it boots latched with i30 and the float reads wet', () => {
    const b = createBench({ input: { latch: { code: 'i30', breaker: 'latched' } } });
    b.send(level(0));
    expect(b.pumpOn()).toBe(false);
    b.send({ type: 'sensor.float', reading: 'wet' });
    expect(b.pumpOn()).toBe(true);
    expect(b.valveOpen()).toBe(false);
    b.send({ type: 'sensor.float', reading: 'dry' });
    expect(b.pumpOn()).toBe(false);
  });

  it('does not pump on a wet float before the debounce when no i30 is held', () => {
    const b = createBench();
    healthy(b);
    b.send({ type: 'sensor.float', reading: 'wet' });
    b.advance(9.9 * S);
    expect(b.pumpOn()).toBe(false);
    b.advance(0.2 * S);
    expect(b.pumpOn()).toBe(true);
  });

  it('comes back latched at boot with the persisted i30', () => {
    const b = createBench({ input: { latch: { code: 'i30', breaker: 'latched' } } });
    expect(b.breaker()).toBe('latched');
    expect(b.of('fault.raised')[0]).toMatchObject({ code: 'i30', detail: expect.stringContaining('restored') });
    healthy(b);
    b.send({ type: 'user.reset' });
    expect(b.breaker()).toBe('latched');
  });
});

describe('person and remote commands', () => {
  it('closes the valve on request at any time, and holds it until resume', () => {
    const b = createBench();
    healthy(b);
    b.send({ type: 'program.fill', targetL: 3 });
    b.send({ type: 'user.closeValve' });
    expect(b.valveOpen()).toBe(false);
    b.advance(200 * S);
    expect(b.of('fault.raised')).toEqual([]);
    b.send({ type: 'user.resume' });
    expect(b.valveOpen()).toBe(true);
  });

  it('runs the proof test only when armed and idle (the rest is in exercise.test.ts)', () => {
    const b = createBench();
    healthy(b);
    b.advance(DEFAULT_CONFIG.leak.dryMs);
    b.send({ type: 'program.drain' });
    b.send(level(3));
    b.send({ type: 'program.drain' });
    b.send({ type: 'user.exercise' });
    expect(b.lastRejection()).toMatch(/armed and the appliance idle/);
    expect(b.valveOpen()).toBe(false);
  });

  it('answers every command exactly once, in every breaker state', () => {
    const b = createBench();
    healthy(b);
    for (const type of ['user.reset', 'user.resume', 'user.exercise', 'user.closeValve'] as const) {
      const before = b.emitted.filter((e) => e.type.startsWith('command.')).length;
      b.send({ type });
      expect(b.emitted.filter((e) => e.type.startsWith('command.')).length).toBe(before + 1);
    }
  });
});

describe('unknown input', () => {
  it('changes nothing: an unknown event leaves state and valve as they were', () => {
    const b = createBench();
    healthy(b);
    b.send({ type: 'program.fill', targetL: 3 });
    const before = JSON.stringify(b.value());
    b.send({ type: 'valve.open' } as never);
    b.send({ type: 'sensor.float', reading: 'damp' } as never);
    expect(JSON.stringify(b.value())).toBe(before);
    expect(b.of('fault.raised')).toEqual([]);
  });
});
