/**
 * The monitor process killed with SIGKILL right after an event: the restarted monitor has the
 * event, its alert, and does not alert twice for it. Real broker (aedes), real processes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startMonitor, type Monitor } from '../../src/monitor/index.js';
import { FileEventLog } from '../../src/monitor/event-log.js';
import { startMonitorProcess, type MonitorProcess } from '../helpers/monitor-process.js';
import { killDevice, silentLogger, spawnDevice, startBroker, startWebhookReceiver, waitFor, type FixtureDevice, type TestBroker, type WebhookReceiver } from './helpers.js';

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function webhook(): Promise<WebhookReceiver> {
  const hook = await startWebhookReceiver();
  cleanups.push(() => hook.close());
  return hook;
}

/** `aquastop monitor` as a child process, killed after the test; resolves once it printed its URL. */
async function monitorProcess(args: string[]): Promise<MonitorProcess> {
  const m = await startMonitorProcess(args);
  cleanups.push(() => m.kill());
  return m;
}

describe('monitor crash', () => {
  it('keeps an event and its alert when killed with SIGKILL right after it, and does not alert it again', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'aquastop-mon-crash-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const broker: TestBroker = await startBroker();
    cleanups.push(() => broker.close());
    const hook = await webhook();

    const proc = await monitorProcess(['--broker', broker.url, '--port', '0', '--data-dir', dataDir, '--webhook', hook.url]);
    const device: FixtureDevice = await spawnDevice({ BROKER_URL: broker.url, DEVICE_ID: 'crash-1', INTERVAL_S: '1' });
    cleanups.push(() => killDevice(device));
    await device.command('fault i30');
    await waitFor(() => hook.received.length === 1, 10_000, 'fault-raised alert');
    await proc.kill(); // SIGKILL right after the event: no stop, no final snapshot

    // on disk: the event, its alert, and the device's counters written with them
    const recorded = new FileEventLog(dataDir).replay().filter((e) => 'id' in e && e.id === 'crash-1');
    const events = recorded.filter((e) => e.type !== 'counters');
    expect(events.map((e) => `${e.type} ${'status' in e ? e.status : 'event' in e ? e.event : 'kind' in e ? e.kind : ''}`)).toEqual([
      'status up',
      'fault raised',
      'alert fault-raised',
    ]);
    const counters = recorded.filter((e) => e.type === 'counters').at(-1);
    expect(counters).toMatchObject({ received: expect.any(Number), intervalS: 1, boot: 1 });
    expect((counters as { received: number }).received).toBeGreaterThanOrEqual(1);

    const m: Monitor = await startMonitor({ brokerUrl: broker.url, port: 0, dataDir, webhookUrl: hook.url, logger: silentLogger() });
    cleanups.push(() => m.stop());
    expect(m.tracker.report('crash-1')).toMatchObject({ activeFault: 'i30' });

    // the device still reports i30 in every heartbeat: the same incident, no second alert
    const received = m.tracker.report('crash-1')!.heartbeatsReceived;
    await waitFor(() => m.tracker.report('crash-1')!.heartbeatsReceived >= received + 2, 10_000, 'two more heartbeats');
    await device.command('clear i30');
    await waitFor(() => hook.received.length >= 2, 10_000, 'fault-cleared alert');
    await m.stop();
    expect(hook.received.map((a) => `${a.kind} ${a.device} ${a.code}`)).toEqual(['fault-raised crash-1 i30', 'fault-cleared crash-1 i30']);
  });
});
