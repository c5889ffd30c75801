/**
 * A fleet with one MQTT connection per appliance (src/telemetry/fleet.ts) on a real mosquitto
 * running the shipped configuration: 200 simulated appliances, each with its own connection
 * and last will, two of them on their own device accounts and the rest on the fleet account,
 * watched by the real monitor (2 s heartbeat).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Simulation } from '../../sim/engine.js';
import { parseScenario } from '../../sim/scenario.js';
import { Rng } from '../../sim/rng.js';
import { wallClock } from '../../src/clock/clock.js';
import { startMonitor, type Monitor } from '../../src/monitor/index.js';
import { startFleetTelemetry, type FleetTelemetry } from '../../src/telemetry/fleet.js';
import { account, MOSQUITTO, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { hasTools } from '../helpers/tools.js';

const N = 200;
const HEARTBEAT_S = 2;
const BACKOFF = { firstMs: 1_000, maxMs: 8_000 };
const ids = Array.from({ length: N }, (_, i) => (i < 2 ? `dishwasher-${i + 1}` : `fleet-${String(i + 1).padStart(3, '0')}`));
const KILLED = [ids[17]!, ids[58]!, ids[99]!, ids[140]!, ids[1]!];

/** Bounded poll of real processes (the broker, sockets): true once `ok` holds. */
async function until(ok: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

describe.skipIf(!hasTools(MOSQUITTO, 'gcc'))('a fleet with one connection per appliance, on mosquitto', () => {
  let broker: Mosquitto;
  let fleet: FleetTelemetry;
  let monitor: Monitor;
  let dir: string;
  const sims: Simulation[] = [];

  const status = () => new Map(monitor.tracker.reports().map((r) => [r.id, r.status]));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'aquastop-fleet-'));
    broker = await startMosquitto();
    monitor = await startMonitor({ brokerUrl: broker.url, host: '127.0.0.1', port: 0, dataDir: join(dir, 'monitor'), logger: pino({ level: 'silent' }) });
    const rng = new Rng(7);
    fleet = await startFleetTelemetry({
      url: broker.url,
      // Device accounts where the example has them; the fleet account for the rest.
      credentials: (id) => (id === 'dishwasher-1' || id === 'dishwasher-2' ? account(id) : account('fleet')),
      reconnect: BACKOFF,
      random: () => rng.next(),
      heartbeatS: HEARTBEAT_S,
      haPrefix: null,
      dataDir: join(dir, 'telemetry'),
      clock: wallClock,
    });
    const scenario = parseScenario({ name: 'idle', description: 'idle', duration: '1h', program: { start: false }, timeline: [] }, 'test');
    for (const id of ids) {
      const sim = new Simulation({ scenario, deviceId: id, keepLog: false });
      sim.onRuntime((runtime) => (runtime ? fleet.addDevice({ runtime, fw: 'test' }) : fleet.removeDevice(id)));
      sims.push(sim);
    }
    await Promise.all(sims.map((s) => s.start()));
    expect(
      await until(() => fleet.connectedCount() === N && [...status().values()].filter((s) => s === 'up').length === N, 15_000),
      `connected ${fleet.connectedCount()}, up ${[...status().values()].filter((s) => s === 'up').length}`,
    ).toBe(true);
  }, 25_000);

  afterAll(async () => {
    await Promise.all(sims.map((s) => s.stop()));
    await fleet?.stop();
    await monitor?.stop();
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  }, 20_000);

  it('brings every appliance online on its own connection with its own will, on device and fleet logins alike', () => {
    expect(fleet.connectedCount()).toBe(N);
    for (const id of ids) {
      const c = fleet.connectionOf(id)!.identity();
      expect(c.clientId).toBe(`aquastop-${id}`);
      expect(c.willTopic).toBe(`aquastop/bridge/${id}/state`);
    }
    expect(fleet.connectionOf('dishwasher-1')!.identity().username).toBe('dishwasher-1');
    expect([...status().values()].every((s) => s === 'up')).toBe(true);
  });

  it('cutting five connections fires their wills: the monitor has exactly those five DOWN, at once', async () => {
    const t0 = Date.now();
    // Cut without DISCONNECT, as a crash or a lost link does; no reconnect.
    for (const id of KILLED) fleet.connectionOf(id)!.crash();
    // The wills, not the timeout: each DOWN names its bridge going offline (below), and the
    // timeout could not come before 1 s (DOWN at 1.5 x 2 s after a heartbeat at most 2 s old).
    expect(await until(() => KILLED.every((id) => status().get(id) === 'down'), 5_000)).toBe(true);
    const down = [...status()].filter(([, s]) => s === 'down').map(([id]) => id);
    expect(down.sort()).toEqual([...KILLED].sort());
    console.log(`the five wills marked DOWN ${Date.now() - t0} ms after the cut`);
    for (const id of KILLED)
      expect(
        monitor.tracker
          .history(id)!
          .filter((h) => h.type === 'status')
          .at(-1)?.reason,
      ).toBe(`bridge ${id} offline`);
  });

  it('after a broker restart the appliances reconnect spread out, and none is DOWN beyond the window', async () => {
    const alive = ids.filter((id) => !KILLED.includes(id));
    const connectedAt = new Map<string, number>();
    for (const id of alive) {
      const stop = fleet.connectionOf(id)!.onConnect(() => {
        connectedAt.set(id, Date.now());
        stop();
      });
    }
    await broker.stop();
    const t0 = Date.now();
    await broker.start();
    expect(await until(() => connectedAt.size === alive.length, 10_000), `${connectedAt.size}/${alive.length} reconnected`).toBe(true);
    const times = [...connectedAt.values()].map((t) => t - t0).sort((a, b) => a - b);
    const q = (p: number) => times[Math.floor(p * (times.length - 1))]!;
    // The first attempt comes after a draw in [0.5, 1) s (back-off 1 s): spread over half a second, not all at once.
    expect(q(0.75) - q(0.25), `reconnects at ${q(0)}..${q(1)} ms, quartiles ${q(0.25)} / ${q(0.75)}`).toBeGreaterThanOrEqual(150);
    let maxPer100ms = 0;
    for (const t of times) maxPer100ms = Math.max(maxPer100ms, times.filter((u) => u >= t && u < t + 100).length);
    expect(maxPer100ms, `times ${times.join(',')}`).toBeLessThan(alive.length / 2);
    // mosquitto sends every client's will as it stops, so a device may be DOWN (bridge offline)
    // until its first heartbeat the monitor reads after both are back (one sent as it reconnects
    // is lost when the monitor is not subscribed again yet). The window, from the broker's start:
    // two back-off attempts (the first may come before the broker listens) and one interval.
    const windowMs = 2 * BACKOFF.firstMs + HEARTBEAT_S * 1000;
    await until(
      () => {
        const s = status();
        return alive.every((id) => s.get(id) === 'up');
      },
      windowMs - (Date.now() - t0),
    );
    const late = alive.filter((id) => status().get(id) !== 'up');
    expect(late, `still not UP ${Date.now() - t0} ms after the restart: ${JSON.stringify(monitor.tracker.history(late[0] ?? '')?.slice(-4))}`).toEqual([]);
    // The dead ones: unknown while the monitor was cut off, DOWN again 1.5 intervals after it is back.
    expect(await until(() => KILLED.every((id) => status().get(id) === 'down'), 1.5 * HEARTBEAT_S * 1000 + 1_000)).toBe(true);
  }, 20_000);
});
