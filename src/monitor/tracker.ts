/**
 * The fleet tracker: turns validated MQTT payloads into device status, counters, history and
 * alerts. No MQTT, HTTP or files here: messages come in through the `on*` methods, history goes
 * to an {@link EventLog}, alerts to an {@link AlertSink}, time from the injected {@link Clock}.
 *
 * Contract:
 * - A heartbeat makes a device UP (and sets its expected interval from `intervalS`); it goes DOWN
 *   when no heartbeat arrives within the detector's deadline (detector.ts: `downAfter` x
 *   intervalS, or phi accrual over the device's own inter-arrival times once it has enough of
 *   them), when its availability turns offline, or when the bridge its availability names goes
 *   offline (bridges.ts: another process's bridge leaves it alone). An inter-arrival time is a
 *   sample only between two heartbeats of one boot and one interval with the device UP between
 *   them (a gap that made it DOWN, or that the monitor did not watch, is no sample).
 * - seq gaps within one boot count as lost heartbeats; a changed boot counts as a restart.
 * - Every change is appended to the log before anything else happens (alert, figures), with the
 *   device's counters in the same write, so a crash right after an event loses nothing of it.
 * - Counters of devices that sent heartbeats are snapshotted every `snapshotMs`.
 * - Nothing grows without bound (README "Limits"):
 *   - every line written that a later one supersedes (any counters line after the first of its
 *     device, everything about a forgotten device) is counted; once the superseded lines are
 *     at least `compactAfter` and at least the live ones, the log is compacted (compaction.ts),
 *     so the file stays within about twice its live content;
 *   - events older than `retentionMs` are folded away at compaction (at start, and at the
 *     hourly housekeeping once the oldest event on disk is a thirtieth of the retention past it);
 *   - a device not heard from (no message of any kind) for `retentionMs` is forgotten;
 *   - at most `maxDevices` are tracked: a new id beyond that takes the place of the healthy
 *     device heard from longest ago; when every tracked device is DOWN, faulted, flapping or has
 *     an open alert, the new id is refused (its messages counted and ignored) instead. One
 *     "device-cap" alert when the cap is reached; again only after the count fell below 90 %.
 * - DOWN/UP and fault raised/cleared alerts are sent once per incident, also across restarts
 *   (the last alerted status and fault are in the log; the rules are in incidents.ts); a
 *   flapping device's UP/DOWN alerts are damped to one "flapping" alert (incidents.ts).
 * - `start()` replays the log; `stop()` snapshots counters and records the stop.
 */
import type { Clock } from '../clock/clock.js';
import type { PayloadOf } from '../protocol/topics.js';
import { BridgeBook } from './bridges.js';
import { compactLog } from './compaction.js';
import { ArrivalWindow, DEFAULT_DETECTOR, downDeadline, type DetectorPolicy } from './detector.js';
import { DeviceRecord } from './device.js';
import { DEFAULT_FLAP_POLICY, faultChange, flapEnd, statusChange, type Decision, type FlapPolicy } from './incidents.js';
import type { EventLog } from './event-log.js';
import { emptyReplay, replayInto } from './replay.js';
import type { Alert, DeviceReport, FaultCode, HistoryItem, LogEntry } from './types.js';

export const DEFAULT_RETENTION_MS = 30 * 24 * 3_600_000;
export const DEFAULT_MAX_DEVICES = 10_000;

export interface AlertSink {
  send(alert: Alert): void;
}

export interface TrackerOptions {
  readonly clock: Clock;
  readonly log: EventLog;
  readonly alerts?: AlertSink;
  /** DOWN after this many heartbeat intervals without one (default 1.5); phi's rule too before it has enough samples. */
  readonly downAfter?: number;
  /** The failure detector (detector.ts): `fixed` (the default) or `phi`, and phi's parameters. */
  readonly detector?: Partial<Omit<DetectorPolicy, 'downAfter'>>;
  /** SLO target as a ratio, default 0.999. */
  readonly sloTarget?: number;
  /** How often counters are snapshotted to the log, ms (default 1000; 0 = only at stop). */
  readonly snapshotMs?: number;
  /** Compact the log once this many superseded lines were written, and at least as many as live ones (default 1000). */
  readonly compactAfter?: number;
  /** Events older than this are dropped at compaction; devices not heard from for this long are forgotten (default 30 days). */
  readonly retentionMs?: number;
  /** Most devices tracked at once (default 10 000). */
  readonly maxDevices?: number;
  /** When a device is flapping (default 6 UP/DOWN changes in 10 min, stable after 15 quiet min). */
  readonly flap?: FlapPolicy;
  /** How often stale devices are forgotten and expired history compacted, ms (default 1 h). */
  readonly housekeepingMs?: number;
}

