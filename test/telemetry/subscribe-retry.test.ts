/**
 * A subscription the broker refuses (SUBACK 0x80) is asked for again: a clustered broker refuses
 * them for a while after losing a node (NATS cannot create the JetStream consumer of a QoS 1
 * subscription until it has new leaders, test/telemetry/nats-cluster.test.ts), and mqtt.js would
 * forget every filter of a refused SUBSCRIBE for good, leaving a device deaf to its commands.
 * An in-process aedes broker refuses on cue here.
 */
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { Connection } from '../../src/telemetry/connection.js';
import { LeanConnection } from '../../src/telemetry/lean-connection.js';
import { brokerNodes } from '../../src/protocol/broker-url.js';
import { startBroker, waitFor, type TestBroker } from '../monitor/helpers.js';

const SET = 'aquastop/retry-1/set';

describe('a refused subscription', () => {
  let broker: TestBroker | null = null;
  let connection: Connection | null = null;
  afterEach(async () => {
    await connection?.end(500);
    await broker?.close();
    broker = null;
  });

  it('is made at QoS 0 by both device connections (their sessions are clean; on NATS a QoS 1 one is a JetStream consumer the cluster refuses for a while after losing a node), and a QoS 1 command still reaches the device', async () => {
    const asked: Array<[string, number]> = [];
    broker = await startBroker({
      authorizeSubscribe: (client, sub, done) => {
        if (client?.id.startsWith('aquastop-')) asked.push([client.id, sub.qos]);
        done(null, sub);
      },
    });
    const url = broker.url;
    const got: string[] = [];
    connection = new Connection({ url, base: 'aquastop', bridgeId: 'qos-1', log: () => undefined });
    connection.onMessage((topic) => got.push(topic));
    connection.subscribe(['aquastop/qos-1/set']);
    await connection.open();
    const lean = new LeanConnection({ url, nodes: brokerNodes(url), base: 'aquastop' }, 'qos-2', null);
    lean.onMessage((topic) => got.push(topic));
    lean.subscribe(['aquastop/qos-2/set']);
    await lean.open();
    const operator = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
    try {
      await waitFor(() => asked.length === 2, 5_000, 'both subscriptions');
      expect(asked.sort()).toEqual([
        ['aquastop-qos-1', 0],
        ['aquastop-qos-2', 0],
      ]);
      await operator.publishAsync('aquastop/qos-1/set', '{"valve":"CLOSE"}', { qos: 1 });
      await operator.publishAsync('aquastop/qos-2/set', '{"valve":"CLOSE"}', { qos: 1 });
      await waitFor(() => got.length === 2, 5_000, 'both commands');
      expect(got.sort()).toEqual(['aquastop/qos-1/set', 'aquastop/qos-2/set']);
    } finally {
      await operator.endAsync(true);
      await lean.end(500);
    }
  });

  it('is asked for again until the broker accepts it, after the first connection and after a reconnect', async () => {
    let refuse = 2;
    let asked = 0;
    broker = await startBroker({
      authorizeSubscribe: (_client, sub, done) => {
        if (sub.topic !== SET) return done(null, sub);
        asked++;
        // A null subscription is refused with SUBACK 0x80; the client stays connected.
        if (refuse > 0) {
          refuse--;
          return done(null, null);
        }
        done(null, sub);
      },
    });
    const url = broker.url;
    const lines: string[] = [];
    const commands: string[] = [];
    connection = new Connection({ url, base: 'aquastop', bridgeId: 'retry-1', log: (l) => lines.push(l) });
    connection.onMessage((topic, payload) => topic === SET && commands.push(payload.toString()));
    connection.subscribe([SET, 'homeassistant/status']);
    await connection.open();

    const operator = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
    try {
      // Refused twice (asked again after 1 s, then 2 s), accepted the third time.
      await waitFor(() => asked === 3, 10_000, 'the subscription asked for three times');
      await operator.publishAsync(SET, '{"valve":"CLOSE"}', { qos: 1 });
      await waitFor(() => commands.length === 1, 5_000, 'the command delivered');
      expect(lines.filter((l) => l.startsWith('subscribe'))).toEqual([`subscribe to ${SET} failed: Subscribe error: Unspecified error; asking again until the broker accepts`]);

      // The broker drops the connection and refuses once more after the reconnect.
      refuse = 1;
      broker.drop('aquastop-retry-1');
      await waitFor(() => lines.some((l) => l.startsWith('reconnected to')), 10_000, 'reconnected');
      await waitFor(() => asked === 5, 10_000, 'the subscription asked for twice more');
      await operator.publishAsync(SET, '{"valve":"CLOSE"}', { qos: 1 });
      await waitFor(() => commands.length === 2, 5_000, 'the command delivered after the reconnect');
    } finally {
      await operator.endAsync(true);
    }
    // Its back-off alone is 1 + 2 s, the reconnect 1 s and the retry after it 1 s: over vitest's 5 s default on a busy machine.
  }, 30_000);
});
