/**
 * The monitor's MQTT side: subscribes to every device's heartbeat, availability, state and
 * fault topics and every process's bridge state (filters from src/protocol/topics.ts), validates each payload with its
 * schema and hands it to the tracker.
 *
 * An invalid payload (not JSON, or failing the schema) is counted per topic kind and logged
 * once per topic, then ignored. Losing the broker is reported to the tracker (devices become
 * "unknown" rather than DOWN: the monitor cannot tell); mqtt.js reconnects by itself, to the
 * next node when `brokerUrl` lists the nodes of a cluster, and the subscriptions are asked for
 * again, a refused one with back-off until the broker accepts (src/telemetry/subscriptions.ts).
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { z } from 'zod';
import type { Logger } from 'pino';
import { filterFor, parseTopic, TOPICS, type TopicName } from '../protocol/topics.js';
import type { TlsMaterial } from '../telemetry/tls.js';
import type { TrackerView } from './tracker-view.js';
import { wallClock, type Clock } from '../clock/clock.js';
import { redactUrl } from '../telemetry/redact-url.js';
import { brokerNodes } from '../protocol/broker-url.js';
import { brokerTarget, followNodes, nodeOf } from '../telemetry/connection.js';
import { mqttTarget, Subscriptions } from '../telemetry/subscriptions.js';

export interface SubscriberOptions {
  readonly brokerUrl: string;
  readonly username?: string;
  readonly password?: string;
  readonly tls?: TlsMaterial;
  /** With a user name: the monitor keeps a persistent session named after this directory and host. */
  readonly dataDir?: string;
  readonly baseTopic: string;
  readonly tracker: Pick<TrackerView, 'onHeartbeat' | 'onAvailability' | 'onState' | 'onFault' | 'onBridgeState' | 'onConnection'>;
  /** Messages to leave unread (a monitor sharing the fleet skips the devices another instance tracks, before parsing). */
  readonly skip?: (name: TopicName, id: string) => boolean;
  readonly logger: Logger;
  /** For the times /healthz gives; default wall time. */
  readonly clock?: Clock;
}

export interface IngestStats {
  /** Messages handed to the tracker. */
  accepted: number;
  /** Invalid payloads per topic kind. */
  readonly invalid: Map<string, number>;
}

export const SUBSCRIBED: readonly TopicName[] = ['heartbeat', 'availability', 'state', 'fault', 'bridgeState'];

/**
 * How the monitor reads each message it subscribes to: the contract's schema, except that a field it
 * does not know (a newer device's) is dropped instead of refusing the whole message, so devices can be
 * upgraded before monitors. A known field with a wrong value is still refused.
 */
const READERS = new Map<TopicName, z.ZodType>(
  SUBSCRIBED.map((name) => {
    const schema = TOPICS[name].schema;
    return [name, schema instanceof z.ZodObject ? schema.strip() : schema];
  }),
);
const LOGGED_TOPICS_MAX = 1000;

/** The monitor's own broker connection, as /healthz reports it. */
export interface BrokerHealth {
  readonly connected: boolean;
  /** Clock ms of the last change (connected, or lost). */
  readonly since: number;
  /** While disconnected: the last error of the outage (or "connection closed"); null when connected. */
  readonly reason: string | null;
}

export interface Subscriber {
  readonly client: MqttClient;
  readonly stats: IngestStats;
  health(): BrokerHealth;
  stop(): Promise<void>;
}

/**
 * The monitor's client: a persistent session when it logs in, a clean one otherwise; a broker
 * list's nodes in turn (one per reconnect). Resolves once connected; rejects if the first
 * connection fails.
 */