/** What the tracker did to stay bounded (metrics). */
export interface BoundsStats {
  /** Devices forgotten after the retention without a message. */
  forgotten: number;
  /** Healthy devices dropped to make room for a new id at the cap. */
  evicted: number;
  /** Messages ignored because their new id found the cap full of devices with open incidents. */
  refused: number;
  /** Retained messages ignored because their own time is past the retention and the id is not tracked. */
  staleRetained: number;
  compactions: number;
}

type Heartbeat = PayloadOf<'heartbeat'>;

export class Tracker {
  private readonly devices = new Map<string, DeviceRecord>();
  /** Devices known so far only from retained messages without a time: heard "now" until a time comes (at most one per device). */
  private readonly untimed = new Set<string>();
  /** Ids whose retained messages were found past the retention: their untimed ones are ignored too (oldest dropped past STALE_IDS_MAX). */
  private readonly staleIds = new Set<string>();
  /** Which bridge (process) publishes which device, and each bridge's last state. */
  private readonly bridges = new BridgeBook();
  private readonly clock: Clock;
  private readonly log: EventLog;
  private readonly alerts: AlertSink | undefined;
  readonly downAfter: number;
  readonly detector: DetectorPolicy;
  readonly sloTarget: number;
  private readonly snapshotMs: number;
  private snapshotTimer: unknown = null;
  private running = false;
  private readonly compactAfter: number;
  readonly retentionMs: number;
  readonly maxDevices: number;
  readonly flap: FlapPolicy;
  private readonly housekeepingMs: number;
  private housekeepingTimer: unknown = null;
  /** Lines in the log, and how many of them a later line supersedes. */
  private linesOnDisk = 0;
  private superseded = 0;
  /** Time of the oldest event (not counters or baseline) in the log, null if none. */
  private oldestEventAt: number | null = null;
  private capReached = false;
  readonly bounds: BoundsStats = { forgotten: 0, evicted: 0, refused: 0, staleRetained: 0, compactions: 0 };

  constructor(options: TrackerOptions) {
    this.clock = options.clock;
    this.log = options.log;
    this.alerts = options.alerts;
    this.downAfter = options.downAfter ?? DEFAULT_DETECTOR.downAfter;
    this.detector = { ...DEFAULT_DETECTOR, ...options.detector, downAfter: this.downAfter };
    this.sloTarget = options.sloTarget ?? 0.999;
    this.snapshotMs = options.snapshotMs ?? 1000;
    this.compactAfter = options.compactAfter ?? 1000;
    this.retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
    this.maxDevices = options.maxDevices ?? DEFAULT_MAX_DEVICES;
    this.flap = options.flap ?? DEFAULT_FLAP_POLICY;
    this.housekeepingMs = options.housekeepingMs ?? 3_600_000;
  }

  /** Replays the history, records this start and arms the DOWN deadlines of known devices. */
  start(): void {
    const recorded = this.log.replay();
    const state = replayInto(emptyReplay(this.devices), recorded);
    if (state.open && state.lastT !== null) this.allUnknown(state.lastT);
    this.capReached = state.capReached;
    const now = this.clock.now();
    const stale: LogEntry[] = [];
    for (const d of [...this.devices.values()]) {
      d.lastHeard ??= now; // a log from before retention: count from this start
      if (this.isStale(d, now)) {
        stale.push(this.forgetEntry(d, now, `not heard from for ${this.retentionMs / 3_600_000} h (retention)`));
        this.devices.delete(d.id);
        this.bounds.forgotten++;
      }
    }
    this.log.append(stale);
    recorded.push(...stale);
    const compacted = compactLog(recorded, { liveRun: false, now, retentionMs: this.retentionMs });
    if (compacted.worthIt) {
      this.log.rewrite(compacted.entries);
      this.bounds.compactions++;
    }
    this.counted(compacted.worthIt ? compacted.entries : recorded);
    this.running = true;
    this.write({ type: 'start', t: now });
    for (const d of this.devices.values()) {
      this.arm(d);
      if (d.flapping) this.armFlap(d, Math.max(0, (d.changes.at(-1) ?? now) + this.flap.quietMs - now));
    }
    this.scheduleSnapshot();
    this.scheduleHousekeeping();
  }

