/**
 * One appliance's own MQTT connection in a per-device fleet (fleet.ts): MQTT 3.1.1 on one socket,
 * the packets encoded and decoded by mqtt-packet (the codec mqtt.js itself uses), and only what a
 * device needs. A connected mqtt.js client holds about 10 KB (its stream pipeline, packet stores,
 * option objects, listeners); this holds the socket and a few fields, so ten thousand appliances
 * on their own connections fit in one process (test/bench/fleet-heap.ts measures it).
 *
 * Contract (the same as connection.ts's, link.ts `OwnLink`):
 * - Client id `aquastop-<bridge>`, the login given (else the user name and password written in a
 *   single URL, as mqtt.js takes them), a clean session, and the last will `{"state":"offline"}`
 *   (QoS 1, retained) on the bridge's state topic. On every (re)connect it publishes
 *   `{"state":"online"}` there (again by `reaffirm()` when the broker acknowledged it late, link.ts
 *   `SLOW_ACK_MS`, and after a reconnect at `WILL_SETTLE_MS`), sends what is queued, subscribes
 *   again to every wanted filter (subscriptions.ts: a refused filter is asked for again with
 *   back-off), then the `onConnect`
 *   listeners run. `end()` publishes offline itself, then DISCONNECT.
 * - Publishing: payloads checked against their topic's schema (link.ts). QoS 0 is written now or
 *   not at all. QoS 1 waits for its PUBACK; `'drop'` sends nothing while offline and gives up
 *   what the connection lost unacknowledged (the owner publishes what is current after every
 *   connect); `'queue'` keeps the message, in order, and sends it again after reconnecting
 *   (fault events: their outbox on disk bounds them).
 * - `open()` rejects with one line when the broker refuses the login (CONNACK code) or the TLS
 *   handshake fails; a broker that cannot be reached is retried in the background, and open()
 *   resolves once the first attempt is over either way (the device keeps protecting offline).
 * - Reconnects: jittered exponential back-off (`backoff`), else every second; each attempt takes
 *   the next node of a cluster's list. Each distinct error is logged once per outage.
 * - Keepalive: a PINGREQ when nothing was sent or received for `keepaliveS`; no PINGRESP within
 *   another `keepaliveS` drops the socket and reconnects (a half-open connection is found even
 *   while heartbeats keep going out). One timer for every connection in the process.
 * - Bounded: what waits in the socket for a broker that stops reading is what one device sends in
 *   two keepalive periods (its ping goes unanswered, the socket is dropped, see above); an
 *   incoming packet over {@link MAX_INCOMING_BYTES} drops the connection; QoS 1
 *   messages in flight are bounded by the 65,535 message ids; the queue by the owner's outbox.
 *
 * No WebSocket: fleet.ts gives ws:// and wss:// brokers mqtt.js connections (connection.ts).
 */
import net from 'node:net';
import tls from 'node:tls';
import mqttPacket from 'mqtt-packet';
import { nodeUrl, type BrokerNode } from '../protocol/broker-url.js';
import { topicFor, type PayloadOf, type TopicName, type TopicParams } from '../protocol/topics.js';
import { backoffDelay, clientIdFor, OFFLINE, TopicWriter, withTimeout, type Backoff, type LinkOwner, type LinkTiming, type Listener, type Outgoing, type OwnLink } from './link.js';
import { DEVICE_SUBSCRIBE_QOS, Subscriptions, type SubscribeTarget, type SubscriptionsOptions } from './subscriptions.js';
import { redactUrl } from './redact-url.js';
import { describeTlsError, type TlsMaterial } from './tls.js';

