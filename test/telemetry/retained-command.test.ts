/**
 * Our brokers keep no retained command (access-matrix.test.ts), but a third-party broker may:
 * the device itself must not run a `set` or `inject` the broker retained from earlier. Here a
 * mosquitto that lets anyone do anything plays that broker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { hasTools } from '../helpers/tools.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { startRig, Watcher } from './rig.js';

describe.skipIf(!hasTools('mosquitto'))('a command a third-party broker retained', () => {
  let broker: Mosquitto;
  beforeAll(async () => {
    broker = await startMosquitto({ config: 'open' });
  });
  afterAll(async () => {
    await broker?.close();
  });

  it('is not run, and the device says why', async () => {
    const id = 'retained-elsewhere';
    const op = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    await op.publishAsync(`aquastop/${id}/set`, '{"exercise":true}', { qos: 1, retain: true });
    await op.publishAsync(`aquastop/${id}/inject`, '{"inject":"leak"}', { qos: 1, retain: true });
    await op.endAsync();
    const w = await Watcher.connect(broker.url, [`aquastop/${id}/set/result`]);
    const r = await startRig({ broker: { kind: 'external', url: broker.url }, id });
    try {
      const exercise = await w.waitFor(`aquastop/${id}/set/result`, (a) => a.command === 'exercise');
      expect(exercise).toMatchObject({ ok: false, error: expect.stringMatching(/retained/) });
      const inject = await w.waitFor(`aquastop/${id}/set/result`, (a) => a.command === 'inject');
      expect(inject).toMatchObject({ ok: false, error: expect.stringMatching(/retained/) });
      await r.advance(20_000);
      expect(r.sim.runtime!.status()).toMatchObject({ leak: false, fault: null, breaker: 'armed', valve: 'closed' });
    } finally {
      await r.stop();
      await w.end();
    }
  });
});
