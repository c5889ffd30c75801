/**
 * The chaos bench's counting (test/bench/chaos/tally.ts) on hand-written runs: each figure the
 * bench prints as "must be 0" must come out above 0 when its failure is in the input.
 */
import { describe, expect, it } from 'vitest';
import { tally, wireId, type DeviceRun, type Interval, type MonitorStatus, type TallyInput, type WireFault } from '../bench/chaos/tally.js';

const S = 1_000_000; // wall ms where the first run starts

function run(device: string, bootBefore: number, startedAt: number, endedAt: number | null, lines: Record<string, unknown>[], killed = false): DeviceRun {
  return { device, bootBefore, startedAt, readyAt: startedAt + 1_000, endedAt, killed, lines };
}

function fault(t: number, id: string, code = 'iC0', event = 'raised'): Record<string, unknown> {
  return { t, type: 'fault', event, code, id };
}

/** What the wire carries for a line of a run whose telemetry anchored at `anchor`. */
function wire(device: string, anchor: number, line: Record<string, unknown>, id: string, at = anchor + 5_000): WireFault {
  return { device, id, event: String(line['event']), code: String(line['code']), ts: new Date(anchor + Number(line['t'])).toISOString(), at };
}

function input(over: Partial<TallyInput>): TallyInput {
  return {
    runs: [],
    faults: [],
    heartbeats: [],
    statuses: [],
    brokerDown: [],
    pathDown: new Map(),
    speed: 4,
    downWindowMs: 15_000,
    graceMs: 6_000,
    end: S + 600_000,
    ...over,
  };
}

