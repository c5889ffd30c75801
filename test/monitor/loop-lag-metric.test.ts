/**
 * The event-loop lag a device's heartbeat carries, as the monitor shows it: in the device
 * report and as a Prometheus gauge that passes `promtool check metrics`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterEach, expect, it } from 'vitest';
import { startMonitor, type Monitor } from '../../src/monitor/index.js';
import { topicFor } from '../../src/protocol/topics.js';
import { findTool, hasTools } from '../helpers/tools.js';
import { silentLogger, startBroker, waitFor, type TestBroker } from './helpers.js';

let broker: TestBroker | null = null;
let monitor: Monitor | null = null;
let dataDir: string | null = null;
afterEach(async () => {
  await monitor?.stop();
  await broker?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  monitor = broker = dataDir = null;
});

const beat = (seq: number, lag: Record<string, number>) =>
  JSON.stringify({ seq, boot: 1, uptimeS: seq, intervalS: 10, state: 'armed.idle', fault: null, ts: new Date().toISOString(), ...lag });

it('exports the loop lag from the last heartbeat per device, and drops it when a heartbeat comes without it', async () => {
  broker = await startBroker();
  dataDir = mkdtempSync(join(tmpdir(), 'aquastop-lag-'));
  const m = (monitor = await startMonitor({ brokerUrl: broker.url, port: 0, dataDir, logger: silentLogger() }));
  const c = await mqtt.connectAsync(broker.url);
  const topic = topicFor('heartbeat', { base: 'aquastop', id: 'lag-1' });
  await c.publishAsync(topic, beat(1, { loopLagMs: 12.5, loopLagMaxMs: 240 }));
  await waitFor(() => m.tracker.report('lag-1')?.loopLag !== null && m.tracker.report('lag-1') !== null, 5_000, 'lag seen');
  expect(m.tracker.report('lag-1')?.loopLag).toEqual({ p99Ms: 12.5, maxMs: 240 });
  const text = await (await fetch(`${m.url}/metrics`)).text();
  expect(text).toMatch(/^aquastop_device_event_loop_lag_seconds\{device="lag-1",stat="p99"\} 0\.0125$/m);
  expect(text).toMatch(/^aquastop_device_event_loop_lag_seconds\{device="lag-1",stat="max"\} 0\.24$/m);
  if (hasTools('promtool')) {
    const out = execFileSync(findTool('promtool')!, ['check', 'metrics'], { input: text, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
    expect(out.trim()).toBe('');
  }
  await c.publishAsync(topic, beat(2, {}));
  await waitFor(() => m.tracker.report('lag-1')?.loopLag === null, 5_000, 'lag dropped');
  // A scrape reuses the reports of the last 200 ms.
  await expect.poll(async () => (await fetch(`${m.url}/metrics`)).text()).not.toMatch(/aquastop_device_event_loop_lag_seconds\{device="lag-1"/);
  await c.endAsync();
});
