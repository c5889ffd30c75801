/**
 * The process's one MQTT connection (mqtt.js): the bridge state with its last will, one typed
 * publish path for every topic of src/protocol/topics.ts, and reconnection.
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
 *   offline itself before disconnecting. An online the broker acknowledged late (link.ts
 *   `SLOW_ACK_MS`: it may not have kept it) is published again by `reaffirm()`; after a
 *   reconnect it is published again at `WILL_SETTLE_MS`, past a late will of the lost connection.
 * - `open()` rejects with a one-line reason when the broker refuses the credentials or the TLS
 *   handshake fails (an untrusted broker certificate, a refused client certificate: retrying
 *   cannot help); a broker that cannot be reached is retried in the background (the device
 *   keeps protecting). After the first connection every failure is retried.
 * - `url` may list the nodes of one clustered broker (src/protocol/broker-url.ts): each (re)connect tries the
 *   next node in turn, so a lost node is left for a surviving one; the log names the node.
 * - `subscribe()` filters stay wanted: they are asked for again after every (re)connect, and a
 *   filter the broker refuses (SUBACK 0x80) is asked for again with back-off (subscriptions.ts,
 *   which the monitor's connection shares): a device deaf to `set` would miss a close-valve command.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { LazyStore } from './lazy-store.js';
import { backoffDelay, clientIdFor, OFFLINE, TopicWriter, withTimeout, type Backoff, type LinkTiming, type Listener, type OwnLink } from './link.js';
import { DEVICE_SUBSCRIBE_QOS, mqttTarget, Subscriptions } from './subscriptions.js';
import { brokerNodes, nodeUrl, type BrokerNode } from '../protocol/broker-url.js';
import { topicFor, type PayloadOf, type TopicName, type TopicParams } from '../protocol/topics.js';
import { redactUrl } from './redact-url.js';
import { describeTlsError, type TlsMaterial } from './tls.js';

export interface ConnectionOptions extends LinkTiming {
  /** One broker URL, or the nodes of one broker separated by commas (checked with src/protocol/broker-url.ts). */
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
  readonly base: string;
  /** This process's bridge id (src/protocol/topics.ts `bridgeIdSchema`). */
  readonly bridgeId: string;
  readonly log: (line: string) => void;
  /** How long `open()` waits for the first answer before carrying on offline; default 5,000 ms. */
  readonly connectTimeoutMs?: number;
  /** CA, client certificate and key for mqtts:// and wss:// (tls.ts). */
  readonly tls?: TlsMaterial;
  /** Jittered exponential back-off between reconnect attempts (link.ts) instead of mqtt.js's fixed 1 s: no thundering herd after a broker restart. */
  readonly backoff?: Backoff;
}

const noop = (): void => undefined;

const REFUSED = /not authori[sz]ed|bad user ?name or password|connection refused|identifier rejected/i;

export class Connection extends TopicWriter implements OwnLink {
  readonly client: MqttClient;
  readonly bridgeId: string;
  private readonly log: (line: string) => void;
  /** Copied on change (one listener, or a few): smaller than a Set, about 150 bytes in every connection of a fleet. */
  private connectListeners: readonly (() => void)[] = [];
  private wasConnected = false;
  private outages = 0;
  /** The last error line of this outage (each distinct error is said once per outage). */
  private lastError = '';
  /** Reconnect attempts since the last connect (the back-off's exponent). */
  private attempt = 0;
  /** open() has given up: what follows (a failed subscription) is noise after its one line. */
  private givenUp = false;
  /** While open() waits, a fatal error is its to report, in one line. */
  private opening = false;
  /**
   * open()'s promise while it waits, settled by the connection's own listeners: listeners of its
   * own, added and taken off again, leave mqtt.js's listener arrays grown (about 400 bytes a
   * connection).
   */
  private opened: { readonly resolve: () => void; readonly reject: (err: Error) => void } | null = null;
  /** Every filter subscribe() was given (a handful per device), subscribed again after each connect. */
  private readonly subscriptions: Subscriptions;

