/**
 * The sensor regions as tables: from every state of the leak and level regions, every kind of
 * reading, the state it leads to. The statechart's structure (targets, guards, which reading is
 * handled where) is one object literal that a unit test on a rule rarely walks whole; a table
 * checks every entry, so a changed or dropped transition goes red (a static mutant too).
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../src/machine/config.js';
import type { ControllerEvent } from '../../src/machine/events.js';
import { createBench, healthy, type Bench } from './harness.js';

const { leak, sensors, valveLeak } = DEFAULT_CONFIG;

const float = (reading: 'dry' | 'wet' | 'open'): ControllerEvent => ({ type: 'sensor.float', reading });
const ok = (litres = 1): ControllerEvent => ({ type: 'sensor.level', reading: { status: 'ok', litres } });
const lost: ControllerEvent = { type: 'sensor.level', reading: { status: 'open' } };
const implausible: ControllerEvent = { type: 'sensor.level', reading: { status: 'implausible', litres: 40 } };

/** The state of one region as a path, e.g. "noisy.settling". */
function stateOf(b: Bench, region: string): string {
  const walk = (v: unknown): string => (typeof v === 'string' ? v : Object.entries(v as object).map(([k, sub]) => `${k}.${walk(sub)}`)[0]!);
  return walk(b.value()[region]);
}

/**
 * One test per table entry: reach the state `from` (and check it was reached), send the
 * reading, expect the state `to`; `also` checks more after the step.
 */
function transitionTests<K extends string>(
  region: string,
  reach: Record<string, (b: Bench) => void>,
  table: Record<string, Record<K, string>>,
  reading: (kind: K) => ControllerEvent,
  also: (b: Bench, kind: K, to: string) => void = () => undefined,
): void {
  for (const [from, row] of Object.entries(table)) {
    for (const [kind, to] of Object.entries(row) as [K, string][]) {
      it(`${from} + ${kind} -> ${to}`, () => {
        const b = createBench();
        reach[from]!(b);
        expect(stateOf(b, region), 'reached').toBe(from);
        b.send(reading(kind));
        expect(stateOf(b, region)).toBe(to);
        also(b, kind, to);
      });
    }
  }
}

describe('the leak region: every state and every float reading', () => {
  // How to reach each state from a fresh controller (no reading yet).
  const reach: Record<string, (b: Bench) => void> = {
    unknown: () => undefined,
    drying: (b) => b.send(float('dry')),
    dry: (b) => {
      b.send(float('dry'));
      b.advance(leak.dryMs);
    },
    debouncing: (b) => b.send(float('wet')),
    wet: (b) => {
      b.send(float('wet'));
      b.advance(leak.wetDebounceMs);
    },
    signalLost: (b) => b.send(float('open')),
  };
  const table: Record<string, Record<'dry' | 'wet' | 'open', string>> = {
    unknown: { dry: 'drying', wet: 'debouncing', open: 'signalLost' },
    drying: { dry: 'drying', wet: 'debouncing', open: 'signalLost' },
    dry: { dry: 'dry', wet: 'debouncing', open: 'signalLost' },
    debouncing: { dry: 'drying', wet: 'debouncing', open: 'signalLost' },
    wet: { dry: 'drying', wet: 'wet', open: 'signalLost' },
    signalLost: { dry: 'drying', wet: 'wet', open: 'signalLost' },
  };
  transitionTests('leak', reach, table, float);

  it('the timers: drying becomes dry after exactly leak.dryMs, debouncing becomes wet (i30) after exactly leak.wetDebounceMs', () => {
    const b = createBench();
    b.send(float('dry'));
    b.advance(leak.dryMs - 1);
    expect(stateOf(b, 'leak')).toBe('drying');
    b.advance(1);
    expect(stateOf(b, 'leak')).toBe('dry');
    b.send(float('wet'));
    b.advance(leak.wetDebounceMs - 1);
    expect(stateOf(b, 'leak')).toBe('debouncing');
    expect(b.of('fault.raised')).toEqual([]);
    b.advance(1);
    expect(stateOf(b, 'leak')).toBe('wet');
    expect(b.of('fault.raised').map((f) => f.code)).toEqual(['i30']);
  });
});

