/**
 * A device process that comes back while the broker still holds its old connection (the host
 * rebooted, the old TCP connection is half-open) must not be marked offline later by that old
 * connection's last will. Each bridge has one MQTT client id, the same across restarts, so the
 * new connection takes the old session over: the broker drops the old connection at once,
 * sends its will then, and the new connection's "online" comes after it.
 *
 * Found by the chaos bench: with a fresh client id per process the will came ~90 s later (the
 * old keepalive running out) and set the running process's bridge offline. Run on the embedded
 * broker and on mosquitto with the shipped configuration, through a TCP proxy that can strand
 * the broker's side of a connection.
 */
import { createServer, Socket, type Server } from 'node:net';
import mqtt from 'mqtt';
import { afterEach, expect, it } from 'vitest';
import { Connection } from '../../src/telemetry/connection.js';
import { topicFor } from '../../src/telemetry/topics.js';
import { account } from '../helpers/mosquitto.js';
import { onBothBrokers } from '../helpers/both-brokers.js';

const DEVICE = account('dishwasher-1');
const VIEWER = account('viewer');
const BRIDGE_TOPIC = topicFor('bridgeState', { base: 'aquastop', bridge: DEVICE.username });

/** A proxy whose client side can be cut while the broker side stays open (half-open). */
class StrandingProxy {
  private server!: Server;
  private readonly upstreams: Socket[] = [];
  private readonly downstreams: Socket[] = [];
  port = 0;

  async start(brokerPort: number): Promise<void> {
    this.server = createServer((down) => {
      const up = new Socket();
      up.connect(brokerPort, '127.0.0.1');
      this.upstreams.push(up);
      this.downstreams.push(down);
      down.pipe(up);
      up.pipe(down);
      up.on('error', () => down.destroy());
      down.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  /** Cuts every client side; the broker sides stay open and silent. Resolves when the broker closes them all. */
  strand(): Promise<void> {
    for (const down of this.downstreams) {
      down.unpipe();
      down.destroy();
    }
    for (const up of this.upstreams) up.unpipe();
    return Promise.all(this.upstreams.map((up) => (up.destroyed ? Promise.resolve() : new Promise<void>((resolve) => up.once('close', () => resolve()))))).then(() => undefined);
  }

  async close(): Promise<void> {
    for (const s of [...this.upstreams, ...this.downstreams]) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** The retained bridge state a new subscriber gets. */
async function retainedBridgeState(url: string): Promise<string> {
  const c = await mqtt.connectAsync(url, { ...VIEWER, reconnectPeriod: 0 });
  try {
    const got = new Promise<string>((resolve) => c.on('message', (_t, payload) => resolve(JSON.parse(payload.toString()).state as string)));
    await c.subscribeAsync(BRIDGE_TOPIC, { qos: 1 });
    return await got;
  } finally {
    await c.endAsync();
  }
}

function suite(brokerUrl: () => string, brokerPort: () => number): void {
  const open: Connection[] = [];
  let proxy: StrandingProxy | null = null;
  afterEach(async () => {
    for (const c of open.splice(0)) await c.end(500);
    await proxy?.close();
    proxy = null;
  });

  it('a restarted process takes its old half-open session over: the old will comes at once, and the bridge ends online', async () => {
    proxy = new StrandingProxy();
    await proxy.start(brokerPort());
    const options = { ...DEVICE, base: 'aquastop', bridgeId: DEVICE.username, log: () => undefined };
    const before = new Connection({ ...options, url: `mqtt://127.0.0.1:${proxy.port}` });
    open.push(before);
    await before.open();
    expect(before.connected).toBe(true);
    // The old host is gone: its process never reconnects, its connection lingers at the broker.
    before.client.options.reconnectPeriod = 0;
    const dropped = proxy.strand();
    const after = new Connection({ ...options, url: brokerUrl() });
    open.push(after);
    await after.open();
    expect(after.connected).toBe(true);
    // The broker drops the stranded connection now (a session takeover), not when its keepalive runs out.
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'still open'>((resolve) => (timer = setTimeout(() => resolve('still open'), 10_000)));
    expect(await Promise.race([dropped.then(() => 'dropped' as const), timedOut]), 'the broker dropped the old connection').toBe('dropped');
    clearTimeout(timer);
    expect(await retainedBridgeState(brokerUrl())).toBe('online');
  });
}

onBothBrokers((b) => suite(b.url, b.port));
