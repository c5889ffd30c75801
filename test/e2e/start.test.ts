import { afterAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { startDemoProcess, type StartedDemo } from './start-process.js';

describe('npm start (aquastop start) as a child process', () => {
  let demo: (StartedDemo & { readyAfterMs: number }) | undefined;
  afterAll(async () => {
    await demo?.cleanup();
  });

  it('serves the dashboard page and the broker within 20 s, then exits 0 on SIGINT with everything offline', async () => {
    demo = await startDemoProcess();
    console.log(JSON.stringify({ startReadyMs: demo.readyAfterMs }));
    expect(demo.dashboardUrl).toBe(`http://127.0.0.1:${demo.ports.http}/`);

    const page = await fetch(demo.dashboardUrl);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>Aquastop fleet</title>');
    const config = (await (await fetch(new URL('/config.json', demo.dashboardUrl))).json()) as { wsUrl: string; baseTopic: string };
    expect(config.wsUrl).toBe(`ws://127.0.0.1:${demo.ports.ws}`);
    expect((await fetch(new URL('/vendor/mqtt.esm.js', demo.dashboardUrl))).status).toBe(200);

    // The broker answers on both listeners; the demo's bridge ("start") is online (retained).
    const tcp = await mqtt.connectAsync(`mqtt://127.0.0.1:${demo.ports.mqtt}`, { reconnectPeriod: 0, connectTimeout: 5000 });
    const ws = await mqtt.connectAsync(config.wsUrl, { reconnectPeriod: 0, connectTimeout: 5000 });
    const seen = new Map<string, string>();
    tcp.on('message', (topic, payload) => seen.set(topic, payload.toString()));
    await tcp.subscribeAsync([`${config.baseTopic}/bridge/+/state`, `${config.baseTopic}/+/availability`], { qos: 1 });
    await expect.poll(() => seen.get(`${config.baseTopic}/bridge/_start/state`), { timeout: 10_000 }).toBe('{"state":"online"}');
    // The appliances are plugged in over one heartbeat interval (10 s): wait for all three.
    await expect.poll(() => [...seen.values()].filter((v) => v.includes('"online"')).length, { timeout: 20_000 }).toBe(4);
    await ws.endAsync();

    const code = await demo.interrupt();
    expect(code, demo.stderr()).toBe(0);
    // Everything it published as online is now offline (bridge and every device, retained). The
    // process has exited, but its last messages may still be on their way to this subscriber.
    const online = () => [...seen].filter(([, v]) => v.includes('"online"')).map(([t]) => t);
    await expect.poll(online, { timeout: 5_000 }).toEqual([]);
    expect(seen.size).toBeGreaterThanOrEqual(4);
    await tcp.endAsync(true);
  });

  it('starts on a non-loopback address too: the monitor logs in by itself, anonymous clients are refused', async () => {
    // Bound to every interface; this test connects through 127.0.0.1 only.
    const open = await startDemoProcess(['--host', '0.0.0.0']);
    try {
      const url = `mqtt://127.0.0.1:${open.ports.mqtt}`;
      await expect(mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000 })).rejects.toThrow(/Not authorized|Bad username/i);
      const operator = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, username: 'operator', password: 'demo' });
      await operator.endAsync();
      const devices = await fetch(`http://127.0.0.1:${open.ports.monitor}/api/devices`);
      expect(devices.status).toBe(200);
      expect(await open.interrupt(), open.stderr()).toBe(0);
    } finally {
      await open.cleanup();
    }
  });

  it('refuses a bad port flag with one line and exit 2', async () => {
    await expect(startDemoProcess(['--http-port', 'eighty'], 20_000)).rejects.toThrow(/exited with 2.*--http-port must be an integer/s);
  });
});
