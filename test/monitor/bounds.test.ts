/**
 * Nothing the monitor keeps grows without bound (issue #10): flapping alerts are damped,
 * history past the retention is dropped, silent devices are forgotten, the number of devices
 * is capped, and the log stays proportional to what is live. Virtual clock, in-memory log.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock/virtual-clock.js';
import { FileEventLog, MemoryEventLog, type EventLog } from '../../src/monitor/event-log.js';
import { Tracker, type TrackerOptions } from '../../src/monitor/tracker.js';
import type { Alert, LogEntry } from '../../src/monitor/types.js';
import type { PayloadOf } from '../../src/protocol/topics.js';
import { deviceState } from '../helpers/device-state.js';

const S = 1000;
const MIN = 60 * S;
const HOUR = 60 * MIN;

function setup<L extends EventLog = MemoryEventLog>(options: Partial<TrackerOptions> = {}, log: L = new MemoryEventLog() as unknown as L, clock = new VirtualClock(0)) {
  const alerts: Alert[] = [];
  const tracker = new Tracker({ clock, log, alerts: { send: (a) => alerts.push(a) }, snapshotMs: 0, ...options });
  tracker.start();
  const seq = new Map<string, number>();
  const hb = (id = 'dev-1', over: Partial<PayloadOf<'heartbeat'>> = {}) => {
    const n = (seq.get(id) ?? 0) + 1;
    seq.set(id, n);
    tracker.onHeartbeat(id, { seq: n, boot: 1, uptimeS: n, intervalS: 10, state: 'idle', fault: null, ts: '', ...over });
  };
  /** One flap: UP on a heartbeat, DOWN 15 s later (1.5 x 10 s), the next heartbeat 5 s after that. */
  const flap = (id = 'dev-1') => {
    hb(id);
    clock.advance(20 * S);
  };
  /** Heartbeats every 10 s for `ms`. */
  const steady = (ms: number, id = 'dev-1') => {
    for (let t = 0; t < ms; t += 10 * S) {
      hb(id);
      clock.advance(10 * S);
    }
  };
  const kinds = () => alerts.map((a) => a.kind);
  return { tracker, clock, log, alerts, hb, flap, steady, kinds };
}

const fault = { id: 'x', event: 'raised', code: 'i30', display: ',30', text: 'leak', severity: 'critical', reset: 'manual', ts: '' } as const;
const ids = (entries: readonly LogEntry[]) => new Set(entries.flatMap((e) => ('id' in e ? [e.id] : [])));

