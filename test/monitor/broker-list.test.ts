/**
 * The monitor given the nodes of one clustered broker (`--broker url,url`): it carries on through
 * the next node when its node goes away, and a subscription the new node refuses for a while (as
 * NATS does while a JetStream stream moves after a node loss) is asked for again with back-off
 * until it is granted. Two in-process aedes brokers on free ports stand in for two nodes; the real
 * cluster is test/telemetry/nats-cluster.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseMonitorOptions, startMonitor, type Monitor } from '../../src/monitor/index.js';
import { startBroker, waitFor, type TestBroker } from './helpers.js';

const HEARTBEAT_FILTER = 'aquastop/+/heartbeat';

/** An aedes broker that refuses the heartbeat filter (SUBACK 0x80) the first `refusals` times it is asked for. */
async function refusingBroker(refusals: number): Promise<TestBroker & { asked(): number }> {
  let asked = 0;
  const broker = await startBroker({
    authorizeSubscribe: (_client, sub, done) => {
      if (sub.topic !== HEARTBEAT_FILTER) return done(null, sub);
      asked++;
      done(null, asked <= refusals ? null : sub);
    },
  });
  return { ...broker, asked: () => asked };
}

async function heartbeat(url: string, id: string): Promise<void> {
  const c = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  await c.publishAsync(`aquastop/${id}/heartbeat`, JSON.stringify({ seq: 1, boot: 1, uptimeS: 1, intervalS: 10, state: 'armed.idle', fault: null, ts: new Date().toISOString() }), {
    qos: 1,
  });
  await c.endAsync();
}

describe('a monitor given the nodes of a cluster', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  });

  it('takes a --broker list, and names the entry at fault in one line', () => {
    expect(parseMonitorOptions({ brokerUrl: 'mqtt://nats-1:1883,mqtt://nats-2:1883', dataDir: '/tmp/x' }).brokerUrl).toBe('mqtt://nats-1:1883,mqtt://nats-2:1883');
    expect(() => parseMonitorOptions({ brokerUrl: 'mqtt://nats-1:1883,nats-2:1883', dataDir: '/tmp/x' })).toThrow(
      '--broker entry 2 of 2 ("nats-2:1883") is not a URL like mqtt://host:1883, mqtts://, ws:// or wss://',
    );
    expect(() => parseMonitorOptions({ brokerUrl: 'http://nats-1', dataDir: '/tmp/x' })).toThrow('--broker must be a URL such as mqtt://127.0.0.1:1883');
  });

  it('moves to the next node when its node goes away, and asks again for a subscription the new node refused', async () => {
    const first = await startBroker();
    cleanups.push(() => first.close());
    const second = await refusingBroker(2);
    cleanups.push(() => second.close());
    const records: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') records.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const dataDir = mkdtempSync(join(tmpdir(), 'aquastop-mon-list-'));
    const monitor: Monitor = await startMonitor({ brokerUrl: `${first.url},${second.url}`, port: 0, dataDir, logger: pino({ level: 'info' }, sink) });
    cleanups.push(async () => {
      await monitor.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    await heartbeat(first.url, 'on-first');
    await waitFor(() => monitor.tracker.report('on-first')?.up === true, 5_000, 'a heartbeat through the first node');

    await first.close();
    await waitFor(() => records.some((r) => r.msg === `broker connection back after ${String(r.outageS)} s on ${second.url}`), 10_000, 'the monitor back on the second node');
    // Refused twice (asked again after 1 s, then 2 s), granted the third time.
    await waitFor(() => second.asked() === 3, 10_000, 'the heartbeat subscription asked for three times');
    await heartbeat(second.url, 'on-second');
    await waitFor(() => monitor.tracker.report('on-second')?.up === true, 5_000, 'a heartbeat through the second node');
    expect(monitor.subscriber.health().connected).toBe(true);
    const refused = records.filter((r) => typeof r.msg === 'string' && r.msg.startsWith('subscribe to'));
    expect(refused.map((r) => r.msg)).toEqual([`subscribe to ${HEARTBEAT_FILTER} failed: Subscribe error: Unspecified error; asking again until the broker accepts`]);
  }, 30_000);

  it('starts on the second node when the first cannot be reached', async () => {
    const gone = await startBroker();
    const goneUrl = gone.url;
    await gone.close();
    const second = await startBroker();
    cleanups.push(() => second.close());
    const dataDir = mkdtempSync(join(tmpdir(), 'aquastop-mon-list-'));
    const monitor: Monitor = await startMonitor({ brokerUrl: `${goneUrl},${second.url}`, port: 0, dataDir, logger: pino({ level: 'silent' }) });
    cleanups.push(async () => {
      await monitor.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });
    await heartbeat(second.url, 'late-1');
    await waitFor(() => monitor.tracker.report('late-1')?.up === true, 5_000, 'a heartbeat through the second node');
  }, 20_000);
});
