import { afterAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { startDemoProcess, type StartedDemo } from './start-process.js';

const DEVICES = 30;
const HEARTBEAT_S = 2;

interface Report {
  id: string;
  status: string;
  heartbeatsReceived: number;
  intervalS: number | null;
}

describe('aquastop start --devices N: a fleet that comes up like a real one', () => {
  let demo: StartedDemo | undefined;
  afterAll(async () => {
    await demo?.cleanup();
  });

  it(`plugs ${DEVICES} appliances in over one heartbeat interval, starts their programs spread out, and the monitor reports none DOWN`, async () => {
    demo = await startDemoProcess(['--devices', String(DEVICES), '--heartbeat', `${HEARTBEAT_S}s`]);
    const api = `http://127.0.0.1:${demo.ports.monitor}/api/devices`;
    const reports = async () => (await (await fetch(api)).json()) as Report[];
    // Every device heard a few times (bounded poll on the real process).
    await expect.poll(async () => (await reports()).filter((r) => r.heartbeatsReceived >= 3).length, { timeout: 40_000, interval: 250 }).toBe(DEVICES);

    const all = await reports();
    expect(
      all.every((r) => r.status === 'up' && r.intervalS === HEARTBEAT_S),
      JSON.stringify(all),
    ).toBe(true);
    // No device was ever DOWN: not before its first heartbeat was due, nor since.
    for (const r of all) {
      const { items } = (await (await fetch(`${api}/${r.id}/history?limit=100`)).json()) as { items: Array<{ type: string; status?: string }> };
      expect(
        items.filter((i) => i.type === 'status' && i.status === 'down'),
        r.id,
      ).toEqual([]);
    }

    // When each was plugged in, from its retained state: its wall time less the controller's uptime.
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${demo.ports.mqtt}`, { reconnectPeriod: 0, connectTimeout: 5000, username: 'operator', password: 'demo' });
    const states = new Map<string, { last_seen: string; uptimeS: number; valve: string; state: string }>();
    client.on('message', (topic, payload) => {
      const m = /^aquastop\/([^/]+)$/.exec(topic);
      if (m && m[1] !== 'bridge') states.set(m[1]!, JSON.parse(payload.toString()) as never);
    });
    await client.subscribeAsync('aquastop/+', { qos: 1 });
    await expect.poll(() => states.size, { timeout: 10_000 }).toBe(DEVICES);
    await client.endAsync();
    const poweredOn = [...states.values()].map((s) => Date.parse(s.last_seen) - s.uptimeS * 1000);
    const spread = Math.max(...poweredOn) - Math.min(...poweredOn);
    console.log(JSON.stringify({ fleetPowerOnSpreadMs: Math.round(spread), heartbeatMs: HEARTBEAT_S * 1000 }));
    // Uniform over one interval of the appliances' own clocks: 30 draws span most of it (all at
    // once: ~0). On the wall clock the start of it is squeezed: the fleet's clocks run from when
    // the fleet starts, and catch up after the monitor and dashboard have started (~0.5 s).
    expect(spread).toBeGreaterThan(0.3 * HEARTBEAT_S * 1000);
    expect(spread).toBeLessThan(HEARTBEAT_S * 1000 + 300);
    // Programs start spread over an hour: seconds in, hardly any appliance is filling (all at once: every one).
    const filling = [...states.values()].filter((s) => s.valve === 'open').length;
    expect(filling).toBeLessThanOrEqual(3);

    expect(await demo.interrupt(), demo.stderr()).toBe(0);
  });

  it('refuses a heartbeat outside 0.5s to 60s with one line naming the flag, exit 2', async () => {
    await expect(startDemoProcess(['--heartbeat', '0.1s'])).rejects.toThrow(/exited with 2.*--heartbeat must be a duration from 0\.5s to 60s/s);
  });
});