function connectClient(options: SubscriberOptions): Promise<MqttClient> {
  // A monitor that logs in keeps a persistent session, under one client id per data directory
  // and host: fault events (QoS 1) published while it is cut off, or after a broker restart
  // before it has subscribed again, wait for it at the broker (which bounds the queue: 1,000
  // messages on ours). An anonymous one gets a clean session (brokers refuse or forget
  // persistent sessions without a name).
  const persistent = options.username !== undefined && options.dataDir !== undefined;
  const target = brokerTarget(options.brokerUrl);
  const opts: IClientOptions = {
    ...target.options,
    username: options.username,
    password: options.password,
    clientId: persistent ? monitorClientId(options.dataDir) : `aquastop-monitor-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
    clean: !persistent,
    reconnectPeriod: 1000,
    connectTimeout: 5000,
    // Subscribed again after each reconnect by Subscriptions: mqtt.js's own resubscription drops refused filters.
    resubscribe: false,
    ...options.tls,
  };
  const nodes = brokerNodes(options.brokerUrl).length;
  if (nodes === 1) return mqtt.connectAsync(target.url, opts, false);
  const client = mqtt.connect(target.url, opts);
  followNodes(client, options.brokerUrl);
  return firstConnection(client, nodes);
}

/** Network errors that leave the node for the next one of a list (anything else, refused credentials or a TLS failure, would fail on every node). */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

/** The first connection of a client given `nodes` nodes: each is tried once (mqtt.js moves on at each reconnect) before it fails. */
function firstConnection(client: MqttClient, nodes: number): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    let closes = 0;
    let lastError: Error | null = null;
    const done = (err: Error | null) => {
      client.off('connect', connected);
      client.off('error', failed);
      client.off('close', closed);
      if (err === null) return resolve(client);
      client.end(true);
      reject(err);
    };
    const connected = () => done(null);
    const failed = (err: Error & { code?: unknown }) => {
      if (typeof err.code === 'string' && UNREACHABLE.has(err.code)) lastError = err;
      else done(err);
    };
    const closed = () => {
      if (++closes >= nodes) done(lastError ?? new Error("Couldn't connect to server"));
    };
    client.on('connect', connected);
    client.on('error', failed);
    client.on('close', closed);
  });
}

/**
 * The broker connection's health, for /healthz and the log: one line when the connection is lost
 * and one when it is back, however many reconnect attempts fail in between (mqtt.js retries every
 * second): each attempt's error only updates the reason /healthz gives.
 */
function watchHealth(client: MqttClient, options: SubscriberOptions): () => BrokerHealth {
  const { tracker, logger } = options;
  const clock = options.clock ?? wallClock;
  const now = () => clock.now();
  const broker = redactUrl(options.brokerUrl);
  const list = options.brokerUrl.includes(',');
  let health: BrokerHealth = { connected: true, since: now(), reason: null };
  client.on('connect', () => {
    if (health.connected) return;
    const outageS = Math.round((now() - health.since) / 1000);
    const node = list ? redactUrl(nodeOf(client, options.brokerUrl)) : null;
    logger.info({ broker, ...(node ? { node } : {}), outageS, lastError: health.reason }, `broker connection back after ${outageS} s${node ? ` on ${node}` : ''}`);
    health = { connected: true, since: now(), reason: null };
    tracker.onConnection(true);
  });
  const lost = (reason: string) => {
    if (!health.connected) {
      health = { ...health, reason };
      return;
    }
    health = { connected: false, since: now(), reason };
    logger.warn({ broker, reason }, `broker connection lost (${reason}); device status unknown until it is back`);
    tracker.onConnection(false);
  };
  client.on('offline', () => lost(health.connected ? 'connection closed' : (health.reason ?? 'connection closed')));
  client.on('error', (err) => {
    if (health.connected && client.connected) logger.error({ broker }, `mqtt: ${err.message}`);
    else lost(err.message);
  });
  return () => health;
}

/** Reads one message: its topic and schema checked, then handed to the tracker; invalid ones counted (and logged once per topic). */
function messageReader(options: SubscriberOptions, stats: IngestStats): (topic: string, payload: Buffer, retained: boolean) => void {
  const { tracker, logger, baseTopic } = options;
  const loggedInvalid = new Set<string>();
  const invalid = (topic: string, name: string, why: string, device: string | undefined) => {
    stats.invalid.set(name, (stats.invalid.get(name) ?? 0) + 1);
    if (loggedInvalid.has(topic) || loggedInvalid.size >= LOGGED_TOPICS_MAX) return;
    loggedInvalid.add(topic);
    logger.warn({ topic, ...(device !== undefined ? { device } : {}) }, `ignoring invalid ${name} payload on ${topic}: ${why} (further ones on this topic are only counted)`);
  };
  return (topic, payload, retained) => {
    const where = parseTopic(topic, baseTopic);
    if (!where || !SUBSCRIBED.includes(where.name)) return;
    if (options.skip?.(where.name, where.id ?? '')) return;
    // Retained topics are cleared with an empty payload: nothing to judge.
    if (payload.length === 0) return;
    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch {
      invalid(topic, where.name, 'not JSON', where.id);
      return;
    }
    const r = READERS.get(where.name)!.safeParse(json);
    if (!r.success) {
      invalid(topic, where.name, r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '), where.id);
      return;
    }
    stats.accepted++;
    const id = where.id ?? '';
    switch (where.name) {
      case 'heartbeat':
        tracker.onHeartbeat(id, r.data as never);
        break;
      case 'availability':
        tracker.onAvailability(id, r.data as never, retained);
        break;
      case 'state':
        tracker.onState(id, r.data as never, retained);
        break;
      case 'fault':
        tracker.onFault(id, r.data as never, retained);
        break;
      case 'bridgeState':
        tracker.onBridgeState(where.bridge ?? '', r.data as never);
        break;
      default:
        break;
    }
  };
}

/**
 * Connects and subscribes; rejects (one clear message) if the first connection fails or the
 * broker refuses the first subscription. After a reconnect the filters are asked for again, and
 * a refused one again with back-off until the broker accepts (src/telemetry/subscriptions.ts).
 */
export async function startSubscriber(options: SubscriberOptions): Promise<Subscriber> {
  const { logger, baseTopic } = options;
  const stats: IngestStats = { accepted: 0, invalid: new Map() };
  const client = await connectClient(options);
  const health = watchHealth(client, options);
  const subscriptions = new Subscriptions(mqttTarget(client, 1), { log: (line) => logger.warn({ broker: redactUrl(options.brokerUrl) }, line) });
  // A clean session forgets subscriptions; a node of a cluster may refuse them for a while.
  client.on('connect', () => void subscriptions.resubscribe());
  const read = messageReader(options, stats);
  client.on('message', (topic, payload, packet) => read(topic, payload, packet.retain));

  // Subscribed only now that the handler listens: the broker sends the retained messages right
  // with the SUBACK, before an await on the subscription returns.
  const filters = SUBSCRIBED.map((name) => filterFor(name, baseTopic));
  await client.subscribeAsync(Object.fromEntries(filters.map((f) => [f, { qos: 1 as const }]))).catch(async (err: unknown) => {
    await client.endAsync(true);
    throw err;
  });
  subscriptions.adopt(filters);

  return {
    client,
    stats,
    health,
    async stop() {
      subscriptions.stop();
      await client.endAsync();
    },
  };
}

/** The persistent session's client id: the same for one data directory on one host. */
export function monitorClientId(dataDir: string): string {
  return `aquastop-monitor-${createHash('sha256')
    .update(`${hostname()}\0${resolve(dataDir)}`)
    .digest('hex')
    .slice(0, 16)}`;
}
