/**
 * `aquastop start --per-device-connections` as a real process on its embedded broker: every
 * appliance comes online on its own connection, named in its availability as its own bridge, the
 * monitor has them all UP, and SIGINT stops everything with exit 0.
 */
import { afterAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { startDemoProcess, type StartedDemo } from './start-process.js';

const DEVICES = 60;

describe('aquastop start --per-device-connections', () => {
  let demo: StartedDemo | undefined;
  afterAll(async () => {
    await demo?.cleanup();
  });

  it(`brings ${DEVICES} appliances up, each its own bridge with its own will, all UP at the monitor, then stops with exit 0`, async () => {
    demo = await startDemoProcess(['--devices', String(DEVICES), '--heartbeat', '2s', '--per-device-connections']);
    expect(demo.stdout()).toMatch(/one MQTT connection per appliance to mqtt:\/\/127\.0\.0\.1:\d+, each with its own last will/);
    const api = `http://127.0.0.1:${demo.ports.monitor}/api/devices`;
    const up = async () => ((await (await fetch(api)).json()) as Array<{ status: string }>).filter((r) => r.status === 'up').length;
    await expect.poll(up, { timeout: 30_000, interval: 250 }).toBe(DEVICES);

    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${demo.ports.mqtt}`, { reconnectPeriod: 0, connectTimeout: 5000, username: 'operator', password: 'demo' });
    const retained = new Map<string, string>();
    client.on('message', (topic, payload, packet) => packet.retain && retained.set(topic, payload.toString()));
    await client.subscribeAsync(['aquastop/+/availability', 'aquastop/bridge/+/state'], { qos: 1 });
    await expect.poll(() => [...retained.keys()].filter((t) => t.startsWith('aquastop/bridge/')).length, { timeout: 10_000, interval: 50 }).toBeGreaterThanOrEqual(DEVICES);
    expect(JSON.parse(retained.get('aquastop/dishwasher-kitchen/availability')!)).toEqual({ state: 'online', bridge: 'dishwasher-kitchen' });
    expect(JSON.parse(retained.get('aquastop/bridge/dishwasher-kitchen/state')!)).toEqual({ state: 'online' });
    await client.endAsync();

    expect(await demo.interrupt()).toBe(0);
  }, 60_000);
});
