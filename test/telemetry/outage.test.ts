/**
 * Nothing lost: the broker (a real mosquitto, with persistence so a subscriber's session
 * survives its restart) goes away in the middle of a scenario, and the telemetry process
 * itself restarts during an outage.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { faultEventSchema, heartbeatSchema } from '../../src/protocol/topics.js';
import { hasTools } from '../helpers/tools.js';
import { account, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { startRig, Watcher, type Rig } from './rig.js';

/** A leak that latches i30, is mopped up, and reset once dry: one raised and one cleared event. */
const leakCycle = (t: number) => [
  { at: t + 5_000, inject: 'leak', ml: 300 },
  { at: t + 60_000, dryPan: true },
  { at: t + 150_000, press: 'reset' },
];

const pendingOnDisk = (rig: Rig, id: string) => (JSON.parse(readFileSync(`${rig.dataDir}/${id}/telemetry.json`, 'utf8')) as { outbox: unknown[] }).outbox.length;

describe.skipIf(!hasTools('mosquitto'))('telemetry through broker outages', () => {
  let broker: Mosquitto;
  beforeAll(async () => {
    broker = await startMosquitto({ persistence: true });
  });
  afterAll(async () => {
    await broker?.close();
  });

  it('delivers every fault event raised before, during and after a broker restart, in order, none twice; heartbeats are not replayed', async () => {
    const id = `outage-${process.pid}`;
    const watcher = await Watcher.connect(broker.url, [`aquastop/${id}/fault`, `aquastop/${id}/heartbeat`], {
      ...account('viewer'),
      clean: false,
      clientId: `watch-${id}`,
    });
    const rig = await startRig({
      broker: { kind: 'external', url: broker.url, ...account('fleet') },
      id,
      timeline: [...leakCycle(0), ...leakCycle(200_000), ...leakCycle(400_000)],
    });
    try {
      await rig.advance(170_000);
      await expect.poll(() => watcher.on(`aquastop/${id}/fault`).length).toBe(2);

      await broker.stop();
      await expect.poll(() => rig.lines.some((l) => /unreachable/.test(l))).toBe(true);
      const outageStart = rig.sim.clock.now();
      await rig.advance(200_000);
      const outageEnd = rig.sim.clock.now();
      // Raised and cleared during the outage: on disk until the broker has them.
      expect(pendingOnDisk(rig, id)).toBe(2);

      await broker.start();
      await expect.poll(() => rig.lines.some((l) => /reconnected/.test(l)), { timeout: 15_000 }).toBe(true);
      await rig.advance(200_000);

      await expect.poll(() => new Set(watcher.json(`aquastop/${id}/fault`).map((e) => e.id)).size, { timeout: 15_000 }).toBe(6);
      const events = watcher.json(`aquastop/${id}/fault`).map((e) => faultEventSchema.parse(e));
      const byId = new Map<string, string>();
      for (const e of events) {
        const text = JSON.stringify(e);
        // A re-delivery after a lost acknowledgement is allowed only as the very same event.
        if (byId.has(e.id)) expect(byId.get(e.id)).toBe(text);
        byId.set(e.id, text);
      }
      const unique = [...byId.values()].map((t) => JSON.parse(t) as { event: string; code: string });
      expect(unique.map((e) => `${e.event} ${e.code}`)).toEqual(['raised i30', 'cleared i30', 'raised i30', 'cleared i30', 'raised i30', 'cleared i30']);
      await expect.poll(() => pendingOnDisk(rig, id)).toBe(0);

      // Heartbeats: none stamped inside the outage, and the gap shows in seq.
      const beats = watcher.json(`aquastop/${id}/heartbeat`).map((h) => heartbeatSchema.parse(h));
      const during = beats.filter((h) => h.uptimeS * 1000 > outageStart + 10_000 && h.uptimeS * 1000 < outageEnd - 10_000);
      expect(during, 'heartbeats replayed from the outage').toEqual([]);
      const seqs = beats.map((h) => h.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(Math.max(...seqs.slice(1).map((s, i) => s - seqs[i]!))).toBeGreaterThanOrEqual(19);
    } finally {
      await rig.stop();
      await watcher.end();
    }
  });

  it('keeps fault events raised while the broker is down through a restart of the process, and sends them first', async () => {
    const id = `restart-${process.pid}`;
    const watcher = await Watcher.connect(broker.url, [`aquastop/${id}/fault`], { ...account('viewer'), clean: false, clientId: `watch-${id}` });
    await broker.stop();
    const first = await startRig({ broker: { kind: 'external', url: broker.url, ...account('fleet') }, id, timeline: [{ at: '5s', inject: 'leak', ml: 300 }] });
    await first.advance(30_000);
    expect(pendingOnDisk(first, id)).toBe(1);
    const lostWithProcess = JSON.parse(readFileSync(`${first.dataDir}/${id}/telemetry.json`, 'utf8')).outbox[0] as { id: string };
    // The process ends while the broker is still down.
    await first.sim.stop();
    await first.telemetry.stop();

    await broker.start();
    watcher.client.reconnect();
    const second = await startRig({
      broker: { kind: 'external', url: broker.url, ...account('fleet') },
      id,
      dataDir: first.dataDir,
      timeline: [{ at: '5s', inject: 'leak', ml: 300 }],
    });
    try {
      await second.advance(30_000);
      await expect.poll(() => watcher.on(`aquastop/${id}/fault`).length, { timeout: 15_000 }).toBeGreaterThanOrEqual(2);
      const events = watcher.json<{ id: string; event: string; code: string }>(`aquastop/${id}/fault`);
      expect(events[0]!.id).toBe(lostWithProcess.id);
      expect(events.map((e) => `${e.event} ${e.code}`).slice(0, 2)).toEqual(['raised i30', 'raised i30']);
      expect(events[1]!.id).not.toBe(events[0]!.id);
      await expect.poll(() => pendingOnDisk(second, id)).toBe(0);
    } finally {
      await second.stop();
      await watcher.end();
    }
  });
});
