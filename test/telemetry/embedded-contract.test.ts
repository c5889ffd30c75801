/**
 * The MQTT contract on the embedded aedes broker, with the example accounts: one telemetry
 * process hosts the broker, and every device under test reaches it with the fleet account.
 */
import { afterAll, beforeAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { wallClock } from '../../src/clock/clock.js';
import { startTelemetry, type Telemetry } from '../../src/telemetry/index.js';
import { telemetryContract } from './contract.js';
import { ACCOUNTS, account } from '../helpers/mosquitto.js';

let host: Telemetry;
const dir = mkdtempSync(join(tmpdir(), 'aquastop-embedded-'));
beforeAll(async () => {
  host = await startTelemetry({
    bridgeId: 'embedded-host',
    broker: { kind: 'embedded', host: '127.0.0.1', port: 0, wsPort: 0 },
    accounts: ACCOUNTS,
    dataDir: dir,
    clock: wallClock,
  });
});
afterAll(async () => {
  await host.stop();
  rmSync(dir, { recursive: true, force: true });
});

telemetryContract({
  name: 'the embedded broker (aedes)',
  url: () => host.brokerUrl,
  broker: () => ({ kind: 'external', url: host.brokerUrl, ...account('fleet') }),
  operator: account('operator'),
  viewer: account('viewer'),
  device: account('dishwasher-2'),
  refusal: 'disconnect',
});