describe('the level region: every state and every kind of reading', () => {
  const reach: Record<string, (b: Bench) => void> = {
    unknown: () => undefined,
    ok: (b) => b.send(ok()),
    lost: (b) => {
      b.send(ok());
      b.send(lost);
    },
    'noisy.implausible': (b) => {
      b.send(ok());
      b.send(implausible);
    },
    'noisy.settling': (b) => {
      b.send(ok());
      b.send(implausible);
      b.send(ok());
    },
    'faulted.bad': (b) => {
      b.send(ok());
      b.send(lost);
      b.advance(sensors.levelLostMs);
    },
    'faulted.settling': (b) => {
      b.send(ok());
      b.send(lost);
      b.advance(sensors.levelLostMs);
      b.send(ok());
    },
  };
  const table: Record<string, Record<'ok' | 'lost' | 'implausible', string>> = {
    unknown: { ok: 'ok', lost: 'lost', implausible: 'noisy.implausible' },
    ok: { ok: 'ok', lost: 'lost', implausible: 'noisy.implausible' },
    lost: { ok: 'noisy.settling', lost: 'lost', implausible: 'noisy.implausible' },
    'noisy.implausible': { ok: 'noisy.settling', lost: 'noisy.implausible', implausible: 'noisy.implausible' },
    'noisy.settling': { ok: 'noisy.settling', lost: 'noisy.implausible', implausible: 'noisy.implausible' },
    'faulted.bad': { ok: 'faulted.settling', lost: 'faulted.bad', implausible: 'faulted.bad' },
    'faulted.settling': { ok: 'faulted.settling', lost: 'faulted.bad', implausible: 'faulted.bad' },
  };
  const readings = { ok: ok(2), lost, implausible };
  transitionTests(
    'level',
    reach,
    table,
    (kind) => readings[kind],
    (b, kind, to) => {
      // A plausible reading is recorded in every state that takes it; other readings never are.
      if (kind === 'ok' && to !== 'lost') expect(b.actor.getSnapshot().context.levelL).toBe(2);
    },
  );

  it('the timers: a settling signal is ok after exactly sensors.levelSettleMs; lost for sensors.levelLostMs raises i41', () => {
    const b = createBench();
    reach['noisy.settling']!(b);
    b.advance(sensors.levelSettleMs - 1);
    expect(stateOf(b, 'level')).toBe('noisy.settling');
    b.advance(1);
    expect(stateOf(b, 'level')).toBe('ok');
    b.send(lost);
    b.advance(sensors.levelLostMs - 1);
    expect(b.of('fault.raised')).toEqual([]);
    b.advance(1);
    expect(stateOf(b, 'level')).toBe('faulted.bad');
    expect(b.of('fault.raised').map((f) => f.code)).toEqual(['i41']);
  });
});

describe('the inflow region: flow while the valve is closed', () => {
  const pulse: ControllerEvent = { type: 'sensor.flow', litres: 0.01 };
  const none: ControllerEvent = { type: 'sensor.flow', litres: 0 };
  function closedAndQuiet(): Bench {
    const b = createBench();
    healthy(b);
    expect(b.valveOpen()).toBe(false);
    expect(stateOf(b, 'inflow')).toBe('quiet');
    return b;
  }

  it('quiet: a pulse with the valve closed makes it suspect, a reading of no flow does not', () => {
    const b = closedAndQuiet();
    b.send(none);
    expect(stateOf(b, 'inflow')).toBe('quiet');
    b.send(pulse);
    expect(stateOf(b, 'inflow')).toBe('suspect.pulsing');
  });

  it('a pulse with the valve open is the fill, not a leak', () => {
    const b = closedAndQuiet();
    b.send({ type: 'program.fill', targetL: 3 });
    expect(b.valveOpen()).toBe(true);
    b.send(pulse);
    expect(stateOf(b, 'inflow')).toBe('quiet');
  });

  it('suspect: each pulse restarts the quiet wait; valveLeak.quietMs without one is quiet again, no fault', () => {
    const b = closedAndQuiet();
    b.send(pulse);
    b.advance(valveLeak.quietMs - 1);
    b.send(pulse);
    b.advance(valveLeak.quietMs - 1);
    expect(stateOf(b, 'inflow')).toBe('suspect.pulsing');
    b.advance(1);
    expect(stateOf(b, 'inflow')).toBe('quiet');
    expect(b.of('fault.raised')).toEqual([]);
  });

  it('suspect: a valve that opens ends the suspicion', () => {
    const b = closedAndQuiet();
    b.send(pulse);
    b.send({ type: 'program.fill', targetL: 3 });
    expect(b.valveOpen()).toBe(true);
    expect(stateOf(b, 'inflow')).toBe('quiet');
  });

  it('flow that goes on for valveLeak.flowMs with the valve closed raises iB0; then it is stopped after quietMs, flowing again at a pulse', () => {
    const b = closedAndQuiet();
    const step = Math.max(1, Math.floor(valveLeak.quietMs / 2));
    b.send(pulse);
    for (let t = 0; t + step < valveLeak.flowMs; t += step) {
      b.advance(step);
      b.send(pulse);
    }
    expect(b.of('fault.raised')).toEqual([]);
    b.advance(valveLeak.flowMs); // past the iB0 timer whatever the remainder
    expect(b.of('fault.raised').map((f) => f.code)).toEqual(['iB0']);
    expect(stateOf(b, 'inflow')).toBe('faulted.stopped');
    b.send(pulse);
    expect(stateOf(b, 'inflow')).toBe('faulted.flowing');
    b.advance(valveLeak.quietMs - 1);
    b.send(pulse);
    b.advance(valveLeak.quietMs - 1);
    expect(stateOf(b, 'inflow')).toBe('faulted.flowing');
    b.advance(1);
    expect(stateOf(b, 'inflow')).toBe('faulted.stopped');
  });
});
