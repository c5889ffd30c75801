/**
 * Monitor benchmark (`npm run bench` calls `run()`; `npx tsx test/bench/monitor.ts` runs it alone).
 * Prints JSON, asserts nothing. Everything runs on a real MQTT broker (aedes, loopback):
 * - lastHeartbeatToDownMs: wall ms from publishing a device's last heartbeat (intervalS 1,
 *   down-after 1.5) to the monitor recording it DOWN; the ideal is 1500 ms. Several runs.
 * - ingestHeartbeatsPerS: heartbeats per wall second the monitor validates and tracks, from many
 *   devices published by a few clients as fast as the broker takes them (broker, publishers and
 *   monitor share one process, so this is a lower bound for the monitor alone).
 * - diskBytesPerDevicePerDay: the history file (real FileEventLog, virtual clock, 2 days, default
 *   retention, counters every second) for one quiet device (heartbeat every 10 s) and one
 *   flapping device (heartbeat every 10 s, silent 20 s of every minute: DOWN and UP once a
 *   minute); `live` is the file after a restart's compaction, `peak` the largest it got while
 *   running (superseded lines included); alerts sent for the flapping one.
 * - startup: a history of 1,000 devices x 30 days written directly (each device: one outage a
 *   day, a fault raised and cleared once a week, a restart every 10 days), then a fresh process
 *   (node --expose-gc) times `tracker.start()` on it and reports the heap and RSS it holds.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import { VirtualClock } from '../../src/clock/virtual-clock.js';
import { EVENT_LOG_FILE, FileEventLog } from '../../src/monitor/event-log.js';
import { startMonitor, type Monitor } from '../../src/monitor/index.js';
import { Tracker } from '../../src/monitor/tracker.js';
import type { Alert, LogEntry } from '../../src/monitor/types.js';
import { TOPICS, topicFor } from '../../src/protocol/topics.js';
import { silentLogger, startBroker, waitFor } from '../monitor/helpers.js';

const BASE = 'aquastop';

function heartbeat(seq: number, intervalS: number): string {
  return JSON.stringify(TOPICS.heartbeat.schema.parse({ seq, boot: 1, uptimeS: seq * intervalS, intervalS, state: 'idle', fault: null, ts: new Date().toISOString() }));
}

async function lastHeartbeatToDown(monitor: Monitor, brokerUrl: string, runs: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const id = `latency-${i}`;
    const client = await mqtt.connectAsync(brokerUrl);
    const topic = topicFor('heartbeat', { base: BASE, id });
    for (let seq = 0; seq < 3; seq++) {
      await client.publishAsync(topic, heartbeat(seq, 1), { qos: 0 });
      if (seq < 2) await new Promise((r) => setTimeout(r, 1000));
    }
    const lastAt = Date.now();
    await waitFor(() => monitor.tracker.report(id)?.status === 'down', 10_000, `${id} DOWN`);
    const down = monitor.tracker.history(id)!.findLast((h) => h.type === 'status' && h['status'] === 'down')!;
    out.push(Date.parse(down.at) - lastAt);
    await client.endAsync();
  }
  return out;
}

async function ingestRate(monitor: Monitor, brokerUrl: string, devices: number, perDevice: number, clients: number): Promise<number> {
  const pubs: MqttClient[] = await Promise.all(Array.from({ length: clients }, () => mqtt.connectAsync(brokerUrl)));
  const total = devices * perDevice;
  const start = monitor.subscriber.stats.accepted;
  const t0 = performance.now();
  for (let seq = 0; seq < perDevice; seq++) {
    for (let d = 0; d < devices; d++) {
      pubs[d % clients]!.publish(topicFor('heartbeat', { base: BASE, id: `fleet-${d}` }), heartbeat(seq, 60), { qos: 0 });
    }
    // let the sockets drain between rounds so the publishers do not just fill memory
    await new Promise((r) => setImmediate(r));
  }
  await waitFor(() => monitor.subscriber.stats.accepted - start >= total, 120_000, `${total} heartbeats ingested`);
  const s = (performance.now() - t0) / 1000;
  await Promise.all(pubs.map((c) => c.endAsync()));
  return total / s;
}

const DAY = 86_400_000;

/** Bytes of history one device leaves per day, quiet or flapping. */
function diskPerDevice(kind: 'quiet' | 'flapping', days: number): Record<string, number> {
  const dir = mkdtempSync(join(tmpdir(), 'aquastop-bench-disk-'));
  try {
    const clock = new VirtualClock(Date.UTC(2026, 0, 1));
    const log = new FileEventLog(dir);
    const alerts: Alert[] = [];
    const tracker = new Tracker({ clock, log, alerts: { send: (a) => alerts.push(a) }, snapshotMs: 1000 });
    tracker.start();
    const file = join(dir, EVENT_LOG_FILE);
    let peak = 0;
    let seq = 0;
    const end = clock.now() + days * DAY;
    while (clock.now() < end) {
      // one minute: heartbeats at 0, 10, 20, 30 s; flapping: silent from 30 to 60 s (DOWN at 45 s)
      for (let s = 0; s < 60; s += 10) {
        if (kind === 'quiet' || s <= 30) tracker.onHeartbeat('dev', { seq: ++seq, boot: 1, uptimeS: seq * 10, intervalS: 10, state: 'idle', fault: null, ts: '' });
        clock.advance(10_000);
      }
      peak = Math.max(peak, statSync(file).size);
    }
    tracker.stop();
    log.close();
    const restarted = new FileEventLog(dir);
    new Tracker({ clock, log: restarted, snapshotMs: 0 }).start();
    restarted.close();
    return {
      live: Math.round(statSync(file).size / days),
      peak: Math.round(peak / days),
      ...(kind === 'flapping' ? { flapsPerDay: 1440, alerts: alerts.length } : {}),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Writes 30 days of history for `devices` devices ending at `now`, in the shape a compacted log has. */
function writeHistory(dir: string, devices: number, now: number): { lines: number; bytes: number } {
  const from = now - 30 * DAY + 60_000;
  const lines: string[] = [JSON.stringify({ type: 'start', t: from } satisfies LogEntry)];
  const push = (e: LogEntry) => lines.push(JSON.stringify(e));
  const counters = (id: string, t: number, boot: number, received: number): LogEntry => ({
    type: 'counters',
    t,
    id,
    received,
    lost: 0,
    lastSeen: t,
    intervalS: 10,
    boot,
    breaker: 'armed',
    state: 'armed.idle',
    heard: t,
  });
  for (let day = 0; day < 30; day++) {
    for (let d = 0; d < devices; d++) {
      const id = `dishwasher-${d}`;
      const t0 = from + day * DAY + (d % 1440) * 60_000;
      if (day === 0) push({ type: 'status', t: t0 - 50_000, id, status: 'up', reason: 'heartbeat' });
      push({ type: 'status', t: t0, id, status: 'down', reason: 'no heartbeat for 1.5 x 10 s' });
      push({ type: 'alert', t: t0, id, kind: 'down', code: null, reason: 'no heartbeat for 1.5 x 10 s' });
      push({ type: 'status', t: t0 + 300_000, id, status: 'up', reason: 'heartbeat' });
      push({ type: 'alert', t: t0 + 300_000, id, kind: 'up', code: null, reason: 'heartbeat' });
      if (day % 10 === 9) push({ type: 'restart', t: t0 + 300_000, id, boot: 1 + Math.floor(day / 10) });
      if (day % 7 === 3) {
        push({ type: 'fault', t: t0 + 3_600_000, id, event: 'raised', code: 'i10' });
        push({ type: 'alert', t: t0 + 3_600_000, id, kind: 'fault-raised', code: 'i10', reason: 'fault raised' });
        push({ type: 'fault', t: t0 + 3_700_000, id, event: 'cleared', code: 'i10' });
        push({ type: 'alert', t: t0 + 3_700_000, id, kind: 'fault-cleared', code: 'i10', reason: 'fault cleared' });
      }
    }
  }
  for (let d = 0; d < devices; d++) push(counters(`dishwasher-${d}`, now - 1000, 3, 259_000));
  push({ type: 'stop', t: now - 1000 });
  const text = lines.join('\n') + '\n';
  writeFileSync(join(dir, EVENT_LOG_FILE), text);
  return { lines: lines.length, bytes: Buffer.byteLength(text) };
}

/** In a fresh process (this file with --startup DIR NOW): how long start() takes and what it holds. */
function startupChild(dir: string, now: number): Record<string, number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const log = new FileEventLog(dir);
  const tracker = new Tracker({ clock: new VirtualClock(now), log, snapshotMs: 0 });
  tracker.start();
  const startMs = performance.now() - t0;
  gc?.();
  const mem = process.memoryUsage();
  const reportsT0 = performance.now();
  tracker.reports();
  return {
    devices: tracker.size,
    startMs: Math.round(startMs),
    heapHeldMB: Math.round((mem.heapUsed - heap0) / 1e5) / 10,
    rssMB: Math.round(mem.rss / 1e5) / 10,
    allReportsMs: Math.round(performance.now() - reportsT0),
  };
}

function startup(devices: number): Record<string, unknown> {
  const dir = mkdtempSync(join(tmpdir(), 'aquastop-bench-startup-'));
  try {
    const now = Date.UTC(2026, 1, 1);
    const t0 = performance.now();
    const written = writeHistory(dir, devices, now);
    const generateMs = Math.round(performance.now() - t0);
    const self = fileURLToPath(import.meta.url);
    const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', self, '--startup', dir, String(now)], { encoding: 'utf8' });
    return { historyLines: written.lines, historyMB: Math.round(written.bytes / 1e5) / 10, generateMs, ...(JSON.parse(out) as Record<string, number>) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<Record<string, unknown>> {
  const bounds = {
    diskBytesPerDevicePerDay: { quiet: diskPerDevice('quiet', 2), flapping: diskPerDevice('flapping', 2) },
    startup: startup(1000),
  };
  const dataDir = mkdtempSync(join(tmpdir(), 'aquastop-bench-monitor-'));
  const broker = await startBroker();
  const monitor = await startMonitor({ brokerUrl: broker.url, port: 0, dataDir, logger: silentLogger() });
  try {
    const latencies = await lastHeartbeatToDown(monitor, broker.url, 3);
    const devices = 1000;
    const perDevice = 20;
    const rate = await ingestRate(monitor, broker.url, devices, perDevice, 4);
    const sorted = [...latencies].sort((a, b) => a - b);
    const result = {
      bench: 'monitor',
      ...bounds,
      lastHeartbeatToDownMs: { median: sorted[Math.floor(sorted.length / 2)], min: sorted[0], max: sorted.at(-1), runs: latencies.length, idealMs: 1500 },
      ingestHeartbeatsPerS: Math.round(rate),
      ingestDevices: devices,
      ingestHeartbeats: devices * perDevice,
    };
    return result;
  } finally {
    await monitor.stop();
    await broker.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const i = process.argv.indexOf('--startup');
  if (i > 0) console.log(JSON.stringify(startupChild(process.argv[i + 1]!, Number(process.argv[i + 2]))));
  else console.log(JSON.stringify(await run()));
}