describe('chaos tally', () => {
  it('maps a log id to the wire id by the boot count stored before the process started', () => {
    expect(wireId('1-3', 4)).toBe('5-3');
    expect(wireId('2-1', 0)).toBe('2-1');
    expect(wireId('x', 0)).toBeNull();
  });

  it('counts every raised event delivered once as delivered, none lost', () => {
    const a = fault(10_000, '1-1');
    const b = fault(20_000, '1-2', 'iC0', 'cleared');
    const r = run('d1', 2, S, S + 100_000, [a, b]);
    const t = tally(input({ runs: [r], faults: [wire('d1', S + 500, a, '3-1'), wire('d1', S + 500, b, '3-2')] }));
    expect(t).toMatchObject({ faultEvents: { raised: 1, cleared: 1, total: 2 }, delivered: 2, lost: 0, duplicatesNewId: 0, unmatched: 0 });
  });

  it('counts an event never received as lost, and says whether its run was killed', () => {
    const a = fault(10_000, '1-1');
    const b = fault(20_000, '1-2', 'i30');
    const r = run('d1', 0, S, S + 30_000, [a, b], true);
    const t = tally(input({ runs: [r], faults: [wire('d1', S + 500, a, '1-1')] }));
    expect(t.lost).toBe(1);
    expect(t.delivered).toBe(1);
    expect(t.examples.lost[0]).toMatchObject({ device: 'd1', id: '1-2', code: 'i30', runKilled: true, lastFaultOfRun: true });
  });

  it('does not credit one run with the delivery of another run that reused its id (a lost boot count)', () => {
    // Two runs, both numbering boots from 1: the second run's 1-1 arrives, the first's never does.
    const first = fault(10_000, '1-1');
    const second = fault(10_000, '1-1');
    const r1 = run('d1', 0, S, S + 30_000, [first], true);
    const r2 = run('d1', 0, S + 40_000, null, [second]);
    const t = tally(input({ runs: [r1, r2], faults: [wire('d1', S + 40_500, second, '1-1')] }));
    expect(t.delivered).toBe(1);
    expect(t.lost).toBe(1);
    expect(t.examples.lost[0]).toMatchObject({ run: 0 });
  });

  it('ties each received event to the run whose telemetry anchor it shares, not to any run alive at ts - t', () => {
    // Seen in a run with CHAOS_BREAK=fresh-data-dir: both runs number 1-7 and 1-8 alike; run 1's
    // 1-8 was lost while cut off, run 2 delivered both. Run 2's 1-7 at t = 143.13 s minus run 1's
    // 1-7 time (157.6 s) falls inside run 1's life, which a window check alone took for a match.
    const r1Lines = [fault(22_400, '1-1', 'i30'), fault(157_600, '1-7'), fault(174_600, '1-8', 'iC0', 'cleared')];
    const r2Lines = [fault(22_300, '1-1', 'i30'), fault(143_130, '1-7'), fault(143_200, '1-8', 'iC0', 'cleared')];
    const r1 = run('d2', 0, S, S + 58_000, r1Lines, true);
    const r2 = run('d2', 0, S + 62_000, null, r2Lines);
    const a1 = S + 4_000;
    const a2 = S + 65_200;
    const faults = [wire('d2', a1, r1Lines[0]!, '1-1'), wire('d2', a1, r1Lines[1]!, '1-7'), ...r2Lines.map((l) => wire('d2', a2, l, String(l['id'])))];
    expect(a2 + 143_130 - 157_600).toBeGreaterThan(S);
    expect(a2 + 143_130 - 157_600).toBeLessThan(S + 58_000);
    const t = tally(input({ runs: [r1, r2], faults }));
    expect(t).toMatchObject({ delivered: 5, lost: 1, unmatched: 0 });
    expect(t.examples.lost).toEqual([expect.objectContaining({ run: 0, id: '1-8' })]);
  });

  it('counts the same event received again under a new id as a duplicate, and again under its own id as a re-delivery', () => {
    const a = fault(10_000, '1-1');
    const r = run('d1', 0, S, null, [a]);
    const first = wire('d1', S + 500, a, '1-1');
    const t = tally(input({ runs: [r], faults: [first, { ...first, at: first.at + 1 }, { ...first, id: '2-1', at: first.at + 2 }] }));
    expect(t.delivered).toBe(1);
    expect(t.redeliveredSameId).toBe(1);
    expect(t.duplicatesNewId).toBe(1);
    expect(t.examples.duplicates[0]).toMatchObject({ id: '2-1', sameAs: '1-1' });
  });

  it('counts a received event that no device printed as unmatched', () => {
    const r = run('d1', 0, S, null, []);
    const t = tally(input({ runs: [r], faults: [wire('d1', S + 500, fault(10_000, '1-1'), '1-1')] }));
    expect(t.unmatched).toBe(1);
    expect(t.delivered).toBe(0);
  });

  it('judges the valve at the end of each instant: open with a wet pan or a tripped breaker is unsafe', () => {
    const safe = run('d1', 0, S, null, [
      { t: 0, type: 'state', breaker: 'armed', leak: false, state: 'armed.filling' },
      { t: 0, type: 'valve', state: 'open' },
      // the same instant: the float is wet and the valve closes; only its end counts
      { t: 5_000, type: 'state', breaker: 'armed', leak: true, state: 'armed.filling' },
      { t: 5_000, type: 'valve', state: 'closed' },
      { t: 9_000, type: 'state', breaker: 'tripped', leak: false, state: 'tripped.coolingDown' },
    ]);
    expect(tally(input({ runs: [safe] })).unsafeValveStates).toBe(0);

    const wet = run('d1', 0, S, null, [
      { t: 0, type: 'state', breaker: 'armed', leak: false, state: 'armed.filling' },
      { t: 0, type: 'valve', state: 'open' },
      { t: 5_000, type: 'state', breaker: 'armed', leak: true, state: 'armed.filling' },
      { t: 5_100, type: 'valve', state: 'closed' },
    ]);
    const tripped = run('d2', 0, S, null, [
      { t: 0, type: 'state', breaker: 'tripped', leak: false, state: 'tripped.coolingDown' },
      { t: 0, type: 'valve', state: 'open' },
    ]);
    const t = tally(input({ runs: [wet, tripped] }));
    expect(t.unsafeValveStates).toBe(2);
    expect(t.examples.unsafe.map((e) => [e.device, e['t']])).toEqual([
      ['d1', 5_000],
      ['d2', 0],
    ]);
  });

  it('counts a DOWN as false only when the device was running and reachable for the whole window before it', () => {
    const r = run('d1', 0, S, null, []);
    const ready = S + 1_000;
    const cut: Interval = { from: ready + 100_000, to: ready + 110_000 };
    const broker: Interval = { from: ready + 200_000, to: ready + 203_000 };
    const statuses: MonitorStatus[] = [
      { device: 'd1', status: 'down', reason: 'no heartbeat for 1.5 x 10 s', at: ready + 60_000 }, // false: all up
      { device: 'd1', status: 'down', reason: 'bridge d1 offline', at: ready + 100_000 }, // in the very millisecond of the cut
      { device: 'd1', status: 'down', reason: 'bridge d1 offline', at: ready + 105_000 }, // path cut
      { device: 'd1', status: 'down', reason: 'no heartbeat for 1.5 x 10 s', at: ready + 118_000 }, // path back only 8 s: within the window
      { device: 'd1', status: 'down', reason: 'no heartbeat for 1.5 x 10 s', at: ready + 128_000 }, // the window starts 3 s after the path came back: within the reconnect grace
      { device: 'd1', status: 'down', reason: 'no heartbeat for 1.5 x 10 s', at: ready + 210_000 }, // broker back 7 s ago
      { device: 'd1', status: 'down', reason: 'no heartbeat for 1.5 x 10 s', at: ready + 10_000 }, // process ready only 10 s
      { device: 'd1', status: 'up', reason: 'heartbeat', at: ready + 300_000 },
      { device: 'd1', status: 'down', reason: 'bridge d1 offline', at: ready + 400_000 }, // false
    ];
    const t = tally(input({ runs: [r], statuses, pathDown: new Map([['d1', [cut]]]), brokerDown: [broker] }));
    expect(t.downs).toBe(8);
    expect(t.falseDowns).toBe(2);
    expect(t.downsByReason).toEqual({ 'no heartbeat for 1.5 x 10 s': 5, 'bridge offline': 3 });
    expect(t.examples.falseDowns.map((e) => e['at'])).toEqual([new Date(ready + 60_000).toISOString(), new Date(ready + 400_000).toISOString()]);
  });

  it('does not count a DOWN while the process was dead as false', () => {
    const r1 = run('d1', 0, S, S + 50_000, [], true);
    const r2 = run('d1', 1, S + 53_000, null, []);
    const statuses: MonitorStatus[] = [{ device: 'd1', status: 'down', reason: 'bridge d1 offline', at: S + 50_050 }];
    expect(tally(input({ runs: [r1, r2], statuses })).falseDowns).toBe(0);
  });

  it('measures heartbeat lateness within one boot from the earliest one, outside cut-offs', () => {
    const r = run('d1', 0, S, null, []);
    const anchor = S + 500;
    // due every 2.5 s wall (10 s virtual at 4x); the third arrives 300 ms late
    const hb = (i: number, late: number) => ({ device: 'd1', boot: 1, ts: new Date(anchor + i * 10_000).toISOString(), at: anchor + 20_000 + i * 2_500 + late });
    const t = tally(input({ runs: [r], heartbeats: [hb(0, 0), hb(1, 10), hb(2, 300), hb(3, 5)] }));
    expect(t.heartbeatLagMs).toMatchObject({ samples: 4, max: 300, perDevice: { d1: 300 } });
  });

  it('measures each run on its own even when a lost data dir makes it count boots from 1 again', () => {
    const r1 = run('d1', 0, S, S + 60_000, [], true);
    const r2 = run('d1', 0, S + 100_000, null, []);
    const hb = (anchor: number, i: number) => ({ device: 'd1', boot: 1, ts: new Date(anchor + i * 10_000).toISOString(), at: anchor + 20_000 + i * 2_500 });
    // run 2's telemetry anchored 100 s later, its heartbeats on time: no lateness at all
    const heartbeats = [hb(S + 500, 0), hb(S + 500, 1), hb(S + 100_500, 0), hb(S + 100_500, 1)];
    expect(tally(input({ runs: [r1, r2], heartbeats })).heartbeatLagMs).toMatchObject({ samples: 4, max: 0 });
  });

  it('leaves out heartbeats that arrive while the path is cut or just after: they measure the outage', () => {
    const r = run('d1', 0, S, null, []);
    const anchor = S + 500;
    const hb = (i: number, late: number) => ({ device: 'd1', boot: 1, ts: new Date(anchor + i * 10_000).toISOString(), at: anchor + 20_000 + i * 2_500 + late });
    // the fourth was held by a blackhole and arrives 9 s late, 2 s after the path came back
    const heartbeats = [hb(0, 0), hb(1, 10), hb(2, 30), hb(3, 9_000)];
    const cut: Interval = { from: hb(2, 30).at + 500, to: hb(3, 9_000).at - 2_000 };
    const t = tally(input({ runs: [r], heartbeats, pathDown: new Map([['d1', [cut]]]) }));
    expect(t.heartbeatLagMs).toMatchObject({ samples: 3, max: 30 });
  });
});
