/**
 * One access matrix, run on both brokers: every kind of account (anonymous on loopback, viewer,
 * operator, a device account, the fleet account) x every topic kind of the MQTT contract x
 * publish live / publish retained / read. Both the embedded broker (aedes) and a real mosquitto
 * 2.x with the shipped configuration must give exactly the documented table (README "Who may do
 * what").
 *
 * MQTT 3.1.1 cannot tell a client its publish was refused (aedes closes the connection,
 * mosquitto drops the message), so a publish counts as allowed when a viewer subscribed to
 * everything receives it, and a retained one as allowed when a subscriber that comes afterwards
 * receives it as retained. What an account may read is what it receives, subscribed to
 * `<base>/#` and `homeassistant/#`, of messages the fleet and the operator publish.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { accountsFileSchema, mosquittoAclFile, retainPluginOptions } from '../../src/telemetry/access.js';
import { discoveryMessages } from '../../src/telemetry/discovery.js';
import { MAX_DISCOVERY_BYTES, START_BRIDGE_ID } from '../../src/protocol/topics.js';
import { main as aclMain } from '../../src/telemetry/mosquitto-acl.js';
import { account, ACCOUNTS, SHIPPED } from '../helpers/mosquitto.js';
import { onBothBrokers } from '../helpers/both-brokers.js';

const WHO = ['anonymous', 'viewer', 'operator', 'device', 'fleet'] as const;
type Who = (typeof WHO)[number];
const LOGIN: Record<Who, IClientOptions> = {
  anonymous: {},
  viewer: account('viewer'),
  operator: account('operator'),
  // A device account: its user name is its device id, dishwasher-1 ("own"); dishwasher-2 is another device.
  device: account('dishwasher-1'),
  fleet: account('fleet'),
};

/** Topic kinds; "own" is the device account's own device (and bridge), "other" someone else's. */
const KINDS: Record<string, string> = {
  'bridge state, own': 'aquastop/bridge/dishwasher-1/state',
  'bridge state, other process': 'aquastop/bridge/other-process/state',
  'state, own': 'aquastop/dishwasher-1',
  'state, other': 'aquastop/dishwasher-2',
  'availability, own': 'aquastop/dishwasher-1/availability',
  'availability, other': 'aquastop/dishwasher-2/availability',
  'heartbeat, own': 'aquastop/dishwasher-1/heartbeat',
  'heartbeat, other': 'aquastop/dishwasher-2/heartbeat',
  'fault, own': 'aquastop/dishwasher-1/fault',
  'fault, other': 'aquastop/dishwasher-2/fault',
  'exercise, own': 'aquastop/dishwasher-1/exercise',
  'fault memory, own': 'aquastop/dishwasher-1/fault-memory',
  'fault memory, other': 'aquastop/dishwasher-2/fault-memory',
  'exercise, other': 'aquastop/dishwasher-2/exercise',
  'set/result, own': 'aquastop/dishwasher-1/set/result',
  'set/result, other': 'aquastop/dishwasher-2/set/result',
  'set, own': 'aquastop/dishwasher-1/set',
  'set, other': 'aquastop/dishwasher-2/set',
  'inject, own': 'aquastop/dishwasher-1/inject',
  'inject, other': 'aquastop/dishwasher-2/inject',
  'discovery, own': 'homeassistant/valve/dishwasher-1/inlet/config',
  'discovery, other': 'homeassistant/button/dishwasher-2/reset/config',
  'discovery, own, an object id we do not publish': 'homeassistant/button/dishwasher-1/extra/config',
  'discovery, own, a component we do not publish': 'homeassistant/light/dishwasher-1/inlet/config',
  'discovery, own, our object under another component': 'homeassistant/sensor/dishwasher-1/inlet/config',
  'discovery, own device trigger': 'homeassistant/device_automation/dishwasher-1/fault_leak/config',
  'discovery, own, a device trigger we do not publish': 'homeassistant/device_automation/dishwasher-1/fault_other/config',
  'bridge state of aquastop start': `aquastop/bridge/${START_BRIDGE_ID}/state`,
  'Home Assistant status': 'homeassistant/status',
  'unknown device topic': 'aquastop/dishwasher-1/unknown',
  "a viewer's name as a device": 'aquastop/viewer',
  "a viewer's name in discovery": 'homeassistant/button/viewer/reset/config',
};

