/**
 * The phi detector on the real path: a device process publishing heartbeats through the chaos
 * bench's TCP proxy, which delays each chunk by a seeded jitter, to a real broker, and the
 * monitor (wall clock) subscribed to it directly. Bounded in time (~13 s): 25 heartbeats (phi decides from the 22nd on).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../../sim/rng.js';
import { startMonitor, type Monitor } from '../../src/monitor/index.js';
import { ChaosProxy } from '../bench/chaos/proxy.js';
import { killDevice, silentLogger, spawnDevice, startBroker, waitFor, type FixtureDevice, type TestBroker } from './helpers.js';

const SEED = Number(process.env.DETECTOR_SEED ?? 20261129);
const INTERVAL_S = 0.4;
/** Each chunk from the device to the broker is held 0-60 % of an interval (30 % ± 30 %). */
const SPREAD = 0.6;

describe('phi detector through a jittery TCP path (real MQTT, wall clock)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aquastop-phi-proxy-'));
  let broker: TestBroker | undefined;
  let proxy: ChaosProxy | undefined;
  let monitor: Monitor | undefined;
  let device: FixtureDevice | undefined;
  let watcher: mqtt.MqttClient | undefined;
  afterAll(async () => {
    if (device) await killDevice(device);
    await watcher?.endAsync(true);
    await monitor?.stop();
    await proxy?.close();
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('learns the jitter (no false DOWN), then reports the device DOWN by phi once it stops', async () => {
    console.log(`detector proxy seed ${SEED} (DETECTOR_SEED=${SEED} repeats it)`);
    broker = await startBroker();
    proxy = new ChaosProxy(Number(new URL(broker.url).port));
    await proxy.listen();
    const rng = new Rng(SEED);
    proxy.delayUpstream(() => rng.next() * SPREAD * INTERVAL_S * 1000);
    monitor = await startMonitor({ brokerUrl: broker.url, port: 0, dataDir: dir, detector: 'phi', logger: silentLogger() });

    // What the broker delivers, timed here: the jitter the monitor has to live with.
    watcher = await mqtt.connectAsync(broker.url);
    const arrivals: number[] = [];
    watcher.on('message', () => arrivals.push(performance.now()));
    await watcher.subscribeAsync('aquastop/phi-1/heartbeat');

    device = await spawnDevice({ BROKER_URL: `mqtt://127.0.0.1:${proxy.port}`, DEVICE_ID: 'phi-1', INTERVAL_S: String(INTERVAL_S) });
    const report = () => monitor!.tracker.report('phi-1');
    await waitFor(() => (report()?.heartbeatsReceived ?? 0) >= 25, 20_000, '25 heartbeats at the monitor');
    const downs = () => monitor!.tracker.history('phi-1')!.filter((h) => h.type === 'status' && 'status' in h && h.status === 'down');
    expect(downs()).toEqual([]);

    const gaps = arrivals.slice(1).map((t, i) => t - arrivals[i]!);
    const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    const std = Math.sqrt(gaps.reduce((a, b) => a + (b - mean) ** 2, 0) / gaps.length);
    const maxGap = Math.max(...gaps);
    console.log(JSON.stringify({ proxyJitter: { heartbeats: arrivals.length, meanGapS: mean / 1000, stdGapS: std / 1000, maxGapIntervals: maxGap / (INTERVAL_S * 1000) } }));
    // The delay was real: gaps spread by about SPREAD/sqrt(6) of an interval (a steady path: a few ms).
    expect(std).toBeGreaterThan(0.1 * INTERVAL_S * 1000);

    await device.command('stop');
    const stoppedAt = performance.now();
    await waitFor(() => downs().length > 0, 10_000, 'DOWN after the device stopped');
    const reason = (downs()[0] as unknown as { reason: string }).reason;
    console.log(JSON.stringify({ proxyDown: { reason, afterStopS: (performance.now() - stoppedAt) / 1000 } }));
    // phi decided, and it waited past one interval but not for ever.
    expect(reason).toMatch(/^no heartbeat for [\d.]+ s \(([\d.]+) x 0\.4 s\): phi reached 8$/);
    const intervals = Number(/\(([\d.]+) x/.exec(reason)![1]);
    expect(intervals).toBeGreaterThan(1);
    expect(intervals).toBeLessThan(4);
  }, 30_000);
});
