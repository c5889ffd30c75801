/**
 * What a device's telemetry needs of an MQTT connection, and the part both connections share.
 *
 * Two connections give it: connection.ts (mqtt.js; the process's bridge, and a per-device fleet
 * on WebSocket URLs) and lean-connection.ts (MQTT 3.1.1 on one socket, for the thousands of
 * per-device connections of a fleet on mqtt:// and mqtts://). Both keep the same contract: the
 * payload is checked against its topic's schema before it leaves, the retain flag and QoS come
 * from the topic map, never from the caller; `'drop'` sends nothing while offline, `'queue'`
 * keeps a QoS 1 message, in order, and sends it after reconnecting.
 */
import { TOPICS, topicFor, type PayloadOf, type TopicName, type TopicParams } from '../protocol/topics.js';

/** `retained`: the broker kept this message from earlier (sent because we subscribed), not a live publish. */
export type Listener = (topic: string, payload: Buffer, retained: boolean) => void;

/**
 * A retained publish the broker acknowledges this long (wall time) after it went out may not
 * have been kept. NATS's MQTT stores a retained message in a JetStream stream before it
 * acknowledges the publish; while that stream has no leader (a node lost) the store times out
 * (after 4 s in 2.9; `mqtt { js_api_timeout }`, 5 s by default, in later versions: keep it above
 * this), NATS logs "unable to store retained message" and
 * acknowledges the publish all the same, keeping the older retained message (a will's offline, a
 * state from before a trip), and nothing in MQTT 3.1.1 tells the publisher. The delay is the one
 * trace: the message is published again at the next heartbeat (device.ts, and `reaffirm()` for
 * the bridge's online), and again while its acknowledgement keeps coming late. 3 s, not less: the
 * time is taken on the device's own event loop, and ten thousand appliances starting in one
 * process saw two thirds of their acknowledgements come over 1 s late from a healthy mosquitto.
 */
export const SLOW_ACK_MS = 3_000;

/**
 * After a reconnect, a connection publishes the bridge's online again at these delays (wall ms
 * from the reconnect): the broker may send the lost connection's will after the new online, and
 * that retained offline would stay. NATS sends a will only once it has cleaned up the closed
 * connection's session in JetStream, each call up to a 4 s timeout while the cluster elects
 * leaders after losing a node; the cluster test saw that will land after the online.
 */
export const WILL_SETTLE_MS: readonly number[] = [10_000, 30_000];

/** The clock and delays a connection keeps the bridge's online by; tests give their own. */
export interface LinkTiming {
  /** The wall clock (ms) acknowledgements are timed by ({@link SLOW_ACK_MS}); default Date.now. */
  readonly ackClock?: () => number;
  /** When the online is published again after a reconnect; default {@link WILL_SETTLE_MS}. */
  readonly willSettleMs?: readonly number[];
}

/** The timing `o` gives, without keys it leaves out (for options objects that take it). */
export function linkTiming(o: LinkTiming): LinkTiming {
  return { ...(o.ackClock ? { ackClock: o.ackClock } : {}), ...(o.willSettleMs ? { willSettleMs: o.willSettleMs } : {}) };
}

/** What DeviceTelemetry (device.ts) publishes through. */
export interface DeviceLink {
  readonly bridgeId: string;
  readonly connected: boolean;
  /** Publishes the bridge's online (retained) again if the broker acknowledged the last one late ({@link SLOW_ACK_MS}) and the connection is up; else nothing. */
  reaffirm(): void;
  /** Publishes on one of our topics; resolves when QoS 1 is acknowledged (QoS 0: written), false if it was not sent. */
  publish<T extends TopicName>(name: T, params: Omit<TopicParams, 'base'>, payload: PayloadOf<T>, whenOffline?: 'drop' | 'queue'): Promise<boolean>;
  /** Fire and forget, for the many small QoS 0 messages (heartbeats): nothing is sent while offline. */
  send<T extends TopicName>(name: T, params: Omit<TopicParams, 'base'>, payload: PayloadOf<T>): void;
}

/** A device's own connection in a per-device fleet (fleet.ts). */
export interface OwnLink extends DeviceLink {
  /** Connects; resolves once connected or once the broker is known to be unreachable for now; rejects when it refuses us. */
  open(): Promise<void>;
  onConnect(listener: () => void): () => void;
  onMessage(listener: Listener): void;
  /** Subscribes (QoS 0, subscriptions.ts) now if connected, and again after every (re)connect; refused filters are asked for again. */
  subscribe(filters: string[]): void;
  /** Bridge offline (retained), then a clean disconnect; bounded by `ms` when the broker is gone. */
  end(ms?: number): Promise<void>;
  /** The URL of the node this connection is on (or was last tried). */
  node(): string;
  /** Who it logs in as: client id, will topic, username (tests and logs). */
  identity(): { readonly clientId: string; readonly willTopic: string; readonly username: string | undefined };
  /** Drops the connection without DISCONNECT and stops reconnecting, as a crash does: the broker sends the will. */
  crash(): void;
}

/** Who a lean connection tells (lean-connection.ts): methods of one object, no closures per connection. */
export interface LinkOwner {
  log(line: string): void;
  /** After every (re)connect, once the bridge is online, queued messages sent and subscriptions asked for. */
  connected(): void;
  message(topic: string, payload: Buffer, retained: boolean): void;
}

/** A message ready for the wire. */
export interface Outgoing {
  readonly topic: string;
  readonly body: string;
  readonly qos: 0 | 1;
  readonly retain: boolean;
}

