/**
 * A monitor that logs in keeps a persistent session: a fault event published while its path to
 * the broker is cut, across a broker restart, still reaches it once the path is back. Found by
 * the chaos bench: with a clean session a fault event published after a broker restart, before
 * the monitor had subscribed again, was never seen by the monitor.
 *
 * A real mosquitto 2.x with persistence, the monitor reaching it through a TCP proxy that refuses
 * connections while cut.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { startMonitor, type Monitor } from '../../src/monitor/index.js';
import { topicFor } from '../../src/protocol/topics.js';
import { ChaosProxy } from '../bench/chaos/proxy.js';
import { MOSQUITTO, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { hasTools } from '../helpers/tools.js';
import { silentLogger, waitFor } from './helpers.js';

describe.skipIf(!hasTools(MOSQUITTO))('the monitor on a broker that restarts while the monitor is cut off', () => {
  let broker: Mosquitto | null = null;
  let proxy: ChaosProxy | null = null;
  let monitor: Monitor | null = null;
  let dataDir = '';
  afterEach(async () => {
    await monitor?.stop();
    await proxy?.close();
    await broker?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    monitor = proxy = broker = null;
  });

  it('gets the fault events published meanwhile once its path is back (persistent session)', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'aquastop-mon-session-'));
    broker = await startMosquitto({ config: 'open', persistence: true });
    proxy = new ChaosProxy(broker.port);
    const port = await proxy.listen();
    monitor = await startMonitor({ brokerUrl: `mqtt://127.0.0.1:${port}`, username: 'watcher', port: 0, dataDir, logger: silentLogger() });
    const m = monitor;
    proxy.cutOff('reset');
    await broker.stop(); // SIGTERM: mosquitto saves its sessions
    await broker.start();
    const pub = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    const fault = { id: '1-1', event: 'raised', code: 'i30', display: ',30', text: 'water in the base pan', severity: 'critical', reset: 'manual', ts: new Date().toISOString() };
    await pub.publishAsync(topicFor('fault', { base: 'aquastop', id: 'away-1' }), JSON.stringify(fault), { qos: 1 });
    await pub.endAsync();
    proxy.restore();
    await waitFor(() => m.tracker.report('away-1')?.activeFault === 'i30', 10_000, 'the fault published while the monitor was cut off');
    expect(m.tracker.report('away-1')).toMatchObject({ activeFault: 'i30' });
  }, 60_000);
});
