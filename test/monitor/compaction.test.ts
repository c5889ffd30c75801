import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock/virtual-clock.js';
import { compactEntries } from '../../src/monitor/compaction.js';
import { MemoryEventLog } from '../../src/monitor/event-log.js';
import { Tracker } from '../../src/monitor/tracker.js';
import type { LogEntry } from '../../src/monitor/types.js';

const S = 1000;

/** Keeps every append in `raw` too, untouched by the compactions each run does at start. */
class RecordingLog extends MemoryEventLog {
  readonly raw: LogEntry[] = [];
  override append(entries: LogEntry | readonly LogEntry[]): void {
    super.append(entries);
    if (Array.isArray(entries)) this.raw.push(...(entries as readonly LogEntry[]));
    else this.raw.push(entries as LogEntry);
  }
}

/** One monitor run on its own clock (an abandoned run's timers must not fire in the next). */
function run(log: MemoryEventLog, startMs: number, compactAfter?: number) {
  const clock = new VirtualClock(startMs);
  const tracker = new Tracker({ clock, log, snapshotMs: S, compactAfter });
  tracker.start();
  const seq = new Map<string, number>();
  const beat = (id: string, boot = id === 'a' && startMs >= 200 * S ? 2 : 1) => {
    const n = (seq.get(id) ?? 0) + 1;
    seq.set(id, n);
    tracker.onHeartbeat(id, { seq: n, boot, uptimeS: n, intervalS: 2, state: 'idle', fault: null, ts: '' });
  };
  /** Heartbeats every 2 s for `s` seconds, from both devices. */
  const beatFor = (s: number) => {
    for (let t = 0; t < s; t += 2) {
      beat('a');
      beat('b');
      clock.advance(2 * S);
    }
  };
  return { clock, tracker, beat, beatFor };
}

/** A replay of `entries` by a fresh tracker at time `now`: what a restarted monitor reports. */
function replayAt(entries: readonly LogEntry[], now: number) {
  const log = new MemoryEventLog();
  log.entries.push(...entries);
  const tracker = new Tracker({ clock: new VirtualClock(now), log, snapshotMs: 0 });
  tracker.start();
  return { reports: tracker.reports(), history: tracker.ids().map((id) => tracker.history(id)) };
}

/** Three runs: a clean one, one that crashes right after a counter snapshot, and one still going. */
function scriptedLog(): { log: RecordingLog; now: number } {
  const log = new RecordingLog();
  const r1 = run(log, 0);
  r1.beatFor(60);
  r1.tracker.onFault('a', { id: 'x', event: 'raised', code: 'i30', display: ',30', text: 'leak', severity: 'critical', reset: 'manual', ts: '' });
  r1.clock.advance(10 * S); // both DOWN after 3 s
  r1.tracker.stop();

  const r2 = run(log, 200 * S);
  r2.beatFor(40); // "a" comes back with boot 2: a restart
  // the monitor crashes (no stop) while both are UP: its last line is a counter snapshot
  expect(log.raw.at(-1)).toMatchObject({ type: 'counters' });
  expect(r2.tracker.reports().map((r) => r.status)).toEqual(['up', 'up']);

  const r3 = run(log, 400 * S);
  r3.beatFor(20);
  return { log, now: r3.clock.now() };
}

describe('event log compaction', () => {
  it('keeps every event and only the last counter snapshot per device', () => {
    const { log } = scriptedLog();
    const compacted = compactEntries(log.raw, { liveRun: true });
    const counters = (l: readonly LogEntry[]) => l.filter((e) => e.type === 'counters');
    expect(counters(log.raw).length).toBeGreaterThan(100);
    expect(
      counters(compacted)
        .map((e) => (e as { id: string }).id)
        .sort(),
    ).toEqual(['a', 'b']);
    const events = (l: readonly LogEntry[]) => l.filter((e) => e.type !== 'counters' && e.type !== 'stop');
    expect(events(compacted)).toEqual(events(log.raw));
    // what the runs themselves left (compacted at each start) is the same history
    expect(events(log.entries)).toEqual(events(log.raw));
  });

  it('replays to the same figures and history as the full log, a crashed run included', () => {
    const { log, now } = scriptedLog();
    const full = replayAt(log.raw, now);
    expect(replayAt(compactEntries(log.raw, { liveRun: false }), now)).toEqual(full);
    expect(replayAt(log.entries, now)).toEqual(full);
    expect(full.reports.find((r) => r.id === 'a')).toMatchObject({ restarts: 1, heartbeatsReceived: 60 });
    expect(full.history[0]).toContainEqual(expect.objectContaining({ type: 'fault', event: 'raised', code: 'i30' }));
    // the crashed run ended at its last line: the time after it is unknown, not up
    expect(full.reports[0]!.availability.h1).toBeLessThan(1);
  });

  it('closes a crashed run explicitly and leaves the live run open', () => {
    const entries: LogEntry[] = [
      { type: 'start', t: 0 },
      { type: 'counters', t: 5, id: 'a', received: 1, lost: 0, lastSeen: 5, intervalS: 1, boot: 1, breaker: null, state: null },
      { type: 'start', t: 9 },
      { type: 'counters', t: 12, id: 'a', received: 2, lost: 0, lastSeen: 12, intervalS: 1, boot: 1, breaker: null, state: null },
    ];
    expect(compactEntries(entries, { liveRun: true }).map((e) => `${e.type}@${e.t}`)).toEqual(['start@0', 'stop@5', 'start@9', 'counters@12']);
    expect(compactEntries(entries, { liveRun: false }).map((e) => `${e.type}@${e.t}`)).toEqual(['start@0', 'stop@5', 'start@9', 'counters@12', 'stop@12']);
  });

  it('compacts while running, so a monitor that runs for long keeps a bounded log', () => {
    const log = new MemoryEventLog();
    const r = run(log, 0, 100);
    r.beatFor(2000); // 2 devices x 1000 heartbeats, a counter snapshot every second
    expect(log.entries.length).toBeLessThan(150);
    r.tracker.stop();
    const restarted = replayAt(log.entries, r.clock.now());
    expect(restarted.reports.map((x) => x.heartbeatsReceived)).toEqual([1000, 1000]);
  });
});