/**
 * Publish: "" refused, "L" live only (a retained one is refused), "LR" live and retained.
 * Columns: anonymous, viewer, operator, device (dishwasher-1), fleet.
 */
const PUBLISH: Record<string, [string, string, string, string, string]> = {
  'bridge state, own': ['', '', '', 'LR', 'LR'],
  'bridge state, other process': ['', '', '', '', 'LR'],
  'state, own': ['', '', '', 'LR', 'LR'],
  'state, other': ['', '', '', '', 'LR'],
  'availability, own': ['', '', '', 'LR', 'LR'],
  'availability, other': ['', '', '', '', 'LR'],
  'heartbeat, own': ['', '', '', 'L', 'L'],
  'heartbeat, other': ['', '', '', '', 'L'],
  'fault, own': ['', '', '', 'L', 'L'],
  'fault, other': ['', '', '', '', 'L'],
  'exercise, own': ['', '', '', 'LR', 'LR'],
  'fault memory, own': ['', '', '', 'LR', 'LR'],
  'fault memory, other': ['', '', '', '', 'LR'],
  'exercise, other': ['', '', '', '', 'LR'],
  'set/result, own': ['', '', '', 'L', 'L'],
  'set/result, other': ['', '', '', '', 'L'],
  'set, own': ['', '', 'L', '', ''],
  'set, other': ['', '', 'L', '', ''],
  'inject, own': ['L', '', 'L', '', ''],
  'inject, other': ['L', '', 'L', '', ''],
  'discovery, own': ['', '', '', 'LR', 'LR'],
  'discovery, other': ['', '', '', '', 'LR'],
  'discovery, own, an object id we do not publish': ['', '', '', '', ''],
  'discovery, own, a component we do not publish': ['', '', '', '', ''],
  'discovery, own, our object under another component': ['', '', '', '', ''],
  'discovery, own device trigger': ['', '', '', 'LR', 'LR'],
  'discovery, own, a device trigger we do not publish': ['', '', '', '', ''],
  'bridge state of aquastop start': ['', '', '', '', 'LR'],
  'Home Assistant status': ['', '', 'L', '', ''],
  'unknown device topic': ['', '', '', '', ''],
  "a viewer's name as a device": ['', '', '', '', 'LR'],
  "a viewer's name in discovery": ['', '', '', '', 'LR'],
};

/** Read: what each account receives ("R") of messages others publish. Same columns. */
const READ: Record<string, [string, string, string, string, string]> = {
  'bridge state, own': ['R', 'R', 'R', '', ''],
  'bridge state, other process': ['R', 'R', 'R', '', ''],
  'state, own': ['R', 'R', 'R', '', ''],
  'state, other': ['R', 'R', 'R', '', ''],
  'heartbeat, own': ['R', 'R', 'R', '', ''],
  'fault, other': ['R', 'R', 'R', '', ''],
  'fault memory, other': ['R', 'R', 'R', '', ''],
  'set/result, own': ['R', 'R', 'R', '', ''],
  'set, own': ['R', 'R', 'R', 'R', 'R'],
  'set, other': ['R', 'R', 'R', '', 'R'],
  'inject, own': ['R', 'R', 'R', 'R', 'R'],
  'inject, other': ['R', 'R', 'R', '', 'R'],
  'discovery, other': ['R', 'R', 'R', '', ''],
  'Home Assistant status': ['R', 'R', 'R', 'R', 'R'],
};
/** Who publishes each read probe (an account that may). */
const READ_PUBLISHER = (kind: string): Who => (/^(set,|inject|Home Assistant)/.test(kind) ? 'operator' : 'fleet');

/** A probe's payload: a JSON object (a device's discovery config must be one), told apart by its text. */
function probe(text: string): string {
  return JSON.stringify({ probe: text });
}

function table<T>(kinds: readonly string[], cell: (kind: string, who: Who) => T): Record<string, T[]> {
  return Object.fromEntries(kinds.map((k) => [k, WHO.map((w) => cell(k, w))]));
}

async function connect(url: string, who: Who): Promise<MqttClient> {
  return mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5_000, protocolVersion: 4, ...LOGIN[who] });
}

