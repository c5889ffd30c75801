/**
 * One of several monitors that share a fleet (`aquastop monitor --history postgres://...`):
 * the history and the shard leases in PostgreSQL (pg-history.ts, leases.ts), the trackers of
 * the shards it holds behind one face (shared.ts), the same MQTT subscriber, alerts, metrics,
 * HTTP API and Graphite push as one monitor (index.ts). src/monitor/README.md "Monitors that
 * share a fleet".
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Clock } from '../clock/clock.js';
import type { GraphitePusher } from './graphite.js';
import type { HttpApi, startHttpApi } from './http.js';
import { ShardLeases } from './leases.js';
import { createMetrics } from './metrics.js';
import { MonitorError, trackerSettings, type MonitorConfig } from './options.js';
import { describeHistoryUrl } from './history-url.js';
import { historyPool, PgHistory } from './pg-history.js';
import { SharedFleet } from './shared.js';
import type { Subscriber } from './subscriber.js';
import { Tracker } from './tracker.js';
import { alertSinkFor, graphiteFor, serveApiFor, subscribeFor } from './wiring.js';

/** How often an instance publishes its devices' reports for the others' fleet view. */
export const REPORT_MS = 2000;

export interface SharedMonitor {
  readonly url: string;
  readonly tracker: SharedFleet;
  readonly fleet: SharedFleet;
  readonly subscriber: Subscriber;
  readonly graphite: GraphitePusher | null;
  /** This instance's name in the lease and membership tables. */
  readonly instance: string;
  readonly history: PgHistory;
  stop(): Promise<void>;
}

export async function startSharedMonitor(
  config: MonitorConfig & { readonly historyUrl: string },
  clock: Clock,
  logger: Logger,
  health?: (subscriber: Subscriber) => Parameters<typeof startHttpApi>[0]['health'],
): Promise<SharedMonitor> {
  const where = describeHistoryUrl(config.historyUrl);
  const instance = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  let fleet: SharedFleet | null = null;
  let leases: ShardLeases | null = null;
  const store = new PgHistory({
    url: config.historyUrl,
    instance,
    statementTimeoutMs: Math.max(1000, Math.round(config.leaseMs / 2)),
    onError: (message) => logger.error({ history: where }, `history database ${where}: ${message}`),
    onLost: (shard) => {
      leases?.forget(shard);
      fleet?.lose([shard], 'a history write was refused: the lease is gone');
    },
  });
  await store.init().catch(async (err: unknown) => {
    await store.close();
    throw new MonitorError(`--history: cannot use the history database at ${where}: ${err instanceof Error ? err.message : String(err)}`);
  });

  const alerts = alertSinkFor(config, logger, clock);
  const settings = trackerSettings(config);
  fleet = new SharedFleet({
    store,
    alerts,
    logger,
    maxDevices: config.maxDevices,
    now: () => clock.now(),
    makeTracker: (log, sink) => new Tracker({ clock, log, alerts: sink, ...settings }),
  });
  const shared = fleet;

  let http: HttpApi | null = null;
  let subscriber: Subscriber | null = null;
  let registry: Registry;
  try {
    subscriber = await subscribeFor(config, { tracker: shared, logger, clock, skip: (name, id) => name !== 'availability' && name !== 'bridgeState' && !shared.owns(id) });
    registry = createMetrics(shared, subscriber.stats, () => alerts.webhookStats);
    http = await serveApiFor(config, { tracker: shared, fleet: shared, registry, health: health?.(subscriber) });
    // The leases have a connection of their own: a renewal never waits behind a large write.
    const leasePool = historyPool(config.historyUrl, 1, Math.max(500, Math.round(config.leaseMs / 3)), (message) =>
      logger.error({ history: where }, `history database ${where}: ${message}`),
    );
    leases = new ShardLeases({
      pool: leasePool,
      instance,
      url: http.url,
      leaseMs: config.leaseMs,
      onAcquire: (held, aliveUntil) => shared.acquire(held, aliveUntil),
      onLose: (shards, why) => shared.lose(shards, why),
      onRelease: (shard) => shared.release(shard),
      log: (level, line) => logger[level]({ instance }, line),
    });
    shared.leases = leases;
    await leases.start();
  } catch (err) {
    await leases?.stop().catch(() => undefined);
    await subscriber?.stop().catch(() => undefined);
    await http?.close();
    await store.close();
    throw err;
  }
  logger.info(
    { url: http.url, broker: config.brokerUrl, history: where, instance, shards: shared.shards().length, leaseMs: config.leaseMs },
    `monitor on ${http.url}, sharing the fleet through ${where} as ${instance}`,
  );

  let publishing: Promise<void> | null = null;
  let publishFailing = false;
  const publisher = setInterval(() => {
    publishing ??= shared
      .publish()
      .then(() => void (publishFailing = false))
      .catch((err: unknown) => {
        if (!publishFailing) logger.warn({ history: where }, `cannot publish the device reports: ${err instanceof Error ? err.message : String(err)}`);
        publishFailing = true;
      })
      .finally(() => (publishing = null));
  }, REPORT_MS);

  const graphite = graphiteFor(config, registry, clock, logger);

  const api = http;
  const sub = subscriber;
  const held = leases;
  let stopped: Promise<void> | null = null;
  return {
    url: api.url,
    tracker: shared,
    fleet: shared,
    subscriber: sub,
    graphite,
    instance,
    history: store,
    stop() {
      stopped ??= (async () => {
        clearInterval(publisher);
        await graphite?.stop();
        await sub.stop().catch(() => undefined);
        await publishing;
        // Each shard's tracker stopped and written, then its lease freed: the others take it at once.
        await held.stop();
        await store.close();
        await alerts.drain();
        await api.close();
      })();
      return stopped;
    },
  };
}
