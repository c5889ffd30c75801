/**
 * A power cut pressed on the dashboard (the `inject` topic) of `aquastop sim`: the controller
 * goes away, the simulated appliance does not, so the same button brings the power back.
 */
import { afterEach, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { heartbeatSchema } from '../../src/protocol/topics.js';
import { account, ACCOUNTS } from '../helpers/mosquitto.js';
import { sendCommand, startRig, Watcher, type Rig } from './rig.js';

describe('a power cut through MQTT on a simulated appliance', () => {
  let rig: Rig | null = null;
  let watcher: Watcher | null = null;
  afterEach(async () => {
    await watcher?.end();
    await rig?.stop();
    rig = watcher = null;
  });

  it('turns the device offline, answers commands "powered off", and the second press powers it up again with a new boot', async () => {
    const id = 'cut-1';
    rig = await startRig({ id, broker: { kind: 'embedded', host: '127.0.0.1', port: 0, wsPort: null }, accounts: ACCOUNTS });
    const url = rig.telemetry.brokerUrl;
    watcher = await Watcher.connect(url, [`aquastop/${id}/availability`, `aquastop/${id}/heartbeat`, `aquastop/${id}/set/result`]);
    const w = watcher;
    await w.waitFor(`aquastop/${id}/availability`, (a) => a.state === 'online');
    await rig.advance(10_000);
    const firstBoot = heartbeatSchema.parse(await w.waitFor(`aquastop/${id}/heartbeat`)).boot;

    const press = async () => {
      // An anonymous client on a loopback broker may press the simulator's buttons (the dashboard's role).
      const c = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
      await c.publishAsync(`aquastop/${id}/inject`, '{"inject":"powerCut"}', { qos: 1 });
      await c.endAsync();
    };

    await press();
    await w.waitFor(`aquastop/${id}/availability`, (a) => a.state === 'offline');
    expect(rig.sim.runtime).toBeNull();
    const off = await sendCommand(url, id, '{"valve":"CLOSE"}', account('operator'));
    expect(off).toMatchObject({ ok: false, error: `${id} is powered off` });

    await press();
    await expect.poll(() => w.json(`aquastop/${id}/availability`).at(-1)?.state).toBe('online');
    expect(w.json(`aquastop/${id}/set/result`).filter((r) => r.command === 'inject')).toEqual([]);
    expect(rig.sim.runtime).not.toBeNull();
    const beat = heartbeatSchema.parse(await w.waitFor(`aquastop/${id}/heartbeat`, (h) => h.boot === firstBoot + 1));
    expect(beat.seq).toBe(1);

    // One cadence after the cut: the heartbeat scheduled by the boot before it beats no more,
    // so three intervals bring three heartbeats of the new boot, not more.
    await rig.advance(3 * beat.intervalS * 1000);
    // The device's answer comes after every heartbeat it sent before it, on the same connection.
    await sendCommand(url, id, '{"valve":"CLOSE","id":"marker"}', account('operator'));
    await w.waitFor(`aquastop/${id}/set/result`, (r) => r.id === 'marker');
    const seqs = w
      .json(`aquastop/${id}/heartbeat`)
      .filter((h) => h.boot === firstBoot + 1)
      .map((h) => h.seq);
    expect(seqs).toEqual([1, 2, 3, 4]);
  });
});
