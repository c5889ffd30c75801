/**
 * Every appliance's heartbeat on one timer (src/telemetry/heartbeat-cadence.ts), on the virtual
 * clock: each beat one interval after its schedule, in schedule order at one instant, a beat of
 * an old schedule carries a token its beater no longer holds, one failing beater stops no other,
 * and the queue holds no more than the schedules still pending.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock/virtual-clock.js';
import { HeartbeatCadence, type Beater } from '../../src/telemetry/heartbeat-cadence.js';

const INTERVAL = 10_000;

/** A beater as DeviceTelemetry is one: it keeps its live token, and schedules again on each beat. */
class Appliance implements Beater {
  token = 0;
  readonly beats: number[] = [];
  constructor(
    readonly name: string,
    private readonly cadence: HeartbeatCadence,
    private readonly clock: VirtualClock,
    private readonly log: string[],
    private readonly fail = false,
  ) {}
  start(): void {
    this.token = this.cadence.schedule(this);
  }
  stop(): void {
    this.token = 0;
  }
  beat(token: number): void {
    if (token !== this.token) return;
    this.beats.push(this.clock.now());
    this.log.push(this.name);
    this.token = this.cadence.schedule(this);
    if (this.fail) throw new Error(`${this.name} fails`);
  }
}

describe('the heartbeat cadence', () => {
  it('beats each appliance one interval after its schedule, again and again, in schedule order at one instant', () => {
    const clock = new VirtualClock(1_000);
    const cadence = new HeartbeatCadence(clock, INTERVAL);
    const log: string[] = [];
    const a = new Appliance('a', cadence, clock, log);
    const b = new Appliance('b', cadence, clock, log);
    const c = new Appliance('c', cadence, clock, log);
    a.start();
    b.start();
    clock.advance(2_500);
    c.start();
    clock.advance(3 * INTERVAL);
    expect(a.beats).toEqual([11_000, 21_000, 31_000]);
    expect(b.beats).toEqual([11_000, 21_000, 31_000]);
    expect(c.beats).toEqual([13_500, 23_500, 33_500]);
    expect(log.slice(0, 3)).toEqual(['a', 'b', 'c']);
    // Nothing before its time: one millisecond short of the next beat, none.
    clock.advanceTo(40_999);
    expect(a.beats).toHaveLength(3);
    clock.advance(1);
    expect(a.beats).toHaveLength(4);
  });

  it('keeps a fixed rate when its timer fires late: each beat one interval after the last was due, not after it ran', () => {
    const virtual = new VirtualClock(0);
    // A busy event loop: every timer fires 50 ms after it was due.
    const late = { now: () => virtual.now(), setTimeout: (fn: () => void, ms: number) => virtual.setTimeout(fn, ms + 50), clearTimeout: (id: unknown) => virtual.clearTimeout(id) };
    const cadence = new HeartbeatCadence(late, INTERVAL);
    const log: string[] = [];
    const a = new Appliance('a', cadence, virtual, log);
    a.start();
    virtual.advance(100 * INTERVAL + 1_000);
    expect(a.beats).toHaveLength(100);
    // On the grid, 50 ms late each, never 50 ms more each time (that drift lost 0.5 % of a fleet's heartbeats).
    expect(a.beats.every((t, k) => t === (k + 1) * INTERVAL + 50)).toBe(true);
  });

  it('beats one interval from now, not in a burst, after falling a whole interval behind', () => {
    const virtual = new VirtualClock(0);
    // The first timer fires 25 s late, two and a half intervals behind; the rest on time.
    const stalls = [25_000];
    const stalling = {
      now: () => virtual.now(),
      setTimeout: (fn: () => void, ms: number) => virtual.setTimeout(fn, ms + (stalls.shift() ?? 0)),
      clearTimeout: (id: unknown) => virtual.clearTimeout(id),
    };
    const cadence = new HeartbeatCadence(stalling, INTERVAL);
    const log: string[] = [];
    const a = new Appliance('a', cadence, virtual, log);
    a.start();
    virtual.advance(INTERVAL + 25_000 + 3 * INTERVAL);
    expect(a.beats).toEqual([35_000, 45_000, 55_000, 65_000]);
  });

  it('drops the beat of a schedule its beater no longer holds (stopped, or scheduled again)', () => {
    const clock = new VirtualClock(0);
    const cadence = new HeartbeatCadence(clock, INTERVAL);
    const log: string[] = [];
    const a = new Appliance('a', cadence, clock, log);
    const b = new Appliance('b', cadence, clock, log);
    a.start();
    b.start();
    clock.advance(4_000);
    a.stop();
    b.start(); // scheduled again: its first schedule is spent
    clock.advance(2 * INTERVAL);
    expect(a.beats).toEqual([]);
    expect(b.beats).toEqual([14_000, 24_000]);
  });

  it('goes on beating the others when one beater throws', () => {
    const clock = new VirtualClock(0);
    const cadence = new HeartbeatCadence(clock, INTERVAL);
    const log: string[] = [];
    const bad = new Appliance('bad', cadence, clock, log, true);
    const good = new Appliance('good', cadence, clock, log);
    bad.start();
    good.start();
    const thrown: unknown[] = [];
    const original = globalThis.queueMicrotask;
    globalThis.queueMicrotask = (fn) => {
      try {
        fn();
      } catch (err) {
        thrown.push(err);
      }
    };
    try {
      clock.advance(2 * INTERVAL);
    } finally {
      globalThis.queueMicrotask = original;
    }
    expect(good.beats).toEqual([10_000, 20_000]);
    expect(bad.beats).toEqual([10_000, 20_000]);
    expect(thrown.map(String)).toEqual(['Error: bad fails', 'Error: bad fails']);
  });

  it('holds no more entries than schedules pending, over an hour of 1,000 appliances', () => {
    const clock = new VirtualClock(0);
    let armed = 0;
    const setTimeout = clock.setTimeout.bind(clock);
    clock.setTimeout = (fn, ms) => {
      // A cadence that arms a timer per schedule made while beating multiplies them without end: stop it here.
      if (++armed > 1_000 * 400) throw new Error(`${armed} timers armed`);
      return setTimeout(fn, ms);
    };
    const cadence = new HeartbeatCadence(clock, INTERVAL);
    const log: string[] = [];
    const fleet = Array.from({ length: 1_000 }, (_, i) => new Appliance(`d${i}`, cadence, clock, log));
    // Spread over one interval, as a fleet powers on.
    for (const [i, d] of fleet.entries()) {
      clock.advanceTo(i * 10);
      d.start();
    }
    let most = 0;
    for (let t = 0; t < 360; t++) {
      clock.advance(INTERVAL);
      most = Math.max(most, cadence.pending);
    }
    expect(most).toBeLessThanOrEqual(1_000);
    // One timer per instant with beats due, never one per beat nor one per schedule made while beating.
    expect(armed).toBeLessThanOrEqual(new Set(fleet.flatMap((d) => d.beats)).size + 1);
    expect(fleet.every((d) => d.beats.length >= 359)).toBe(true);
    // Every appliance beat at its own phase, exactly one interval apart.
    for (const d of [fleet[0]!, fleet[500]!, fleet[999]!]) for (let k = 1; k < d.beats.length; k++) expect(d.beats[k]! - d.beats[k - 1]!).toBe(INTERVAL);
  });
});