/** What every connection of one fleet shares (one object for all). */
export interface LeanShared extends LinkTiming {
  /** The `--broker` value as given (one URL or a cluster's list), for log lines. */
  readonly url: string;
  /** Its nodes (src/protocol/broker-url.ts `brokerNodes`): mqtt or mqtts only. */
  readonly nodes: readonly BrokerNode[];
  readonly base: string;
  readonly tls?: TlsMaterial;
  /** Jittered exponential back-off between attempts (link.ts); else every second. */
  readonly backoff?: Backoff;
  /** How long one attempt waits for the CONNACK; default 5,000 ms. */
  readonly connectTimeoutMs?: number;
  /** Default 60 s, as mqtt.js. */
  readonly keepaliveS?: number;
}

/** The largest packet taken from a broker: a device receives commands of at most 1 KiB and Home Assistant's status. */
export const MAX_INCOMING_BYTES = 256 * 1024;

/** CONNACK return codes of MQTT 3.1.1, worded as mqtt.js words them. */
const REFUSALS: Record<number, string> = {
  1: 'Connection refused: Unacceptable protocol version',
  2: 'Connection refused: Identifier rejected',
  3: 'Connection refused: Server unavailable',
  4: 'Connection refused: Bad username or password',
  5: 'Connection refused: Not authorized',
};

type Done = (ok: boolean) => void;
/** A QoS 1 publish waiting for its PUBACK, or for a connection to be sent on. */
interface PendingPublish {
  readonly message: Outgoing;
  readonly keep: boolean;
  readonly done: Done;
}
interface PendingSubscribe {
  readonly filters: string[];
  readonly answer: (err: Error | null, codes: readonly number[]) => void;
}

const OWNER = Symbol('lean-connection');
type Owned = net.Socket & { [OWNER]: LeanConnection };

export class LeanConnection extends TopicWriter implements OwnLink, SubscribeTarget, SubscriptionsOptions {
  connected = false;
  private socket: Owned | null = null;
  /** The start of a packet whose end has not arrived yet. */
  private partial: Buffer | null = null;
  private nodeIndex = 0;
  private attempt = 0;
  /** The CONNACK's deadline while connecting, the next attempt's while waiting. */
  private timer: ReturnType<typeof setTimeout> | null = null;
  private lastSent = 0;
  private lastReceived = 0;
  /** When the unanswered PINGREQ went out; 0: none. */
  private pingAt = 0;
  private nextId = 0;
  /** QoS 1 publishes and subscribes by message id, made on the first and let go with the last. */
  private inFlight: Map<number, PendingPublish | PendingSubscribe> | null = null;
  /** `'queue'` publishes waiting for a connection, in order. */
  private queue: PendingPublish[] | null = null;
  private connectListeners: readonly (() => void)[] = NONE;
  private messageListener: Listener | null = null;
  private readonly subscriptions: Subscriptions;
  private outages = 0;
  private lastError = '';
  /** Refused for good (open() rejected), ending, or crashed: no more attempts. */
  private finished = false;
  private opened: { readonly resolve: () => void; readonly reject: (err: Error) => void } | null = null;

  constructor(
    private readonly shared: LeanShared,
    readonly bridgeId: string,
    private readonly owner: LinkOwner | null,
    private readonly login?: { readonly username: string; readonly password: string },
  ) {
    super(shared.base);
    // Its own options too (log, over): an options object and a closure less in each connection.
    this.subscriptions = new Subscriptions(this, this);
  }

  log(line: string): void {
    this.owner?.log(line);
  }

