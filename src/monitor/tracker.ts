/**
 * The fleet tracker: turns validated MQTT payloads into device status, counters, history and
 * alerts. No MQTT, HTTP or files here: messages come in through the `on*` methods, history goes
 * to an {@link EventLog}, alerts to an {@link AlertSink}, time from the injected {@link Clock}.
 *
 * Contract:
 * - A heartbeat makes a device UP (and sets its expected interval from `intervalS`); it goes DOWN
 *   when no heartbeat arrives for `downAfter` x intervalS, when its availability turns offline,
 *   or when the bridge state goes offline.
 * - seq gaps within one boot count as lost heartbeats; a changed boot counts as a restart.
 * - Every change is appended to the log before anything else happens (alert, figures), with the
 *   device's counters in the same write, so a crash right after an event loses nothing of it.
 * - Counters of devices that sent heartbeats are snapshotted every `snapshotMs`; superseded
 *   snapshots are compacted away at start and whenever enough have piled up (compaction.ts).
 * - DOWN/UP and fault raised/cleared alerts are sent once per incident, also across restarts
 *   (the last alerted status and fault are in the log; the rules are in incidents.ts).
 * - `start()` replays the log; `stop()` snapshots counters and records the stop.
 */
import type { Clock } from '../board/clock.js';
import type { PayloadOf } from '../telemetry/topics.js';
import { compactEntries, compactionSaving } from './compaction.js';
import { DeviceRecord } from './device.js';
import { faultChange, statusChange } from './incidents.js';
import type { EventLog } from './event-log.js';
import type { Alert, DeviceReport, FaultCode, HistoryItem, LogEntry } from './types.js';

export interface AlertSink {
  send(alert: Alert): void;
}

export interface TrackerOptions {
  readonly clock: Clock;
  readonly log: EventLog;
  readonly alerts?: AlertSink;
  /** DOWN after this many heartbeat intervals without one (default 1.5). */
  readonly downAfter?: number;
  /** SLO target as a ratio, default 0.999. */
  readonly sloTarget?: number;
  /** How often counters are snapshotted to the log, ms (default 1000; 0 = only at stop). */
  readonly snapshotMs?: number;
  /** Compact the log once this many counter snapshots were appended (default: max(10 000, 10 x devices)). */
  readonly compactAfter?: number;
}

type Heartbeat = PayloadOf<'heartbeat'>;

export class Tracker {
  private readonly devices = new Map<string, DeviceRecord>();
  private readonly clock: Clock;
  private readonly log: EventLog;
  private readonly alerts: AlertSink | undefined;
  readonly downAfter: number;
  readonly sloTarget: number;
  private readonly snapshotMs: number;
  private snapshotTimer: unknown = null;
  private running = false;
  private readonly compactAfter: number | undefined;
  /** Counter snapshots appended since the last compaction. */
  private countersSinceCompaction = 0;

  constructor(options: TrackerOptions) {
    this.clock = options.clock;
    this.log = options.log;
    this.alerts = options.alerts;
    this.downAfter = options.downAfter ?? 1.5;
    this.sloTarget = options.sloTarget ?? 0.999;
    this.snapshotMs = options.snapshotMs ?? 1000;
    this.compactAfter = options.compactAfter;
  }

  /** Replays the history, records this start and arms the DOWN deadlines of known devices. */
  start(): void {
    let lastT: number | null = null;
    let open = false;
    const recorded = this.log.replay();
    for (const e of recorded) {
      if (e.type === 'start' || e.type === 'stop') {
        // A run that ended without "stop" (crash) ended at its last line.
        if (e.type === 'start' && open && lastT !== null) this.allUnknown(lastT);
        if (e.type === 'stop') this.allUnknown(e.t);
        open = e.type === 'start';
      } else {
        this.device(e.id).apply(e);
      }
      lastT = lastT === null ? e.t : Math.max(lastT, e.t);
    }
    if (open && lastT !== null) this.allUnknown(lastT);
    if (compactionSaving(recorded) > 0) this.log.rewrite(compactEntries(recorded, { liveRun: false }));
    this.running = true;
    this.log.append({ type: 'start', t: this.clock.now() });
    for (const d of this.devices.values()) this.arm(d);
    this.scheduleSnapshot();
  }

