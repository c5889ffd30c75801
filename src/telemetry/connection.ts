/**
 * The process's one MQTT connection (mqtt.js): the bridge state with its last will, one typed
 * publish path for every topic of topics.ts, and reconnection.
 *
 * Contract:
 * - Every payload is checked against its topic's schema before it leaves; the topic's retain
 *   flag and QoS come from the map, never from the caller.
 * - `publish(..., { whenOffline: 'drop' })` (heartbeats, state) sends nothing while the broker
 *   is unreachable: the caller re-publishes what is current after `onConnect`. Fault events
 *   use `'queue'`: mqtt.js keeps them, in order, and sends them after reconnecting.
 * - The bridge state is this process's own topic, `<base>/bridge/<bridgeId>/state`. On every
 *   (re)connect it publishes `{"state":"online"}` (retained) and the `onConnect` listeners
 *   run; the broker publishes the will `{"state":"offline"}` when the connection dies, which
 *   makes offline only the devices whose availability names this bridge. `end()` publishes
 *   offline itself before disconnecting.
 * - `open()` rejects with a one-line reason when the broker refuses the credentials or the TLS
 *   handshake fails (an untrusted broker certificate, a refused client certificate: retrying
 *   cannot help); a broker that cannot be reached is retried in the background (the device
 *   keeps protecting). After the first connection every failure is retried.
 * - `url` may list the nodes of one clustered broker (src/protocol/broker-url.ts): each (re)connect tries the
 *   next node in turn, so a lost node is left for a surviving one; the log names the node.
 * - `subscribe()` filters stay wanted: they are asked for again after every (re)connect, and a
 *   filter the broker refuses (SUBACK 0x80) is asked for again with back-off (1 s doubling to
 *   30 s) while connected. mqtt.js would forget every filter of a refused SUBSCRIBE for good; a
 *   clustered broker refuses a subscription for a while after losing a node (NATS cannot create
 *   its JetStream consumer yet), and a device deaf to `set` would miss a close-valve command.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { brokerNodes } from '../protocol/broker-url.js';
import { TOPICS, topicFor, type PayloadOf, type TopicName, type TopicParams } from './topics.js';
import { describeTlsError, type TlsMaterial } from './tls.js';

export interface ConnectionOptions {
  /** One broker URL, or the nodes of one broker separated by commas (checked with src/protocol/broker-url.ts). */
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
  readonly base: string;
  /** This process's bridge id (topics.ts `bridgeIdSchema`). */
  readonly bridgeId: string;
  readonly log: (line: string) => void;
  /** How long `open()` waits for the first answer before carrying on offline; default 5,000 ms. */
  readonly connectTimeoutMs?: number;
  /** CA, client certificate and key for mqtts:// and wss:// (tls.ts). */
  readonly tls?: TlsMaterial;
  /**
   * Jittered exponential back-off between reconnect attempts instead of mqtt.js's fixed 1 s:
   * attempt k waits a uniform draw in [cap/2, cap) with cap = min(maxMs, firstMs * 2^k), so many
   * connections that lost one broker at once come back spread out (no thundering herd after a
   * broker restart). `random` gives [0, 1) (a seeded generator makes a run repeatable).
   */
  readonly backoff?: { readonly firstMs: number; readonly maxMs: number; readonly random: () => number };
}

/** `retained`: the broker kept this message from earlier (sent because we subscribed), not a live publish. */
export type Listener = (topic: string, payload: Buffer, retained: boolean) => void;

/** Back-off of a refused subscription (ms). */
const SUBSCRIBE_RETRY_MS = { first: 1_000, max: 30_000 } as const;

const REFUSED = /not authori[sz]ed|bad user ?name or password|connection refused|identifier rejected/i;

export class Connection {
  readonly client: MqttClient;
  private readonly base: string;
  readonly bridgeId: string;
  private readonly log: (line: string) => void;
  private readonly connectListeners = new Set<() => void>();
  private wasConnected = false;
  /** Built topics: topicFor validates its parameters, so each is built once. */
  private readonly topics = new Map<string, string>();
  private outages = 0;
  /** open() has given up: what follows (a failed subscription) is noise after its one line. */
  private givenUp = false;
  /** While open() waits, a fatal error is its to report, in one line. */
  private opening = false;
  /** Every filter subscribe() was given (a handful per device), subscribed again after each connect. */
  private readonly wanted = new Set<string>();
  /** Filters refused by the broker, asked for again when `retryTimer` fires. */
  private readonly refused = new Set<string>();
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private retryMs: number = SUBSCRIBE_RETRY_MS.first;

