/**
 * The controller on its own (no board), on the virtual clock: filling, the inlet faults and
 * their half-open retry, top-ups, draining, and the anti-flood trip.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../src/machine/config.js';
import { createBench, healthy, level } from './harness.js';

const S = 1000;

describe('filling while armed', () => {
  it('opens the valve on a fill demand and closes it at the target level', () => {
    const b = createBench();
    healthy(b);
    expect(b.valveOpen()).toBe(false);
    b.send({ type: 'program.fill', targetL: 3 });
    expect(b.valveOpen()).toBe(true);
    b.send(level(1.5));
    expect(b.valveOpen()).toBe(true);
    b.send(level(3.01));
    expect(b.valveOpen()).toBe(false);
    expect(b.of('fill.done')).toHaveLength(1);
    expect(b.breaker()).toBe('armed');
  });

  it('does not open the valve before the float has been read', () => {
    const b = createBench();
    b.send(level(0));
    b.send({ type: 'program.fill', targetL: 3 });
    expect(b.valveOpen()).toBe(false);
    b.send({ type: 'sensor.float', reading: 'dry' });
    expect(b.valveOpen()).toBe(true);
  });

  it('closes the valve when the program withdraws its demand', () => {
    const b = createBench();
    healthy(b);
    b.send({ type: 'program.fill', targetL: 3 });
    b.send({ type: 'program.idle' });
    expect(b.valveOpen()).toBe(false);
    expect(b.value().breaker).toEqual({ armed: 'idle' });
  });
});

describe('inlet faults (i10, i11) trip and retry half-open', () => {
  it('raises i10 when the level does not rise at all within 90 s, and closes the valve', () => {
    const b = createBench();
    healthy(b);
    b.send({ type: 'program.fill', targetL: 3 });
    b.advance(89.9 * S);
    expect(b.breaker()).toBe('armed');
    b.advance(0.2 * S);
    expect(b.breaker()).toBe('tripped');
    expect(b.of('fault.raised').map((e) => e.code)).toEqual(['i10']);
    expect(b.valveOpen()).toBe(false);
  });

  it('raises i11, not i10, when some water arrives but the level is not reached in 120 s', () => {
    const b = createBench();
    healthy(b);
    b.send({ type: 'program.fill', targetL: 3 });
    b.advance(30 * S);
    b.send(level(0.5));
    b.advance(90.1 * S);
    expect(b.of('fault.raised').map((e) => e.code)).toEqual(['i11']);
    expect(b.breaker()).toBe('tripped');
  });

  it('probes once after the cool-down and is armed again when the probe fill succeeds', () => {
    const b = createBench();
    healthy(b);
    b.send({ type: 'program.fill', targetL: 3 });
    b.advance(90.1 * S);
    expect(b.breaker()).toBe('tripped');
    b.advance(DEFAULT_CONFIG.breaker.coolDownMs);
    expect(b.breaker()).toBe('probing');
    expect(b.valveOpen()).toBe(true);
    b.send(level(3.2));
    expect(b.breaker()).toBe('armed');
    expect(b.of('fault.cleared').map((e) => e.code)).toEqual(['i10']);
  });

  it('latches when the probe fill fails again (repeated fault)', () => {
    const b = createBench();
    healthy(b);
    b.send({ type: 'program.fill', targetL: 3 });
    b.advance(90.1 * S);
    b.send({ type: 'user.resume' });
    expect(b.breaker()).toBe('probing');
    b.advance(90.1 * S);
    expect(b.breaker()).toBe('latched');
    expect(b.of('latch.changed').at(-1)).toMatchObject({ latch: { code: 'i10', breaker: 'latched' } });
    expect(b.valveOpen()).toBe(false);
  });

  it('goes to probing at once when the user presses resume', () => {
    const b = createBench();
    healthy(b);
    b.send({ type: 'program.fill', targetL: 3 });
    b.advance(90.1 * S);
    b.send({ type: 'user.resume' });
    expect(b.breaker()).toBe('probing');
    expect(b.of('command.accepted')).toHaveLength(1);
  });
});

describe('top-up fills (iF0)', () => {
  it('latches iF0 after three failed top-ups in a row, not before', () => {
    const b = createBench();
    healthy(b, 2);
    for (let i = 0; i < 2; i++) {
      b.send({ type: 'program.fill', targetL: 3, topUp: true });
      b.advance(60.1 * S);
      expect(b.breaker()).toBe('armed');
    }
    b.send({ type: 'program.fill', targetL: 3, topUp: true });
    b.advance(60.1 * S);
    expect(b.breaker()).toBe('latched');
    expect(b.of('fault.raised').map((e) => e.code)).toEqual(['iF0']);
  });

  it('forgets failed top-ups after one succeeds', () => {
    const b = createBench();
    healthy(b, 2);
    for (let i = 0; i < 2; i++) {
      b.send({ type: 'program.fill', targetL: 3, topUp: true });
      b.advance(60.1 * S);
    }
    b.send({ type: 'program.fill', targetL: 3, topUp: true });
    b.send(level(3));
    for (let i = 0; i < 2; i++) {
      b.send(level(2));
      b.send({ type: 'program.fill', targetL: 3, topUp: true });
      b.advance(60.1 * S);
    }
    expect(b.breaker()).toBe('armed');
  });
});

describe('draining (i20)', () => {
  it('runs the pump until the tub is empty', () => {
    const b = createBench();
    healthy(b, 3);
    b.send({ type: 'program.drain' });
    expect(b.pumpOn()).toBe(true);
    b.send(level(0.1));
    expect(b.pumpOn()).toBe(false);
    expect(b.of('drain.done')).toHaveLength(1);
  });

  it('raises i20 when the tub is not empty after 90 s of pumping, and stops the pump', () => {
    const b = createBench();
    healthy(b, 3);
    b.send({ type: 'program.drain' });
    b.advance(90.1 * S);
    expect(b.breaker()).toBe('tripped');
    expect(b.of('fault.raised').map((e) => e.code)).toEqual(['i20']);
    expect(b.pumpOn()).toBe(false);
  });
});

describe('anti-flood (i30)', () => {
  it('latches i30 after the float is wet for 10 s without a break, closes the valve, runs the pump', () => {
    const b = createBench();
    healthy(b);
    b.send({ type: 'program.fill', targetL: 3 });
    b.send({ type: 'sensor.float', reading: 'wet' });
    b.advance(9.9 * S);
    expect(b.breaker()).toBe('armed');
    b.advance(0.2 * S);
    expect(b.breaker()).toBe('latched');
    expect(b.valveOpen()).toBe(false);
    expect(b.pumpOn()).toBe(true);
    expect(b.of('fault.raised').map((e) => e.code)).toEqual(['i30']);
  });

  it('never trips on wet glitches shorter than the debounce (float chatter)', () => {
    const b = createBench();
    healthy(b);
    for (let i = 0; i < 50; i++) {
      b.send({ type: 'sensor.float', reading: 'wet' });
      b.advance(9 * S);
      b.send({ type: 'sensor.float', reading: 'dry' });
      b.advance(0.1 * S);
    }
    expect(b.of('fault.raised')).toEqual([]);
  });

  it('keeps the valve closed while the float is wet, even before the debounce expires', () => {
    const b = createBench();
    healthy(b);
    b.send({ type: 'program.fill', targetL: 3 });
    b.send({ type: 'sensor.float', reading: 'wet' });
    expect(b.valveOpen()).toBe(false);
    b.send({ type: 'sensor.float', reading: 'dry' });
    expect(b.valveOpen()).toBe(true);
  });

  it('latches at once when the float signal is lost (broken wire)', () => {
    const b = createBench();
    healthy(b);
    b.send({ type: 'program.fill', targetL: 3 });
    b.send({ type: 'sensor.float', reading: 'open' });
    expect(b.breaker()).toBe('latched');
    expect(b.valveOpen()).toBe(false);
    expect(b.of('fault.raised')[0]).toMatchObject({ code: 'i30', detail: expect.stringContaining('signal lost') });
  });

  it('does not reset while wet, nor before the pan has been dry for 60 s; then does', () => {
    const b = createBench();
    healthy(b);
    b.send({ type: 'sensor.float', reading: 'wet' });
    b.advance(10.1 * S);
    b.send({ type: 'user.reset' });
    expect(b.breaker()).toBe('latched');
    expect(b.lastRejection()).toMatch(/wet/);
    b.send({ type: 'sensor.float', reading: 'dry' });
    expect(b.pumpOn()).toBe(false);
    b.advance(59 * S);
    b.send({ type: 'user.reset' });
    expect(b.breaker()).toBe('latched');
    expect(b.lastRejection()).toMatch(/dry for 60 s/);
    b.advance(1.1 * S);
    b.send({ type: 'user.reset' });
    expect(b.breaker()).toBe('armed');
    expect(b.of('latch.changed').at(-1)).toEqual({ type: 'latch.changed', latch: null });
    expect(b.of('fault.cleared').map((e) => e.code)).toEqual(['i30']);
  });

  it('takes i30 over a tripped inlet fault (the dishwasher story)', () => {
    const b = createBench();
    healthy(b);
    b.send({ type: 'program.fill', targetL: 3 });
    b.advance(30 * S);
    b.send(level(0.3));
    b.advance(90.1 * S);
    expect(b.breaker()).toBe('tripped');
    b.send({ type: 'user.resume' });
    expect(b.valveOpen()).toBe(true);
    b.send({ type: 'sensor.float', reading: 'wet' });
    b.advance(10.1 * S);
    expect(b.breaker()).toBe('latched');
    expect(b.valveOpen()).toBe(false);
    expect(b.pumpOn()).toBe(true);
    expect(b.of('fault.raised').map((e) => e.code)).toEqual(['i11', 'i30']);
  });
});
