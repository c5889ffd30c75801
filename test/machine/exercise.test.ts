/**
 * The exercise is a supervised proof test of the shut-off: it opens the valve only when
 * nothing can go wrong, for a capped time and volume, then proves the flow stops after the
 * close. Each precondition and cap has a test that fails when it is dropped.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../src/machine/config.js';
import { createBench, healthy, level, type Bench } from './harness.js';

const { exercise, leak, valveLeak } = DEFAULT_CONFIG;
const flow = (litres: number) => ({ type: 'sensor.flow', litres }) as const;

/** A healthy, idle appliance whose pan has read dry for leak.dryMs. */
function ready(): Bench {
  const b = createBench();
  healthy(b);
  b.advance(leak.dryMs);
  return b;
}

function result(b: Bench) {
  return b.of('exercise.done');
}

describe('the proof test of the shut-off', () => {
  it('opens the valve for at most exercise.durationMs, then passes once the flow has stopped', () => {
    const b = ready();
    b.send({ type: 'user.exercise' });
    expect(b.of('command.accepted').map((e) => e.command)).toEqual(['user.exercise']);
    expect(b.valveOpen()).toBe(true);
    b.send(flow(0.05));
    b.advance(exercise.durationMs - 1);
    expect(b.valveOpen()).toBe(true);
    b.advance(1);
    expect(b.valveOpen()).toBe(false);
    expect(result(b)).toEqual([]);
    b.advance(valveLeak.flowMs + valveLeak.quietMs);
    expect(result(b)).toEqual([{ type: 'exercise.done', result: 'passed', inflowL: 0.05 }]);
    expect(b.value().breaker).toEqual({ armed: 'idle' });
  });

  it('closes early once the metered volume reaches exercise.maxVolumeL', () => {
    const b = ready();
    b.send({ type: 'user.exercise' });
    b.send(flow(exercise.maxVolumeL / 2));
    expect(b.valveOpen()).toBe(true);
    b.send(flow(exercise.maxVolumeL / 2));
    expect(b.valveOpen()).toBe(false);
    // The pulse that reached the cap is counted in the result.
    b.advance(valveLeak.flowMs + valveLeak.quietMs);
    expect(result(b)).toEqual([{ type: 'exercise.done', result: 'passed', inflowL: exercise.maxVolumeL }]);
  });

  it('closes early once the tub rose by exercise.maxRiseL from where it started', () => {
    const b = ready();
    const start = 0.25;
    b.send(level(start));
    b.send({ type: 'user.exercise' });
    b.send(level(start + exercise.maxRiseL - 0.0625));
    expect(b.valveOpen()).toBe(true);
    b.send(level(start + exercise.maxRiseL));
    expect(b.valveOpen()).toBe(false);
  });

  it('the rise cap is inclusive: a rise of exactly exercise.maxRiseL closes the valve', () => {
    // Binary-exact numbers, so the boundary is the boundary.
    const b = createBench({ config: { exercise: { maxRiseL: 0.25 } } });
    healthy(b, 0.125);
    b.advance(leak.dryMs);
    b.send({ type: 'user.exercise' });
    b.send(level(0.375 - 2 ** -10));
    expect(b.valveOpen()).toBe(true);
    b.send(level(0.375));
    expect(b.valveOpen()).toBe(false);
    expect(b.value().breaker).toEqual({ armed: { exercising: 'verifying' } });
  });

  for (const [what, reading] of [
    ['lost', { status: 'open' }],
    ['implausible', { status: 'implausible', litres: 40 }],
  ] as const) {
    it(`a level that turns ${what} ends the open phase for good: the valve does not reopen when it settles`, () => {
      // An open phase longer than the level's settle time, so a settled level could reopen it.
      const b = createBench({ config: { exercise: { durationMs: 10_000 } } });
      healthy(b);
      b.advance(leak.dryMs);
      b.send({ type: 'user.exercise' });
      expect(b.valveOpen()).toBe(true);
      b.send({ type: 'sensor.level', reading } as never);
      expect(b.valveOpen()).toBe(false);
      expect(b.value().breaker).toEqual({ armed: { exercising: 'verifying' } });
      b.send(level(0));
      b.advance(DEFAULT_CONFIG.sensors.levelSettleMs + 1);
      expect(b.valveOpen()).toBe(false);
      expect(b.of('valve.changed').filter((e) => e.open)).toHaveLength(1);
    });
  }

  it('is refused before the level has been read at all', () => {
    const b = createBench();
    b.send({ type: 'sensor.float', reading: 'dry' });
    b.advance(leak.dryMs);
    b.send({ type: 'user.exercise' });
    expect(b.valveOpen()).toBe(false);
    expect(b.of('command.accepted')).toEqual([]);
  });

  it('fails with iB0 when water keeps flowing after the close (the valve does not shut)', () => {
    const b = ready();
    b.send({ type: 'user.exercise' });
    b.advance(exercise.durationMs);
    for (let t = 0; t <= valveLeak.flowMs; t += 200) {
      b.send(flow(0.01));
      b.advance(200);
    }
    expect(b.of('fault.raised').map((e) => e.code)).toEqual(['iB0']);
    expect(result(b)).toEqual([{ type: 'exercise.done', result: 'failed', code: 'iB0', inflowL: 0.1 }]); // ten 10 ml pulses after the close
    expect(b.breaker()).toBe('latched');
    expect(b.valveOpen()).toBe(false);
  });

  it('does not pass while water still trickles after the close; passes once it has stopped', () => {
    const b = ready();
    b.send({ type: 'user.exercise' });
    b.advance(exercise.durationMs); // closed
    const verify = valveLeak.flowMs + valveLeak.quietMs;
    b.advance(verify - 500);
    b.send(flow(0.002)); // a late drop: the flow is suspect again when the check ends
    b.advance(500);
    expect(result(b)).toEqual([]);
    b.advance(valveLeak.quietMs - 500);
    expect(result(b)).toMatchObject([{ result: 'passed' }]);
    expect(b.of('fault.raised')).toEqual([]);
  });

  it('is stopped by a person closing the valve, and says so', () => {
    const b = ready();
    b.send({ type: 'user.exercise' });
    b.send({ type: 'user.closeValve' });
    expect(b.valveOpen()).toBe(false);
    expect(result(b)).toMatchObject([{ result: 'stopped' }]);
  });

  it('closes the valve at once on a wet float, and does not pass while the float is wet', () => {
    const b = ready();
    b.send({ type: 'user.exercise' });
    b.send({ type: 'sensor.float', reading: 'wet' });
    expect(b.valveOpen()).toBe(false);
    b.advance(exercise.durationMs + valveLeak.flowMs + valveLeak.quietMs);
    expect(result(b).filter((r) => r.result === 'passed')).toEqual([]);
    b.advance(leak.wetDebounceMs);
    expect(result(b)).toMatchObject([{ result: 'failed', code: 'i30' }]);
  });

  it('runs at most once per exercise.intervalMs', () => {
    const b = ready();
    b.send({ type: 'user.exercise' });
    b.advance(exercise.durationMs + valveLeak.flowMs + valveLeak.quietMs);
    b.send({ type: 'user.exercise' });
    expect(b.lastRejection()).toBe('a proof test already ran in the last 60 min (at most one per interval)');
    b.advance(exercise.intervalMs - (exercise.durationMs + valveLeak.flowMs + valveLeak.quietMs) - 1);
    b.send({ type: 'user.exercise' });
    expect(b.lastRejection()).toMatch(/already ran/);
    b.advance(1);
    b.send({ type: 'user.exercise' });
    expect(b.valveOpen()).toBe(true);
    expect(b.of('command.accepted')).toHaveLength(2);
  });
});

