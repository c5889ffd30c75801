/**
 * What the monitor knows about one device, and how a log entry changes it. The same `apply()`
 * runs for a live entry and for a replayed one, so a restarted monitor ends up where it was.
 */
import { DAY_MS, HOUR_MS, MONTH_MS, Timeline } from './availability.js';
import type { DeviceReport, FaultCode, HistoryItem, LogEntry } from './types.js';

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
  readonly faultsRaised = new Map<FaultCode, number>();
  /** What was last alerted, for deduplication: status and fault. */
  alertedStatus: 'up' | 'down' | null = null;
  alertedFault: FaultCode | null = null;
  /** Counters changed since the last snapshot. */
  dirty = false;
  /** Pending DOWN deadline (clock timer id). */
  deadline: unknown = null;
  readonly history: LogEntry[] = [];

  constructor(readonly id: string) {}

  /** Applies one entry about this device (live or replayed). */
  apply(e: LogEntry): void {
    switch (e.type) {
      case 'status':
        this.timeline.record(e.t, e.status);
        break;
      case 'fault':
        if (e.event === 'raised') {
          this.activeFault = e.code;
          this.faultsRaised.set(e.code, (this.faultsRaised.get(e.code) ?? 0) + 1);
        } else if (this.activeFault === e.code) {
          this.activeFault = null;
        }
        break;
      case 'restart':
        this.restarts++;
        this.boot = e.boot;
        break;
      case 'alert':
        if (e.kind === 'down' || e.kind === 'up') this.alertedStatus = e.kind;
        else this.alertedFault = e.kind === 'fault-raised' ? e.code : null;
        break;
      case 'counters':
        this.received = e.received;
        this.lost = e.lost;
        this.lastSeen = e.lastSeen;
        this.intervalS = e.intervalS;
        this.boot = e.boot;
        this.breaker = e.breaker;
        this.state = e.state;
        return;
      default:
        return;
    }
    this.history.push(e);
    if (this.history.length > HISTORY_LIMIT * 1.2) this.history.splice(0, this.history.length - HISTORY_LIMIT);
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
      breaker: this.breaker,
      state: this.state,
    };
  }

  historyItems(): HistoryItem[] {
    return this.history.map((e) => {
      const { t, id: _id, ...rest } = e as LogEntry & { id: string };
      void _id;
      return { at: new Date(t).toISOString(), ...rest } as HistoryItem;
    });
  }
}
