/**
 * The part of the fleet one instance of monitors that share a fleet tracks: one Tracker per
 * shard whose lease it holds (leases.ts), each on that shard's log in PostgreSQL
 * (pg-history.ts), behind the one face a single Tracker shows the subscriber, the metrics and
 * the HTTP API (TrackerView). src/monitor/README.md "Monitors that share a fleet".
 *
 * - Messages: a device's message goes to the tracker of its shard (shards.ts), or nowhere when
 *   another instance holds that shard; a bridge's state goes to every tracker (each knows its own
 *   devices' bridges).
 * - A shard taken (from a dead instance, or handed over): its log is loaded and its tracker
 *   started, which replays it exactly as one monitor replays its file after a restart (the time
 *   nobody watched is "unknown", what was alerted is known, the figures continue). The last
 *   availability of its devices and every bridge's state seen while another instance held it
 *   are given to the new tracker, as a fresh subscription would deliver the retained ones.
 * - A shard handed back: its tracker is stopped and its last entries written before the lease
 *   is freed. A shard lost (lease expired or taken, a write refused): its tracker is dropped
 *   without writing (the new owner has the history).
 * - Alerts wait until their entries are in the table (`afterCommit`): an alert of a shard whose
 *   write was refused is not sent, the new owner decides it again from the history.
 * - `/metrics` shows the devices this instance tracks; every `reportMs` their reports are
 *   published to the table, so `fleetReports()` answers for the whole fleet from any instance.
 */
import type { Logger } from 'pino';
import type { PayloadOf } from '../protocol/topics.js';
import { DeviceRecord } from './device.js';
import type { ShardLog } from './history-store.js';
import type { HeldShard, PgHistory, PgShardLog } from './pg-history.js';
import type { ShardLeases } from './leases.js';
import { shardOf } from './shards.js';
import type { AlertSink, BoundsStats, Tracker } from './tracker.js';
import type { TrackerView } from './tracker-view.js';
import type { DeviceReport, FaultCode, HistoryItem } from './types.js';

/** Devices whose last availability is kept for a takeover (the least recently heard dropped first). */
const AVAILABILITY_MAX = 100_000;
/** Bridges whose last state is kept for a takeover. */
const BRIDGES_MAX = 10_000;

export interface SharedFleetOptions {
  readonly store: PgHistory;
  /** A tracker on a shard's log, sending alerts to `alerts` (not started). */
  readonly makeTracker: (log: ShardLog, alerts: AlertSink) => Tracker;
  readonly alerts: AlertSink;
  readonly logger: Logger;
  readonly maxDevices: number;
  /** The trackers' clock (entries' times). */
  readonly now: () => number;
}

interface Held {
  readonly tracker: Tracker;
  readonly log: PgShardLog;
}

export class SharedFleet implements TrackerView {
  private readonly held = new Map<number, Held>();
  private readonly availability = new Map<string, PayloadOf<'availability'>>();
  private readonly bridgeStates = new Map<string, PayloadOf<'bridgeState'>>();
  private connected = true;
  private stopped = false;
  leases: ShardLeases | null = null;
  readonly maxDevices: number;

  constructor(private readonly o: SharedFleetOptions) {
    this.maxDevices = o.maxDevices;
  }

  /** Shards tracked here now, ascending. */
  shards(): number[] {
    return [...this.held.keys()].sort((a, b) => a - b);
  }

  /** True when this instance tracks the device's shard (the subscriber skips other devices before parsing). */
  owns(id: string): boolean {
    return this.held.has(shardOf(id));
  }

  private trackerOf(id: string): Tracker | null {
    return this.held.get(shardOf(id))?.tracker ?? null;
  }

  // ---- leases (leases.ts calls these) ----

  /**
   * Loads and starts the trackers of newly held shards. `aliveUntil` (leases.ts): when the
   * previous owner died, the last time it renewed its lease; its run ends there, or at its last
   * entry if later (a shard whose devices were all silent may have no entry for a long time, and
   * that time was watched: DOWN stays DOWN), and from then until now is "unknown".
   */
  async acquire(shards: readonly HeldShard[], aliveUntil: ReadonlyMap<number, number> = new Map()): Promise<void> {
    const logs = await this.o.store.openHeld(shards);
    for (const log of logs) {
      if (this.stopped || (this.leases && !this.leases.holds(log.shard)) || this.held.has(log.shard)) {
        log.close();
        continue;
      }
      if (log.skipped > 0) this.o.logger.warn(`skipped ${log.skipped} unreadable row(s) of shard ${log.shard}'s history`);
      const alive = aliveUntil.get(log.shard);
      if (alive !== undefined) endDeadRun(log, alive, this.o.now());
      const tracker = this.o.makeTracker(log, this.gated(log));
      tracker.start();
      if (!this.connected) tracker.onConnection(false);
      for (const [bridge, state] of this.bridgeStates) tracker.onBridgeState(bridge, state);
      for (const [id, a] of this.availability) if (shardOf(id) === log.shard) tracker.onAvailability(id, a, true);
      this.held.set(log.shard, { tracker, log });
    }
  }

  /** Drops trackers whose lease is gone, without writing (their writes would be refused). */
  lose(shards: readonly number[], why: string): void {
    const dropped: number[] = [];
    for (const shard of shards) {
      const h = this.held.get(shard);
      if (!h) continue;
      this.held.delete(shard);
      h.log.close();
      h.tracker.stop();
      dropped.push(shard);
    }
    if (dropped.length > 0) this.o.logger.warn(`lost shard(s) ${dropped.join(' ')} (${why}): another instance takes them over from the history`);
  }