  /** Snapshots counters, records the stop, cancels timers. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    if (this.snapshotTimer !== null) this.clock.clearTimeout(this.snapshotTimer);
    this.snapshotTimer = null;
    if (this.housekeepingTimer !== null) this.clock.clearTimeout(this.housekeepingTimer);
    this.housekeepingTimer = null;
    this.snapshot(true);
    const now = this.clock.now();
    this.write({ type: 'stop', t: now });
    for (const d of this.devices.values()) {
      this.disarm(d);
      this.disarmFlap(d);
      d.timeline.record(now, 'unknown');
    }
  }

  onHeartbeat(id: string, hb: Heartbeat): void {
    const d = this.admit(id);
    if (!d) return;
    const now = this.clock.now();
    const sameBoot = d.boot === hb.boot;
    if (d.boot !== null && hb.boot !== d.boot) {
      this.commit(d, { type: 'restart', t: now, id, boot: hb.boot });
      d.lastSeq = null;
      d.faultTs = null; // a new boot may start its clock anew
    } else if (d.boot === null) {
      d.boot = hb.boot;
    }
    this.noteArrival(d, now, hb.intervalS, sameBoot);
    if (d.lastSeq !== null && hb.seq > d.lastSeq + 1) d.lost += hb.seq - d.lastSeq - 1;
    if (d.lastSeq === null || hb.seq > d.lastSeq) d.lastSeq = hb.seq;
    d.received++;
    d.lastSeen = now;
    d.intervalS = hb.intervalS;
    d.state = hb.state;
    d.loopLag = hb.loopLagMs !== undefined && hb.loopLagMaxMs !== undefined ? { p99Ms: hb.loopLagMs, maxMs: hb.loopLagMaxMs } : null;
    d.dirty = true;
    if (d.timeline.status !== 'up') this.setStatus(d, 'up', 'heartbeat');
    this.reportFault(d, hb.fault, hb.ts, hb.faultEvent);
    this.arm(d, true);
  }

  /** Adds the time since the last heartbeat to the device's window when it is a sample (see the header). */
  private noteArrival(d: DeviceRecord, now: number, intervalS: number, sameBoot: boolean): void {
    if (this.detector.kind !== 'phi') return;
    if (d.intervalS !== intervalS) d.arrivals?.clear();
    if (!sameBoot || d.timeline.status !== 'up' || d.intervalS !== intervalS || d.lastSeen === null || now < d.lastSeen) return;
    d.arrivals ??= new ArrivalWindow(this.detector.window);
    d.arrivals.add(now - d.lastSeen);
  }

  onAvailability(id: string, payload: PayloadOf<'availability'>, retained = false): void {
    const d = this.admit(id, retained ? null : this.clock.now(), retained);
    if (!d) return;
    const bridge = payload.bridge;
    if (bridge !== undefined) this.bridges.noteDevice(id, bridge);
    // A retained "online" from a process whose last will already said offline is stale.
    const deadBridge = payload.state === 'online' && bridge !== undefined && this.bridges.isOffline(bridge);
    if (payload.state === 'offline' || deadBridge) {
      this.disarm(d);
      this.setStatus(d, 'down', deadBridge ? `bridge ${bridge} offline` : 'availability offline');
    }
  }

  /** A process's bridge state: offline makes DOWN the devices whose availability names it, and no other. */
  onBridgeState(bridge: string, payload: PayloadOf<'bridgeState'>): void {
    for (const id of this.bridges.noteBridge(bridge, payload.state)) {
      const d = this.devices.get(id);
      if (!d || d.timeline.status === 'down') continue;
      this.disarm(d);
      this.setStatus(d, 'down', `bridge ${bridge} offline`);
    }
  }

  onState(id: string, s: PayloadOf<'state'>, retained = false): void {
    const d = this.admit(id, retained ? timeOf(s.last_seen, this.clock.now()) : this.clock.now(), retained);
    if (!d) return;
    if (d.breaker !== s.breaker || d.state !== s.state) d.dirty = true;
    d.breaker = s.breaker;
    d.state = s.state;
    this.reportFault(d, s.fault, s.last_seen, s.faultEvent);
  }