  /** Snapshots counters, records the stop, cancels timers. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    if (this.snapshotTimer !== null) this.clock.clearTimeout(this.snapshotTimer);
    this.snapshotTimer = null;
    this.snapshot(true);
    const now = this.clock.now();
    this.log.append({ type: 'stop', t: now });
    for (const d of this.devices.values()) {
      this.disarm(d);
      d.timeline.record(now, 'unknown');
    }
  }

  onHeartbeat(id: string, hb: Heartbeat): void {
    const d = this.device(id);
    const now = this.clock.now();
    if (d.boot !== null && hb.boot !== d.boot) {
      this.commit(d, { type: 'restart', t: now, id, boot: hb.boot });
      d.lastSeq = null;
      d.faultTs = null; // a new boot may start its clock anew
    } else if (d.boot === null) {
      d.boot = hb.boot;
    }
    if (d.lastSeq !== null && hb.seq > d.lastSeq + 1) d.lost += hb.seq - d.lastSeq - 1;
    if (d.lastSeq === null || hb.seq > d.lastSeq) d.lastSeq = hb.seq;
    d.received++;
    d.lastSeen = now;
    d.intervalS = hb.intervalS;
    d.state = hb.state;
    d.dirty = true;
    if (d.timeline.status !== 'up') this.setStatus(d, 'up', 'heartbeat');
    this.reportFault(d, hb.fault, hb.ts);
    this.arm(d);
  }

  onAvailability(id: string, payload: PayloadOf<'availability'>): void {
    const d = this.device(id);
    if (payload.state === 'offline') {
      this.disarm(d);
      this.setStatus(d, 'down', 'availability offline');
    }
  }

  onBridgeState(payload: PayloadOf<'bridgeState'>): void {
    if (payload.state !== 'offline') return;
    for (const d of this.devices.values()) {
      if (d.timeline.status === 'down') continue;
      this.disarm(d);
      this.setStatus(d, 'down', 'bridge offline');
    }
  }

  onState(id: string, s: PayloadOf<'state'>): void {
    const d = this.device(id);
    if (d.breaker !== s.breaker || d.state !== s.state) d.dirty = true;
    d.breaker = s.breaker;
    d.state = s.state;
    this.reportFault(d, s.fault, s.last_seen);
  }

  onFault(id: string, f: PayloadOf<'fault'>): void {
    const d = this.device(id);
    if (f.event === 'raised') this.reportFault(d, f.code, f.ts);
    else if (d.activeFault === f.code) this.reportFault(d, null, f.ts);
  }

  /**
   * The monitor lost (false) or regained (true) the broker: while cut off nothing is judged
   * (every device is "unknown", no deadline runs); on return deadlines restart from now.
   */
  onConnection(connected: boolean): void {
    for (const d of this.devices.values()) {
      if (connected) this.arm(d);
      else {
        this.disarm(d);
        if (d.timeline.status !== 'unknown') this.setStatus(d, 'unknown', 'monitor disconnected');
      }
    }
  }

  ids(): string[] {
    return [...this.devices.keys()].sort();
  }

  report(id: string): DeviceReport | null {
    return this.devices.get(id)?.report(this.clock.now(), this.sloTarget) ?? null;
  }

  reports(): DeviceReport[] {
    const now = this.clock.now();
    return this.ids().map((id) => this.devices.get(id)!.report(now, this.sloTarget));
  }

  history(id: string): HistoryItem[] | null {
    return this.devices.get(id)?.historyItems() ?? null;
  }

