import { describe, expect, it } from 'vitest';
import { Store, type IStore } from 'mqtt';
import { LazyStore } from '../../src/telemetry/lazy-store.js';
import { Connection } from '../../src/telemetry/connection.js';

type Packet = Parameters<IStore['put']>[0];

const publish = (messageId: number): Packet => ({ cmd: 'publish', qos: 1, dup: false, retain: false, topic: `t/${messageId}`, payload: Buffer.from(String(messageId)), messageId });

/** Reads a store's stream as mqtt.js does after a reconnect: read(1), wait for 'readable', until 'end'. */
function drain(store: IStore): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const stream = store.createStream();
    const ids: number[] = [];
    stream.on('error', reject);
    stream.on('end', () => resolve(ids));
    const next = (): void => {
      const p = stream.read(1) as Packet | null;
      if (!p) {
        stream.once('readable', next);
        return;
      }
      ids.push(p.messageId!);
      next();
    };
    next();
  });
}

const call = (fn: (cb: (err?: Error, p?: Packet) => void) => unknown) =>
  new Promise<{ err: string | null; id: number | null }>((resolve) => fn((err, p) => resolve({ err: err?.message ?? null, id: p?.messageId ?? null })));

/** One sequence of store calls, recorded: mqtt.js's own Store and ours must record the same. */
async function script(store: IStore): Promise<unknown[]> {
  const log: unknown[] = [];
  for (const id of [7, 3, 9]) await new Promise<void>((r) => store.put(publish(id), () => r()));
  log.push(await drain(store));
  log.push(await call((cb) => store.get({ messageId: 3 }, cb)));
  log.push(await call((cb) => store.del({ messageId: 3 }, cb)));
  log.push(await call((cb) => store.get({ messageId: 3 }, cb)));
  log.push(await call((cb) => store.del({ messageId: 3 }, cb)));
  log.push(await drain(store));
  return log;
}

describe('LazyStore: mqtt.js packet store without a map while nothing is in flight', () => {
  it('keeps, finds, drops and streams in-flight packets in order, as mqtt.js Store does', async () => {
    const ours = await script(new LazyStore());
    expect(ours).toEqual(await script(new Store()));
    expect(ours[0]).toEqual([7, 3, 9]);
    expect(ours[5]).toEqual([7, 9]);
  });

  it('holds no map when empty, makes one at the first put and lets it go with the last packet', async () => {
    const store = new LazyStore();
    const map = () => (store as unknown as { inflight: Map<number, Packet> | null }).inflight;
    expect(map()).toBeNull();
    expect(await drain(store)).toEqual([]);
    store.put(publish(1), () => undefined);
    store.put(publish(2), () => undefined);
    expect(store.size).toBe(2);
    await call((cb) => store.del({ messageId: 1 }, cb));
    expect(map()).not.toBeNull();
    await call((cb) => store.del({ messageId: 2 }, cb));
    expect(map()).toBeNull();
  });

  it('close forgets what was kept (a clean session) and the store serves the next connect', async () => {
    const store = new LazyStore();
    store.put(publish(5), () => undefined);
    await new Promise<void>((r) => store.close(() => r()));
    expect(store.size).toBe(0);
    expect(await drain(store)).toEqual([]);
    store.put(publish(6), () => undefined);
    expect(await drain(store)).toEqual([6]);
  });

  it("is what a device's connection gives mqtt.js, for incoming and outgoing packets", () => {
    // Not opened (mqtt.js connects only when asked): no socket, no timer.
    const c = new Connection({ url: 'mqtt://127.0.0.1:1', base: 'aquastop', bridgeId: 'lazy-store-test', log: () => undefined });
    const client = c.client as unknown as { incomingStore: unknown; outgoingStore: unknown };
    expect(client.incomingStore).toBeInstanceOf(LazyStore);
    expect(client.outgoingStore).toBeInstanceOf(LazyStore);
    expect(client.incomingStore).not.toBe(client.outgoingStore);
  });
});