  /** Stops a shard's tracker and writes its last entries (a lease about to be handed back). */
  async release(shard: number): Promise<void> {
    const h = this.held.get(shard);
    if (!h) return;
    this.held.delete(shard); // no more messages to it
    h.tracker.stop();
    await this.o.store.flushed();
    h.log.close();
  }

  /** Alerts leave once their entries are in the table; a refused write sends nothing (the new owner decides). */
  private gated(log: ShardLog): AlertSink {
    return {
      send: (alert) =>
        log.afterCommit((committed) => {
          if (committed) this.o.alerts.send(alert);
          else this.o.logger.warn(`alert ${alert.kind} ${alert.device} not sent: shard ${log.shard} was lost before it was recorded (its new owner decides)`);
        }),
    };
  }

  /** Publishes the reports of the devices tracked here (the fleet view of the other instances). */
  async publish(): Promise<void> {
    if (!this.leases) return;
    const held = this.leases.heldShards().filter((h) => this.held.has(h.shard));
    const reports = [...this.held].flatMap(([shard, h]) => h.tracker.reports().map((report) => ({ shard, report })));
    await this.o.store.publishReports(held, reports);
  }

  // ---- the fleet view, from any instance ----

  /** Every device of the fleet: live for the shards held here, as published by their owners for the others. */
  async fleetReports(): Promise<DeviceReport[]> {
    const own = this.reports();
    const ids = new Set(own.map((r) => r.id));
    const others = (await this.o.store.reports(this.shards())).filter((r) => !ids.has(r.id));
    return [...own, ...others].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async fleetReport(id: string): Promise<DeviceReport | null> {
    const t = this.trackerOf(id);
    return t ? t.report(id) : this.o.store.report(id);
  }

  async fleetHistory(id: string): Promise<HistoryItem[] | null> {
    const t = this.trackerOf(id);
    if (t) return t.history(id);
    const entries = await this.o.store.deviceEntries(id);
    if (entries.length === 0) return null;
    const d = new DeviceRecord(id);
    for (const e of entries) if (e.type !== 'forget') d.apply(e);
    return d.historyItems();
  }

  // ---- what a Tracker answers (subscriber, metrics, HTTP) ----

  onHeartbeat(id: string, hb: PayloadOf<'heartbeat'>): void {
    this.trackerOf(id)?.onHeartbeat(id, hb);
  }

  onAvailability(id: string, payload: PayloadOf<'availability'>, retained = false): void {
    this.availability.delete(id);
    this.availability.set(id, payload);
    if (this.availability.size > AVAILABILITY_MAX) this.availability.delete(this.availability.keys().next().value!);
    this.trackerOf(id)?.onAvailability(id, payload, retained);
  }

  onBridgeState(bridge: string, payload: PayloadOf<'bridgeState'>): void {
    this.bridgeStates.delete(bridge);
    this.bridgeStates.set(bridge, payload);
    if (this.bridgeStates.size > BRIDGES_MAX) this.bridgeStates.delete(this.bridgeStates.keys().next().value!);
    for (const h of this.held.values()) h.tracker.onBridgeState(bridge, payload);
  }

  onState(id: string, s: PayloadOf<'state'>, retained = false): void {
    this.trackerOf(id)?.onState(id, s, retained);
  }

  onFault(id: string, f: PayloadOf<'fault'>, retained = false): void {
    this.trackerOf(id)?.onFault(id, f, retained);
  }

  onConnection(connected: boolean): void {
    this.connected = connected;
    for (const h of this.held.values()) h.tracker.onConnection(connected);
  }

  ids(): string[] {
    return [...this.held.values()].flatMap((h) => h.tracker.ids()).sort();
  }

  report(id: string): DeviceReport | null {
    return this.trackerOf(id)?.report(id) ?? null;
  }

  reports(): DeviceReport[] {
    return [...this.held.values()].flatMap((h) => h.tracker.reports()).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  history(id: string): HistoryItem[] | null {
    return this.trackerOf(id)?.history(id) ?? null;
  }

  faultCounts(): Array<{ id: string; code: FaultCode; count: number }> {
    return [...this.held.values()].flatMap((h) => h.tracker.faultCounts());
  }

  get size(): number {
    let n = 0;
    for (const h of this.held.values()) n += h.tracker.size;
    return n;
  }

  get bounds(): BoundsStats {
    const sum: BoundsStats = { forgotten: 0, evicted: 0, refused: 0, staleRetained: 0, compactions: 0 };
    for (const h of this.held.values()) for (const k of Object.keys(sum) as Array<keyof BoundsStats>) sum[k] += h.tracker.bounds[k];
    return sum;
  }

  diskLines(): { lines: number; superseded: number } {
    const sum = { lines: 0, superseded: 0 };
    for (const h of this.held.values()) {
      const d = h.tracker.diskLines();
      sum.lines += d.lines;
      sum.superseded += d.superseded;
    }
    return sum;
  }

  /** Stops every tracker (their last entries queued); the caller flushes and hands the leases back. */
  stop(): void {
    this.stopped = true;
    for (const h of this.held.values()) h.tracker.stop();
  }
}

/**
 * Closes the run a dead owner left open (a "start" without "stop") at the later of its last
 * renewal and its last entry, never after `now`; replay makes every device "unknown" from there.
 */
function endDeadRun(log: ShardLog, aliveUntil: number, now: number): void {
  const entries = log.replay();
  let lastT = -Infinity;
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i]!;
    lastT = Math.max(lastT, e.t);
    if (e.type === 'stop') return;
    if (e.type === 'start') {
      log.append({ type: 'stop', t: Math.min(now, Math.max(aliveUntil, lastT)) });
      return;
    }
  }
}