describe('the proof test is refused, and the valve stays closed', () => {
  const refusals: [string, (b: Bench) => void, RegExp][] = [
    ['before the pan has read dry for leak.dryMs', (b) => b.advance(leak.dryMs / 2), /dry for 60 s/],
    ['while the float is debouncing a wet reading', (b) => b.send({ type: 'sensor.float', reading: 'wet' }), /dry for 60 s/],
    ['while the float signal is lost', (b) => b.send({ type: 'sensor.float', reading: 'open' }), /dry|armed/],
    ['with the tub above exercise.maxStartLevelL', (b) => b.send(level(exercise.maxStartLevelL + 0.01)), /tub is not empty/],
    ['with the level signal lost', (b) => b.send({ type: 'sensor.level', reading: { status: 'open' } }), /level sensor/],
    ['with an implausible level', (b) => b.send({ type: 'sensor.level', reading: { status: 'implausible' } }), /level sensor/],
    ['while water flows with the valve closed', (b) => b.send(flow(0.01)), /flowing/],
    ['while a fill is under way', (b) => b.send({ type: 'program.fill', targetL: 3 }), /armed and the appliance idle/],
    ['with the board link lost', (b) => b.send({ type: 'board.linkLost' }), /armed and the appliance idle/],
  ];
  for (const [when, setup, reason] of refusals) {
    it(when, () => {
      const b = createBench();
      healthy(b);
      if (!when.startsWith('before')) b.advance(leak.dryMs);
      setup(b);
      const opensBefore = b.of('valve.changed').filter((v) => v.open).length;
      b.send({ type: 'user.exercise' });
      expect(b.lastRejection()).toMatch(reason);
      expect(b.of('command.rejected').at(-1)?.rejection.command).toBe('user.exercise');
      expect(b.of('command.accepted').filter((a) => a.command === 'user.exercise')).toEqual([]);
      if (!when.includes('fill')) expect(b.of('valve.changed').filter((v) => v.open).length).toBe(opensBefore);
      expect(result(b)).toEqual([]);
    });
  }

  it('exactly at exercise.maxStartLevelL it runs (the limit is inclusive)', () => {
    const b = ready();
    b.send(level(exercise.maxStartLevelL));
    b.send({ type: 'user.exercise' });
    expect(b.valveOpen()).toBe(true);
  });

  it('one tick short of leak.dryMs it is refused; at leak.dryMs it runs', () => {
    const b = createBench();
    healthy(b);
    b.advance(leak.dryMs - 1);
    b.send({ type: 'user.exercise' });
    expect(b.valveOpen()).toBe(false);
    b.advance(1);
    b.send({ type: 'user.exercise' });
    expect(b.valveOpen()).toBe(true);
  });
});
