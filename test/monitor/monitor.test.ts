/**
 * The monitor against real brokers (aedes in-process, and a mosquitto 2.x process started here)
 * and real device processes. Wall-clock waits here are bounded polls on real network events,
 * never fixed sleeps.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startMonitor, type Monitor, type MonitorOptions } from '../../src/monitor/index.js';
import type { DeviceReport } from '../../src/monitor/types.js';
import { topicFor } from '../../src/protocol/topics.js';
import { findTool, hasTools } from '../helpers/tools.js';
import { killDevice, silentLogger, spawnDevice, startBroker, startWebhookReceiver, waitFor, type FixtureDevice } from './helpers.js';
import { MOSQUITTO, startMosquitto } from '../helpers/mosquitto.js';

interface Broker {
  readonly url: string;
  close(): Promise<void>;
}
const BROKERS: Array<[string, () => Promise<Broker>]> = [['aedes', startBroker]];
if (hasTools(MOSQUITTO)) BROKERS.push(['mosquitto', () => startMosquitto({ config: 'open' })]);

let broker: Broker;
let startBrokerOfSuite: () => Promise<Broker> = startBroker;
let dataDir: string;
const monitors: Monitor[] = [];
const devices: FixtureDevice[] = [];

// A fresh broker per test: retained messages of one test must not leak into the next.
beforeEach(async () => {
  broker = await startBrokerOfSuite();
});
afterEach(async () => {
  for (const d of devices.splice(0)) await killDevice(d);
  for (const m of monitors.splice(0)) await m.stop();
  await broker.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function monitor(extra: Partial<MonitorOptions> = {}): Promise<Monitor> {
  const m = await startMonitor({ brokerUrl: broker.url, port: 0, dataDir, logger: silentLogger(), ...extra });
  monitors.push(m);
  return m;
}

async function device(id: string, env: Record<string, string> = {}): Promise<FixtureDevice> {
  const d = await spawnDevice({ BROKER_URL: broker.url, DEVICE_ID: id, INTERVAL_S: '1', ...env });
  devices.push(d);
  return d;
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

describe.each(BROKERS)('monitor with a real broker: %s', (_name, start) => {
  beforeAll(() => {
    startBrokerOfSuite = start;
  });
  afterAll(() => {
    startBrokerOfSuite = startBroker;
  });

  it('sees a device killed with SIGKILL as DOWN within 1.5 heartbeat intervals plus a second', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'aquastop-mon-'));
    const m = await monitor();
    const d = await device('killed-1');
    await waitFor(() => m.tracker.report('killed-1')?.up === true, 10_000, 'device UP');
    await killDevice(d, 'SIGKILL');
    const killedAt = Date.now();
    await waitFor(() => m.tracker.report('killed-1')?.status === 'down', 5_000, 'device DOWN');
    const tookMs = Date.now() - killedAt;
    expect(tookMs).toBeLessThanOrEqual(2_500);
    const history = m.tracker.history('killed-1')!;
    expect(history.at(-2)).toMatchObject({ type: 'status', status: 'down', reason: expect.stringContaining('no heartbeat') });
  });

  it('a monitor started on a fresh data directory learns a dead device from its retained messages alone', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'aquastop-mon-'));
    const pub = await mqtt.connectAsync(broker.url);
    const state = {
      state: 'latched',
      breaker: 'latched',
      valve: 'closed',
      drainPump: 'on',
      leak: true,
      fault: 'i30',
      tripCount: 1,
      uptimeS: 60,
      tubLevelL: 0.2,
      fw: 'test',
      board: 'simulated',
      last_seen: new Date().toISOString(),
    };
    const ids = Array.from({ length: 20 }, (_, i) => `dead-${i}`);
    for (const id of ids) {
      await pub.publishAsync(topicFor('state', { base: 'aquastop', id }), JSON.stringify(state), { retain: true, qos: 1 });
      await pub.publishAsync(topicFor('availability', { base: 'aquastop', id }), JSON.stringify({ state: 'offline' }), { retain: true, qos: 1 });
    }
    await pub.endAsync();
    // The retained messages come with the subscription's answer: a handler attached after it misses them.
    const m = await monitor();
    const known = (id: string) => m.tracker.report(id)?.status === 'down' && m.tracker.report(id)?.breaker === 'latched';
    await waitFor(() => ids.every(known), 5_000, 'every device known from retained messages');
    for (const id of ids) expect(m.tracker.report(id)).toMatchObject({ status: 'down', breaker: 'latched', activeFault: 'i30' });
  });

  it('sees a device whose connection survives but whose heartbeats stop as DOWN', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'aquastop-mon-'));
    const m = await monitor();
    const d = await device('silent-1', { WILL: '1' });
    await waitFor(() => m.tracker.report('silent-1')?.up === true, 10_000, 'device UP');
    await d.command('stop');
    const stoppedAt = Date.now();
    await waitFor(() => m.tracker.report('silent-1')?.status === 'down', 5_000, 'device DOWN');
    expect(Date.now() - stoppedAt).toBeLessThanOrEqual(2_500);
    expect(d.child.exitCode).toBe(null); // still connected: the will was not what told us
    const reports = await getJson<DeviceReport[]>(`${m.url}/api/devices`);
    expect(reports.find((r) => r.id === 'silent-1')).toMatchObject({ up: false, intervalS: 1, breaker: 'armed', sloTarget: 0.999 });
  });

  it('keeps its history when restarted on the same data directory', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'aquastop-mon-'));
    const first = await monitor({ snapshotMs: 200 });
    const d = await device('restart-1');
    await waitFor(() => (first.tracker.report('restart-1')?.heartbeatsReceived ?? 0) >= 2, 10_000, 'two heartbeats');
    await d.command('fault i30');
    await waitFor(() => first.tracker.report('restart-1')?.activeFault === 'i30', 5_000, 'fault seen');
    await killDevice(d);
    await waitFor(() => first.tracker.report('restart-1')?.status === 'down', 5_000, 'device DOWN');
    const before = await getJson<{ items: unknown[] }>(`${first.url}/api/devices/restart-1/history`);
    await first.stop();
    const figures = first.tracker.report('restart-1')!; // frozen at the stop: later time is unknown
    monitors.splice(monitors.indexOf(first), 1);

    const second = await monitor();
    const after = await getJson<{ items: unknown[] }>(`${second.url}/api/devices/restart-1/history`);
    expect(after.items).toEqual(before.items);
    const report = await getJson<DeviceReport>(`${second.url}/api/devices/restart-1`);
    expect(report).toMatchObject({
      heartbeatsReceived: figures.heartbeatsReceived,
      lastSeen: figures.lastSeen,
      activeFault: 'i30',
      availability: figures.availability,
      mtbfS: figures.mtbfS,
    });
  });

  it('sends a webhook once per incident: DOWN, UP, fault raised and cleared, none repeated after a restart', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'aquastop-mon-'));
    const hook = await startWebhookReceiver();
    const { received, url: webhookUrl } = hook;
    try {
      const m = await monitor({ webhookUrl });
      const d = await device('hook-1', { WILL: '1' });
      await d.command('fault i30');
      await d.command('fault i30'); // the same fault again: same incident
      await d.command('clear i30');
      await waitFor(() => received.length >= 2, 5_000, 'fault alerts');
      await killDevice(d); // will: availability offline, then the heartbeat deadline too
      await waitFor(() => received.some((a) => a.kind === 'down'), 5_000, 'DOWN alert');
      await m.stop();
      monitors.splice(monitors.indexOf(m), 1);
      // restarted monitor: retained "offline" arrives again, still the same incident
      const m2 = await monitor({ webhookUrl });
      await waitFor(() => m2.tracker.report('hook-1')?.status === 'down', 5_000, 'DOWN after restart');
      const back = await device('hook-1', { BOOT: '2' });
      await waitFor(() => received.some((a) => a.kind === 'up'), 5_000, 'UP alert');
      await killDevice(back);
      await waitFor(() => received.filter((a) => a.kind === 'down').length === 2, 5_000, 'second DOWN alert');
      await m2.stop();
      monitors.splice(monitors.indexOf(m2), 1);
      expect(received.map((a) => `${a.kind} ${a.device}${a.code ? ` ${a.code}` : ''}`)).toEqual([
        'fault-raised hook-1 i30',
        'fault-cleared hook-1 i30',
        'down hook-1',
        'up hook-1',
        'down hook-1',
      ]);
    } finally {
      await hook.close();
    }
  });

  it('counts and ignores invalid payloads', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'aquastop-mon-'));
    const m = await monitor();
    const c = await mqtt.connectAsync(broker.url);
    await c.publishAsync(topicFor('heartbeat', { base: 'aquastop', id: 'bad-1' }), '{"seq":-1}');
    await c.publishAsync(topicFor('heartbeat', { base: 'aquastop', id: 'bad-1' }), 'not json');
    // an interval no timer can hold (and no device uses): over the contract's hour
    const hb = { seq: 1, boot: 1, uptimeS: 1, intervalS: 1e300, state: 'idle', fault: null, ts: new Date().toISOString() };
    await c.publishAsync(topicFor('heartbeat', { base: 'aquastop', id: 'bad-1' }), JSON.stringify(hb));
    await c.endAsync();
    await waitFor(() => (m.subscriber.stats.invalid.get('heartbeat') ?? 0) === 3, 5_000, 'three invalid heartbeats counted');
    expect(m.tracker.report('bad-1')).toBe(null);
  });

  it("reads a newer device's heartbeat with a field it does not know, and still refuses a known field with a wrong value", async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'aquastop-mon-'));
    const m = await monitor();
    const c = await mqtt.connectAsync(broker.url);
    const hb = { seq: 1, boot: 1, uptimeS: 1, intervalS: 1, state: 'idle', fault: null, ts: new Date().toISOString() };
    await c.publishAsync(topicFor('heartbeat', { base: 'aquastop', id: 'newer-1' }), JSON.stringify({ ...hb, someFutureField: { x: 1 } }));
    await c.publishAsync(topicFor('heartbeat', { base: 'aquastop', id: 'newer-2' }), JSON.stringify({ ...hb, seq: 'one', someFutureField: 1 }));
    await c.endAsync();
    await waitFor(() => m.tracker.report('newer-1')?.up === true, 5_000, 'the newer device UP');
    await waitFor(() => (m.subscriber.stats.invalid.get('heartbeat') ?? 0) === 1, 5_000, 'the wrong seq refused');
    expect(m.tracker.report('newer-2')).toBe(null);
  });
});

describe.skipIf(!hasTools('promtool'))('monitor /metrics', () => {
  it('passes promtool check metrics with devices, faults and breaker states', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'aquastop-mon-'));
    const m = await monitor();
    const d = await device('metrics-1');
    await d.command('fault i30');
    await waitFor(() => m.tracker.report('metrics-1')?.activeFault === 'i30', 5_000, 'fault seen');
    const text = await (await fetch(`${m.url}/metrics`)).text();
    expect(text).toMatch(/^aquastop_device_up\{device="metrics-1"\} 1$/m);
    expect(text).toMatch(/^aquastop_device_faults_raised_total\{device="metrics-1",code="i30"\} 1$/m);
    expect(text).toMatch(/^aquastop_device_breaker_state\{device="metrics-1",state="latched"\} 1$/m);
    expect(text).toMatch(/^aquastop_device_heartbeats_received_total\{device="metrics-1"\} \d+$/m);
    expect(text).toMatch(/^aquastop_device_availability_ratio\{device="metrics-1",window="1h"\} 1$/m);
    // promtool reads the exposition from stdin; lint problems print and exit non-zero
    const out = execFileSync(findTool('promtool')!, ['check', 'metrics'], { input: text, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
    expect(out.trim()).toBe('');
  });
});