  constructor(private readonly options: ConnectionOptions) {
    this.base = options.base;
    this.bridgeId = options.bridgeId;
    this.log = options.log;
    const opts: IClientOptions = {
      // One client id per bridge, the same across restarts: a process that comes back while the
      // broker still holds its old, half-open connection takes that session over, so the old
      // connection's will (offline) is sent at once, before this one's online, and never later
      // under a running process (with a fresh id it came when the old keepalive ran out, ~90 s on).
      // Two processes with the same bridge id (the same device id) take turns: a misconfiguration.
      clientId: clientIdFor(this.bridgeId),
      clean: true,
      reconnectPeriod: 1_000,
      connectTimeout: options.connectTimeoutMs ?? 5_000,
      protocolVersion: 4,
      // Subscribed again by handleConnect: mqtt.js's own resubscription drops refused filters.
      resubscribe: false,
      will: { topic: topicFor('bridgeState', { base: this.base, bridge: this.bridgeId }), payload: Buffer.from('{"state":"offline"}'), qos: 1, retain: true },
      ...(options.username !== undefined ? { username: options.username } : {}),
      ...(options.password !== undefined ? { password: options.password } : {}),
      ...options.tls,
    };
    const nodes = brokerNodes(options.url);
    // mqtt.js moves to the next of `servers` at every (re)connect.
    const servers = nodes.length > 1 ? { servers: nodes.map((n) => ({ ...n })) } : {};
    this.client = mqtt.connect(options.url.split(',')[0]!.trim(), { ...opts, ...servers, manualConnect: true });
    if (nodes.length > 1) {
      // mqtt.js's TLS builder sets the server name (SNI, and the name the certificate must carry)
      // from the first node's host and keeps it: forget it, so each node is checked by its own name.
      this.client.on('close', () => delete this.client.options.servername);
    }
    this.client.on('connect', () => this.handleConnect());
    if (options.backoff) this.jitterReconnects(options.backoff);
    this.client.on('offline', () => {
      if (!this.wasConnected) return;
      this.wasConnected = false;
      this.outages++;
      this.log(`broker ${this.node()} unreachable; protecting offline, fault events are kept and sent after reconnect`);
    });
    // While the broker is away mqtt.js retries every second: say each distinct error once per outage.
    let lastError = '';
    this.client.on('connect', () => (lastError = ''));
    this.client.on('error', (err) => {
      if (this.givenUp || (this.opening && (describeTlsError(err) !== null || REFUSED.test(err.message)))) return;
      const message = describeTlsError(err) ?? err.message;
      if (message === lastError) return;
      lastError = message;
      this.log(`broker error: ${message}`);
    });
  }

  /**
   * mqtt.js arms one fixed-period interval per outage when the socket closes (its own 'close'
   * listener, registered first): before it runs, set the period of the next attempt and drop
   * the interval of the attempt that just failed, so every attempt gets its own draw.
   */
  private jitterReconnects(b: NonNullable<ConnectionOptions['backoff']>): void {
    let attempt = 0;
    const internals = this.client as unknown as { reconnectTimer: ReturnType<typeof setInterval> | null };
    this.client.on('connect', () => (attempt = 0));
    this.client.prependListener('close', () => {
      // Given up or ending: no reconnect to time (open() set the period to 0 for good).
      if (this.givenUp || this.client.disconnecting) return;
      const cap = Math.min(b.maxMs, b.firstMs * 2 ** Math.min(attempt, 30));
      attempt++;
      this.client.options.reconnectPeriod = Math.max(1, Math.round(cap / 2 + (b.random() * cap) / 2));
      if (internals.reconnectTimer !== null && internals.reconnectTimer !== undefined) {
        clearInterval(internals.reconnectTimer);
        internals.reconnectTimer = null;
      }
    });
  }

  get connected(): boolean {
    return this.client.connected;
  }

  /** The URL of the node this connection is on (or was last tried): the one URL, or one node of a list. */
  node(): string {
    if (!this.options.url.includes(',')) return this.options.url;
    const o = this.client.options;
    const host = o.host?.includes(':') ? `[${o.host}]` : o.host;
    return `${o.protocol}://${host}:${o.port}${o.protocol?.startsWith('ws') ? (o.path ?? '') : ''}`;
  }