  constructor(private readonly options: ConnectionOptions) {
    super(options.base);
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
      will: { topic: topicFor('bridgeState', { base: this.base, bridge: this.bridgeId }), payload: OFFLINE, qos: 1, retain: true },
      ...(options.username !== undefined ? { username: options.username } : {}),
      ...(options.password !== undefined ? { password: options.password } : {}),
      ...options.tls,
      // mqtt.js makes a `debug` logger for every client (about 1.2 KB each, thousands in a fleet):
      // one that does nothing instead, unless DEBUG asks for debug output.
      ...(process.env.DEBUG ? {} : { log: noop }),
      // Stores that hold no map while nothing is in flight (lazy-store.ts): mqtt.js's own hold
      // about 450 bytes each client, empty nearly all the time.
      incomingStore: new LazyStore(),
      outgoingStore: new LazyStore(),
    };
    const target = brokerTarget(options.url);
    this.client = mqtt.connect(target.url, {
      // The options mqtt.js adds to this object (its defaults, what its connect and TCP stream
      // builder fill in), here from the start and undefined, so mqtt.js only sets them: it adds
      // them by computed key, and V8 turns an object grown that way past a dozen properties into
      // a dictionary with a map of its own (0.7 KB more per connection, fleet-heap.ts). mqtt.js
      // puts its default in where it finds undefined, so the values are its own. Written out
      // here: spread from a shared constant they did not pay (fleet-heap.ts).
      unixSocket: undefined,
      socksProxy: undefined,
      defaultProtocol: undefined,
      keepalive: undefined,
      reschedulePings: undefined,
      protocolId: undefined,
      subscribeBatchSize: undefined,
      writeCache: undefined,
      timerVariant: undefined,
      customHandleAcks: undefined,
      hostname: undefined,
      ...opts,
      ...target.options,
      manualConnect: true,
    });
    followNodes(this.client, options.url);
    const connection = this;
    // A method, not an arrow-function property (tsx names those: about 250 bytes more each, per connection).
    this.subscriptions = new Subscriptions(mqttTarget(this.client, DEVICE_SUBSCRIBE_QOS), {
      log: this.log,
      over() {
        return connection.givenUp;
      },
    });
    // One listener per event (each is a closure kept by every connection of a fleet).
    this.client.on('connect', () => this.handleConnect());
    if (options.backoff) this.jitterReconnects(options.backoff);
    this.client.on('offline', () => {
      if (this.wasConnected) {
        this.wasConnected = false;
        this.outages++;
        this.log(`broker ${this.node()} unreachable; protecting offline, fault events are kept and sent after reconnect`);
      }
      this.settleOpen();
    });
    // While the broker is away mqtt.js retries every second: say each distinct error once per outage.
    this.client.on('error', (err) => {
      if (this.givenUp) return;
      const tls = describeTlsError(err);
      if (this.opening && (tls !== null || REFUSED.test(err.message))) return this.failOpen(err, tls);
      const message = tls ?? err.message;
      if (message === this.lastError) return;
      this.lastError = message;
      this.log(`broker error: ${message}`);
    });
  }

  /**
   * mqtt.js arms one fixed-period interval per outage when the socket closes (its own 'close'
   * listener, registered first): before it runs, set the period of the next attempt and drop
   * the interval of the attempt that just failed, so every attempt gets its own draw.
   */
  private jitterReconnects(b: Backoff): void {
    this.client.prependListener('close', () => {
      const internals = this.client as unknown as { reconnectTimer: ReturnType<typeof setInterval> | null };
      // Given up or ending: no reconnect to time (open() set the period to 0 for good).
      if (this.givenUp || this.client.disconnecting) return;
      this.client.options.reconnectPeriod = backoffDelay(b, this.attempt++);
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
    return redactUrl(nodeOf(this.client, this.options.url));
  }

  /** Connects; resolves once connected or once the broker is known to be unreachable for now. */
  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.opened = { resolve, reject };
      this.opening = true;
      this.client.connect();
    });
  }

  /** Connected, or the broker is unreachable for now: open() resolves. */
  private settleOpen(): void {
    const opened = this.opened;
    if (opened === null) return;
    this.opened = null;
    this.opening = false;
    opened.resolve();
  }

  /** Refused credentials or a failed TLS handshake while open() waits: retrying cannot help. */
  private failOpen(err: Error, tls: string | null): void {
    const opened = this.opened;
    this.opened = null;
    // Given up for good: with manualConnect, mqtt.js would otherwise re-arm its reconnect
    // timer when the socket closes after end(), and the process would never exit.
    this.client.options.reconnectPeriod = 0;
    this.opening = false;
    this.givenUp = true;
    this.client.end(true);
    opened?.reject(
      new Error(
        tls
          ? `broker ${redactUrl(this.options.url)}: ${tls}`
          : `broker ${redactUrl(this.options.url)} refused the connection: ${err.message.replace(/^connection refused:\s*/i, '')}`,
      ),
    );
  }

  onConnect(listener: () => void): () => void {
    // concat makes an array of the exact length (a spread leaves room for 16 more).
    this.connectListeners = this.connectListeners.concat([listener]);
    return () => {
      this.connectListeners = this.connectListeners.filter((l) => l !== listener);
    };
  }

  /** Publishes on one of our topics; resolves when QoS 1 is acknowledged (QoS 0: written), false if it was not sent. */
  publish<T extends TopicName>(name: T, params: Omit<TopicParams, 'base'>, payload: PayloadOf<T>, whenOffline: 'drop' | 'queue' = 'drop'): Promise<boolean> {
    const message = this.prepare(name, params, payload);
    if (!this.client.connected && whenOffline === 'drop') return Promise.resolve(false);
    return new Promise((resolve) => {
      this.client.publish(message.topic, message.body, { qos: message.qos, retain: message.retain }, (err) => resolve(!err));
    });
  }

  protected timing(): ConnectionOptions {
    return this.options;
  }

  protected ended(): boolean {
    return this.givenUp;
  }

  protected late(line: string): void {
    this.log(`broker ${this.node()} ${line}`);
  }

  /** Fire and forget, for the many small QoS 0 messages (heartbeats): nothing is sent while offline. */
  send<T extends TopicName>(name: T, params: Omit<TopicParams, 'base'>, payload: PayloadOf<T>): void {
    const message = this.prepare(name, params, payload);
    if (this.client.connected) this.client.publish(message.topic, message.body, { qos: message.qos, retain: message.retain });
  }

  identity(): { readonly clientId: string; readonly willTopic: string; readonly username: string | undefined } {
    const o = this.client.options;
    return { clientId: o.clientId ?? '', willTopic: o.will?.topic ?? '', username: o.username };
  }

  crash(): void {
    this.client.end(true);
  }

  /** Subscribes (QoS 0, subscriptions.ts) now if connected, and again after every (re)connect; refused filters are asked for again. */
  subscribe(filters: string[]): void {
    void this.subscriptions.want(filters);
  }

  onMessage(listener: Listener): void {
    this.client.on('message', (topic, payload, packet) => listener(topic, payload, packet.retain));
  }

  /** Bridge offline (retained), then a clean disconnect; bounded by `ms` when the broker is gone. */
  async end(ms = 3_000): Promise<void> {
    this.subscriptions.stop();
    if (this.client.connected) await withTimeout(this.publish('bridgeState', { bridge: this.bridgeId }, { state: 'offline' }), ms);
    await withTimeout(this.client.endAsync(!this.client.connected), ms).catch(() => undefined);
    if (!this.client.disconnected) this.client.end(true);
  }

  private handleConnect(): void {
    this.lastError = '';
    this.attempt = 0;
    // mqtt.js has cleared its connack timer but keeps the spent Timeout and its closure (about
    // 200 bytes) until the next connect, in every connection of a fleet; it clears only what is set.
    (this.client as unknown as { connackTimer: ReturnType<typeof setTimeout> | null }).connackTimer = null;
    const again = this.outages > 0;
    this.wasConnected = true;
    const node = this.node();
    this.log(again ? `reconnected to ${node}` : `connected to ${node}`);
    this.connectedOnline(again);
    // A clean session: the broker has forgotten our subscriptions.
    void this.subscriptions.resubscribe();
    for (const listener of this.connectListeners) listener();
    this.settleOpen();
  }
}

