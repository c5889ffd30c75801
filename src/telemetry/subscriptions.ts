/**
 * Subscriptions that stay wanted, for a device's connection (connection.ts) and the monitor's
 * (monitor/subscriber.ts) alike.
 *
 * Contract:
 * - Every filter given to `want()` is subscribed (at its target's QoS) now if connected, and again by
 *   `resubscribe()`, which the owner calls after every (re)connect (a clean session has
 *   forgotten them; mqtt.js's own resubscription must be off, `resubscribe: false`).
 * - A filter the broker refuses (SUBACK 0x80), or every filter of a SUBSCRIBE left unanswered, is
 *   asked for again with back-off (1 s doubling to 30 s) while connected; one line per filter the
 *   first time. mqtt.js would forget a refused filter for good; a clustered broker refuses a
 *   subscription for a while after losing a node (NATS cannot create its JetStream consumer yet),
 *   and a device deaf to `set`, or a monitor deaf to heartbeats, would never hear them again.
 * - Bounded: the wanted filters are the owner's few (a handful per device, five for the monitor);
 *   one retry timer at a time.
 *
 * QoS: a device subscribes at 0 (DEVICE_SUBSCRIBE_QOS), the monitor at 1. A device's session is
 * clean, so a QoS 1 subscription would keep nothing a QoS 0 one loses: a message in flight when
 * the connection drops dies with a clean session either way, and over a live TCP connection
 * neither loses one. On NATS a QoS 1 subscription is a replicated JetStream consumer, made at every
 * connect: after losing a node the cluster refused a device's new consumer for `set` for over a
 * minute (test/telemetry/nats-cluster.test.ts), leaving the device deaf to a close-valve command,
 * and a million devices would be some three million consumers (set, inject, Home Assistant's
 * status). The monitor keeps QoS 1: its session is persistent and must queue fault events while
 * it is away.
 */
import type { MqttClient } from 'mqtt';

/** The QoS a device subscribes to its commands at (see the header). */
export const DEVICE_SUBSCRIBE_QOS = 0;

/** What asks the broker: a connection that can send one SUBSCRIBE (at its QoS) for some filters. */
export interface SubscribeTarget {
  readonly connected: boolean;
  /** `done(null, codes)` when every filter is granted; else the error and the SUBACK's codes (none when unanswered). */
  subscribeAll(filters: string[], done: (err: Error | null, codes: readonly number[]) => void): void;
}

/** An mqtt.js client as a {@link SubscribeTarget}, subscribing at `qos`. */
export function mqttTarget(client: MqttClient, qos: 0 | 1): SubscribeTarget {
  return {
    get connected() {
      return client.connected;
    },
    subscribeAll(filters, done) {
      client.subscribe(filters, { qos }, (err, _granted, packet) => {
        done(
          err ?? null,
          (packet?.granted ?? []).map((g) => (typeof g === 'number' ? g : 0x80)),
        );
      });
    },
  };
}

/** Back-off of a refused subscription (ms). */
export const SUBSCRIBE_RETRY_MS = { first: 1_000, max: 30_000 } as const;

export interface SubscriptionsOptions {
  readonly log: (line: string) => void;
  /** True once the owner has given up or is ending: no more asking. */
  readonly over?: () => boolean;
}

export class Subscriptions {
  /** An array: a handful of filters, and a Set costs a few hundred bytes more in every connection of a fleet. */
  private readonly wanted: string[] = [];
  /**
   * Filters refused by the broker, asked for again when `retryTimer` fires. Made at the first
   * refusal and let go once all are granted: a set per connection, in every connection of a fleet.
   */
  private refused: Set<string> | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private retryMs: number = SUBSCRIBE_RETRY_MS.first;

  constructor(
    private readonly client: SubscribeTarget,
    private readonly options: SubscriptionsOptions,
  ) {}

  get size(): number {
    return this.wanted.length;
  }

  /**
   * Adds filters (subscribed now if connected). Resolves when the broker has answered their
   * SUBSCRIBE: true when it granted all, false when it refused some (asked again meanwhile).
   */
  want(filters: readonly string[]): Promise<boolean> {
    const fresh = filters.filter((f, i) => !this.wanted.includes(f) && filters.indexOf(f) === i);
    this.wanted.push(...fresh);
    return fresh.length > 0 && this.client.connected ? this.send(fresh) : Promise.resolve(true);
  }

  /** Filters the owner has subscribed itself (and seen granted): asked for again by `resubscribe()`. */
  adopt(filters: readonly string[]): void {
    for (const f of filters) if (!this.wanted.includes(f)) this.wanted.push(f);
  }

  /** After a (re)connect: every wanted filter again. */
  resubscribe(): Promise<boolean> {
    return this.wanted.length > 0 ? this.send([...this.wanted]) : Promise.resolve(true);
  }

  /** No more retries (the owner is ending). */
  stop(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.refused = null;
  }

  private send(filters: string[]): Promise<boolean> {
    return new Promise((resolve) => {
      this.client.subscribeAll(filters, (err, codes) => {
        if (this.options.over?.()) return resolve(false);
        if (!err) {
          if (this.refused !== null) for (const f of filters) this.refused.delete(f);
          if (this.refused?.size === 0) this.refused = null;
          if (this.refused === null) this.retryMs = SUBSCRIBE_RETRY_MS.first;
          return resolve(true);
        }
        // The SUBACK's codes follow the filters' order; without them (no answer) all are asked again.
        const failed = filters.filter((_, i) => typeof codes[i] !== 'number' || (codes[i] & 0x80) !== 0);
        const refused = (this.refused ??= new Set());
        const first = failed.filter((f) => !refused.has(f));
        for (const f of failed) refused.add(f);
        if (first.length > 0) this.options.log(`subscribe to ${first.join(', ')} failed: ${err.message}; asking again until the broker accepts`);
        this.scheduleRetry();
        resolve(false);
      });
    });
  }

  private scheduleRetry(): void {
    if (this.retryTimer !== null || this.refused === null || this.refused.size === 0) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      // Offline, the owner's resubscribe() after the next connect asks for every wanted filter anyway.
      if (!this.client.connected || this.options.over?.()) return;
      this.retryMs = Math.min(this.retryMs * 2, SUBSCRIBE_RETRY_MS.max);
      if (this.refused !== null) void this.send([...this.refused]);
    }, this.retryMs);
    this.retryTimer.unref?.();
  }
}