  /** Connects; resolves once connected or once the broker is known to be unreachable for now. */
  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = () => {
        this.opening = false;
        this.client.off('connect', done);
        this.client.off('error', failed);
        this.client.off('offline', done);
        resolve();
      };
      const failed = (err: Error) => {
        const tls = describeTlsError(err);
        if (tls === null && !REFUSED.test(err.message)) return;
        this.client.off('connect', done);
        this.client.off('offline', done);
        // Given up for good: with manualConnect, mqtt.js would otherwise re-arm its reconnect
        // timer when the socket closes after end(), and the process would never exit.
        this.client.options.reconnectPeriod = 0;
        this.opening = false;
        this.givenUp = true;
        this.client.end(true);
        reject(new Error(tls ? `broker ${this.options.url}: ${tls}` : `broker ${this.options.url} refused the connection: ${err.message.replace(/^connection refused:\s*/i, '')}`));
      };
      this.client.on('connect', done);
      this.client.on('offline', done);
      this.client.on('error', failed);
      this.opening = true;
      this.client.connect();
    });
  }

  onConnect(listener: () => void): () => void {
    this.connectListeners.add(listener);
    return () => this.connectListeners.delete(listener);
  }

  /** Publishes on one of our topics; resolves when QoS 1 is acknowledged (QoS 0: written), false if it was not sent. */
  publish<T extends TopicName>(name: T, params: Omit<TopicParams, 'base'>, payload: PayloadOf<T>, whenOffline: 'drop' | 'queue' = 'drop'): Promise<boolean> {
    const message = this.prepare(name, params, payload);
    if (!this.client.connected && whenOffline === 'drop') return Promise.resolve(false);
    return new Promise((resolve) => {
      this.client.publish(message.topic, message.body, message.options, (err) => resolve(!err));
    });
  }

  /** Fire and forget, for the many small QoS 0 messages (heartbeats): nothing is sent while offline. */
  send<T extends TopicName>(name: T, params: Omit<TopicParams, 'base'>, payload: PayloadOf<T>): void {
    const message = this.prepare(name, params, payload);
    if (this.client.connected) this.client.publish(message.topic, message.body, message.options);
  }

  private prepare<T extends TopicName>(name: T, params: Omit<TopicParams, 'base'>, payload: PayloadOf<T>) {
    const spec = TOPICS[name];
    const checked = spec.schema.parse(payload);
    const key = `${name}|${params.id ?? ''}|${params.bridge ?? ''}|${params.prefix ?? ''}|${params.component ?? ''}|${params.object ?? ''}`;
    let topic = this.topics.get(key);
    if (topic === undefined) {
      topic = topicFor(name, { ...params, base: this.base });
      this.topics.set(key, topic);
    }
    return { topic, body: typeof checked === 'string' ? checked : JSON.stringify(checked), options: { qos: spec.qos, retain: spec.retain } };
  }

  /** Subscribes (QoS 1) now if connected, and again after every (re)connect; refused filters are asked for again. */
  subscribe(filters: string[]): void {
    const fresh = filters.filter((f) => !this.wanted.has(f));
    for (const f of fresh) this.wanted.add(f);
    if (fresh.length > 0 && this.client.connected) this.sendSubscribe(fresh);
  }

  private sendSubscribe(filters: string[]): void {
    this.client.subscribe(filters, { qos: 1 }, (err, _granted, packet) => {
      if (this.givenUp) return;
      if (!err) {
        for (const f of filters) this.refused.delete(f);
        if (this.refused.size === 0) this.retryMs = SUBSCRIBE_RETRY_MS.first;
        return;
      }
      // The SUBACK's codes follow the filters' order; without them (no answer) all are asked again.
      const codes = packet?.granted ?? [];
      const failed = filters.filter((_, i) => typeof codes[i] !== 'number' || ((codes[i] as number) & 0x80) !== 0);
      const first = failed.filter((f) => !this.refused.has(f));
      for (const f of failed) this.refused.add(f);
      if (first.length > 0) this.log(`subscribe to ${first.join(', ')} failed: ${err.message}; asking again until the broker accepts`);
      this.scheduleRetry();
    });
  }

  private scheduleRetry(): void {
    if (this.retryTimer !== null || this.refused.size === 0) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      // Offline, handleConnect subscribes to every wanted filter anyway.
      if (!this.client.connected || this.givenUp) return;
      this.retryMs = Math.min(this.retryMs * 2, SUBSCRIBE_RETRY_MS.max);
      this.sendSubscribe([...this.refused]);
    }, this.retryMs);
    this.retryTimer.unref?.();
  }

  onMessage(listener: Listener): void {
    this.client.on('message', (topic, payload, packet) => listener(topic, payload, packet.retain));
  }

  /** Bridge offline (retained), then a clean disconnect; bounded by `ms` when the broker is gone. */
  async end(ms = 3_000): Promise<void> {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.refused.clear();
    if (this.client.connected) await withTimeout(this.publish('bridgeState', { bridge: this.bridgeId }, { state: 'offline' }), ms);
    await withTimeout(this.client.endAsync(!this.client.connected), ms).catch(() => undefined);
    if (!this.client.disconnected) this.client.end(true);
  }

  private handleConnect(): void {
    const again = this.outages > 0;
    this.wasConnected = true;
    const node = this.node();
    this.log(again ? `reconnected to ${node}` : `connected to ${node}`);
    void this.publish('bridgeState', { bridge: this.bridgeId }, { state: 'online' });
    // A clean session: the broker has forgotten our subscriptions.
    if (this.wanted.size > 0) this.sendSubscribe([...this.wanted]);
    for (const listener of this.connectListeners) listener();
  }
}

/** The MQTT client id of a bridge (at most 73 characters: a bridge id has at most 64). */
export function clientIdFor(bridgeId: string): string {
  return `aquastop-${bridgeId}`;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  return Promise.race([p, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), ms).unref())]);
}
