/**
 * mqtt.js's packet store (its `incomingStore` / `outgoingStore` option) with the same contract as
 * its own `Store`, but holding no map while nothing is in flight: mqtt.js makes two stores per
 * client, each with an options object and a Map (about 450 bytes a client together), and a
 * per-device fleet has thousands of clients whose stores are empty nearly all the time.
 *
 * Contract (mqtt.js `IStore`, as its `Store` with `clean: true`):
 * - `put` keeps a packet by message id until `del`; `get` finds it; `createStream` reads what is
 *   kept, in the order it was put (mqtt.js sends the outgoing ones again after a reconnect, which
 *   is how a QoS 1 publish survives a broker outage); `close` forgets everything.
 * - Bounded as mqtt.js's own: by the MQTT message ids of one connection (at most 65,535 packets in
 *   flight). A device's connection has a handful at most (its QoS 1 state, fault events and
 *   subscriptions); the outbox (outbox.ts) bounds the fault events behind them.
 * - The map is made at the first `put` and let go when its last packet leaves.
 */
import { Readable } from 'node:stream';
import type { IStore } from 'mqtt';

type Packet = Parameters<IStore['put']>[0];

type Done = (error?: Error) => void;
type PacketDone = (error?: Error, packet?: Packet) => void;

export class LazyStore implements IStore {
  private inflight: Map<number, Packet> | null = null;

  put(packet: Packet, cb: Done): this {
    (this.inflight ??= new Map()).set(packet.messageId!, packet);
    if (cb) cb();
    return this;
  }

  createStream(): ReturnType<IStore['createStream']> {
    const values = this.inflight ? [...this.inflight.values()] : [];
    let i = 0;
    let destroyed = false;
    const stream = new Readable({
      objectMode: true,
      read() {
        stream.push(!destroyed && i < values.length ? values[i++] : null);
      },
    });
    // As mqtt.js's own store: destroying emits 'close' on the next turn, and only once.
    stream.destroy = function destroy() {
      if (destroyed) return stream;
      destroyed = true;
      setTimeout(() => stream.emit('close'), 0);
      return stream;
    };
    // mqtt.js types its stores' streams as readable-stream's Readable, which node's is (same API).
    return stream as unknown as ReturnType<IStore['createStream']>;
  }

  del(packet: Pick<Packet, 'messageId'>, cb: PacketDone): this {
    const found = this.inflight?.get(packet.messageId!);
    if (found) {
      this.inflight!.delete(packet.messageId!);
      if (this.inflight!.size === 0) this.inflight = null;
      cb(undefined, found);
    } else if (cb) cb(new Error('missing packet'));
    return this;
  }

  get(packet: Pick<Packet, 'messageId'>, cb: PacketDone): this {
    const found = this.inflight?.get(packet.messageId!);
    if (found) cb(undefined, found);
    else if (cb) cb(new Error('missing packet'));
    return this;
  }

  /** Forgets what was kept (a clean session); the store stays usable for the next connect. */
  close(cb: Done): void {
    this.inflight = null;
    if (cb) cb();
  }

  /** How many packets are kept (tests). */
  get size(): number {
    return this.inflight?.size ?? 0;
  }
}
