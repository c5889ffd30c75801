/**
 * A device process that comes back while the broker still holds its old connection (the host
 * rebooted, the old TCP connection is half-open) must not be marked offline later by that old
 * connection's last will. Each bridge has one MQTT client id, the same across restarts, so the
 * new connection takes the old session over: the broker drops the old connection at once,
 * sends its will then, and the new connection's "online" comes after it.
 *
 * Found by the chaos bench: with a fresh client id per process the will came ~90 s later (the
 * old keepalive running out) and set the running process's bridge offline. Run on the embedded
 * broker and on mosquitto with the shipped configuration, through the chaos bench's TCP proxy, which can strand
 * the broker's side of a connection.
 */
import mqtt from 'mqtt';
import { afterEach, expect, it } from 'vitest';
import { Connection } from '../../src/telemetry/connection.js';
import { topicFor } from '../../src/protocol/topics.js';
import { ChaosProxy } from '../bench/chaos/proxy.js';
import { account } from '../helpers/mosquitto.js';
import { onBothBrokers } from '../helpers/both-brokers.js';

const DEVICE = account('dishwasher-1');
const VIEWER = account('viewer');
const BRIDGE_TOPIC = topicFor('bridgeState', { base: 'aquastop', bridge: DEVICE.username });

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
  let proxy: ChaosProxy | null = null;
  afterEach(async () => {
    for (const c of open.splice(0)) await c.end(500);
    await proxy?.close();
    proxy = null;
  });

  it('a restarted process takes its old half-open session over: the old will comes at once, and the bridge ends online', async () => {
    proxy = new ChaosProxy(brokerPort());
    const port = await proxy.listen();
    const options = { ...DEVICE, base: 'aquastop', bridgeId: DEVICE.username, log: () => undefined };
    const before = new Connection({ ...options, url: `mqtt://127.0.0.1:${port}` });
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
