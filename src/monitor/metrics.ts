/**
 * Prometheus metrics for /metrics (prom-client), read from the tracker at scrape time, so a
 * scrape always shows current figures and nothing is kept twice. Names follow the Prometheus
 * conventions (`_total` counters, `_ratio`, `_seconds`) so `promtool check metrics` passes.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { faultDefinition } from '../machine/catalogue.js';
import type { TrackerView } from './tracker-view.js';
import type { IngestStats } from './subscriber.js';
import type { WebhookStats } from './webhook.js';

const BREAKER_STATES = ['booting', 'armed', 'tripped', 'probing', 'latched', 'service'] as const;
const STATUSES = ['up', 'down', 'unknown'] as const;

export function createMetrics(tracker: TrackerView, ingest: IngestStats | null, webhook: () => Readonly<WebhookStats> | null = () => null): Registry {
  const registry = new Registry();
  // One scrape reads the reports several times; compute them once per scrape.
  let cache: { at: number; reports: ReturnType<TrackerView['reports']> } | null = null;
  const reports = () => {
    const at = performance.now();
    if (!cache || at - cache.at > 200) cache = { at, reports: tracker.reports() };
    return cache.reports;
  };
  // No collectDefaultMetrics(): its nodejs_active_*_total gauges fail `promtool check metrics`.

  new Gauge({
    name: 'aquastop_device_up',
    help: 'Whether the device is UP (1) or not (0: DOWN or not known).',
    labelNames: ['device'],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of reports()) this.set({ device: r.id }, r.up ? 1 : 0);
    },
  });
  // The alert rules in ops/prometheus need what aquastop_device_up folds together: DOWN apart
  // from unknown (the monitor cut off from the broker), which counts neither way in the SLO.
  new Gauge({
    name: 'aquastop_device_status',
    help: 'Status of the device: 1 for the current one, 0 for the others (unknown: the monitor is cut off from the broker, or has not heard from the device since it started).',
    labelNames: ['device', 'status'],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of reports()) for (const s of STATUSES) this.set({ device: r.id, status: s }, r.status === s ? 1 : 0);
    },
  });
  new Gauge({
    name: 'aquastop_device_slo_target_ratio',
    help: 'Availability target (--slo) the error budget is counted against.',
    labelNames: ['device'],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of reports()) this.set({ device: r.id }, r.sloTarget);
    },
  });
  new Gauge({
    name: 'aquastop_device_fault_active',
    help: 'The fault the device reports now (1), with its severity from the fault catalogue; no series while it reports none.',
    labelNames: ['device', 'code', 'severity'],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of reports()) if (r.activeFault !== null) this.set({ device: r.id, code: r.activeFault, severity: faultDefinition(r.activeFault).severity }, 1);
    },
  });
  new Gauge({
    name: 'aquastop_device_availability_ratio',
    help: 'Time-weighted availability over the window (up / observed time).',
    labelNames: ['device', 'window'],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of reports()) {
        for (const [window, v] of [
          ['1h', r.availability.h1],
          ['1d', r.availability.d1],
          ['30d', r.availability.d30],
        ] as const) {
          if (v !== null) this.set({ device: r.id, window }, v);
        }
      }
    },
  });
  new Gauge({
    name: 'aquastop_device_error_budget_remaining_ratio',
    help: 'Fraction of the 30-day error budget left for the SLO target.',
    labelNames: ['device'],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of reports()) this.set({ device: r.id }, r.errorBudgetLeft);
    },
  });
  new Counter({
    name: 'aquastop_device_heartbeats_received_total',
    help: 'Heartbeats received from the device.',
    labelNames: ['device'],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of reports()) this.inc({ device: r.id }, r.heartbeatsReceived);
    },
  });
  new Counter({
    name: 'aquastop_device_heartbeats_lost_total',
    help: 'Heartbeats missing from seq gaps within one boot.',
    labelNames: ['device'],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of reports()) this.inc({ device: r.id }, r.heartbeatsLost);
    },
  });
  new Counter({
    name: 'aquastop_device_restarts_total',
    help: 'Device restarts seen from boot counter changes.',
    labelNames: ['device'],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of reports()) this.inc({ device: r.id }, r.restarts);
    },
  });
  new Counter({
    name: 'aquastop_device_faults_raised_total',
    help: 'Faults raised by the device, by fault code.',
    labelNames: ['device', 'code'],
    registers: [registry],
    collect() {
      this.reset();
      for (const f of tracker.faultCounts()) this.inc({ device: f.id, code: f.code }, f.count);
    },
  });
  new Gauge({
    name: 'aquastop_device_breaker_state',
    help: 'Breaker state of the device: 1 for the current state, 0 for the others.',
    labelNames: ['device', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of reports()) {
        if (r.breaker === null) continue;
        for (const s of BREAKER_STATES) this.set({ device: r.id, state: s }, r.breaker === s ? 1 : 0);
      }
    },
  });
  new Gauge({
    name: 'aquastop_device_last_seen_timestamp_seconds',
    help: 'Time of the last heartbeat from the device (Unix seconds).',
    labelNames: ['device'],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of reports()) if (r.lastSeen !== null) this.set({ device: r.id }, Date.parse(r.lastSeen) / 1000);
    },
  });
  new Gauge({
    name: 'aquastop_device_flapping',
    help: 'Whether the device is flapping (1): its UP/DOWN alerts wait for a quiet period.',
    labelNames: ['device'],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of reports()) this.set({ device: r.id }, r.flapping ? 1 : 0);
    },
  });
  new Gauge({
    name: 'aquastop_monitor_devices',
    help: 'Devices tracked now (tracked) and the most the monitor tracks (max, --max-devices).',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      this.set({ kind: 'tracked' }, tracker.size);
      this.set({ kind: 'max' }, tracker.maxDevices);
    },
  });
  new Counter({
    name: 'aquastop_monitor_devices_dropped_total',
    help: 'Devices dropped: forgotten (not heard from for the retention) or evicted (a new id at the cap took their place).',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ reason: 'forgotten' }, tracker.bounds.forgotten);
      this.inc({ reason: 'evicted' }, tracker.bounds.evicted);
    },
  });
  new Counter({
    name: 'aquastop_monitor_messages_refused_total',
    help: 'Messages ignored because their new device id found the cap full of devices with open incidents.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(tracker.bounds.refused);
    },
  });
  new Gauge({
    name: 'aquastop_monitor_history_lines',
    help: 'Lines in the history file: live, and superseded ones the next compaction drops.',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      const { lines, superseded } = tracker.diskLines();
      this.set({ kind: 'live' }, lines - superseded);
      this.set({ kind: 'superseded' }, superseded);
    },
  });
  new Counter({
    name: 'aquastop_monitor_webhook_alerts_total',
    help: 'Alerts sent to the webhook, by outcome: delivered, retried (an attempt failed and was tried again), failed (given up), dropped (queue full, or the monitor stopped). Absent without --webhook.',
    labelNames: ['result'],
    registers: [registry],
    collect() {
      this.reset();
      const stats = webhook();
      if (!stats) return;
      for (const result of ['delivered', 'retried', 'failed', 'dropped'] as const) this.inc({ result }, stats[result]);
    },
  });
  new Gauge({
    name: 'aquastop_device_event_loop_lag_seconds',
    help: 'Event-loop lag of the process running the device, from its last heartbeat: the highest p99 and max of its 10 s windows of the last minute.',
    labelNames: ['device', 'stat'],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of reports()) {
        if (r.loopLag === null) continue;
        this.set({ device: r.id, stat: 'p99' }, r.loopLag.p99Ms / 1000);
        this.set({ device: r.id, stat: 'max' }, r.loopLag.maxMs / 1000);
      }
    },
  });
  if (ingest) {
    new Counter({
      name: 'aquastop_monitor_invalid_messages_total',
      help: 'MQTT messages ignored because their payload failed the schema, by topic kind.',
      labelNames: ['topic'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [topic, n] of ingest.invalid) this.inc({ topic }, n);
      },
    });
  }
  return registry;
}