  /** Given up, ending or crashed (subscriptions.ts asks). */
  over(): boolean {
    return this.finished;
  }

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.opened = { resolve, reject };
      this.connectNow();
    });
  }

  onConnect(listener: () => void): () => void {
    this.connectListeners = this.connectListeners.concat([listener]);
    return () => {
      this.connectListeners = this.connectListeners.filter((l) => l !== listener);
    };
  }

  onMessage(listener: Listener): void {
    this.messageListener = listener;
  }

  subscribe(filters: string[]): void {
    void this.subscriptions.want(filters);
  }

  node(): string {
    // A password in the URL is never shown.
    if (this.shared.nodes.length === 1) return redactUrl(this.shared.url.trim());
    return nodeUrl(this.shared.nodes[(this.nodeIndex + this.shared.nodes.length - 1) % this.shared.nodes.length]!);
  }

  identity(): { readonly clientId: string; readonly willTopic: string; readonly username: string | undefined } {
    return { clientId: clientIdFor(this.bridgeId), willTopic: this.willTopic(), username: (this.login ?? urlLogin(this.shared.url))?.username };
  }

  publish<T extends TopicName>(name: T, params: Omit<TopicParams, 'base'>, payload: PayloadOf<T>, whenOffline: 'drop' | 'queue' = 'drop'): Promise<boolean> {
    const message = this.prepare(name, params, payload);
    if (message.qos === 0) return Promise.resolve(this.write0(message));
    // Ended or crashed: no reconnect will send a queued message (its outbox on disk keeps a fault event).
    if (!this.connected && (whenOffline === 'drop' || this.finished)) return Promise.resolve(false);
    return new Promise((done) => {
      const pending: PendingPublish = { message, keep: whenOffline === 'queue', done };
      if (this.connected) this.write1(pending, false);
      else (this.queue ??= []).push(pending);
    });
  }

  send<T extends TopicName>(name: T, params: Omit<TopicParams, 'base'>, payload: PayloadOf<T>): void {
    const message = this.prepare(name, params, payload);
    if (message.qos === 0) this.write0(message);
    else if (this.connected) this.write1({ message, keep: false, done: ignore }, false);
  }

  protected timing(): LeanShared {
    return this.shared;
  }

  protected ended(): boolean {
    return this.finished;
  }

  protected late(line: string): void {
    this.error(`${this.node()} ${line}`);
  }

  subscribeAll(filters: string[], answer: (err: Error | null, codes: readonly number[]) => void): void {
    if (!this.connected) return answer(new Error('not connected'), []);
    const messageId = this.track({ filters, answer });
    this.write({ cmd: 'subscribe', messageId, subscriptions: filters.map((topic) => ({ topic, qos: DEVICE_SUBSCRIBE_QOS })) });
  }

  async end(ms = 3_000): Promise<void> {
    this.subscriptions.stop();
    if (this.connected) await withTimeout(this.publish('bridgeState', { bridge: this.bridgeId }, { state: 'offline' }), ms);
    this.finished = true;
    this.clearTimer();
    const socket = this.socket;
    if (socket !== null) {
      if (this.connected) this.write({ cmd: 'disconnect' });
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      socket.end();
      await withTimeout(closed, ms);
      socket.destroy();
    }
    this.giveUpPending();
  }

  crash(): void {
    this.finished = true;
    this.clearTimer();
    this.socket?.destroy();
    this.giveUpPending();
  }

  // ---- the socket ----

  private connectNow(): void {
    if (this.finished) return;
    const nodes = this.shared.nodes;
    const n = nodes[this.nodeIndex % nodes.length]!;
    this.nodeIndex = (this.nodeIndex + 1) % nodes.length;
    const socket = (
      n.protocol === 'mqtts'
        ? tls.connect({ host: n.host, port: n.port, ...(net.isIP(n.host) === 0 ? { servername: n.host } : {}), ...this.shared.tls })
        : net.connect({ host: n.host, port: n.port })
    ) as Owned;
    socket[OWNER] = this;
    this.socket = socket;
    // `on`, not `once`, for the events that come once anyway: `once` wraps each listener in a bound function and a state object.
    socket.on(n.protocol === 'mqtts' ? 'secureConnect' : 'connect', socketOpened);
    socket.on('data', socketData);
    socket.on('error', socketError);
    socket.on('close', socketClosed);
    this.timer = setTimeout(connackTimedOut, this.shared.connectTimeoutMs ?? 5_000, this);
  }

  /** The socket is up: log in. */
  opened_(): void {
    const keepalive = this.shared.keepaliveS ?? 60;
    const login = this.login ?? urlLogin(this.shared.url);
    this.write({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: true,
      clientId: clientIdFor(this.bridgeId),
      keepalive,
      will: { topic: this.willTopic(), payload: OFFLINE, qos: 1, retain: true },
      ...(login !== undefined ? { username: login.username, ...(login.password !== undefined ? { password: Buffer.from(login.password) } : {}) } : {}),
    });
  }

  data(chunk: Buffer): void {
    this.lastReceived = Date.now();
    const buf = this.partial === null ? chunk : Buffer.concat([this.partial, chunk]);
    this.partial = null;
    let at = 0;
    while (at < buf.length) {
      const frame = frameAt(buf, at);
      if (frame === 'short') break;
      if (frame === 'bad') return this.drop(`a malformed or oversized packet (over ${MAX_INCOMING_BYTES} bytes)`);
      const packet = decode(buf.subarray(at, frame));
      if (packet === null) return this.drop('a packet it could not decode');
      at = frame;
      this.handle(packet);
      if (this.socket === null || this.socket.destroyed) return;
    }
    // A copy: a slice would keep the whole chunk.
    if (at < buf.length) this.partial = Buffer.from(buf.subarray(at));
  }

  private handle(packet: mqttPacket.Packet): void {
    switch (packet.cmd) {
      case 'connack':
        return this.connack(packet.returnCode ?? 0);
      case 'puback': {
        const pending = this.untrack(packet.messageId);
        if (pending !== undefined && 'done' in pending) pending.done(true);
        return;
      }
      case 'suback': {
        const pending = this.untrack(packet.messageId);
        if (pending === undefined || !('answer' in pending)) return;
        const codes = packet.granted.map((g) => (typeof g === 'number' ? g : 0x80));
        const refused = codes.length !== pending.filters.length || codes.some((c) => (c & 0x80) !== 0);
        return pending.answer(refused ? new Error('Subscribe error: Unspecified error') : null, codes);
      }
      case 'publish': {
        if (packet.qos === 1 && packet.messageId !== undefined) this.write({ cmd: 'puback', messageId: packet.messageId });
        const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
        this.owner?.message(packet.topic, payload, packet.retain);
        this.messageListener?.(packet.topic, payload, packet.retain);
        return;
      }
      case 'pingresp':
        this.pingAt = 0;
        return;
      default:
        return;
    }
  }

  private connack(code: number): void {
    this.clearTimer();
    // end() came while connecting: its socket is closing; no online, no listeners, no log line.
    if (this.finished) return;
    if (code !== 0) {
      const err = new Error(REFUSALS[code] ?? `Connection refused: code ${code}`);
      if (this.opened !== null) return this.failOpen(err.message.replace(/^connection refused:\s*/i, ''), true);
      this.error(err.message);
      this.socket?.destroy();
      return;
    }
    const again = this.outages > 0;
    this.connected = true;
    this.lastError = '';
    this.attempt = 0;
    LIVE.add(this);
    armTicker();
    this.log(again ? `reconnected to ${this.node()}` : `connected to ${this.node()}`);
    this.connectedOnline(again);
    const queued = this.queue;
    this.queue = null;
    if (queued !== null) for (const p of queued) this.write1(p, true);
    // A clean session: the broker has forgotten our subscriptions.
    void this.subscriptions.resubscribe();
    this.owner?.connected();
    for (const listener of this.connectListeners) listener();
    this.settleOpen();
  }

  /** The socket closed (the broker went, a timeout, a refusal, end() or crash()). */
  closed(): void {
    this.socket = null;
    this.partial = null;
    this.pingAt = 0;
    this.clearTimer();
    LIVE.delete(this);
    if (this.connected) {
      this.connected = false;
      if (!this.finished) {
        this.outages++;
        this.log(`broker ${this.node()} unreachable; protecting offline, fault events are kept and sent after reconnect`);
      }
    }
    this.settleInFlight();
    this.settleOpen();
    if (this.finished) return this.giveUpPending();
    const b = this.shared.backoff;
    const delay = b !== undefined ? backoffDelay(b, this.attempt) : 1_000;
    this.attempt++;
    this.timer = setTimeout(reconnect, delay, this);
  }

  failed(err: Error): void {
    const tlsProblem = describeTlsError(err);
    if (this.opened !== null && tlsProblem !== null) return this.failOpen(tlsProblem, false);
    this.error(tlsProblem ?? err.message);
  }

  /** The CONNACK did not come in time: drop the socket; its close retries. */
  timedOut(): void {
    this.timer = null;
    this.error('connack timeout');
    this.socket?.destroy();
  }

  /** From the shared ticker: keepalive. */
  tick(now: number): void {
    const ms = (this.shared.keepaliveS ?? 60) * 1000;
    if (this.pingAt !== 0) {
      if (now - this.pingAt >= ms) this.drop('no answer to a keepalive ping');
    } else if (now - this.lastSent >= ms || now - this.lastReceived >= ms) {
      this.write({ cmd: 'pingreq' });
      this.pingAt = now;
    }
  }

  retry(): void {
    this.timer = null;
    this.connectNow();
  }

  // ---- the parts ----

  private willTopic(): string {
    return topicFor('bridgeState', { base: this.base, bridge: this.bridgeId });
  }

  private write(packet: mqttPacket.Packet): boolean {
    const socket = this.socket;
    if (socket === null || socket.destroyed) return false;
    socket.write(mqttPacket.generate(packet));
    this.lastSent = Date.now();
    return true;
  }

  private write0(m: Outgoing): boolean {
    return this.connected && this.write({ cmd: 'publish', topic: m.topic, payload: m.body, qos: 0, retain: m.retain, dup: false });
  }

  private write1(p: PendingPublish, dup: boolean): void {
    const messageId = this.track(p);
    this.write({ cmd: 'publish', topic: p.message.topic, payload: p.message.body, qos: 1, retain: p.message.retain, dup, messageId });
  }

  private track(pending: PendingPublish | PendingSubscribe): number {
    const inFlight = (this.inFlight ??= new Map());
    if (inFlight.size >= 65_535) throw new Error(`${this.bridgeId}: 65,535 MQTT messages in flight, none acknowledged`);
    do this.nextId = (this.nextId % 65_535) + 1;
    while (inFlight.has(this.nextId));
    inFlight.set(this.nextId, pending);
    return this.nextId;
  }

  private untrack(messageId: number | undefined): PendingPublish | PendingSubscribe | undefined {
    if (messageId === undefined || this.inFlight === null) return undefined;
    const pending = this.inFlight.get(messageId);
    this.inFlight.delete(messageId);
    if (this.inFlight.size === 0) this.inFlight = null;
    return pending;
  }

  /** What the lost connection left unacknowledged: kept messages go first in the queue, the rest are given up. */
  private settleInFlight(): void {
    const inFlight = this.inFlight;
    this.inFlight = null;
    if (inFlight === null) return;
    const kept: PendingPublish[] = [];
    for (const pending of inFlight.values()) {
      if ('answer' in pending) pending.answer(new Error('Connection closed'), []);
      else if (pending.keep && !this.finished) kept.push(pending);
      else pending.done(false);
    }
    if (kept.length > 0) this.queue = kept.concat(this.queue ?? []);
  }

  private giveUpPending(): void {
    this.settleInFlight();
    const queued = this.queue;
    this.queue = null;
    if (queued !== null) for (const p of queued) p.done(false);
    this.settleOpen();
  }

  private drop(why: string): void {
    this.error(`broker ${this.node()} sent ${why}`);
    this.socket?.destroy();
  }

  /** Each distinct error once per outage. */
  private error(message: string): void {
    if (this.finished || message === this.lastError) return;
    this.lastError = message;
    this.log(`broker error: ${message}`);
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private settleOpen(): void {
    const opened = this.opened;
    this.opened = null;
    opened?.resolve();
  }

  /** Refused credentials or a failed TLS handshake while open() waits: retrying cannot help. */
  private failOpen(reason: string, refused: boolean): void {
    const opened = this.opened;
    this.opened = null;
    this.finished = true;
    this.socket?.destroy();
    opened?.reject(new Error(refused ? `broker ${redactUrl(this.shared.url)} refused the connection: ${reason}` : `broker ${redactUrl(this.shared.url)}: ${reason}`));
  }
}