describe('flapping', () => {
  it('sends one "flapping" alert for 10,000 flaps instead of an UP and a DOWN for each', () => {
    const { tracker, flap, steady, kinds } = setup();
    for (let i = 0; i < 10_000; i++) flap();
    // changes 1-5 alert as usual, the 6th within 10 min makes the device flapping
    expect(kinds()).toEqual(['down', 'up', 'down', 'up', 'down', 'flapping']);
    expect(tracker.report('dev-1')!.flapping).toBe(true);
    // every change is still recorded: availability stays exact (UP 15 s of every 20 s)
    expect(tracker.report('dev-1')!.availability.h1).toBeCloseTo(15 / 20, 2);
    steady(16 * MIN); // stable UP for the quiet period
    expect(kinds().slice(6)).toEqual(['flapping-ended', 'up']);
    expect(tracker.report('dev-1')!.flapping).toBe(false);
  });

  it('leaves the flapping state only after the quiet period, and pages a device that stopped flapping by dying', () => {
    const { tracker, clock, flap, alerts, kinds } = setup({ flap: { changes: 4, windowMs: 5 * MIN, quietMs: 10 * MIN } });
    for (let i = 0; i < 3; i++) flap();
    expect(kinds()).toEqual(['down', 'up', 'down', 'flapping']);
    // changes at 15, 20, 35, 40 (flapping), 55 s (DOWN, silent from then on): quiet from 55 s
    clock.advanceTo(55 * S + 10 * MIN - 1);
    expect(tracker.report('dev-1')!.flapping).toBe(true);
    clock.advance(1);
    expect(tracker.report('dev-1')!.flapping).toBe(false);
    // its DOWN was already alerted (third change) and never resolved: the one incident goes on
    expect(kinds().slice(4)).toEqual(['flapping-ended']);
    expect(alerts.at(-1)!.reason).toMatch(/now DOWN/);
  });

  it('pages DOWN after the quiet period when the last alert before flapping was UP', () => {
    const { clock, hb, flap, kinds } = setup({ flap: { changes: 3, windowMs: 5 * MIN, quietMs: 10 * MIN } });
    flap(); // DOWN (alerted)
    hb(); // UP (alerted)
    clock.advance(15 * S); // DOWN: third change, flapping instead of "down"
    expect(kinds()).toEqual(['down', 'up', 'flapping']);
    clock.advance(10 * MIN);
    expect(kinds()).toEqual(['down', 'up', 'flapping', 'flapping-ended', 'down']);
  });

  it('does not count changes older than the window', () => {
    const { flap, clock, kinds } = setup({ flap: { changes: 4, windowMs: 5 * MIN, quietMs: 10 * MIN } });
    for (let i = 0; i < 20; i++) {
      flap(); // two changes 15 s apart...
      clock.advance(5 * MIN); // ...every 5 min 20 s: never more than 2 within 5 min
    }
    expect(kinds().filter((k) => k === 'flapping')).toEqual([]);
    expect(kinds().length).toBe(39); // every change but the first UP
  });

  it('counts changes folded away by the retention when the flap window is longer than it', () => {
    const log = new MemoryEventLog();
    const clock = new VirtualClock(0);
    const opts = { retentionMs: HOUR, housekeepingMs: 5 * MIN, flap: { changes: 6, windowMs: 3 * HOUR, quietMs: 10 * MIN } };
    const first = setup(opts, log, clock);
    first.flap();
    first.flap(); // changes at 15, 20, 35 s
    first.hb(); // 40 s: the 4th
    clock.advance(10 * S);
    first.steady(70 * MIN); // stable: the changes are now past the retention
    first.tracker.stop();
    const second = setup(opts, log, clock);
    expect(log.entries.filter((e) => e.type === 'status' && e.t < HOUR)).toEqual([]);
    second.hb();
    clock.advance(20 * S); // the 5th change (DOWN)
    second.hb(); // the 6th (UP) within 3 h: flapping
    expect(second.kinds()).toEqual(['down', 'flapping']);
  });

  it('keeps the flapping state across a monitor restart: no second "flapping" alert, the quiet period still ends it', () => {
    const log = new MemoryEventLog();
    const clock = new VirtualClock(0);
    const first = setup({}, log, clock);
    for (let i = 0; i < 10; i++) first.flap();
    first.tracker.stop();
    expect(first.kinds()).toEqual(['down', 'up', 'down', 'up', 'down', 'flapping']);
    const second = setup({}, log, clock);
    expect(second.tracker.report('dev-1')!.flapping).toBe(true);
    for (let i = 0; i < 10; i++) second.flap();
    expect(second.kinds()).toEqual([]);
    second.steady(16 * MIN);
    expect(second.kinds()).toEqual(['flapping-ended', 'up']);
  });
});

