/**
 * The Graphite push against a real carbon-cache (Debian graphite-carbon): a monitor watching
 * real device processes on a broker pushes every second, and the figures are read back from
 * the whisper files carbon wrote (whisper-fetch). Waits are bounded polls on real processes.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock/virtual-clock.js';
import { wallClock } from '../../src/clock/clock.js';
import { GraphitePusher, parseGraphiteUrl } from '../../src/monitor/graphite.js';
import { startMonitor, type Monitor } from '../../src/monitor/index.js';
import { CARBON_CACHE, WHISPER_FETCH, startCarbon, type Carbon } from '../helpers/carbon.js';
import { hasTools } from '../helpers/tools.js';
import { killDevice, spawnDevice, startBroker, waitFor, type FixtureDevice, type TestBroker } from './helpers.js';

const PREFIX = 'site1.aquastop';

/** Polls an async check every 200 ms until it returns true; throws naming `what` after `timeoutMs`. */
async function until(check: () => Promise<boolean>, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface LogRecord {
  level: number;
  msg: string;
}

describe.skipIf(!hasTools(CARBON_CACHE, WHISPER_FETCH))('Graphite push to a real carbon-cache', () => {
  let broker: TestBroker;
  let carbon: Carbon;
  /** One that closes connections idle for 1 s. */
  let idleCarbon: Carbon;
  let dataDir: string;
  let monitor: Monitor;
  const devices: FixtureDevice[] = [];
  const logs: LogRecord[] = [];
  const graphiteLogs = () => logs.filter((r) => r.msg.startsWith('graphite:'));

  /** The newest point of `path` at or after `fromS`, or null. */
  const last = async (path: string, fromS: number) => (await carbon.points(`${PREFIX}.${path}`, fromS)).at(-1) ?? null;
  const reaches = (path: string, value: number, fromS: number, timeoutMs = 10_000) => {
    let seen: [number, number] | null = null;
    return until(
      async () => (seen = await last(path, fromS)) !== null && seen[1] === value,
      timeoutMs,
      () => `${PREFIX}.${path} = ${value} in carbon (last point: ${JSON.stringify(seen)})`,
    );
  };

  beforeAll(async () => {
    [broker, carbon, idleCarbon] = await Promise.all([startBroker(), startCarbon(), startCarbon({ idleTimeoutS: 1 })]);
    dataDir = mkdtempSync(join(tmpdir(), 'aquastop-graphite-'));
    const logger = pino({ level: 'info' }, { write: (s: string) => void logs.push(JSON.parse(s) as LogRecord) });
    monitor = await startMonitor({ brokerUrl: broker.url, port: 0, dataDir, logger, graphiteUrl: carbon.url, graphiteIntervalMs: '1s', graphitePrefix: PREFIX });
    devices.push(
      ...(await Promise.all([
        spawnDevice({ BROKER_URL: broker.url, DEVICE_ID: 'dw-1', INTERVAL_S: '1' }),
        spawnDevice({ BROKER_URL: broker.url, DEVICE_ID: 'wm_2', INTERVAL_S: '1' }),
      ])),
    );
  });
  afterAll(async () => {
    for (const d of devices) await killDevice(d);
    await monitor?.stop();
    await broker?.close();
    await Promise.all([carbon?.close(), idleCarbon?.close()]);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('writes the fleet and device figures of /metrics to whisper, stamped in whole seconds of now: up count, a raised fault, a device DOWN', async () => {
    const t0 = Math.floor(Date.now() / 1000);
    await reaches('fleet.devices_up', 2, t0, 15_000);
    await reaches('fleet.devices', 2, t0);
    await reaches('devices.dw-1.up', 1, t0);
    await reaches('devices.wm_2.up', 1, t0);
    const [ts] = (await last('fleet.devices_up', t0))!;
    expect(Math.abs(ts - Date.now() / 1000)).toBeLessThan(5);
    // The same figure /metrics shows, under the same name.
    const metrics = await (await fetch(`${monitor.url}/metrics`)).text();
    expect(metrics).toContain('aquastop_device_up{device="dw-1"} 1');
    expect((await last('devices.dw-1.availability_ratio.1h', t0))?.[1]).toBe(1);

    await devices[0]!.command('fault i30');
    await reaches('devices.dw-1.faults_raised_total.i30', 1, t0);
    await reaches('fleet.faults_raised_total.i30', 1, t0);
    await reaches('fleet.breaker_state.latched', 1, t0);

    await killDevice(devices[1]!);
    await reaches('devices.wm_2.up', 0, t0);
    await reaches('fleet.devices_up', 1, t0);
    await reaches('fleet.status.down', 1, t0);

    // Every per-device figure of /metrics has its own whisper file: as many as dw-1 has samples.
    const samples = async () => (await (await fetch(`${monitor.url}/metrics`)).text()).split('\n').filter((l) => l.includes('device="dw-1"')).length;
    const files = () => readdirSync(join(carbon.whisperDir, ...PREFIX.split('.'), 'devices', 'dw-1'), { recursive: true }).filter((f) => String(f).endsWith('.wsp')).length;
    let counts: [number, number] = [0, 0];
    await until(
      async () => (counts = [await samples(), files()])[0] === counts[1],
      10_000,
      () => `one whisper file per /metrics sample of dw-1 (samples, files: ${counts.join(', ')})`,
    );
    expect(counts[0]).toBeGreaterThan(15);
    expect(graphiteLogs().filter((r) => r.level >= 40)).toEqual([]);
  });

  it('keeps the monitor running while carbon is away, logs one line per outage (not per attempt), and sends what waited once carbon is back on its port', async () => {
    const pusher = monitor.graphite!;
    expect(pusher.phase).toBe('connected');
    const attemptsBefore = pusher.attempts;
    const logsBefore = graphiteLogs().length;

    await carbon.stop();
    // The connection that ended, then two attempts refused.
    await waitFor(() => pusher.attempts >= attemptsBefore + 2 && pusher.phase === 'waiting', 15_000, 'two failed attempts to reach carbon');
    const away = graphiteLogs().slice(logsBefore);
    expect(away).toHaveLength(1);
    expect(away[0]).toMatchObject({ level: 40, msg: expect.stringContaining(`graphite: carbon at ${carbon.url} unreachable (`) });
    const outageLoggedS = Date.now() / 1000;
    // Still watching and serving: dw-1 keeps its heartbeats, and lines wait in the buffer.
    expect(monitor.tracker.report('dw-1')?.up).toBe(true);
    expect((await fetch(`${monitor.url}/healthz`)).status).toBe(200);
    expect(pusher.buffered).toBeGreaterThan(0);

    await carbon.start();
    await waitFor(() => pusher.phase === 'connected', 20_000, 'the pusher connected to carbon again');
    const backS = Date.now() / 1000;
    const back = graphiteLogs().slice(logsBefore);
    expect(back).toHaveLength(2);
    expect(back[1]).toMatchObject({
      level: 30,
      msg: expect.stringMatching(/^graphite: carbon at \S+ is back after [\d.]+ s: sending the [1-9]\d* line\(s\) that waited \(0 dropped\)$/),
    });

    // Points stamped while carbon was down arrive (they waited in the buffer), then new ones.
    let points: Array<[number, number]> = [];
    await until(
      async () => {
        points = await carbon.points(`${PREFIX}.fleet.devices_up`, Math.floor(outageLoggedS));
        return points.some(([t]) => t > outageLoggedS && t < backS - 1) && points.some(([t]) => t > backS);
      },
      10_000,
      () => `points during [${outageLoggedS}, ${backS}] and after it (got ${JSON.stringify(points)})`,
    );
    expect(pusher.stats.dropped).toBe(0);
    const metrics = await (await fetch(`${monitor.url}/metrics`)).text();
    expect(metrics).toContain('aquastop_monitor_graphite_lines_total{result="dropped"} 0');
    expect(metrics).toContain('aquastop_monitor_graphite_connected 1');
  });

  it('keeps an id with dots, spaces and a slash as one path level in carbon', async () => {
    const t0 = Math.floor(Date.now() / 1000);
    const pusher = new GraphitePusher({
      url: carbon.url,
      address: parseGraphiteUrl(carbon.url)!,
      prefix: 'esc',
      intervalMs: 1000,
      collect: async () => [{ name: 'aquastop_device_up', type: 'gauge', values: [{ labels: { device: 'kitchen.dish washer/1' }, value: 1 }] }],
      clock: wallClock,
      log: () => undefined,
    });
    pusher.start();
    try {
      let seen: Array<[number, number]> = [];
      await until(
        async () => (seen = await carbon.points('esc.devices.kitchen%2Edish%20washer%2F1.up', t0)).length > 0,
        10_000,
        () => 'the escaped path in carbon',
      );
      expect(seen.at(-1)![1]).toBe(1);
      expect(existsSync(join(carbon.whisperDir, 'esc', 'devices', 'kitchen'))).toBe(false);
    } finally {
      await pusher.stop();
    }
  });

  it('starts the back-off afresh after a connection that lasted stableMs; logs an outage once however often carbon drops it, and again when it is away after being back', async () => {
    const clock = new VirtualClock(Date.now());
    const logs: string[] = [];
    const pusher = new GraphitePusher({
      url: idleCarbon.url,
      address: parseGraphiteUrl(idleCarbon.url)!,
      prefix: 'idle',
      intervalMs: 3_600_000,
      collect: async () => [],
      clock,
      log: (_level, line) => logs.push(line),
      firstRetryMs: 1_000,
      maxRetryMs: 60_000,
      stableMs: 10_000,
      random: () => 0,
    });
    const delays: number[] = [];
    /** Waits (real time) for carbon to close the idle connection, `heldMs` of virtual time after it opened. */
    const connection = async (heldMs: number) => {
      await waitFor(() => pusher.phase === 'connected', 10_000, 'connected');
      clock.advance(heldMs);
      await waitFor(() => pusher.phase === 'waiting', 10_000, 'closed by carbon');
      delays.push(clock.nextDue()! - clock.now());
    };
    const retry = () => clock.advanceTo(clock.nextDue()!);
    pusher.start();
    try {
      await connection(0);
      expect(logs).toEqual([expect.stringContaining('unreachable (connection closed by carbon)')]);
      retry();
      await connection(10_000);
      expect(logs).toEqual([expect.anything(), expect.stringContaining('is back after')]);
      for (let i = 0; i < 3; i++) {
        retry();
        await connection(0);
      }
      // Back-off: 500 ms, afresh after the 10 s one (500), then growing (1 s, 2 s, 4 s), each x 0.5.
      expect(delays).toEqual([500, 500, 1_000, 2_000, 4_000]);
      // The stable connection ended the first outage; the three short ones were a second (two lines).
      expect(logs).toHaveLength(4);
      await idleCarbon.stop();
      retry();
      await waitFor(() => logs.length === 5, 10_000, 'a line for the refused attempt');
      expect(logs[3]).toContain('is back after');
      expect(logs[4]).toMatch(/unreachable \(ECONNREFUSED\)/);
    } finally {
      await pusher.stop();
    }
  });
});