/** A viewer that records every message it receives (text and retain flag). */
async function observer(url: string): Promise<{ client: MqttClient; seen: { topic: string; text: string; retain: boolean }[] }> {
  const client = await connect(url, 'viewer');
  const seen: { topic: string; text: string; retain: boolean }[] = [];
  client.on('message', (topic, payload, packet) => seen.push({ topic, text: payload.toString(), retain: packet.retain }));
  await client.subscribeAsync(['aquastop/#', 'homeassistant/#'], { qos: 1 });
  return { client, seen };
}

/** Publishes at QoS 1 and resolves once the broker acknowledged it or closed the connection. */
function tryPublish(client: MqttClient, topic: string, text: string, retain: boolean): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      client.off('close', done);
      resolve();
    };
    client.once('close', done);
    client.publish(topic, text, { qos: 1, retain }, done);
  });
}

/** Waits (bounded) until the viewer has seen a barrier message published after everything else. */
async function barrier(url: string, watcher: { seen: { text: string }[] }, tag: string): Promise<void> {
  const fleet = await connect(url, 'fleet');
  const text = `barrier-${tag}`;
  await fleet.publishAsync('aquastop/barrier/heartbeat', text, { qos: 1 });
  await fleet.endAsync();
  await expect.poll(() => watcher.seen.some((m) => m.text === text), { timeout: 10_000, interval: 10 }).toBe(true);
}

async function measurePublish(url: string): Promise<Record<string, string[]>> {
  const result = table(Object.keys(KINDS), () => '');
  for (const who of WHO) {
    const live = await observer(url);
    let client = await connect(url, who);
    for (const retain of [false, true]) {
      for (const [kind, topic] of Object.entries(KINDS)) {
        if (!client.connected) client = await connect(url, who);
        await tryPublish(client, topic, probe(`${who}|${kind}|${retain ? 'R' : 'L'}`), retain);
      }
    }
    await client.endAsync(true);
    await barrier(url, live, who);
    // Retained: a retained publish that went through must reach a subscriber that comes now, as retained.
    const late = await observer(url);
    for (const [kind] of Object.entries(KINDS)) {
      const i = WHO.indexOf(who);
      const gotLive = live.seen.some((m) => m.text === probe(`${who}|${kind}|L`));
      const gotRetainedLive = live.seen.some((m) => m.text === probe(`${who}|${kind}|R`));
      let kept = false;
      if (gotRetainedLive) {
        kept = await expect
          .poll(() => late.seen.some((m) => m.retain && m.text === probe(`${who}|${kind}|R`)), { timeout: 2_000, interval: 10 })
          .toBe(true)
          .then(
            () => true,
            () => false,
          );
      }
      result[kind]![i] = `${gotLive ? 'L' : ''}${gotRetainedLive ? (kept ? 'R' : ' (retained one delivered but not kept)') : ''}`;
    }
    await live.client.endAsync(true);
    await late.client.endAsync(true);
    // Clear what this account left retained (an empty retained message), so the next one's are its own.
    let fleet = await connect(url, 'fleet');
    for (const topic of Object.values(KINDS)) {
      if (!fleet.connected) fleet = await connect(url, 'fleet');
      await tryPublish(fleet, topic, '', true);
    }
    await fleet.endAsync(true);
  }
  return result;
}

async function measureRead(url: string): Promise<Record<string, string[]>> {
  const readers = await Promise.all(
    WHO.map(async (who) => {
      const client = await connect(url, who);
      const seen: string[] = [];
      client.on('message', (_topic, payload) => seen.push(payload.toString()));
      await client.subscribeAsync(['aquastop/#', 'homeassistant/#'], { qos: 1 }).catch(() => undefined);
      return { client, seen };
    }),
  );
  const publishers = { fleet: await connect(url, 'fleet'), operator: await connect(url, 'operator') };
  for (const kind of Object.keys(READ)) await publishers[READ_PUBLISHER(kind) as 'fleet' | 'operator'].publishAsync(KINDS[kind]!, `read|${kind}`, { qos: 1 });
  // Everyone may read Home Assistant's status: sent last, it is each reader's barrier.
  await publishers.operator.publishAsync('homeassistant/status', 'read|end', { qos: 1 });
  for (const r of readers) await expect.poll(() => r.seen.includes('read|end'), { timeout: 10_000, interval: 10 }).toBe(true);
  const result = table(Object.keys(READ), (kind, who) => (readers[WHO.indexOf(who)]!.seen.includes(`read|${kind}`) ? 'R' : ''));
  for (const c of [...readers.map((r) => r.client), publishers.fleet, publishers.operator]) await c.endAsync(true);
  return result;
}

