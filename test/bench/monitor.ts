/**
 * Monitor benchmark (`npm run bench` calls `run()`; `npx tsx test/bench/monitor.ts` runs it alone).
 * Prints JSON, asserts nothing. Everything runs on a real MQTT broker (aedes, loopback):
 * - lastHeartbeatToDownMs: wall ms from publishing a device's last heartbeat (intervalS 1,
 *   down-after 1.5) to the monitor recording it DOWN; the ideal is 1500 ms. Several runs.
 * - ingestHeartbeatsPerS: heartbeats per wall second the monitor validates and tracks, from many
 *   devices published by a few clients as fast as the broker takes them (broker, publishers and
 *   monitor share one process, so this is a lower bound for the monitor alone).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import { startMonitor, type Monitor } from '../../src/monitor/index.js';
import { TOPICS, topicFor } from '../../src/telemetry/topics.js';
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

export async function run(): Promise<Record<string, unknown>> {
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

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) console.log(JSON.stringify(await run()));
