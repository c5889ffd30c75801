/**
 * What the monitor knows about one device, and how a log entry changes it. The same `apply()`
 * runs for a live entry and for a replayed one, so a restarted monitor ends up where it was.
 */
import type { ArrivalWindow } from './detector.js';
import { DAY_MS, HOUR_MS, MONTH_MS, Timeline } from './availability.js';
import { MAX_FLAP_CHANGES, type DeviceReport, type FaultCode, type HistoryItem, type LogEntry } from './types.js';

/** Most recent history items kept in memory per device (the log on disk keeps everything). */
export const HISTORY_LIMIT = 5000;

export class DeviceRecord {
  readonly timeline = new Timeline();
  lastSeen: number | null = null;
  intervalS: number | null = null;
  /** Last heartbeat seq of the current boot; null after a monitor restart (no gap counted across it). */
  lastSeq: number | null = null;
  boot: number | null = null;
  received = 0;
  lost = 0;
  restarts = 0;
  activeFault: FaultCode | null = null;
  /** Device time (ms) of the message that last changed the active fault; not persisted. */
  faultTs: number | null = null;
  breaker: string | null = null;
  state: string | null = null;
  /** Event-loop lag of the device's process from its last heartbeat (ms), or null when it sends none. */
  loopLag: { readonly p99Ms: number; readonly maxMs: number } | null = null;
  readonly faultsRaised = new Map<FaultCode, number>();
  /** What was last alerted, for deduplication: status and fault. */
  alertedStatus: 'up' | 'down' | null = null;
  alertedFault: FaultCode | null = null;
  /** Last UP or DOWN status (unknown spells skipped): a change is UP to DOWN or back. */
  lastKnown: 'up' | 'down' | null = null;
  /** Times of the most recent UP/DOWN changes, oldest first (at most MAX_FLAP_CHANGES). */
  readonly changes: number[] = [];
  /** In the flapping state: UP/DOWN alerts wait until it has been quiet (incidents.ts). */
  flapping = false;
  /** Last time anything came from the device (clock ms); null until known. */
  lastHeard: number | null = null;
  /** Counters changed since the last snapshot. */
  dirty = false;
  /** Recent inter-arrival times of heartbeats (phi detector only; bounded; not persisted). */
  arrivals: ArrivalWindow | null = null;
  /** Pending DOWN deadline and flapping quiet-period end (clock timer ids). */
  deadline: unknown = null;
  flapTimer: unknown = null;
  /** Lines about this device in the log file, and whether one of them is a counters line. */
  linesOnDisk = 0;
  countersOnDisk = false;
  readonly history: LogEntry[] = [];

  constructor(readonly id: string) {}

  /** Applies one entry about this device (live or replayed). */
  apply(e: LogEntry): void {
    switch (e.type) {
      case 'status':
        this.timeline.record(e.t, e.status);
        if (e.status !== 'unknown') {
          if (this.lastKnown !== null && this.lastKnown !== e.status) {
            this.changes.push(e.t);
            if (this.changes.length > MAX_FLAP_CHANGES) this.changes.shift();
          }
          this.lastKnown = e.status;
        }
        if (e.reason === 'heartbeat') this.heard(e.t);
        break;
      case 'fault':
        if (e.event === 'raised') {
          this.activeFault = e.code;
          this.faultsRaised.set(e.code, (this.faultsRaised.get(e.code) ?? 0) + 1);
        } else if (this.activeFault === e.code) {
          this.activeFault = null;
        }
        this.heard(e.t);
        break;
      case 'restart':
        this.restarts++;
        this.boot = e.boot;
        this.heard(e.t);
        break;
      case 'alert':
        if (e.kind === 'down' || e.kind === 'up') this.alertedStatus = e.kind;
        else if (e.kind === 'fault-raised' || e.kind === 'fault-cleared') this.alertedFault = e.kind === 'fault-raised' ? e.code : null;
        break;
      case 'flap':
        this.flapping = e.event === 'start';
        break;
      case 'baseline':
        this.timeline.record(e.t, e.status);
        this.lastKnown = e.lastKnown;
        this.changes.splice(0, this.changes.length, ...e.changes);
        this.activeFault = e.activeFault;
        this.alertedStatus = e.alertedStatus;
        this.alertedFault = e.alertedFault;
        this.flapping = e.flapping;
        this.restarts = e.restarts;
        this.faultsRaised.clear();
        for (const [code, n] of Object.entries(e.faults)) this.faultsRaised.set(code as FaultCode, n);
        this.heard(e.heard);
        return;
      case 'counters':
        this.received = e.received;
        this.lost = e.lost;
        this.lastSeen = e.lastSeen;
        this.intervalS = e.intervalS;
        this.boot = e.boot;
        this.breaker = e.breaker;
        this.state = e.state;
        this.heard(e.heard ?? e.lastSeen);
        return;
      default:
        return;
    }
    this.history.push(e);
    if (this.history.length > HISTORY_LIMIT * 1.2) this.history.splice(0, this.history.length - HISTORY_LIMIT);
  }

