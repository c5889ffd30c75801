import { describe, expect, it } from 'vitest';
import { Simulation } from '../../sim/engine.js';
import { fleetStartPlan, PROGRAM_WAITS_MS } from '../../sim/fleet-start.js';
import { parseScenario } from '../../sim/scenario.js';
import { VirtualClock } from '../../src/clock/virtual-clock.js';
import { MemoryEventLog } from '../../src/monitor/event-log.js';
import { Tracker } from '../../src/monitor/tracker.js';

const S = 1000;

describe('fleet start plan', () => {
  it("plugs each appliance in within one interval and starts its program within the program's length, spread evenly", () => {
    const plan = fleetStartPlan(1000, { seed: 1, onlineSpreadMs: 10 * S, programSpreadMs: PROGRAM_WAITS_MS });
    expect(PROGRAM_WAITS_MS).toBe(64 * 60 * S);
    const deciles = (xs: number[], span: number) => {
      const counts = Array.from({ length: 10 }, () => 0);
      for (const x of xs) counts[Math.floor((x / span) * 10)]!++;
      return counts;
    };
    for (const p of plan) {
      expect(p.powerOnAfterMs).toBeGreaterThanOrEqual(0);
      expect(p.powerOnAfterMs).toBeLessThan(10 * S);
      expect(p.programAfterMs).toBeGreaterThanOrEqual(0);
      expect(p.programAfterMs).toBeLessThan(PROGRAM_WAITS_MS);
    }
    // 100 expected per tenth of each span; a fleet started all at once would put 1000 in the first.
    for (const c of [
      ...deciles(
        plan.map((p) => p.powerOnAfterMs),
        10 * S,
      ),
      ...deciles(
        plan.map((p) => p.programAfterMs),
        PROGRAM_WAITS_MS,
      ),
    ]) {
      expect(c).toBeGreaterThan(60);
      expect(c).toBeLessThan(140);
    }
  });

  it("is the same for the same seed, another for another seed, and a larger fleet keeps a smaller one's plan", () => {
    const o = { seed: 7, onlineSpreadMs: 2 * S, programSpreadMs: 60 * S };
    expect(fleetStartPlan(50, o)).toEqual(fleetStartPlan(50, o));
    expect(fleetStartPlan(50, o)).not.toEqual(fleetStartPlan(50, { ...o, seed: 8 }));
    expect(fleetStartPlan(100, o).slice(0, 50)).toEqual(fleetStartPlan(50, o));
  });

  it('a simulation plugged in later counts its timeline from its power-on, and starts its program later still', async () => {
    const scenario = parseScenario({ name: 'late', description: 'plugged in late', seed: 1, duration: '2m', timeline: [{ at: 1000, press: 'exercise' }] }, 'test');
    const sim = new Simulation({ scenario, seed: 1, powerOnAfterMs: 3 * S, programAfterMs: 60 * S });
    await sim.start();
    expect(sim.runtime).toBeNull();
    await sim.runFor(2_900);
    expect(sim.runtime).toBeNull();
    await sim.runFor(200);
    expect(sim.runtime).not.toBeNull();
    // The timeline's step at 1 s came 1 s after the power-on.
    expect(sim.log.filter((e) => e.type === 'command').map((e) => e.t)).toEqual([]);
    await sim.runFor(1 * S);
    expect(sim.log.find((e) => e.type === 'command')?.t).toBe(4 * S);
    const firstStep = () => sim.log.find((e) => e.type === 'program' && e.event === 'step');
    await sim.runFor(58 * S);
    expect(firstStep()).toBeUndefined();
    await sim.runFor(2 * S);
    expect(firstStep()?.t).toBe(63 * S);
    await sim.stop();
  });
});

describe('a monitor watching a fleet that comes up this way (virtual clock)', () => {
  /**
   * A monitor that knows every device from its history (a restart: the worst case, deadlines
   * armed from its start) starts with the fleet; each device sends its first heartbeat when
   * plugged in, then one per interval. Returns the DOWNs seen in the first five intervals.
   */
  function downsAtStart(onlineSpreadMs: number): number {
    const intervalS = 10;
    const clock = new VirtualClock(0);
    const log = new MemoryEventLog();
    const devices = Array.from({ length: 1000 }, (_, i) => `dev-${i}`);
    const first = new Tracker({ clock, log, snapshotMs: 0 });
    first.start();
    for (const id of devices) first.onHeartbeat(id, { seq: 0, boot: 1, uptimeS: 0, intervalS, state: 'idle', fault: null, ts: '' });
    first.stop();
    clock.advance(3600 * S);

    const tracker = new Tracker({ clock, log, snapshotMs: 0, detector: { kind: 'phi' } });
    tracker.start();
    const before = log.replay().length;
    const plan = fleetStartPlan(devices.length, { seed: 3, onlineSpreadMs, programSpreadMs: 1 });
    devices.forEach((id, i) => {
      let seq = 0;
      const beat = () => {
        tracker.onHeartbeat(id, { seq: seq++, boot: 2, uptimeS: 0, intervalS, state: 'idle', fault: null, ts: '' });
        clock.setTimeout(beat, intervalS * S);
      };
      clock.setTimeout(beat, plan[i]!.powerOnAfterMs);
    });
    clock.advance(5 * intervalS * S);
    tracker.stop();
    return log
      .replay()
      .slice(before)
      .filter((e) => e.type === 'status' && e.status === 'down').length;
  }

  it('reports no device DOWN while the fleet comes online over one heartbeat interval', () => {
    expect(downsAtStart(10 * S)).toBe(0);
  });

  it('would, if the fleet took two intervals to come online (the bound the plan keeps)', () => {
    expect(downsAtStart(20 * S)).toBeGreaterThan(100);
  });
});
