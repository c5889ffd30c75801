/**
 * What one monitor (index.ts) and a monitor sharing a fleet (shared-monitor.ts) start alike from
 * their options: the alert sink, the MQTT subscriber, the HTTP API and the Graphite push, each
 * failure a user can fix told as one {@link MonitorError} line.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Clock } from '../clock/clock.js';
import { describeTlsError } from '../telemetry/tls.js';
import { WebhookAlertSink } from './alerts.js';
import { GraphitePusher, parseGraphiteUrl, registerGraphiteMetrics } from './graphite.js';
import { startHttpApi, type HttpApi } from './http.js';
import { MonitorError, type MonitorConfig } from './options.js';
import { startSubscriber, type Subscriber, type SubscriberOptions } from './subscriber.js';

/** Alerts to the log, and to the webhook when one is configured. */
export function alertSinkFor(config: MonitorConfig, logger: Logger, clock: Clock): WebhookAlertSink {
  return new WebhookAlertSink({
    logger,
    clock,
    webhookUrl: config.webhookUrl,
    secret: config.webhookSecret,
    timeoutMs: config.webhookTimeoutS * 1000,
    maxAttempts: config.webhookRetries + 1,
  });
}

/** The subscriber on the configured broker; a first connection that fails is one line naming the broker. */
export function subscribeFor(config: MonitorConfig, options: Omit<SubscriberOptions, keyof MonitorConfig | 'brokerUrl'>): Promise<Subscriber> {
  return startSubscriber({ ...config, ...options }).catch((err: unknown) => {
    throw new MonitorError(`cannot connect to the broker at ${config.brokerUrl}: ${describeTlsError(err) ?? (err instanceof Error ? err.message : String(err))}`);
  });
}

/** The HTTP API on the configured address; a port in use is one line naming it. */
export function serveApiFor(config: MonitorConfig, options: Omit<Parameters<typeof startHttpApi>[0], 'host' | 'port'>): Promise<HttpApi> {
  return startHttpApi({ host: config.host, port: config.port, ...options }).catch((err: unknown) => {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new MonitorError(`monitor: port ${config.port} is already in use (choose another with --port, or 0)`);
    throw err;
  });
}

/** With `--graphite`: pushes the registry's figures at the interval, its own figures registered too; else null. */
export function graphiteFor(config: MonitorConfig, registry: Registry, clock: Clock, logger: Logger): GraphitePusher | null {
  if (config.graphiteUrl === null) return null;
  const url = config.graphiteUrl;
  const graphite = new GraphitePusher({
    url,
    address: parseGraphiteUrl(url)!,
    prefix: config.graphitePrefix,
    intervalMs: config.graphiteIntervalMs,
    collect: () => registry.getMetricsAsJSON(),
    clock,
    log: (level, line) => logger[level]({ graphite: url }, line),
  });
  registerGraphiteMetrics(registry, graphite);
  graphite.start();
  logger.info({ graphite: url, prefix: config.graphitePrefix, intervalMs: config.graphiteIntervalMs }, `pushing to Graphite at ${url} every ${config.graphiteIntervalMs / 1000} s`);
  return graphite;
}