describe('retention', () => {
  it('drops events older than the retention at compaction but keeps what they left: status, fault, alert state, totals', () => {
    const log = new MemoryEventLog();
    const clock = new VirtualClock(0);
    const first = setup({ retentionMs: 2 * HOUR, housekeepingMs: 10 * MIN }, log, clock);
    first.hb('old');
    first.tracker.onFault('old', fault);
    first.hb('old', { boot: 2, fault: 'i30' }); // a restart
    clock.advance(20 * S); // DOWN, alerted
    first.steady(3 * HOUR, 'live'); // "old" stays silent
    expect(first.kinds()).toEqual(['fault-raised', 'down']);
    first.tracker.stop();
    // compaction at the next start: nothing older than now - 2 h is an event any more
    const second = setup({ retentionMs: 2 * HOUR, housekeepingMs: 10 * MIN }, log, clock);
    const cutoff = clock.now() - 2 * HOUR;
    const events = log.entries.filter((e) => e.type !== 'counters' && e.type !== 'baseline' && e.type !== 'cap');
    expect(events.filter((e) => e.t < cutoff)).toEqual([]);
    // "old" was last heard more than 2 h ago: forgotten, in memory and on disk
    expect(second.tracker.report('old')).toBeNull();
    expect(ids(log.entries).has('old')).toBe(false);
    expect(second.tracker.report('live')).toMatchObject({ status: 'unknown', heartbeatsReceived: 1080 });
  });

  it('keeps a silent DOWN device with a fault through compaction: same status, fault and totals, and no second alert', () => {
    const log = new MemoryEventLog();
    const clock = new VirtualClock(0);
    const opts = { retentionMs: 4 * HOUR, housekeepingMs: 10 * MIN };
    const first = setup(opts, log, clock);
    first.hb('dev-1');
    first.tracker.onFault('dev-1', fault);
    first.hb('dev-1', { boot: 2, fault: 'i30' });
    clock.advance(20 * S);
    // heard from by retained state now and then (availability offline), so not forgotten
    for (let h = 0; h < 8; h++) {
      clock.advance(HOUR);
      first.tracker.onAvailability('dev-1', { state: 'offline' });
    }
    const before = first.tracker.report('dev-1')!;
    first.tracker.stop();
    const second = setup(opts, log, clock);
    // the fault and the restart happened 8 h ago: past the retention, gone as events
    expect(log.entries.filter((e) => e.type === 'fault' || e.type === 'restart')).toEqual([]);
    const after = second.tracker.report('dev-1')!;
    // DOWN until the stop, unknown since (the monitor was not watching)
    expect(after).toMatchObject({ status: 'unknown', activeFault: 'i30', restarts: 1, heartbeatsReceived: 2 });
    expect(after.availability.h1).toBe(before.availability.h1);
    // a window longer than the retention covers only the retained time: the first 15 s UP are gone
    expect(before.availability.d1).toBeGreaterThan(0);
    expect(after.availability.d1).toBe(0);
    expect(second.tracker.faultCounts()).toEqual([{ id: 'dev-1', code: 'i30', count: 1 }]);
    second.tracker.onAvailability('dev-1', { state: 'offline' });
    clock.advance(HOUR);
    expect(second.kinds()).toEqual([]); // still the same incident
    second.hb('dev-1', { boot: 2, fault: 'i30' });
    expect(second.kinds()).toEqual(['up']);
  });

  it('forgets a device not heard from for the retention, and not a moment before', () => {
    const { tracker, clock, hb, log } = setup({ retentionMs: 2 * HOUR, housekeepingMs: MIN });
    hb('once');
    clock.advance(2 * HOUR - MIN);
    expect(tracker.report('once')).not.toBeNull();
    tracker.onState('once', deviceState({ last_seen: '' })); // heard again: the retention counts from here
    clock.advance(2 * HOUR - MIN);
    expect(tracker.report('once')).not.toBeNull();
    clock.advance(2 * MIN);
    expect(tracker.report('once')).toBeNull();
    expect(tracker.ids()).toEqual([]);
    tracker.compact();
    expect(ids(log.entries).has('once')).toBe(false);
  });

  it('a retained message is no news: it brings back no device silent past the retention, and keeps none alive', () => {
    const t0 = Date.parse('2026-11-29T00:00:00Z');
    const { tracker, clock, hb } = setup({ retentionMs: 2 * HOUR, housekeepingMs: MIN }, new MemoryEventLog(), new VirtualClock(t0));
    const state = (lastSeen: number) => deviceState({ last_seen: new Date(lastSeen).toISOString() });
    // a dead device's retained state, last seen just over the retention ago: not tracked,
    // whichever order the broker delivers its retained messages in
    tracker.onState('gone', state(clock.now() - 2 * HOUR - S), true);
    tracker.onAvailability('gone', { state: 'offline' }, true);
    expect(tracker.report('gone')).toBeNull();
    tracker.onAvailability('gone-too', { state: 'offline' }, true);
    tracker.onState('gone-too', state(clock.now() - 2 * HOUR - S), true);
    expect(tracker.report('gone-too')).toBeNull();
    expect(tracker.ids()).toEqual([]);
    // one last seen inside the retention is tracked, counted from its own time, not from now
    tracker.onState('quiet', state(clock.now() - HOUR), true);
    expect(tracker.report('quiet')).not.toBeNull();
    clock.advance(HOUR + MIN);
    expect(tracker.report('quiet')).toBeNull();
    // a retained state from the future (a simulator's virtual time) counts as now, not later
    tracker.onState('ahead', state(clock.now() + 1000 * HOUR), true);
    clock.advance(2 * HOUR + MIN);
    expect(tracker.report('ahead')).toBeNull();
    // a live device: retained messages redelivered (a monitor reconnect) do not keep it alive
    hb('live');
    clock.advance(HOUR);
    tracker.onAvailability('live', { state: 'offline' }, true);
    tracker.onState('live', state(clock.now() - HOUR), true);
    clock.advance(HOUR + MIN);
    expect(tracker.report('live')).toBeNull();
  });

  it('keeps the log proportional to live state while a device flaps for days (superseded snapshots counted while running)', () => {
    const { flap, log, tracker } = setup({ retentionMs: 2 * HOUR, housekeepingMs: 10 * MIN, compactAfter: 200 });
    const sizes: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      flap(); // 20 s per flap: 4.6 days
      if (i % 1000 === 999) sizes.push(log.entries.length);
    }
    // 2 h of flaps is 360 flaps, 2 status lines each; counters and older flaps are dropped
    const live = 2 * 360 * 2;
    expect(Math.max(...sizes)).toBeLessThan(2 * live + 200 + 100);
    expect(tracker.diskLines().lines).toBe(log.entries.length);
  });
});

