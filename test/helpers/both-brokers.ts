/**
 * One suite on both brokers the project ships: the embedded broker (aedes, in this process) and
 * a real mosquitto 2.x with the shipped configuration (skipped with a clear message without
 * mosquitto or gcc, which builds our retain plugin; fails when CI=true, see tools.ts). The
 * suite gets the broker's URL and TCP port once it runs.
 */
import { afterAll, beforeAll, describe } from 'vitest';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../src/telemetry/broker.js';
import { ACCOUNTS, startMosquitto, type Mosquitto } from './mosquitto.js';
import { hasTools } from './tools.js';

export interface BrokerUnderTest {
  readonly name: 'the embedded broker' | 'mosquitto';
  url(): string;
  port(): number;
}

export function onBothBrokers(suite: (broker: BrokerUnderTest) => void): void {
  describe('the embedded broker (aedes)', () => {
    let broker: EmbeddedBroker;
    beforeAll(async () => {
      broker = await startEmbeddedBroker({ base: 'aquastop', haPrefix: 'homeassistant', host: '127.0.0.1', port: 0, wsPort: null, accounts: ACCOUNTS });
    });
    afterAll(async () => {
      await broker?.close();
    });
    suite({ name: 'the embedded broker', url: () => broker.url, port: () => Number(new URL(broker.url).port) });
  });

  describe.skipIf(!hasTools('mosquitto', 'gcc'))('mosquitto with the shipped configuration', () => {
    let broker: Mosquitto;
    beforeAll(async () => {
      broker = await startMosquitto();
    });
    afterAll(async () => {
      await broker?.close();
    });
    suite({ name: 'mosquitto', url: () => broker.url, port: () => broker.port });
  });
}
