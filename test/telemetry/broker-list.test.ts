/**
 * `--broker` as the nodes of one clustered broker (`url,url,...`): every entry is checked with
 * one line naming the entry at fault, and a connection whose node goes away carries on through
 * the next node of the list. The brokers here are two in-process aedes brokers standing in for
 * two nodes; the real cluster is test/telemetry/nats-cluster.test.ts.
 */
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { brokerNodes, brokerUrlProblem } from '../../src/protocol/broker-url.js';
import { Connection } from '../../src/telemetry/connection.js';
import { aquastop } from '../helpers/cli.js';
import { startBroker, waitFor, type TestBroker } from '../monitor/helpers.js';

describe('a --broker list', () => {
  it('takes one URL or several nodes of one scheme and path, in order, with default ports', () => {
    expect(brokerUrlProblem('mqtt://127.0.0.1:1883')).toBeNull();
    expect(brokerUrlProblem('mqtt://nats-1:1883, mqtt://nats-2:1884,mqtt://[::1]')).toBeNull();
    expect(brokerNodes('mqtt://nats-1:1883, mqtt://nats-2:1884,mqtt://[::1]')).toEqual([
      { protocol: 'mqtt', host: 'nats-1', port: 1883 },
      { protocol: 'mqtt', host: 'nats-2', port: 1884 },
      { protocol: 'mqtt', host: '::1', port: 1883 },
    ]);
    expect(brokerNodes('mqtts://a,mqtts://b:9883')).toEqual([
      { protocol: 'mqtts', host: 'a', port: 8883 },
      { protocol: 'mqtts', host: 'b', port: 9883 },
    ]);
    expect(brokerUrlProblem('wss://a/mqtt,wss://b:8443/mqtt')).toBeNull();
  });

  it('names the entry at fault in one line', () => {
    const cases: Array<[string, string]> = [
      ['mqtt://a:1883,', '--broker entry 2 of 2 is empty: give the nodes as mqtt://host:port,mqtt://host:port'],
      ['mqtt://a:1883,b:1883', '--broker entry 2 of 2 ("b:1883") is not a URL like mqtt://host:1883, mqtts://, ws:// or wss://'],
      ['mqtt://a:1883,mqtt://b:99999', '--broker entry 2 of 2 ("mqtt://b:99999") is not a URL like mqtt://host:1883, mqtts://, ws:// or wss://'],
      ['mqtt://a:1883,mqtts://b:8883', '--broker entry 2 of 2 ("mqtts://b:8883") is mqtts:// but entry 1 is mqtt://: the nodes of one broker share a scheme'],
      ['ws://a/mqtt,ws://b/ws', '--broker entry 2 of 2 ("ws://b/ws") has path /ws but entry 1 has /mqtt: the nodes of one broker share a path'],
      ['mqtt://a:1883,mqtt://u:secret@b:1883', '--broker entry 2 of 2 ("b:1883") carries a user name or password: give them once with --username and --password for all nodes'],
      ['mqtt://a:1883,mqtt://b:1883,mqtt://a:1883', '--broker entry 3 of 3 ("mqtt://a:1883") names a node listed before'],
      ['http://a:1883', '--broker must be a URL like mqtt://host:1883, mqtts://, ws:// or wss:// (got "http://a:1883")'],
    ];
    for (const [value, line] of cases) expect(brokerUrlProblem(value), value).toBe(line);
  });

  it('aquastop sim and aquastop run refuse a bad entry with that one line and exit 2, before anything starts', async () => {
    const dataDir = join(tmpdir(), `aquastop-list-${process.pid}`);
    const sim = await aquastop(['sim', '--scenario', 'normal-cycle', '--broker', 'mqtt://127.0.0.1:1,mqtt://127.0.0.1:notaport', '--data-dir', dataDir]);
    expect([sim.code, sim.stderr.trim()]).toEqual([
      2,
      'aquastop: --broker entry 2 of 2 ("mqtt://127.0.0.1:notaport") is not a URL like mqtt://host:1883, mqtts://, ws:// or wss://',
    ]);
    const run = await aquastop(['run', '--port', '/dev/aquastop-no-such-port', '--broker', 'mqtt://127.0.0.1:1,', '--data-dir', dataDir]);
    expect([run.code, run.stderr.trim()]).toEqual([2, 'aquastop: --broker entry 2 of 2 is empty: give the nodes as mqtt://host:port,mqtt://host:port']);
  });
});

describe('a connection given several nodes', () => {
  const brokers: TestBroker[] = [];
  const connections: Connection[] = [];
  afterEach(async () => {
    for (const c of connections.splice(0)) await c.end(500);
    for (const b of brokers.splice(0)) await b.close().catch(() => undefined);
  });

  it('carries on through the next node when its node goes away, and says which node it is on', async () => {
    brokers.push(await startBroker(), await startBroker());
    const [first, second] = brokers as [TestBroker, TestBroker];
    const lines: string[] = [];
    const c = new Connection({ url: `${first.url},${second.url}`, base: 'aquastop', bridgeId: 'list-1', log: (l) => lines.push(l), connectTimeoutMs: 2_000 });
    connections.push(c);
    await c.open();
    expect(lines).toEqual([`connected to ${first.url}`]);

    const online = new Promise<string>((resolve) => {
      second.aedes.on('publish', (packet) => {
        if (packet.topic === 'aquastop/bridge/list-1/state') resolve(packet.payload.toString());
      });
    });
    await first.close();
    await waitFor(() => lines.includes(`reconnected to ${second.url}`), 10_000, 'reconnected to the second node');
    // The bridge is online again on the node it reached.
    expect(JSON.parse(await online)).toEqual({ state: 'online' });
    expect(c.node()).toBe(second.url);
  });
});