/**
 * mqtt.js's connect target for a `--broker` value (src/protocol/broker-url.ts): the first node's URL, and
 * `servers` when it lists several, which mqtt.js moves through, one node per (re)connect; a
 * plain single URL as options (protocol, host, port) and no URL.
 */
export function brokerTarget(value: string): { url: string; options: Pick<IClientOptions, 'servers' | 'protocol' | 'host' | 'port'> } {
  const nodes = brokerNodes(value);
  if (nodes.length > 1) return { url: value.split(',')[0]!.trim(), options: { servers: nodes.map((n) => ({ ...n })) } };
  // A plain mqtt(s)://host:port is given to mqtt.js as options rather than as a URL: from a URL it
  // keeps the parsed query and deletes a key of its options object, which V8 then holds as a
  // dictionary, about 1 KB more per client (thousands in a per-device fleet). Anything else (a
  // path, credentials, a query) goes as the URL, parsed by mqtt.js as before.
  const u = new URL(value.trim());
  const plain =
    (u.protocol === 'mqtt:' || u.protocol === 'mqtts:') && u.username === '' && u.password === '' && (u.pathname === '' || u.pathname === '/') && u.search === '' && u.hash === '';
  return plain ? { url: '', options: { ...nodes[0]! } } : { url: value.trim(), options: {} };
}

/**
 * For a client given several nodes: mqtt.js's TLS builder sets the server name (SNI, and the name
 * the certificate must carry) from the first node's host and keeps it; forgotten at every close,
 * each node is checked by its own name.
 */
export function followNodes(client: MqttClient, value: string): void {
  if (value.includes(',')) client.on('close', () => delete client.options.servername);
}

/** The URL of the node a client is on (or last tried): the one URL, or one node of a list. */
export function nodeOf(client: MqttClient, value: string): string {
  if (!value.includes(',')) return value;
  const o = client.options;
  return nodeUrl({ protocol: o.protocol as BrokerNode['protocol'], host: o.host ?? '', port: o.port ?? 0 }) + (o.protocol?.startsWith('ws') ? (o.path ?? '') : '');
}