/**
 * The user name and password written in a single broker URL (mqtt://user:pass@host), which
 * mqtt.js (connection.ts) logs in with when none are given apart; a list's nodes carry none
 * (broker-url.ts). Read at each attempt rather than kept: a field less in every connection.
 */
function urlLogin(url: string): { readonly username: string; readonly password?: string } | undefined {
  if (url.includes(',') || !url.includes('@')) return undefined;
  const u = new URL(url.trim());
  if (u.username === '') return undefined;
  return { username: percentDecoded(u.username), ...(u.password !== '' ? { password: percentDecoded(u.password) } : {}) };
}

/** Percent-decoded; as written when that is not valid (a stray `%`), rather than a throw in a socket listener. */
function percentDecoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

const ignore: Done = () => undefined;
/** The listeners of a connection that has none: one empty array for all. */
const NONE: readonly (() => void)[] = Object.freeze([]);

// Socket listeners shared by every connection: `this` is the socket, which names its connection
// (a closure per listener would cost each of thousands of connections a few hundred bytes).
function socketOpened(this: Owned): void {
  this[OWNER].opened_();
}
function socketData(this: Owned, chunk: Buffer): void {
  this[OWNER].data(chunk);
}
function socketError(this: Owned, err: Error): void {
  this[OWNER].failed(err);
}
function socketClosed(this: Owned): void {
  this[OWNER].closed();
}
function connackTimedOut(c: LeanConnection): void {
  c.timedOut();
}
function reconnect(c: LeanConnection): void {
  c.retry();
}

