/**
 * One process never speaks for another: two `aquastop sim` processes, each publishing one
 * appliance with its own device account (so each has its own bridge, named after its device),
 * on a real mosquitto with the shipped configuration, watched by the real monitor. SIGKILL one
 * process: its last will makes its own appliance DOWN ("bridge ... offline") within moments,
 * and the other appliance never goes DOWN.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMonitor, type Monitor } from '../../src/monitor/index.js';
import { asDevice, spawnSim, type SimProcess } from '../helpers/sim-process.js';
import { hasTools } from '../helpers/tools.js';
import { account, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { silentLogger, waitFor } from './helpers.js';

describe.skipIf(!hasTools('mosquitto', 'gcc'))('a bridge per process', () => {
  let broker: Mosquitto;
  const dir = mkdtempSync(join(tmpdir(), 'aquastop-bridges-'));
  const children: SimProcess[] = [];
  beforeAll(async () => {
    broker = await startMosquitto();
  });
  afterAll(async () => {
    for (const c of children) c.kill();
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const sim = (id: string): SimProcess => {
    const c = spawnSim([...asDevice(broker.url, id), '--data-dir', join(dir, id)]);
    children.push(c);
    return c;
  };

  it("marks DOWN only the devices of the process that died; the other process's device stays UP", async () => {
    const m: Monitor = await startMonitor({ brokerUrl: broker.url, ...account('viewer'), port: 0, dataDir: join(dir, 'monitor'), logger: silentLogger() });
    try {
      const doomed = sim('dishwasher-1');
      sim('dishwasher-2');
      await waitFor(() => m.tracker.report('dishwasher-1')?.up === true && m.tracker.report('dishwasher-2')?.up === true, 30_000, 'both devices UP');
      doomed.kill();
      expect(await doomed.exited).toEqual([null, 'SIGKILL']);
      // The last will, not a missed heartbeat: well before 1.5 heartbeat intervals (15 s).
      await waitFor(() => m.tracker.report('dishwasher-1')?.status === 'down', 5_000, "the killed process's device DOWN");
      const history = m.tracker.history('dishwasher-1')!.filter((h) => h.type === 'status');
      expect(history.at(-1)).toMatchObject({ status: 'down', reason: 'bridge dishwasher-1 offline' });
      expect(m.tracker.report('dishwasher-2')!.up).toBe(true);
      expect(
        m.tracker
          .history('dishwasher-2')!
          .filter((h) => h.type === 'status')
          .map((h) => h.status),
      ).toEqual(['up']);
    } finally {
      await m.stop();
    }
  });
});
