import { afterEach, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { mayPublish, mayRead, mayRetain, maySubscribe, type Principal } from '../../src/telemetry/access.js';
import { MAX_PUBLISH_BYTES, startEmbeddedBroker, type EmbeddedBroker } from '../../src/telemetry/broker.js';
import { account, ACCOUNTS } from '../helpers/mosquitto.js';

const ns = { base: 'aquastop', haPrefix: 'homeassistant' };
const who = (role: Principal['role'], username?: string): Principal => ({ role, ...(username ? { username } : {}) });

describe('who may publish what', () => {
  const table: [Principal, string, boolean][] = [
    [who('viewer'), 'aquastop/d1/set', false],
    [who('viewer'), 'aquastop/d1/inject', false],
    [who('local'), 'aquastop/d1/inject', true],
    [who('local'), 'aquastop/d1/set', false],
    [who('operator'), 'aquastop/d1/set', true],
    [who('operator'), 'homeassistant/status', true],
    [who('operator'), 'aquastop/d1', false],
    [who('operator'), 'aquastop/bridge/p1/state', false],
    [who('device', 'd1'), 'aquastop/d1', true],
    [who('device', 'd1'), 'aquastop/d1/heartbeat', true],
    [who('device', 'd1'), 'aquastop/d1/set/result', true],
    [who('device', 'd1'), 'aquastop/d1/set', false],
    [who('device', 'd1'), 'aquastop/d1/inject', false],
    [who('device', 'd1'), 'aquastop/d2/fault', false],
    [who('device', 'd1'), 'aquastop/d2', false],
    [who('device', 'd1'), 'aquastop/bridge/d1/state', true],
    [who('device', 'd1'), 'aquastop/bridge/d2/state', false],
    [who('fleet'), 'aquastop/bridge/any-process/state', true],
    [who('local'), 'aquastop/bridge/p1/state', false],
    [who('viewer'), 'aquastop/viewer', false],
    [who('viewer'), 'homeassistant/button/viewer/reset/config', false],
    [who('device', 'd1'), 'homeassistant/valve/d1/inlet/config', true],
    [who('device', 'd1'), 'homeassistant/valve/d2/inlet/config', false],
    [who('device', 'd1'), 'homeassistant/status', false],
    [who('fleet'), 'aquastop/d7/fault', true],
    [who('fleet'), 'aquastop/d7/set', false],
    [who('fleet'), 'aquastop/d7/inject', false],
    [who('fleet'), '$SYS/broker/uptime', false],
    [who('fleet'), 'elsewhere/d7', false],
  ];
  it.each(table)('%o on %s: %s', (principal, topic, allowed) => {
    expect(mayPublish(principal, topic, ns)).toBe(allowed);
  });

  it("lets a device read only its own commands, a fleet every device's, and both Home Assistant's birth", () => {
    expect(mayRead(who('device', 'd1'), 'aquastop/d1/set', ns)).toBe(true);
    expect(mayRead(who('device', 'd1'), 'aquastop/d1/inject', ns)).toBe(true);
    expect(mayRead(who('device', 'd1'), 'homeassistant/status', ns)).toBe(true);
    expect(mayRead(who('device', 'd1'), 'aquastop/d2/set', ns)).toBe(false);
    expect(mayRead(who('device', 'd1'), 'aquastop/d2/fault', ns)).toBe(false);
    expect(mayRead(who('fleet'), 'aquastop/d7/set', ns)).toBe(true);
    expect(mayRead(who('fleet'), 'aquastop/d7/inject', ns)).toBe(true);
    expect(mayRead(who('fleet'), 'aquastop/d7/heartbeat', ns)).toBe(false);
    // A wide subscription is granted when it can match something readable; deliveries are still filtered.
    expect(maySubscribe(who('device', 'd1'), 'aquastop/#', ns)).toBe(true);
    expect(maySubscribe(who('device', 'd1'), 'aquastop/d2/set', ns)).toBe(false);
    expect(maySubscribe(who('fleet'), 'aquastop/d7/heartbeat', ns)).toBe(false);
  });

  it('keeps retained messages only on the topics the contract retains', () => {
    for (const t of [
      'aquastop/d1',
      'aquastop/d1/availability',
      'aquastop/d1/exercise',
      'aquastop/d1/fault-memory',
      'aquastop/bridge/p1/state',
      'homeassistant/valve/d1/inlet/config',
    ])
      expect(mayRetain(t, ns), t).toBe(true);
    for (const t of ['aquastop/d1/heartbeat', 'aquastop/d1/fault', 'aquastop/d1/set', 'aquastop/d1/set/result', 'aquastop/d1/inject', 'homeassistant/status'])
      expect(mayRetain(t, ns), t).toBe(false);
  });

  it('lets people and watchers subscribe under our namespaces only', () => {
    expect(maySubscribe(who('viewer'), 'aquastop/#', ns)).toBe(true);
    expect(maySubscribe(who('viewer'), 'homeassistant/+/d1/+/config', ns)).toBe(true);
    expect(maySubscribe(who('viewer'), '$SYS/#', ns)).toBe(false);
    expect(maySubscribe(who('viewer'), 'other/#', ns)).toBe(false);
  });
});

describe('the embedded broker and anonymous clients', () => {
  it('refuses (and does not forward) a payload over 64 KiB, and answers a refused subscription without disconnecting', async () => {
    const lines: string[] = [];
    const b = await startEmbeddedBroker({ ...ns, host: '127.0.0.1', port: 0, wsPort: null, accounts: ACCOUNTS, log: (l) => lines.push(l) });
    try {
      const watcher = await mqtt.connectAsync(b.url, { reconnectPeriod: 0, ...account('viewer') });
      const seen: number[] = [];
      watcher.on('message', (_t, p) => seen.push(p.length));
      await watcher.subscribeAsync('aquastop/#', { qos: 1 });
      const op = await mqtt.connectAsync(b.url, { reconnectPeriod: 0, ...account('operator') });
      const closed = new Promise<void>((resolve) => op.once('close', () => resolve()));
      op.publish('aquastop/d1/set', Buffer.alloc(MAX_PUBLISH_BYTES + 1, 'x'), { qos: 0 });
      await closed;
      await op.endAsync(true);
      expect(lines).toEqual([`refused publish by "operator" on aquastop/d1/set: ${MAX_PUBLISH_BYTES + 1} bytes (at most ${MAX_PUBLISH_BYTES}); disconnected it`]);
      lines.length = 0;

      const device = await mqtt.connectAsync(b.url, { reconnectPeriod: 0, ...account('dishwasher-2') });
      await expect(device.subscribeAsync('elsewhere/#', { qos: 1 })).rejects.toThrow(/Subscribe error/);
      expect((await device.subscribeAsync('aquastop/dishwasher-2/set', { qos: 1 })).map((g) => g.qos)).toEqual([1]);
      // Still connected: its own heartbeat reaches the watcher, and it is the only message the watcher saw.
      await device.publishAsync('aquastop/dishwasher-2/heartbeat', 'ok', { qos: 1 });
      await expect.poll(() => seen).toEqual([2]);
      expect(lines).toEqual(['refused subscription by "dishwasher-2" to elsewhere/#']);
      await device.endAsync();
      await watcher.endAsync();
    } finally {
      await b.close();
    }
  });

  let broker: EmbeddedBroker | null = null;
  afterEach(async () => {
    await broker?.close();
    broker = null;
  });

  it('lets anonymous clients in on a loopback address', async () => {
    broker = await startEmbeddedBroker({ ...ns, host: '127.0.0.1', port: 0, wsPort: null, accounts: ACCOUNTS });
    const c = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    await c.endAsync();
  });

  it('requires credentials when bound to any other address, and refuses a wrong password', async () => {
    const lines: string[] = [];
    broker = await startEmbeddedBroker({ ...ns, host: '0.0.0.0', port: 0, wsPort: null, accounts: ACCOUNTS, log: (l) => lines.push(l) });
    const url = broker.url.replace('0.0.0.0', '127.0.0.1');
    await expect(mqtt.connectAsync(url, { reconnectPeriod: 0 })).rejects.toThrow(/Not authorized|Bad username/i);
    await expect(mqtt.connectAsync(url, { reconnectPeriod: 0, username: 'viewer', password: 'nope' })).rejects.toThrow(/Not authorized|Bad username/i);
    const c = await mqtt.connectAsync(url, { reconnectPeriod: 0, ...account('viewer') });
    const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
    c.publish('aquastop/d1/set', '{"valve":"CLOSE"}');
    await closed;
    expect(lines).toEqual([
      expect.stringMatching(/^refused anonymous client \S+: this broker listens on 0\.0\.0\.0, so every client needs an account$/),
      'refused login "viewer": bad user name or password',
      'refused publish by "viewer" (viewer) on aquastop/d1/set; disconnected it',
    ]);
    await c.endAsync(true);
  });
});