  onFault(id: string, f: PayloadOf<'fault'>, retained = false): void {
    const d = this.admit(id, retained ? timeOf(f.ts, this.clock.now()) : this.clock.now(), retained);
    if (!d) return;
    if (f.event === 'raised') this.reportFault(d, f.code, f.ts, f.id);
    else if (d.activeFault === f.code) this.reportFault(d, null, f.ts, f.id);
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

  /** Devices tracked now. */
  get size(): number {
    return this.devices.size;
  }

  /** Lines in the log and how many of them are superseded (compaction drops those). */
  diskLines(): { lines: number; superseded: number } {
    return { lines: this.linesOnDisk, superseded: this.superseded };
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
    this.write(entries);
  }

  /** Forgets stale devices, compacts history past the retention, closes a cap episode; runs every `housekeepingMs`. */
  housekeeping(): void {
    const now = this.clock.now();
    for (const d of [...this.devices.values()]) {
      if (this.isStale(d, now)) this.forget(d, `not heard from for ${this.retentionMs / 3_600_000} h (retention)`);
    }
    this.checkCapCleared();
    if (this.oldestEventAt !== null && this.oldestEventAt < now - this.retentionMs - this.retentionMs / 30) this.compact();
  }

  /** Rewrites the log without what is superseded or past the retention. */
  compact(): void {
    // The current run is still open in the log (stop() appends its "stop" after this).
    const { entries } = compactLog(this.log.replay(), { liveRun: this.running, now: this.clock.now(), retentionMs: this.retentionMs });
    this.log.rewrite(entries);
    this.bounds.compactions++;
    this.counted(entries);
  }

  /** Writes entries to the log, counts what they supersede, and compacts when half the log is superseded. */
  private write(entries: LogEntry | readonly LogEntry[]): void {
    const list = Array.isArray(entries) ? (entries as readonly LogEntry[]) : [entries as LogEntry];
    if (list.length === 0) return;
    this.log.append(list);
    this.count(list);
    if (this.superseded >= Math.max(this.compactAfter, this.linesOnDisk - this.superseded)) this.compact();
  }

  /** Resets the line counts to what `entries` (the whole log) holds. */
  private counted(entries: readonly LogEntry[]): void {
    this.linesOnDisk = 0;
    this.superseded = 0;
    this.oldestEventAt = null;
    for (const d of this.devices.values()) {
      d.linesOnDisk = 0;
      d.countersOnDisk = false;
    }
    this.count(entries);
  }

  private count(entries: readonly LogEntry[]): void {
    this.linesOnDisk += entries.length;
    for (const e of entries) {
      if (e.type === 'cap') this.superseded++; // only the last one counts; roughly one per episode
      if (!('id' in e)) continue;
      const d = this.devices.get(e.id);
      if (d) d.linesOnDisk++;
      if (e.type === 'counters' && d) {
        if (d.countersOnDisk) this.superseded++;
        d.countersOnDisk = true;
      } else if (e.type !== 'baseline' && e.type !== 'counters' && e.type !== 'forget') {
        this.oldestEventAt = this.oldestEventAt === null ? e.t : Math.min(this.oldestEventAt, e.t);
      }
    }
  }

  private isStale(d: DeviceRecord, now: number): boolean {
    return d.lastHeard !== null && d.lastHeard <= now - this.retentionMs;
  }

  private forgetEntry(d: DeviceRecord, t: number, reason: string): LogEntry {
    this.superseded += d.linesOnDisk + 1;
    return { type: 'forget', t, id: d.id, reason };
  }

  /** Drops a device from memory now and from the log at the next compaction. */
  private forget(d: DeviceRecord, reason: string): void {
    this.disarm(d);
    this.disarmFlap(d);
    // Recorded before it is acted on, like every change.
    this.write(this.forgetEntry(d, this.clock.now(), reason));
    this.devices.delete(d.id);
    this.untimed.delete(d.id);
    if (reason.startsWith('evicted')) this.bounds.evicted++;
    else this.bounds.forgotten++;
  }

  private noteStale(id: string): void {
    this.staleIds.delete(id);
    this.staleIds.add(id);
    if (this.staleIds.size > STALE_IDS_MAX) this.staleIds.delete(this.staleIds.values().next().value!);
  }

  /**
   * The record of `id`, created if there is room (see the cap policy in the header); null when
   * the id is refused.
   */
  private admit(id: string, heardAt: number | null = this.clock.now(), retained = false): DeviceRecord | null {
    const now = this.clock.now();
    let d = this.devices.get(id);
    // A retained message is the broker's memory, not news from the device: it says when the
    // device spoke only through its own time stamp, and one from past the retention brings no
    // forgotten device back (else a dead device's retained state would return at every restart).
    const stale = retained && heardAt !== null && heardAt <= now - this.retentionMs;
    if (!retained) this.staleIds.delete(id);
    if (!d && (stale || (retained && heardAt === null && this.staleIds.has(id)))) {
      this.bounds.staleRetained++;
      this.noteStale(id);
      return null;
    }
    if (d && this.untimed.has(id) && heardAt !== null) {
      // The first time stamp for a device so far known only untimed (retained messages come in any order).
      this.untimed.delete(id);
      if (stale) {
        this.bounds.staleRetained++;
        this.noteStale(id);
        this.forget(d, `not heard from for ${this.retentionMs / 3_600_000} h (retention; retained state)`);
        return null;
      }
      if (!retained) d.lastHeard = null;
      else d.lastHeard = heardAt;
    }
    if (!d && this.devices.size >= this.maxDevices) {
      const victim = this.evictable();
      if (!victim) {
        this.bounds.refused++;
        this.capAlert(id, now, `tracking ${this.devices.size} devices, the cap (--max-devices ${this.maxDevices}), all DOWN or with an open incident: new ids are refused`);
        return null;
      }
      this.forget(victim, `evicted: the device cap (${this.maxDevices}) was full when ${id} appeared`);
    }
    if (!d) {
      d = new DeviceRecord(id);
      this.devices.set(id, d);
      if (this.devices.size >= this.maxDevices) {
        this.capAlert(
          id,
          now,
          `tracking ${this.devices.size} devices, the cap (--max-devices ${this.maxDevices}): each new id now takes the place of the healthy device heard from longest ago`,
        );
      }
    }
    // A new device known only from a retained message without a time counts from now.
    if (heardAt === null && d.lastHeard === null) this.untimed.add(id);
    d.heard(heardAt ?? (d.lastHeard === null ? now : null));
    d.dirty = true;
    return d;
  }

  /** The healthy device heard from longest ago, or null when none is healthy. */
  private evictable(): DeviceRecord | null {
    let best: DeviceRecord | null = null;
    for (const d of this.devices.values()) {
      if (!d.isHealthy()) continue;
      if (best === null || (d.lastHeard ?? -Infinity) < (best.lastHeard ?? -Infinity)) best = d;
    }
    return best;
  }

  private capAlert(id: string, t: number, reason: string): void {
    if (this.capReached) return;
    this.capReached = true;
    this.write({ type: 'cap', t, event: 'reached' });
    this.alert({ kind: 'device-cap', device: id, code: null, reason, at: new Date(t).toISOString() });
  }

  private checkCapCleared(): void {
    if (!this.capReached || this.devices.size >= this.maxDevices * 0.9) return;
    this.capReached = false;
    this.write({ type: 'cap', t: this.clock.now(), event: 'cleared' });
  }

  /**
   * Records entries with the device's counters as they are after them, in one write, before
   * anything outside sees the change (callers send alerts only after this returns).
   */
  private commit(d: DeviceRecord, ...entries: LogEntry[]): void {
    if (entries.length === 0) return;
    for (const e of entries) d.apply(e);
    d.dirty = false;
    this.write([...entries, d.counters(this.clock.now())]);
  }

  private decide(d: DeviceRecord, { entries, alerts }: Decision): void {
    this.commit(d, ...entries);
    for (const a of alerts) this.alert(a);
  }

  private setStatus(d: DeviceRecord, status: 'up' | 'down' | 'unknown', reason: string): void {
    if (d.timeline.status === status) return;
    const changed = status !== 'unknown' && d.lastKnown !== null && d.lastKnown !== status;
    this.decide(d, statusChange(d, status, reason, this.clock.now(), this.flap));
    // Each change of a flapping device restarts its quiet period.
    if (d.flapping && (changed || d.flapTimer === null)) this.armFlap(d, this.flap.quietMs);
  }

  private armFlap(d: DeviceRecord, ms: number): void {
    this.disarmFlap(d);
    if (!this.running) return;
    d.flapTimer = this.clock.setTimeout(() => {
      d.flapTimer = null;
      if (d.flapping && this.devices.get(d.id) === d) this.decide(d, flapEnd(d, this.clock.now(), this.flap));
    }, ms);
  }

  private disarmFlap(d: DeviceRecord): void {
    if (d.flapTimer !== null) this.clock.clearTimeout(d.flapTimer);
    d.flapTimer = null;
  }

  /**
   * The active fault as a message tells it, stamped with the device's time. Heartbeats (QoS 0),
   * state and fault events (QoS 1) travel separately and may arrive out of order; a message
   * older than the one that last changed the fault is stale and must not flip it back (that
   * would be a cleared + raised pair of alerts for one incident). Unstamped messages count.
   * `eventId`: the device's fault event behind the news, whichever message brought it (a fault
   * event's own id, a state's or heartbeat's `faultEvent`); undefined from a device that does
   * not name it.
   */
  private reportFault(d: DeviceRecord, code: FaultCode | null, ts: string, eventId?: string): void {
    const at = Date.parse(ts);
    if (Number.isFinite(at) && d.faultTs !== null && at < d.faultTs) return;
    if (d.activeFault !== code && Number.isFinite(at)) d.faultTs = at;
    this.setFault(d, code, eventId);
  }

  private setFault(d: DeviceRecord, code: FaultCode | null, eventId?: string): void {
    if (d.activeFault === code) return;
    this.decide(d, faultChange(d, code, this.clock.now(), eventId));
  }

  private alert(a: Alert): void {
    try {
      this.alerts?.send(a);
    } catch {
      // a broken sink must not stop the tracker; the sink logs its own failures
    }
  }

  /**
   * Arms the DOWN deadline: from a heartbeat just received (`onHeartbeat`), the detector's; from
   * anything else (start, reconnect: the last heartbeat's time is not this one), the fixed rule from now.
   */
  private arm(d: DeviceRecord, onHeartbeat = false): void {
    this.disarm(d);
    if (!this.running || d.intervalS === null) return;
    const intervalS = d.intervalS;
    const { afterMs, by, learning } = downDeadline(this.detector, intervalS, onHeartbeat ? d.arrivals : null);
    d.deadline = this.clock.setTimeout(() => {
      d.deadline = null;
      if (d.timeline.status === 'down') return;
      const reason =
        by === 'phi'
          ? `no heartbeat for ${round(afterMs / 1000)} s (${round(afterMs / 1000 / intervalS)} x ${intervalS} s): phi reached ${this.detector.threshold}${learning ? ` (learning: ${learning} of ${this.detector.minSamples} samples)` : ''}`
          : `no heartbeat for ${this.downAfter} x ${intervalS} s`;
      this.setStatus(d, 'down', reason);
    }, afterMs);
  }

  private disarm(d: DeviceRecord): void {
    if (d.deadline !== null) this.clock.clearTimeout(d.deadline);
    d.deadline = null;
  }

  private allUnknown(t: number): void {
    for (const d of this.devices.values()) d.timeline.record(t, 'unknown');
  }

  private scheduleHousekeeping(): void {
    if (this.housekeepingMs <= 0 || !this.running) return;
    this.housekeepingTimer = this.clock.setTimeout(() => {
      this.housekeeping();
      this.scheduleHousekeeping();
    }, this.housekeepingMs);
  }

  private scheduleSnapshot(): void {
    if (this.snapshotMs <= 0 || !this.running) return;
    this.snapshotTimer = this.clock.setTimeout(() => {
      this.snapshot();
      this.scheduleSnapshot();
    }, this.snapshotMs);
  }
}

const round = (x: number) => Math.round(x * 100) / 100;

/** Ids remembered as stale (retained messages past the retention), oldest forgotten first. */
const STALE_IDS_MAX = 10_000;

/**
 * A payload's ISO time in ms, or null when it has none or it does not parse; never later than
 * `now` (a simulator's virtual time runs ahead of the wall clock, and a device must not make
 * itself unforgettable with a time in the future).
 */
function timeOf(iso: string, now: number): number | null {
  const t = Date.parse(iso);
  return Number.isFinite(t) ? Math.min(t, now) : null;
}
