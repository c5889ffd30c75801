/**
 * The MQTT contract on a real mosquitto 2.x started with the shipped configuration
 * (password file + ACL), the devices under test connecting with the fleet account.
 */
import { afterAll, beforeAll, describe } from 'vitest';
import { hasTools } from '../helpers/tools.js';
import { telemetryContract } from './contract.js';
import { account, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';

describe.skipIf(!hasTools('mosquitto'))('mosquitto', () => {
  let broker: Mosquitto;
  beforeAll(async () => {
    broker = await startMosquitto();
  });
  afterAll(async () => {
    await broker?.close();
  });

  telemetryContract({
    name: 'mosquitto with the shipped config',
    url: () => broker.url,
    broker: () => ({ kind: 'external', url: broker.url, ...account('fleet') }),
    operator: account('operator'),
    viewer: account('viewer'),
    device: account('dishwasher-2'),
    refusal: 'drop',
  });
});
