/**
 * The uptime monitor: watches every device on the broker, keeps its history in the data
 * directory, serves /metrics and /api/devices, and alerts on DOWN/UP and faults.
 * See src/monitor/README.md.
 */
import { pino, type Logger } from 'pino';
import type { Registry } from 'prom-client';
import { wallClock, type Clock } from '../clock/clock.js';
import { FileHistoryStore } from './history-store.js';
import type { GraphitePusher } from './graphite.js';
import type { Health, HttpApi } from './http.js';
import { createMetrics } from './metrics.js';
import { parseMonitorOptions, trackerSettings, type MonitorConfigInput } from './options.js';
import type { Subscriber } from './subscriber.js';
import { Tracker } from './tracker.js';
import type { TrackerView } from './tracker-view.js';
import { alertSinkFor, graphiteFor, serveApiFor, subscribeFor } from './wiring.js';
import { redactUrl } from '../telemetry/redact-url.js';

export { MonitorError, parseMonitorOptions } from './options.js';
export type { MonitorConfig, MonitorConfigInput } from './options.js';
export type { Alert, DeviceReport, HistoryItem } from './types.js';
export { Tracker } from './tracker.js';

export type MonitorOptions = MonitorConfigInput & {
  /** Default: wall clock. */
  readonly clock?: Clock;
  /** Default: pino (info) on stderr. */
  readonly logger?: Logger;
};

export interface Monitor {
  /** http:// URL of the API (/api/devices, /metrics). */
  readonly url: string;
  /** The devices this monitor tracks: with `--history postgres://`, those of the shards it holds (shared.ts). */
  readonly tracker: TrackerView;
  readonly subscriber: Subscriber;
  /** The Graphite pusher with `graphiteUrl` (--graphite), else null. */
  readonly graphite: GraphitePusher | null;
  /** Unsubscribes, snapshots counters, records the stop, waits for webhooks in flight, closes the API. */
  stop(): Promise<void>;
}

/** /healthz: ok while the monitor's broker connection is up; else why not, and since when. */
function brokerHealth(subscriber: Subscriber, brokerUrl: string): () => Health {
  return () => {
    const h = subscriber.health();
    if (h.connected) return { ok: true, broker: 'connected' };
    const since = new Date(h.since).toISOString();
    return { ok: false, broker: 'disconnected', since, reason: `no connection to the broker at ${redactUrl(brokerUrl)} since ${since}: ${h.reason ?? 'connection closed'}` };
  };
}

export async function startMonitor(options: MonitorOptions): Promise<Monitor> {
  const { clock = wallClock, logger = pino({ name: 'aquastop-monitor' }, pino.destination(2)), ...raw } = options;
  const config = parseMonitorOptions(raw);
  if (config.historyUrl !== null) {
    // Monitors that share a fleet: history and shard leases in PostgreSQL.
    const { startSharedMonitor } = await import('./shared-monitor.js');
    return startSharedMonitor({ ...config, historyUrl: config.historyUrl }, clock, logger, (sub) => brokerHealth(sub, config.brokerUrl));
  }
  const log = (await new FileHistoryStore(config.dataDir).open([0]))[0]!;
  const alerts = alertSinkFor(config, logger, clock);
  const tracker = new Tracker({ clock, log, alerts, ...trackerSettings(config) });
  tracker.start();
  if (log.skipped > 0) logger.warn(`skipped ${log.skipped} unreadable line(s) in ${log.path}`);

  let http: HttpApi;
  let subscriber: Subscriber | null = null;
  let registry: Registry;
  try {
    subscriber = await subscribeFor(config, { tracker, logger, clock });
    registry = createMetrics(tracker, subscriber.stats, () => alerts.webhookStats);
    http = await serveApiFor(config, { tracker, registry, health: brokerHealth(subscriber, config.brokerUrl) });
  } catch (err) {
    await subscriber?.stop().catch(() => undefined);
    tracker.stop();
    log.close();
    throw err;
  }
  logger.info({ url: http.url, broker: config.brokerUrl, base: config.baseTopic, dataDir: config.dataDir }, `monitor on ${http.url}`);

  const graphite = graphiteFor(config, registry, clock, logger);

  const api = http;
  const sub = subscriber;
  let stopped: Promise<void> | null = null;
  return {
    url: api.url,
    tracker,
    subscriber: sub,
    graphite,
    stop() {
      stopped ??= (async () => {
        await graphite?.stop();
        await sub.stop().catch(() => undefined);
        tracker.stop();
        log.close();
        await alerts.drain();
        await api.close();
      })();
      return stopped;
    },
  };
}
