import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock/virtual-clock.js';
import { MemoryEventLog } from '../../src/monitor/event-log.js';
import { Tracker } from '../../src/monitor/tracker.js';
import type { Alert } from '../../src/monitor/types.js';
import type { PayloadOf } from '../../src/protocol/topics.js';

const S = 1000;

function setup(log = new MemoryEventLog(), clock = new VirtualClock(0), downAfter?: number) {
  const alerts: Alert[] = [];
  const tracker = new Tracker({ clock, log, alerts: { send: (a) => alerts.push(a) }, snapshotMs: 0, downAfter });
  tracker.start();
  let seq = 0;
  const hb = (id = 'dev-1', over: Partial<PayloadOf<'heartbeat'>> = {}) =>
    tracker.onHeartbeat(id, { seq: seq++, boot: 1, uptimeS: 0, intervalS: 10, state: 'idle', fault: null, ts: '', ...over });
  /** Heartbeats every 10 s from now up to and including `untilS`. */
  const beatUntil = (untilS: number) => {
    hb();
    while (clock.now() + 10 * S <= untilS * S) {
      clock.advance(10 * S);
      hb();
    }
  };
  return { tracker, clock, log, alerts, hb, beatUntil };
}

describe('tracker (virtual clock)', () => {
  it('marks a device DOWN exactly 1.5 heartbeat intervals after its last heartbeat, not before', () => {
    const { tracker, clock, hb } = setup();
    hb();
    clock.advance(14_999);
    expect(tracker.report('dev-1')!.up).toBe(true);
    clock.advance(1);
    expect(tracker.report('dev-1')!.status).toBe('down');
    hb();
    expect(tracker.report('dev-1')!.up).toBe(true);
  });

  it('marks a device DOWN after the configured number of intervals (down-after 3)', () => {
    const { tracker, clock, hb } = setup(undefined, undefined, 3);
    hb();
    clock.advance(29_999);
    expect(tracker.report('dev-1')!.up).toBe(true);
    clock.advance(1);
    expect(tracker.report('dev-1')!.status).toBe('down');
  });

  it('weights availability by time separately over the last hour, day and 30 days', () => {
    const { tracker, clock, beatUntil } = setup();
    beatUntil(3600); // DOWN at 3615 s
    clock.advanceTo(7200 * S);
    beatUntil(257_000); // DOWN at 257 015 s
    clock.advanceTo(257_300 * S);
    beatUntil(259_200); // 3 days
    const r = tracker.report('dev-1')!;
    // outages: 3615-7200 (3585 s, two days ago) and 257 015-257 300 (285 s, in the last hour)
    expect(r.availability.h1).toBe((3600 - 285) / 3600);
    expect(r.availability.d1).toBe((86_400 - 285) / 86_400);
    expect(r.availability.d30).toBe((259_200 - 3870) / 259_200);
    expect(r.mtbfS).toBe((259_200 - 3870) / 2);
    expect(r.mttrS).toBe(3870 / 2);
    expect(r.errorBudgetLeft).toBeCloseTo(1 - 3870 / 2592, 12); // overspent: below 0
    expect(r.burnRate).toBeCloseTo(285 / 3600 / 0.001, 9);
  });

  it('gives exact availability, MTBF, MTTR, error budget and burn rate for a scripted outage', () => {
    const { tracker, clock, beatUntil } = setup();
    beatUntil(600); // last heartbeat at 600 s: DOWN at 615 s (timeout)
    clock.advanceTo(900 * S);
    beatUntil(2000); // UP again at 900 s
    tracker.onAvailability('dev-1', { state: 'offline' }); // DOWN at 2000 s
    clock.advanceTo(2060 * S);
    beatUntil(3000); // UP at 2060 s, still up at 3000 s
    const r = tracker.report('dev-1')!;
    // up: 0-615, 900-2000, 2060-3000 = 2655 s; down: 615-900, 2000-2060 = 345 s
    expect(r.availability.h1).toBe(2655 / 3000);
    expect(r.availability.d1).toBe(2655 / 3000);
    expect(r.availability.d30).toBe(2655 / 3000);
    expect(r.mtbfS).toBe(1327.5);
    expect(r.mttrS).toBe(172.5);
    expect(r.sloTarget).toBe(0.999);
    expect(r.errorBudgetLeft).toBeCloseTo(1 - 345 / 2592, 12); // budget: 0.1 % of 30 days = 2592 s
    expect(r.burnRate).toBeCloseTo(0.115 / 0.001, 9);
    // an hour of heartbeats later the 1 h window is all up; 30 days still hold both outages
    clock.advance(10 * S);
    beatUntil(6600);
    const later = tracker.report('dev-1')!;
    expect(later.availability.h1).toBe(1);
    expect(later.burnRate).toBe(0);
    expect(later.availability.d30).toBe(6255 / 6600);
    expect(later.mtbfS).toBe(6255 / 2);
    expect(later.mttrS).toBe(172.5);
  });

  it('counts lost heartbeats from seq gaps and restarts from boot changes', () => {
    const { tracker, hb } = setup();
    hb('dev-1', { seq: 1, boot: 3 });
    hb('dev-1', { seq: 2, boot: 3 });
    hb('dev-1', { seq: 5, boot: 3 }); // 3 and 4 lost
    hb('dev-1', { seq: 4, boot: 3 }); // late duplicate: not a gap
    hb('dev-1', { seq: 0, boot: 4 }); // restart, seq starts again
    hb('dev-1', { seq: 1, boot: 4 });
    const r = tracker.report('dev-1')!;
    expect(r.heartbeatsReceived).toBe(6);
    expect(r.heartbeatsLost).toBe(2);
    expect(r.restarts).toBe(1);
  });

  it('goes DOWN when availability turns offline or its own bridge goes offline, UP on the next heartbeat', () => {
    const { tracker, hb, alerts } = setup();
    hb('a');
    hb('b');
    tracker.onAvailability('a', { state: 'offline', bridge: 'p1' });
    expect(tracker.report('a')!.status).toBe('down');
    expect(tracker.report('b')!.status).toBe('up');
    tracker.onAvailability('a', { state: 'online', bridge: 'p1' });
    tracker.onAvailability('b', { state: 'online', bridge: 'p1' });
    expect(tracker.report('a')!.status).toBe('down'); // online alone proves nothing: wait for a heartbeat
    hb('a');
    expect(tracker.report('a')!.up).toBe(true);
    tracker.onBridgeState('p1', { state: 'offline' });
    expect(tracker.reports().map((r) => r.status)).toEqual(['down', 'down']);
    expect(alerts.map((a) => `${a.kind} ${a.device}`)).toEqual(['down a', 'up a', 'down a', 'down b']);
    expect(
      tracker
        .history('b')!
        .filter((h) => h.type === 'status')
        .map((h) => h.reason),
    ).toContain('bridge p1 offline');
  });

  it("marks DOWN only the devices of the bridge that went offline; another process's devices stay UP", () => {
    const { tracker, hb, alerts } = setup();
    for (const [id, bridge] of [
      ['a1', 'p1'],
      ['a2', 'p1'],
      ['b1', 'p2'],
      ['c1', undefined],
    ] as const) {
      hb(id);
      tracker.onAvailability(id, { state: 'online', ...(bridge ? { bridge } : {}) });
    }
    tracker.onBridgeState('p2', { state: 'online' });
    tracker.onBridgeState('p1', { state: 'offline' });
    expect(Object.fromEntries(tracker.reports().map((r) => [r.id, r.status]))).toEqual({ a1: 'down', a2: 'down', b1: 'up', c1: 'up' });
    expect(alerts.map((a) => `${a.kind} ${a.device}`)).toEqual(['down a1', 'down a2']);
    // A bridge nobody names takes no device down.
    tracker.onBridgeState('p9', { state: 'offline' });
    expect(tracker.report('b1')!.up).toBe(true);
  });

  it('treats a retained "online" of a device whose bridge already said offline as DOWN (retained messages come in any order)', () => {
    const { tracker, hb } = setup();
    hb('a');
    tracker.onBridgeState('p1', { state: 'offline' });
    expect(tracker.report('a')!.up).toBe(true);
    tracker.onAvailability('a', { state: 'online', bridge: 'p1' });
    expect(tracker.report('a')!.status).toBe('down');
    // The process came back: its bridge says online first, then its devices.
    tracker.onBridgeState('p1', { state: 'online' });
    tracker.onAvailability('a', { state: 'online', bridge: 'p1' });
    hb('a');
    expect(tracker.report('a')!.up).toBe(true);
  });

  it('sends one alert per incident: a DOWN device timing out again or a fault repeated does not alert twice', () => {
    const { tracker, clock, hb, alerts } = setup();
    hb();
    clock.advance(20 * S); // DOWN (timeout)
    tracker.onAvailability('dev-1', { state: 'offline', bridge: 'p1' }); // same incident
    tracker.onBridgeState('p1', { state: 'offline' });
    const fault = { id: 'dev-1', code: 'i30', display: ',30', text: 'leak', severity: 'critical', reset: 'manual', ts: '' } as const;
    tracker.onFault('dev-1', { ...fault, event: 'raised' });
    tracker.onFault('dev-1', { ...fault, event: 'raised' });
    hb('dev-1', { fault: 'i30' }); // UP, fault still the same
    tracker.onFault('dev-1', { ...fault, event: 'cleared' });
    tracker.onFault('dev-1', { ...fault, event: 'cleared' });
    hb('dev-1', { fault: null });
    expect(alerts.map((a) => [a.kind, a.code])).toEqual([
      ['down', null],
      ['fault-raised', 'i30'],
      ['up', null],
      ['fault-cleared', 'i30'],
    ]);
    expect(tracker.report('dev-1')!.activeFault).toBe(null);
  });

  it('does not let a late heartbeat older than a fault event flip the fault back (no cleared + raised pair)', () => {
    const { tracker, hb, alerts } = setup();
    const fault = { id: 'dev-1', code: 'i30', display: ',30', text: 'leak', severity: 'critical', reset: 'manual' } as const;
    hb('dev-1', { ts: '2026-01-01T00:00:00.000Z' });
    tracker.onFault('dev-1', { ...fault, event: 'raised', ts: '2026-01-01T00:00:05.000Z' });
    hb('dev-1', { fault: null, ts: '2026-01-01T00:00:04.900Z' }); // sent before the fault, arrived after it
    expect(tracker.report('dev-1')!.activeFault).toBe('i30');
    hb('dev-1', { fault: 'i30', ts: '2026-01-01T00:00:10.000Z' });
    tracker.onFault('dev-1', { ...fault, event: 'cleared', ts: '2026-01-01T00:00:12.000Z' });
    hb('dev-1', { fault: 'i30', ts: '2026-01-01T00:00:11.900Z' }); // late again
    hb('dev-1', { fault: null, ts: '2026-01-01T00:00:20.000Z' });
    expect(alerts.map((a) => `${a.kind} ${a.code}`)).toEqual(['fault-raised i30', 'fault-cleared i30']);
  });

  it('keeps figures, history and alert state across a restart, and does not alert again for the same incident', () => {
    const log = new MemoryEventLog();
    const clock = new VirtualClock(0);
    const first = setup(log, clock);
    first.beatUntil(100);
    first.tracker.onState('dev-1', {
      state: 'idle',
      breaker: 'tripped',
      valve: 'closed',
      drainPump: 'on',
      leak: true,
      fault: 'i30',
      tripCount: 1,
      uptimeS: 100,
      tubLevelL: null,
      fw: 'x',
      board: 'simulated',
      last_seen: '',
    });
    clock.advance(20 * S); // DOWN at 115 s
    const before = first.tracker.report('dev-1')!;
    const history = first.tracker.history('dev-1')!;
    first.tracker.stop();
    expect(first.alerts.map((a) => a.kind)).toEqual(['fault-raised', 'down']);

    clock.advance(60 * S); // monitor off for a minute: unknown time, neither up nor down
    const second = setup(log, clock);
    const after = second.tracker.report('dev-1')!;
    expect(after.availability).toEqual(before.availability);
    expect(after.mtbfS).toBe(before.mtbfS);
    expect(after.heartbeatsReceived).toBe(before.heartbeatsReceived);
    expect(after.activeFault).toBe('i30');
    expect(after.breaker).toBe('tripped');
    expect(second.tracker.history('dev-1')).toEqual(history);
    // still silent after the restart: DOWN again after 1.5 intervals, but no second alert
    clock.advance(20 * S);
    expect(second.tracker.report('dev-1')!.status).toBe('down');
    expect(second.alerts).toEqual([]);
    second.hb('dev-1', { fault: 'i30' });
    expect(second.alerts.map((a) => a.kind)).toEqual(['up']);
  });

  it('treats time while cut off from the broker as unknown, not DOWN', () => {
    const { tracker, clock, hb, alerts } = setup();
    hb();
    clock.advance(5 * S); // up 5 s
    tracker.onConnection(false);
    clock.advance(100 * S);
    expect(tracker.report('dev-1')!.status).toBe('unknown');
    tracker.onConnection(true);
    clock.advance(14 * S);
    expect(tracker.report('dev-1')!.status).toBe('unknown');
    clock.advance(1 * S);
    expect(tracker.report('dev-1')!.status).toBe('down');
    clock.advance(5 * S); // down 5 s
    expect(tracker.report('dev-1')!.availability.h1).toBe(0.5);
    expect(alerts.map((a) => a.kind)).toEqual(['down']);
  });
});
