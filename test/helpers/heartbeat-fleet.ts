/**
 * A fleet of heartbeat senders against the monitor's real Tracker on one virtual clock, for the
 * failure-detector tests and bench: no MQTT, no wall time, the same seed gives the same run.
 *
 * Each device comes online at a seeded moment within its first interval (as fleets start,
 * sim/fleet-start.ts), then sends a heartbeat every `intervalS`; each one is delivered after a
 * delay drawn from `delay` (in intervals), in order (a later heartbeat never overtakes an
 * earlier one, as on one TCP connection). With `outages`, each device dies once at a seeded
 * moment in the middle half of the run and comes back `outageS` later as a new boot.
 *
 * A DOWN is *true* when it falls in an outage (from the last heartbeat delivered before the
 * death to the first one after it); its latency is counted from that last heartbeat. Every
 * other DOWN is false.
 */
import { VirtualClock } from '../../src/clock/virtual-clock.js';
import { Rng } from '../../sim/rng.js';
import type { DetectorPolicy } from '../../src/monitor/detector.js';
import type { EventLog } from '../../src/monitor/event-log.js';
import { Tracker } from '../../src/monitor/tracker.js';
import type { LogEntry } from '../../src/monitor/types.js';

/** Delivery delay of one heartbeat, in heartbeat intervals. */
export type DelayModel =
  | { readonly kind: 'none' }
  /** Uniform in [0, spread) intervals: jitter of ±spread/2 around spread/2. */
  | { readonly kind: 'uniform'; readonly spread: number }
  /** None, except that with probability `p` a heartbeat is held `pause` intervals (a stall: Wi-Fi retries, a GC pause). */
  | { readonly kind: 'stalls'; readonly p: number; readonly pause: number };

export interface FleetRunOptions {
  readonly devices: number;
  readonly hours: number;
  readonly intervalS: number;
  readonly delay: DelayModel;
  readonly detector: Partial<DetectorPolicy>;
  readonly seed: number;
  readonly outages?: boolean;
  readonly outageS?: number;
  /** Called for every DOWN, true or false (for tests that look closer). */
  readonly onDown?: (down: DownEvent) => void;
}

export interface DownEvent {
  readonly id: string;
  readonly at: number;
  readonly reason: string;
  /** ms since the device's last heartbeat delivered. */
  readonly sinceLastMs: number;
  readonly truly: boolean;
  /** Which rule set the deadline, from the reason: phi, phi while it learns (never earlier than the fixed rule), or the fixed multiple. */
  readonly rule: 'phi' | 'learning' | 'fixed';
  /** Heartbeats of this boot delivered before it. */
  readonly heartbeatsBefore: number;
}

export interface FleetRunResult {
  readonly heartbeats: number;
  readonly deviceHours: number;
  readonly falseDowns: number;
  /** Of those, while phi learned a device (too few samples yet: the fixed rule or later), or by the fixed rule itself. */
  readonly falseDownsWhileLearning: number;
  /** DOWN latency of each true DOWN, in heartbeat intervals since the last heartbeat delivered. */
  readonly latencies: number[];
  /** Outages that ended without a DOWN (missed). */
  readonly missed: number;
}

interface Device {
  readonly id: string;
  boot: number;
  seq: number;
  /** Send time of the next heartbeat. */
  nextSend: number;
  lastDelivered: number;
  /** Heartbeats of this boot delivered so far. */
  delivered: number;
  /** Delivery time of the last heartbeat scheduled (FIFO). */
  lastScheduled: number;
  deathAt: number;
  backAt: number;
  /** In an outage: from the last delivery before the death until the first delivery after it. */
  out: boolean;
  downInOutage: boolean;
}

/** A history that keeps nothing but tells `onStatus` of every status change. */
class StatusTap implements EventLog {
  readonly skipped = 0;
  constructor(private readonly onStatus: (e: Extract<LogEntry, { type: 'status' }>) => void) {}
  replay(): LogEntry[] {
    return [];
  }
  append(entries: LogEntry | readonly LogEntry[]): void {
    for (const e of Array.isArray(entries) ? (entries as readonly LogEntry[]) : [entries as LogEntry]) if (e.type === 'status') this.onStatus(e);
  }
  rewrite(): void {}
}