const OWN_CONFIG = 'homeassistant/button/dishwasher-1/reset/config';
const OTHER_CONFIG = 'homeassistant/button/dishwasher-2/reset/config';
/** A config exactly `bytes` long (naming only dishwasher-1's own topics). */
function configOf(bytes: number, tag: string): string {
  const bare = JSON.stringify({ name: tag, command_topic: 'aquastop/dishwasher-1/set', pad: '' });
  return JSON.stringify({ name: tag, command_topic: 'aquastop/dishwasher-1/set', pad: 'x'.repeat(bytes - bare.length) });
}
const json = (tag: string, fields: Record<string, unknown>) => JSON.stringify({ name: tag, ...fields });

/**
 * Discovery configs: who publishes what on which config topic, and whether a broker takes it.
 * A device account's config may name only its own topics and its own bridge (else Home
 * Assistant, which may command every device, would command another one); anyone's is at most
 * MAX_DISCOVERY_BYTES. The fleet account is trusted with every device's topics.
 */
const CONFIGS: { name: string; who: Who; topic: string; text: string; taken: boolean }[] = [
  ...discoveryMessages({ id: 'dishwasher-1', fw: '1.2.3', board: 'usb' }, 'aquastop', 'dishwasher-1').map((m) => ({
    name: `our ${m.component}/${m.object} config, bridge named after the device`,
    who: 'device' as const,
    topic: `homeassistant/${m.component}/dishwasher-1/${m.object}/config`,
    text: JSON.stringify(m.payload),
    taken: true,
  })),
  { name: 'command_topic of another device', who: 'device', topic: OWN_CONFIG, text: json('c1', { command_topic: 'aquastop/dishwasher-2/set' }), taken: false },
  { name: 'abbreviated cmd_t of another device', who: 'device', topic: OWN_CONFIG, text: json('c2', { cmd_t: 'aquastop/dishwasher-2/set' }), taken: false },
  {
    name: 'availability topic of another device, nested',
    who: 'device',
    topic: OWN_CONFIG,
    text: json('c3', { availability: [{ topic: 'aquastop/dishwasher-2/availability' }] }),
    taken: false,
  },
  { name: 'the bridge of aquastop start', who: 'device', topic: OWN_CONFIG, text: json('c4', { availability_topic: `aquastop/bridge/${START_BRIDGE_ID}/state` }), taken: false },
  {
    name: "a device trigger on another device's fault topic",
    who: 'device',
    topic: 'homeassistant/device_automation/dishwasher-1/fault_leak/config',
    text: json('c15', { automation_type: 'trigger', type: 'raised', subtype: 'Leak fault', topic: 'aquastop/dishwasher-2/fault', payload: 'raised' }),
    taken: false,
  },
  { name: 'a "~" base topic', who: 'device', topic: OWN_CONFIG, text: json('c5', { '~': 'aquastop/dishwasher-2', cmd_t: '~/set' }), taken: false },
  { name: "another device's topic with escaped slashes", who: 'device', topic: OWN_CONFIG, text: '{"name":"c6","command_topic":"aquastop\\/dishwasher-2\\/set"}', taken: false },
  { name: 'its own topic with escaped slashes', who: 'device', topic: OWN_CONFIG, text: '{"name":"c7","command_topic":"aquastop\\/dishwasher-1\\/set"}', taken: true },
  { name: 'a \\u escape', who: 'device', topic: OWN_CONFIG, text: '{"name":"c8","command_topic":"aquastop/dishwasher-1/se\\u0074"}', taken: false },
  { name: 'a topic field that is not a string', who: 'device', topic: OWN_CONFIG, text: json('c9', { command_topic: ['aquastop/dishwasher-2/set'] }), taken: false },
  { name: 'not JSON', who: 'device', topic: OWN_CONFIG, text: 'c10 not json', taken: false },
  { name: `a device's config of ${MAX_DISCOVERY_BYTES} bytes`, who: 'device', topic: OWN_CONFIG, text: configOf(MAX_DISCOVERY_BYTES, 'c11'), taken: true },
  { name: `a device's config of ${MAX_DISCOVERY_BYTES + 1} bytes`, who: 'device', topic: OWN_CONFIG, text: configOf(MAX_DISCOVERY_BYTES + 1, 'c12'), taken: false },
  { name: "the fleet: another device's command topic", who: 'fleet', topic: OTHER_CONFIG, text: json('c13', { command_topic: 'aquastop/dishwasher-1/set' }), taken: true },
  { name: `the fleet: a config of ${MAX_DISCOVERY_BYTES + 1} bytes`, who: 'fleet', topic: OTHER_CONFIG, text: configOf(MAX_DISCOVERY_BYTES + 1, 'c14'), taken: false },
];