describe('compaction while running', () => {
  it('counts every superseded line it writes: snapshots written with events, and a forgotten device', () => {
    const { tracker, log, flap, clock, hb } = setup({ compactAfter: 1e9, snapshotMs: 1000, retentionMs: 2 * HOUR, housekeepingMs: MIN });
    for (let i = 0; i < 50; i++) flap();
    hb('other');
    const actual = () => {
      const counters = log.entries.filter((e) => e.type === 'counters');
      const gone = log.entries.filter((e) => 'id' in e && !tracker.ids().includes(e.id));
      return counters.length - new Set(counters.map((e) => (e as { id: string }).id)).size + gone.length;
    };
    expect(tracker.diskLines()).toEqual({ lines: log.entries.length, superseded: actual() });
    expect(actual()).toBeGreaterThan(90);
    clock.advance(2 * HOUR + MIN); // both forgotten
    expect(tracker.ids()).toEqual([]);
    expect(tracker.diskLines()).toEqual({ lines: log.entries.length, superseded: actual() });
    tracker.compact();
    expect(log.entries.filter((e) => 'id' in e)).toEqual([]);
    expect(tracker.diskLines()).toEqual({ lines: log.entries.length, superseded: 0 });
  });
});

describe('history file', () => {
  it('after compactions with a retention and a crash (no stop), a restart has the same figures, flapping state and alert state', () => {
    const dir = mkdtempSync(join(tmpdir(), 'aquastop-bounds-'));
    try {
      const clock = new VirtualClock(0);
      const opts = { retentionMs: HOUR, housekeepingMs: 5 * MIN, compactAfter: 50, snapshotMs: 1000 };
      const first = setup(opts, new FileEventLog(dir), clock);
      for (let i = 0; i < 600; i++) first.flap(); // 3 h 20 min
      first.hb(); // the last line is now
      const before = first.tracker.report('dev-1')!;
      expect(first.tracker.bounds.compactions).toBeGreaterThan(10);
      // crash: no stop, the file as it is
      const log = new FileEventLog(dir);
      const events = log.replay().filter((e) => e.type !== 'counters' && e.type !== 'baseline' && e.type !== 'start');
      expect(events.every((e) => e.t >= clock.now() - HOUR - HOUR / 30 - 5 * MIN)).toBe(true);
      const second = setup(opts, log, clock);
      const after = second.tracker.report('dev-1')!;
      // figures over windows inside the retention (1 h) are exact; d1/d30 cover only the retained time
      const inRetention = ({ availability, burnRate, heartbeatsReceived, heartbeatsLost, restarts, activeFault, lastSeen, flapping }: typeof before) => ({
        h1: availability.h1,
        burnRate,
        heartbeatsReceived,
        heartbeatsLost,
        restarts,
        activeFault,
        lastSeen,
        flapping,
      });
      expect(inRetention(after)).toEqual(inRetention(before));
      // the crashed run ended at its last line: the restart knows it did not watch since
      expect(after.status).toBe('unknown');
      expect(after.flapping).toBe(true);
      second.steady(16 * MIN);
      expect(second.kinds()).toEqual(['flapping-ended', 'up']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('device cap', () => {
  /** Three devices at the cap: one DOWN, one with a fault, one healthy. */
  function full() {
    const t = setup({ maxDevices: 3 });
    t.hb('down-1');
    t.clock.advance(20 * S); // down-1 DOWN (alerted)
    t.hb('fault-1');
    t.tracker.onFault('fault-1', fault);
    t.clock.advance(S);
    t.hb('healthy-1'); // heard from last of the three
    expect(t.kinds()).toEqual(['down', 'fault-raised', 'device-cap']);
    return t;
  }

  it('alerts once when the cap is reached and makes room by dropping the healthy device, never a DOWN or faulted one', () => {
    const t = full();
    t.hb('new-1');
    expect(t.tracker.ids()).toEqual(['down-1', 'fault-1', 'new-1']);
    expect(t.tracker.bounds.evicted).toBe(1);
    expect(t.kinds().filter((k) => k === 'device-cap')).toHaveLength(1);
  });

  it('refuses new ids when every tracked device is DOWN or has an open incident, and counts them', () => {
    const t = full();
    t.tracker.onFault('healthy-1', fault); // now no device is healthy
    t.hb('new-1');
    t.hb('new-2');
    expect(t.tracker.ids()).toEqual(['down-1', 'fault-1', 'healthy-1']);
    expect(t.tracker.bounds).toMatchObject({ refused: 2, evicted: 0 });
    expect(t.kinds().filter((k) => k === 'device-cap')).toHaveLength(1);
  });

  it('drops the healthy device heard from longest ago first', () => {
    const t = setup({ maxDevices: 3 });
    t.hb('a');
    t.clock.advance(S);
    t.hb('b');
    t.clock.advance(S);
    t.hb('c');
    t.clock.advance(S);
    t.hb('a'); // a heard again: b is now the longest silent
    t.hb('d');
    expect(t.tracker.ids()).toEqual(['a', 'c', 'd']);
  });

  it('alerts again only after the count fell below 90 % of the cap, also across a restart', () => {
    const log = new MemoryEventLog();
    const clock = new VirtualClock(0);
    const opts = { maxDevices: 10, retentionMs: 2 * HOUR, housekeepingMs: MIN };
    const first = setup(opts, log, clock);
    const capAlerts = (t: { alerts: Alert[] }) => t.alerts.filter((a) => a.kind === 'device-cap').map((a) => a.device);
    for (let i = 0; i < 12; i++) first.hb(`d${i}`);
    expect(capAlerts(first)).toEqual(['d9']);
    clock.advance(2 * MIN); // housekeeping runs with the cap still full: the episode goes on
    first.hb('d10');
    expect(capAlerts(first)).toEqual(['d9']);
    first.tracker.stop();
    const second = setup(opts, log, clock);
    second.hb('d12');
    expect(capAlerts(second)).toEqual([]); // the same episode
    clock.advance(2 * HOUR + MIN); // every device forgotten: the episode ends
    for (let i = 20; i < 30; i++) second.hb(`d${i}`);
    expect(capAlerts(second)).toEqual(['d29']);
  });
});