/** The connected connections, for the one keepalive timer. */
const LIVE = new Set<LeanConnection>();
let ticker: ReturnType<typeof setInterval> | null = null;
function armTicker(): void {
  if (ticker !== null) return;
  ticker = setInterval(() => {
    if (LIVE.size === 0) {
      clearInterval(ticker!);
      ticker = null;
      return;
    }
    keepaliveTick(Date.now());
  }, 1_000);
  ticker.unref();
}

/** One turn of the keepalive timer at `now` for every connected connection (the timer's body; tests call it with a later `now`). */
export function keepaliveTick(now: number): void {
  for (const c of LIVE) c.tick(now);
}

/**
 * Where the packet starting at `at` ends (the index after it), 'short' when its end has not
 * arrived yet, 'bad' for a malformed remaining length or one over the limit.
 */
export function frameAt(buf: Buffer, at: number): number | 'short' | 'bad' {
  let length = 0;
  let multiplier = 1;
  for (let i = at + 1; i < at + 5; i++) {
    if (i >= buf.length) return 'short';
    const byte = buf[i]!;
    length += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) {
      if (length > MAX_INCOMING_BYTES) return 'bad';
      const end = i + 1 + length;
      return end > buf.length ? 'short' : end;
    }
    multiplier *= 128;
  }
  return 'bad';
}

/**
 * One parser for every connection: it is given whole packets only (frameAt cut them), so it
 * never holds a connection's half packet, and it answers within parse(), synchronously.
 */
const parser = mqttPacket.parser({ protocolVersion: 4 });
let decoded: mqttPacket.Packet | null = null;
let decodeFailed = false;
parser.on('packet', (p: mqttPacket.Packet) => {
  decoded = p;
});
parser.on('error', () => {
  decodeFailed = true;
});
function decode(frame: Buffer): mqttPacket.Packet | null {
  decoded = null;
  decodeFailed = false;
  const left = parser.parse(frame);
  const packet = decoded as mqttPacket.Packet | null;
  decoded = null;
  return decodeFailed || left !== 0 ? null : packet;
}