  /** Notes that something came from the device at `t` (never moves back). */
  heard(t: number | null | undefined): void {
    if (t !== null && t !== undefined && (this.lastHeard === null || t > this.lastHeard)) this.lastHeard = t;
  }

  /**
   * Healthy: nothing here anyone needs to act on (not DOWN, no active fault, no alerted DOWN
   * or fault still open, not flapping). Only a healthy device may make room at the device cap.
   */
  isHealthy(): boolean {
    return this.timeline.status !== 'down' && this.activeFault === null && this.alertedStatus !== 'down' && this.alertedFault === null && !this.flapping;
  }

  /** The device's state at `t` as one entry: what compaction keeps of a history it drops. */
  baseline(t: number): LogEntry {
    return {
      type: 'baseline',
      t,
      id: this.id,
      status: this.timeline.status,
      lastKnown: this.lastKnown,
      activeFault: this.activeFault,
      alertedStatus: this.alertedStatus,
      alertedFault: this.alertedFault,
      flapping: this.flapping,
      changes: [...this.changes],
      restarts: this.restarts,
      faults: Object.fromEntries(this.faultsRaised),
      heard: this.lastHeard ?? t,
    };
  }

  counters(t: number): LogEntry {
    return {
      type: 'counters',
      t,
      id: this.id,
      received: this.received,
      lost: this.lost,
      lastSeen: this.lastSeen,
      intervalS: this.intervalS,
      boot: this.boot,
      breaker: this.breaker,
      state: this.state,
      ...(this.lastHeard === null ? {} : { heard: this.lastHeard }),
    };
  }

  report(now: number, sloTarget: number): DeviceReport {
    const tl = this.timeline;
    const month = tl.window(now, MONTH_MS);
    const slo = tl.slo(now, sloTarget);
    return {
      id: this.id,
      up: tl.status === 'up',
      status: tl.status,
      lastSeen: this.lastSeen === null ? null : new Date(this.lastSeen).toISOString(),
      intervalS: this.intervalS,
      availability: {
        h1: tl.window(now, HOUR_MS).availability,
        d1: tl.window(now, DAY_MS).availability,
        d30: month.availability,
      },
      mtbfS: month.mtbfS,
      mttrS: month.mttrS,
      sloTarget,
      errorBudgetLeft: slo.errorBudgetLeft,
      burnRate: slo.burnRate,
      heartbeatsReceived: this.received,
      heartbeatsLost: this.lost,
      restarts: this.restarts,
      activeFault: this.activeFault,
      flapping: this.flapping,
      breaker: this.breaker,
      state: this.state,
      loopLag: this.loopLag,
    };
  }

  historyItems(): HistoryItem[] {
    return this.history.map((e) => {
      const { t, id: _id, ...rest } = e as LogEntry & { id: string };
      return { at: new Date(t).toISOString(), ...rest } as HistoryItem;
    });
  }
}