/**
 * Jittered exponential back-off between reconnect attempts: attempt k waits a uniform draw in
 * [cap/2, cap) with cap = min(maxMs, firstMs * 2^k), so many connections that lost one broker at
 * once come back spread out. `random` gives [0, 1) (a seeded generator makes a run repeatable).
 */
export interface Backoff {
  readonly firstMs: number;
  readonly maxMs: number;
  readonly random: () => number;
}

/** The wait before reconnect attempt `attempt` (0 the first), at least 1 ms. */
export function backoffDelay(b: Backoff, attempt: number): number {
  const cap = Math.min(b.maxMs, b.firstMs * 2 ** Math.min(attempt, 30));
  return Math.max(1, Math.round(cap / 2 + (b.random() * cap) / 2));
}

/** `p`, or undefined once `ms` have passed (the timer does not hold the process open). */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  return Promise.race([p, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), ms).unref())]);
}

/** The last will's payload: one buffer for every connection (only read). */
export const OFFLINE = Buffer.from('{"state":"offline"}');

/** The MQTT client id of a bridge (at most 73 characters: a bridge id has at most 64). */
export function clientIdFor(bridgeId: string): string {
  return `aquastop-${bridgeId}`;
}

/**
 * Builds checked messages for one base topic. The topics of the messages a device sends over and
 * over (heartbeat, state) are built once per device id: topicFor checks its parameters (about
 * 4 µs). The rest (a few at each connect, a dozen discovery configs, a fault now and then) are
 * built when sent, not kept: a cache of every topic held about 1 KB per device, in every
 * connection of a per-device fleet. Bounded by the devices this connection has sent for: the first
 * device's in a field (a device's own connection has only that one), the others' in a map made
 * when a second device sends.
 *
 * And the bridge's online, which both connections keep the same way: published at every connect,
 * timed ({@link SLOW_ACK_MS}: `reaffirm()` publishes again one acknowledged late), and after a
 * reconnect published again at {@link WILL_SETTLE_MS}, past a late will of the lost connection.
 */
export abstract class TopicWriter {
  private hotFirst: { readonly id: string; readonly heartbeat: string; readonly state: string } | null = null;
  private hot: Map<string, { readonly heartbeat: string; readonly state: string }> | null = null;
  /** The last online was acknowledged late: `reaffirm()` publishes it again. */
  private onlineInDoubt = false;
  /** Connections made so far: a settle timer of an earlier one does nothing. */
  private connects = 0;

  constructor(protected readonly base: string) {}

  abstract readonly bridgeId: string;
  abstract readonly connected: boolean;
  abstract publish<T extends TopicName>(name: T, params: Omit<TopicParams, 'base'>, payload: PayloadOf<T>, whenOffline?: 'drop' | 'queue'): Promise<boolean>;
  /** The connection's ack clock and settle delays, when its options give them. */
  protected abstract timing(): LinkTiming;
  /** Given up or ending: no more onlines. */
  protected abstract ended(): boolean;
  /** Logs that the online was acknowledged late (`line` says the rest). */
  protected abstract late(line: string): void;

  /** At every (re)connect: the bridge's online; after a reconnect (`again`), again at the settle delays. */
  protected connectedOnline(again: boolean): void {
    this.connects++;
    this.sayOnline();
    if (again) this.settleWill(this.connects, 0);
  }

  reaffirm(): void {
    if (!this.onlineInDoubt || !this.connected) return;
    this.onlineInDoubt = false;
    this.sayOnline();
  }

  /** The bridge's online (retained), timed: a late acknowledgement puts it in doubt. */
  private sayOnline(): void {
    const now = this.timing().ackClock ?? Date.now;
    const sent = now();
    void this.publish('bridgeState', { bridge: this.bridgeId }, { state: 'online' }).then((ok) => {
      if (!ok || now() - sent < SLOW_ACK_MS) return;
      this.onlineInDoubt = true;
      this.late(`took over ${SLOW_ACK_MS / 1000} s to acknowledge the bridge's online: publishing it again at the next heartbeat (the broker may not have kept it)`);
    });
  }

  /** The online again at the `step`th settle delay after connection `epoch`, if this is still that connection. */
  private settleWill(epoch: number, step: number): void {
    const delays = this.timing().willSettleMs ?? WILL_SETTLE_MS;
    if (step >= delays.length) return;
    const wait = delays[step]! - (step > 0 ? delays[step - 1]! : 0);
    setTimeout(() => {
      if (epoch !== this.connects || !this.connected || this.ended()) return;
      this.sayOnline();
      this.settleWill(epoch, step + 1);
    }, wait).unref();
  }

  protected prepare<T extends TopicName>(name: T, params: Omit<TopicParams, 'base'>, payload: PayloadOf<T>): Outgoing {
    const spec = TOPICS[name];
    const checked = spec.schema.parse(payload);
    const kind: TopicName = name;
    const topic = (kind === 'heartbeat' || kind === 'state') && params.id !== undefined ? this.hotTopics(params.id)[kind] : topicFor(name, { ...params, base: this.base });
    return { topic, body: typeof checked === 'string' ? checked : JSON.stringify(checked), qos: spec.qos, retain: spec.retain };
  }

  private hotTopics(id: string): { readonly heartbeat: string; readonly state: string } {
    if (this.hotFirst?.id === id) return this.hotFirst;
    let topics = this.hot?.get(id);
    if (topics === undefined) {
      topics = { heartbeat: topicFor('heartbeat', { base: this.base, id }), state: topicFor('state', { base: this.base, id }) };
      if (this.hotFirst === null) this.hotFirst = { id, heartbeat: topics.heartbeat, state: topics.state };
      else (this.hot ??= new Map()).set(id, topics);
    }
    return topics;
  }
}