  /** Faults raised per device and code (from the whole recorded history). */
  faultCounts(): Array<{ id: string; code: FaultCode; count: number }> {
    const out: Array<{ id: string; code: FaultCode; count: number }> = [];
    for (const d of this.devices.values()) for (const [code, count] of d.faultsRaised) out.push({ id: d.id, code, count });
    return out;
  }

  /** Appends counters of devices that changed (all when `all`) in one write. */
  snapshot(all = false): void {
    const now = this.clock.now();
    const entries: LogEntry[] = [];
    for (const d of this.devices.values()) {
      if (!all && !d.dirty) continue;
      d.dirty = false;
      entries.push(d.counters(now));
    }
    this.log.append(entries);
    this.countersSinceCompaction += entries.length;
    if (this.countersSinceCompaction >= (this.compactAfter ?? Math.max(10_000, 10 * this.devices.size))) {
      this.countersSinceCompaction = 0;
      // The current run is still open in the log (stop() appends its "stop" after this).
      this.log.rewrite(compactEntries(this.log.replay(), { liveRun: true }));
    }
  }

  private device(id: string): DeviceRecord {
    let d = this.devices.get(id);
    if (!d) {
      d = new DeviceRecord(id);
      this.devices.set(id, d);
    }
    return d;
  }

  /**
   * Records entries with the device's counters as they are after them, in one write, before
   * anything outside sees the change (callers send alerts only after this returns).
   */
  private commit(d: DeviceRecord, ...entries: LogEntry[]): void {
    if (entries.length === 0) return;
    for (const e of entries) d.apply(e);
    this.log.append([...entries, d.counters(this.clock.now())]);
  }

  private setStatus(d: DeviceRecord, status: 'up' | 'down' | 'unknown', reason: string): void {
    if (d.timeline.status === status) return;
    const { entries, alerts } = statusChange(d, status, reason, this.clock.now());
    this.commit(d, ...entries);
    for (const a of alerts) this.alert(a);
  }

  /**
   * The active fault as a message tells it, stamped with the device's time. Heartbeats (QoS 0),
   * state and fault events (QoS 1) travel separately and may arrive out of order; a message
   * older than the one that last changed the fault is stale and must not flip it back (that
   * would be a cleared + raised pair of alerts for one incident). Unstamped messages count.
   */
  private reportFault(d: DeviceRecord, code: FaultCode | null, ts: string): void {
    const at = Date.parse(ts);
    if (Number.isFinite(at) && d.faultTs !== null && at < d.faultTs) return;
    if (d.activeFault !== code && Number.isFinite(at)) d.faultTs = at;
    this.setFault(d, code);
  }

  private setFault(d: DeviceRecord, code: FaultCode | null): void {
    if (d.activeFault === code) return;
    const { entries, alerts } = faultChange(d, code, this.clock.now());
    this.commit(d, ...entries);
    for (const a of alerts) this.alert(a);
  }

  private alert(a: Alert): void {
    try {
      this.alerts?.send(a);
    } catch {
      // a broken sink must not stop the tracker; the sink logs its own failures
    }
  }

  private arm(d: DeviceRecord): void {
    this.disarm(d);
    if (!this.running || d.intervalS === null) return;
    d.deadline = this.clock.setTimeout(() => {
      d.deadline = null;
      if (d.timeline.status !== 'down') this.setStatus(d, 'down', `no heartbeat for ${this.downAfter} x ${d.intervalS} s`);
    }, this.downAfter * d.intervalS * 1000);
  }

  private disarm(d: DeviceRecord): void {
    if (d.deadline !== null) this.clock.clearTimeout(d.deadline);
    d.deadline = null;
  }

  private allUnknown(t: number): void {
    for (const d of this.devices.values()) d.timeline.record(t, 'unknown');
  }

  private scheduleSnapshot(): void {
    if (this.snapshotMs <= 0 || !this.running) return;
    this.snapshotTimer = this.clock.setTimeout(() => {
      this.snapshot();
      this.scheduleSnapshot();
    }, this.snapshotMs);
  }
}