async function measureConfigs(url: string): Promise<Record<string, boolean>> {
  const live = await observer(url);
  const clients: Partial<Record<Who, MqttClient>> = {};
  for (const c of CONFIGS) {
    if (!clients[c.who]?.connected) clients[c.who] = await connect(url, c.who);
    await tryPublish(clients[c.who]!, c.topic, c.text, true);
  }
  for (const c of Object.values(clients)) await c.endAsync(true);
  await barrier(url, live, 'configs');
  const result = Object.fromEntries(CONFIGS.map((c) => [c.name, live.seen.some((m) => m.topic === c.topic && m.text === c.text)]));
  await live.client.endAsync(true);
  const fleet = await connect(url, 'fleet');
  for (const topic of new Set(CONFIGS.map((c) => c.topic))) await tryPublish(fleet, topic, '', true);
  await fleet.endAsync(true);
  return result;
}

function matrixSuite(name: string, url: () => string): void {
  describe(`access matrix on ${name}`, () => {
    // About 150 logins on the embedded broker (it closes a connection at a refused publish), each one
    // scrypt on hash threads at a low CPU priority (nice 10): slow when the rest of the suite keeps the cores busy.
    it('allows exactly the documented publishes, live and retained', { timeout: 240_000 }, async () => {
      expect(await measurePublish(url())).toEqual(PUBLISH);
    });
    it('delivers to each account exactly what the documented table lets it read', async () => {
      expect(await measureRead(url())).toEqual(READ);
    });
    it('takes a discovery config of at most MAX_DISCOVERY_BYTES, and from a device account only one naming its own topics', async () => {
      expect(await measureConfigs(url())).toEqual(Object.fromEntries(CONFIGS.map((c) => [c.name, c.taken])));
    });
  });
}

describe('the accounts file', () => {
  it('refuses, in one line, a device account that could own the bridge of aquastop start (or of any multi-device process)', () => {
    const r = accountsFileSchema.safeParse({ accounts: [{ username: START_BRIDGE_ID, password: 'x', role: 'device' }] });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toMatch(/^a device account's username .*not starting with "_"/);
    expect(START_BRIDGE_ID.startsWith('_')).toBe(true);
  });
});

describe('the shipped mosquitto files', () => {
  const ns = { base: 'aquastop', haPrefix: 'homeassistant' };
  it("are written from the same rules: the aclfile for the example accounts, the retain plugin's topic list", () => {
    expect(readFileSync(join(SHIPPED, 'aclfile'), 'utf8')).toBe(mosquittoAclFile(ACCOUNTS, ns));
    expect(readFileSync(join(SHIPPED, 'aclfile'), 'utf8')).not.toMatch(/^pattern /m);
    const conf = readFileSync(join(SHIPPED, 'mosquitto.conf'), 'utf8');
    // After each of the three `plugin` lines (the third commented out), exactly the plugin's options.
    const blocks = [...conf.matchAll(/^#?plugin .*\n((?:#?plugin_opt_.*\n)*)/gm)].map((m) => m[1]!.replace(/^#/gm, '').trimEnd().split('\n'));
    expect(blocks).toEqual([retainPluginOptions(ns), retainPluginOptions(ns), retainPluginOptions(ns)]);
  });

  it('mosquitto-acl.ts writes the aclfile for an accounts file, or says in one line what is wrong', () => {
    expect(aclMain([join(SHIPPED, 'accounts.example.json')])).toEqual({ code: 0, out: mosquittoAclFile(ACCOUNTS, ns), err: '' });
    expect(aclMain(['/nonexistent.json'])).toEqual({ code: 2, out: '', err: 'cannot read accounts file /nonexistent.json: ENOENT\n' });
    expect(aclMain([])).toMatchObject({ code: 2, err: expect.stringMatching(/^usage: /) });
  });
});

onBothBrokers((b) => matrixSuite(b.name, b.url));