export function runHeartbeatFleet(o: FleetRunOptions): FleetRunResult {
  const clock = new VirtualClock(0);
  const rng = new Rng(o.seed);
  const I = o.intervalS * 1000;
  const endMs = o.hours * 3_600_000;
  const outageMs = (o.outageS ?? 600) * 1000;
  const devices = new Map<string, Device>();
  let falseDowns = 0;
  let falseDownsWhileLearning = 0;
  let missed = 0;
  const latencies: number[] = [];
  let heartbeats = 0;

  const tracker = new Tracker({
    clock,
    log: new StatusTap((e) => {
      if (e.status !== 'down') return;
      const d = devices.get(e.id)!;
      const truly = d.out;
      const rule = e.reason.includes('learning') ? 'learning' : e.reason.includes('phi') ? 'phi' : 'fixed';
      if (truly && !d.downInOutage) {
        d.downInOutage = true;
        latencies.push((e.t - d.lastDelivered) / I);
      } else if (!truly) {
        falseDowns++;
        if (rule !== 'phi') falseDownsWhileLearning++;
      }
      o.onDown?.({ id: e.id, at: e.t, reason: e.reason, sinceLastMs: e.t - d.lastDelivered, truly, rule, heartbeatsBefore: d.delivered });
    }),
    snapshotMs: 0,
    housekeepingMs: 0,
    maxDevices: Math.max(o.devices, 1),
    downAfter: o.detector.downAfter,
    detector: o.detector,
  });
  tracker.start();

  const delayOf = (): number => {
    const m = o.delay;
    if (m.kind === 'uniform') return rng.next() * m.spread * I;
    if (m.kind === 'stalls') return rng.next() < m.p ? m.pause * I : 0;
    return 0;
  };

  const schedule = (d: Device): void => {
    // Past the death the device is silent until it is back (a new boot, seq from 0).
    if (d.nextSend >= d.deathAt && d.nextSend < d.backAt) {
      d.nextSend = d.backAt;
      d.boot++;
      d.seq = 0;
    }
    if (d.nextSend > endMs) return;
    const at = Math.max(d.lastScheduled, d.nextSend + delayOf());
    d.lastScheduled = at;
    const seq = d.seq++;
    const boot = d.boot;
    const dying = d.nextSend + I >= d.deathAt && d.nextSend < d.deathAt;
    d.nextSend += I;
    clock.setTimeout(() => {
      // The first heartbeat after an outage closes it; the last one before the death opens one.
      if (d.out) {
        if (!d.downInOutage) missed++;
        d.out = false;
      }
      if (dying) {
        d.out = true;
        d.downInOutage = false;
      }
      d.lastDelivered = clock.now();
      d.delivered = seq === 0 ? 1 : d.delivered + 1;
      heartbeats++;
      tracker.onHeartbeat(d.id, { seq, boot, uptimeS: 0, intervalS: o.intervalS, state: 'idle', fault: null, ts: '' });
      schedule(d);
    }, at - clock.now());
  };

  for (let i = 0; i < o.devices; i++) {
    const online = Math.floor(rng.next() * I);
    const deathAt = o.outages ? Math.floor(endMs / 4 + rng.next() * (endMs / 2)) : Infinity;
    const d: Device = {
      id: `dev-${i}`,
      boot: 1,
      seq: 0,
      nextSend: online,
      lastDelivered: 0,
      delivered: 0,
      lastScheduled: 0,
      deathAt,
      backAt: deathAt + outageMs,
      out: false,
      downInOutage: false,
    };
    devices.set(d.id, d);
    schedule(d);
  }
  clock.advanceTo(endMs);
  tracker.stop();
  return { heartbeats, deviceHours: o.devices * o.hours, falseDowns, falseDownsWhileLearning, latencies, missed };
}

/** p50, p95 and max of `xs` (nearest rank), rounded to 3 decimals; nulls when empty. */
export function percentiles(xs: readonly number[]): { p50: number | null; p95: number | null; max: number | null } {
  if (xs.length === 0) return { p50: null, p95: null, max: null };
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => Math.round(s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]! * 1000) / 1000;
  return { p50: at(0.5), p95: at(0.95), max: at(1) };
}
