/**
 * The lean per-device MQTT connection (src/telemetry/lean-connection.ts) against its contract,
 * on its own, without a fleet around it: real brokers for what a broker does by itself
 * (mosquitto running the shipped configuration: the last will, a broker that goes away and
 * comes back, a refused login; the embedded broker: a cluster list, TLS), and a scripted MQTT
 * server (node:net, packets by mqtt-packet) for what a real broker will not do on demand:
 * withhold a PUBACK and hang up, refuse a subscription, split packets anywhere, send a broken
 * length, never answer a ping. Waiting is by bounded polls on socket events; the keepalive
 * timer is driven through `keepaliveTick` with a later `now`, not by waiting seconds.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import fc from 'fast-check';
import mqtt from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { brokerNodes } from '../../src/protocol/broker-url.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../src/telemetry/broker.js';
import { Connection } from '../../src/telemetry/connection.js';
import { frameAt, keepaliveTick, LeanConnection, MAX_INCOMING_BYTES, type LeanShared } from '../../src/telemetry/lean-connection.js';
import type { LinkOwner } from '../../src/telemetry/link.js';
import { freePort } from '../e2e/start-process.js';
import { account, MOSQUITTO, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { makePki, type Pki } from '../helpers/pki.js';
import { startTlsBroker } from '../helpers/tls-broker.js';
import { hasTools } from '../helpers/tools.js';
import { waitFor } from '../monitor/helpers.js';

const OFFLINE = '{"state":"offline"}';
const ONLINE = '{"state":"online"}';

/** What a connection tells its owner, kept for the assertions. */
class Owner implements LinkOwner {
  readonly lines: string[] = [];
  readonly messages: { topic: string; payload: string; retained: boolean }[] = [];
  connects = 0;
  log(line: string): void {
    this.lines.push(line);
  }
  connected(): void {
    this.connects++;
  }
  message(topic: string, payload: Buffer, retained: boolean): void {
    this.messages.push({ topic, payload: payload.toString('hex'), retained });
  }
  errors(): string[] {
    return this.lines.filter((l) => l.startsWith('broker error:'));
  }
}

const made: LeanConnection[] = [];
afterEach(() => {
  // No DISCONNECT, no waiting: whatever a test left connected stops reconnecting.
  for (const c of made.splice(0)) c.crash();
});

/** Fast reconnects (10-40 ms) unless a test gives its own back-off. */
function lean(url: string, bridge: string, owner: LinkOwner, login?: { username: string; password: string }, extra: Partial<LeanShared> = {}): LeanConnection {
  const shared: LeanShared = { url, nodes: brokerNodes(url), base: 'aquastop', backoff: { firstMs: 20, maxMs: 40, random: () => 0.5 }, ...extra };
  const c = new LeanConnection(shared, bridge, owner, login);
  made.push(c);
  return c;
}

// ---- the scripted server ----

interface Peer {
  readonly socket: Socket;
  /** Every packet the client sent on this connection, in order. */
  readonly packets: mqttPacket.Packet[];
  closed: boolean;
  send(p: mqttPacket.Packet | Buffer): void;
}
type Script = (peer: Peer, packet: mqttPacket.Packet, connection: number) => void;
interface Scripted {
  readonly url: string;
  /** One per connection accepted, in order. */
  readonly peers: Peer[];
  close(): Promise<void>;
}

/** The answers of a well-behaved broker: CONNACK 0, PUBACK, SUBACK granting QoS 1, PINGRESP. */
function answer(peer: Peer, p: mqttPacket.Packet): void {
  if (p.cmd === 'connect') peer.send({ cmd: 'connack', returnCode: 0, sessionPresent: false });
  else if (p.cmd === 'publish' && p.qos === 1) peer.send({ cmd: 'puback', messageId: p.messageId! });
  else if (p.cmd === 'subscribe') peer.send({ cmd: 'suback', messageId: p.messageId!, granted: p.subscriptions.map(() => 1) });
  else if (p.cmd === 'pingreq') peer.send({ cmd: 'pingresp' });
}

const servers: Scripted[] = [];
afterAll(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function scripted(script: Script = answer, port = 0): Promise<Scripted> {
  const peers: Peer[] = [];
  const server = createServer((socket) => {
    const peer: Peer = {
      socket,
      packets: [],
      closed: false,
      send: (p) => {
        if (!socket.destroyed) socket.write(Buffer.isBuffer(p) ? p : mqttPacket.generate(p));
      },
    };
    const index = peers.length;
    peers.push(peer);
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('packet', (p: mqttPacket.Packet) => {
      peer.packets.push(p);
      script(peer, p, index);
    });
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => parser.parse(d));
    socket.on('error', () => undefined);
    socket.on('close', () => (peer.closed = true));
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  const s: Scripted = {
    url: `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`,
    peers,
    close: async () => {
      for (const p of peers) p.socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  servers.push(s);
  return s;
}

/** A TCP round trip through the server's event loop: whatever the client's socket had queued (a close, a reconnect) has run by then. */
async function roundTrip(url: string): Promise<void> {
  const probe = connect(Number(new URL(url).port), '127.0.0.1');
  await once(probe, 'connect');
  probe.destroy();
  await once(probe, 'close');
}

const published = (peer: Peer | undefined, topic: string): mqttPacket.IPublishPacket[] =>
  (peer?.packets ?? []).filter((p): p is mqttPacket.IPublishPacket => p.cmd === 'publish' && p.topic === topic);
const text = (p: mqttPacket.IPublishPacket): string => p.payload.toString();

describe('a lean connection against a scripted server', () => {
  it('logs in as aquastop-<bridge>, clean, with its will (offline, QoS 1, retained); online on connect; end() sends offline, then DISCONNECT', async () => {
    const server = await scripted();
    const owner = new Owner();
    const c = lean(server.url, 'lean-c', owner, { username: 'fleet', password: 'secret' });
    expect(c.identity()).toEqual({ clientId: 'aquastop-lean-c', willTopic: 'aquastop/bridge/lean-c/state', username: 'fleet' });
    await c.open();
    expect(c.connected).toBe(true);
    expect(c.node()).toBe(server.url);
    expect(owner.lines).toEqual([`connected to ${server.url}`]);
    expect(owner.connects).toBe(1);
    const peer = server.peers[0]!;
    const login = peer.packets[0] as mqttPacket.IConnectPacket;
    expect({ ...login, password: login.password?.toString(), will: { ...login.will, payload: login.will?.payload.toString() } }).toMatchObject({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clientId: 'aquastop-lean-c',
      clean: true,
      keepalive: 60,
      username: 'fleet',
      password: 'secret',
      will: { topic: 'aquastop/bridge/lean-c/state', payload: OFFLINE, qos: 1, retain: true },
    });
    await waitFor(() => published(peer, 'aquastop/bridge/lean-c/state').length === 1, 5_000, 'online published');
    expect(published(peer, 'aquastop/bridge/lean-c/state').map((p) => [text(p), p.qos, p.retain])).toEqual([[ONLINE, 1, true]]);

    await c.end(2_000);
    expect(c.connected).toBe(false);
    const after = peer.packets.slice(peer.packets.findIndex((p) => p.cmd === 'publish' && text(p) === ONLINE) + 1);
    expect(after.map((p) => (p.cmd === 'publish' ? `publish ${p.topic} ${text(p)}` : p.cmd))).toEqual([`publish aquastop/bridge/lean-c/state ${OFFLINE}`, 'disconnect']);
    await roundTrip(server.url);
    expect(server.peers.filter((p) => p.packets.length > 0)).toHaveLength(1);
  });

  it('a queued QoS 1 message left unacknowledged by a lost connection is sent again after the reconnect, in order; a dropped one is given up', async () => {
    const RESULT = 'aquastop/lean-f/set/result';
    // The first connection never acknowledges a result and hangs up at the one named "last"; the second answers everything.
    const server = await scripted((peer, p, connection) => {
      if (connection > 0 || p.cmd !== 'publish' || p.topic !== RESULT) return answer(peer, p);
      if (text(p).includes('"last"')) peer.socket.destroy();
    });
    const owner = new Owner();
    const c = lean(server.url, 'lean-f', owner, undefined, { backoff: { firstMs: 400, maxMs: 400, random: () => 0.5 } });
    await c.open();
    const first = c.publish('setResult', { id: 'lean-f' }, { ok: true, command: 'kept-1' }, 'queue');
    const given = c.publish('setResult', { id: 'lean-f' }, { ok: true, command: 'dropped' }, 'drop');
    const second = c.publish('setResult', { id: 'lean-f' }, { ok: true, command: 'kept-2' }, 'queue');
    const last = c.publish('setResult', { id: 'lean-f' }, { ok: false, command: 'last' }, 'queue');
    expect(await given).toBe(false);
    expect(c.connected).toBe(false);
    // Offline now (the next attempt is 200-400 ms away): queued behind what the lost connection held.
    const offline = c.publish('setResult', { id: 'lean-f' }, { ok: true, command: 'while-offline' }, 'queue');
    expect(await c.publish('setResult', { id: 'lean-f' }, { ok: true, command: 'dropped-offline' }, 'drop')).toBe(false);
    expect(await Promise.all([first, second, last, offline])).toEqual([true, true, true, true]);
    expect(published(server.peers[0], RESULT).map((p) => JSON.parse(text(p)).command)).toEqual(['kept-1', 'dropped', 'kept-2', 'last']);
    const again = published(server.peers[1], RESULT);
    expect(again.map((p) => JSON.parse(text(p)).command)).toEqual(['kept-1', 'kept-2', 'last', 'while-offline']);
    expect(again.slice(0, 3).map((p) => p.dup)).toEqual([true, true, true]);
    expect(owner.lines).toEqual([
      `connected to ${server.url}`,
      `broker ${server.url} unreachable; protecting offline, fault events are kept and sent after reconnect`,
      `reconnected to ${server.url}`,
    ]);
  });

  it('a refused login rejects open() with one line naming the broker and the reason, and is not tried again', async () => {
    for (const [code, reason] of [
      [4, 'Bad username or password'],
      [5, 'Not authorized'],
    ] as const) {
      const server = await scripted((peer, p) => (p.cmd === 'connect' ? peer.send({ cmd: 'connack', returnCode: code, sessionPresent: false }) : answer(peer, p)));
      const random = vi.fn(() => 0.5);
      const owner = new Owner();
      const c = lean(server.url, 'lean-r', owner, { username: 'fleet', password: 'wrong' }, { backoff: { firstMs: 1, maxMs: 1, random } });
      await expect(c.open()).rejects.toThrow(new Error(`broker ${server.url} refused the connection: ${reason}`));
      expect(c.connected).toBe(false);
      await waitFor(() => server.peers[0]!.closed, 5_000, 'the refused connection closed');
      await roundTrip(server.url);
      // A reconnect would have drawn its delay (closed()) and come back within a millisecond.
      expect(random).not.toHaveBeenCalled();
      expect(c.over()).toBe(true);
      expect(server.peers.filter((p) => p.packets.length > 0)).toHaveLength(1);
      expect(owner.lines).toEqual([]);
    }
  });

  it('an incoming QoS 1 publish reaches message() with its retained flag and is acknowledged; a refused filter (SUBACK 0x80) is asked for again, and every filter after a reconnect', async () => {
    const SET = 'aquastop/lean-s/set';
    let subscribes = 0;
    const server = await scripted((peer, p, connection) => {
      if (p.cmd !== 'subscribe') return answer(peer, p);
      subscribes++;
      // Refused the first time only; the second connection is hung up on once it has subscribed.
      peer.send({ cmd: 'suback', messageId: p.messageId!, granted: p.subscriptions.map((s) => (s.topic === SET && subscribes === 1 ? 0x80 : 1)) });
      if (connection === 0 && subscribes === 2) peer.socket.destroy();
    });
    const owner = new Owner();
    const c = lean(server.url, 'lean-s', owner);
    const heard: string[] = [];
    c.onMessage((topic, payload, retained) => heard.push(`${topic} ${payload.toString()} ${retained}`));
    c.subscribe([SET, 'homeassistant/status']);
    await c.open();
    // Asked for again after the 1 s back-off of subscriptions.ts, alone.
    await waitFor(() => server.peers.length === 2 && subscribes === 3, 10_000, 'subscribed again, and again after the reconnect');
    const asked = server.peers.map((peer) => peer.packets.flatMap((p) => (p.cmd === 'subscribe' ? [p.subscriptions.map((s) => `${s.topic}@${s.qos}`)] : [])));
    // At QoS 0 (src/telemetry/subscriptions.ts DEVICE_SUBSCRIBE_QOS); a QoS 1 delivery is still acknowledged below.
    expect(asked).toEqual([[[`${SET}@0`, 'homeassistant/status@0'], [`${SET}@0`]], [[`${SET}@0`, 'homeassistant/status@0']]]);
    expect(owner.lines.filter((l) => l.startsWith('subscribe'))).toEqual([`subscribe to ${SET} failed: Subscribe error: Unspecified error; asking again until the broker accepts`]);

    const peer = server.peers[1]!;
    peer.send({ cmd: 'publish', topic: SET, payload: '{"valve":"CLOSE"}', qos: 1, retain: true, dup: false, messageId: 7 });
    peer.send({ cmd: 'publish', topic: SET, payload: '{"valve":"OPEN"}', qos: 1, retain: false, dup: false, messageId: 300 });
    peer.send({ cmd: 'publish', topic: 'homeassistant/status', payload: 'online', qos: 0, retain: false, dup: false });
    await waitFor(() => owner.messages.length === 3, 5_000, 'three messages');
    expect(owner.messages.map((m) => `${m.topic} ${Buffer.from(m.payload, 'hex').toString()} ${m.retained}`)).toEqual([
      `${SET} {"valve":"CLOSE"} true`,
      `${SET} {"valve":"OPEN"} false`,
      'homeassistant/status online false',
    ]);
    expect(heard).toEqual(owner.messages.map((m) => `${m.topic} ${Buffer.from(m.payload, 'hex').toString()} ${m.retained}`));
    await waitFor(() => peer.packets.filter((p) => p.cmd === 'puback').length === 2, 5_000, 'two PUBACKs');
    expect(peer.packets.filter((p) => p.cmd === 'puback').map((p) => p.messageId)).toEqual([7, 300]);
  });

  it('a keepalive tick sends PINGREQ on an idle connection only; an unanswered ping drops the socket and reconnects', async () => {
    let answering = true;
    const server = await scripted((peer, p) => (p.cmd === 'pingreq' && !answering ? undefined : answer(peer, p)));
    const owner = new Owner();
    // 30 s: the real 1 s timer never finds this connection idle while the test runs.
    const c = lean(server.url, 'lean-k', owner, undefined, { keepaliveS: 30 });
    await c.open();
    const peer = server.peers[0]!;
    await waitFor(() => peer.packets.some((p) => p.cmd === 'publish'), 5_000, 'online sent');
    expect((peer.packets[0] as mqttPacket.IConnectPacket).keepalive).toBe(30);
    const pings = (p: Peer | undefined) => (p?.packets ?? []).filter((x) => x.cmd === 'pingreq').length;
    const t0 = Date.now();
    keepaliveTick(t0 + 20_000); // not idle for 30 s yet
    // Acknowledged, so the server has read all the client wrote before it: a ping too.
    expect(await c.publish('setResult', { id: 'lean-k' }, { ok: true }, 'drop')).toBe(true);
    expect(pings(peer)).toBe(0);
    keepaliveTick(Date.now() + 31_000);
    await waitFor(() => pings(peer) === 1, 5_000, 'a PINGREQ');
    // The PINGRESP is in: a marker publish after it arrives after it.
    peer.send({ cmd: 'publish', topic: 'aquastop/lean-k/set', payload: '{}', qos: 0, retain: false, dup: false });
    await waitFor(() => owner.messages.length === 1, 5_000, 'the marker');
    // Answered: no drop. Sending (a heartbeat) but hearing nothing for 30 s is idle too: a half-open
    // connection is found while heartbeats keep going out. Date alone is faked, to stamp the send later.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const t1 = Date.now();
      vi.setSystemTime(t1 + 25_000);
      c.send('heartbeat', { id: 'lean-k' }, { seq: 1, boot: 1, uptimeS: 25, intervalS: 30, state: 'IDLE', fault: null, ts: new Date().toISOString() });
      keepaliveTick(t1 + 31_000); // sent 6 s before, heard from 31 s before
    } finally {
      vi.useRealTimers();
    }
    await waitFor(() => pings(peer) === 2, 5_000, 'a second PINGREQ');
    expect(peer.packets.at(-1)?.cmd).toBe('pingreq');
    expect(peer.packets.at(-2)).toMatchObject({ cmd: 'publish', topic: 'aquastop/lean-k/heartbeat' });
    peer.send({ cmd: 'publish', topic: 'aquastop/lean-k/set', payload: '{}', qos: 0, retain: false, dup: false });
    await waitFor(() => owner.messages.length === 2, 5_000, 'a marker after the second PINGRESP');
    expect(c.connected).toBe(true);
    expect(server.peers).toHaveLength(1);

    answering = false;
    const t2 = Date.now() + 100_000;
    keepaliveTick(t2);
    await waitFor(() => pings(peer) === 3, 5_000, 'a third PINGREQ');
    keepaliveTick(t2 + 29_000); // still within keepaliveS of the ping
    keepaliveTick(t2 + 30_000);
    await waitFor(() => server.peers.length === 2 && c.connected, 5_000, 'dropped and reconnected');
    expect(peer.closed).toBe(true);
    expect(owner.errors()).toEqual([`broker error: broker ${server.url} sent no answer to a keepalive ping`]);
    expect(owner.lines.at(-1)).toBe(`reconnected to ${server.url}`);
  });

  it('a broker that cannot be reached: open() resolves after the first attempt; attempts go on with one line per distinct error per outage', async () => {
    const port = await freePort();
    const url = `mqtt://127.0.0.1:${port}`;
    const random = vi.fn(() => 0.5);
    const owner = new Owner();
    const c = lean(url, 'lean-u', owner, undefined, { backoff: { firstMs: 5, maxMs: 10, random } });
    await c.open();
    expect(c.connected).toBe(false);
    await waitFor(() => random.mock.calls.length >= 5, 5_000, 'five attempts');
    const refused = `broker error: connect ECONNREFUSED 127.0.0.1:${port}`;
    expect(owner.lines).toEqual([refused]);
    const server = await scripted(answer, port);
    await waitFor(() => c.connected, 5_000, 'connected once the broker listens');
    await server.close();
    await waitFor(() => !c.connected, 5_000, 'the connection lost');
    const calls = random.mock.calls.length;
    await waitFor(() => random.mock.calls.length >= calls + 5, 5_000, 'five more attempts');
    // A new outage: the same error once more.
    expect(owner.lines).toEqual([refused, `connected to ${url}`, `broker ${url} unreachable; protecting offline, fault events are kept and sent after reconnect`, refused]);
    await scripted(answer, port);
    await waitFor(() => c.connected, 5_000, 'reconnected');
    expect(owner.lines.at(-1)).toBe(`reconnected to ${url}`);
  });

  it('a CONNACK that does not come in connectTimeoutMs: the attempt is dropped with one line and the next one connects', async () => {
    const server = await scripted((peer, p, connection) => (connection === 0 ? undefined : answer(peer, p)));
    const owner = new Owner();
    const c = lean(server.url, 'lean-o', owner, undefined, { connectTimeoutMs: 100 });
    await c.open();
    expect(server.peers[0]!.closed).toBe(true);
    await waitFor(() => c.connected, 5_000, 'connected on the second attempt');
    expect(owner.lines).toEqual(['broker error: connack timeout', `connected to ${server.url}`]);
  });

  it('end() while the CONNACK is on its way: the late CONNACK runs no listeners and logs nothing', async () => {
    // The server answers the CONNECT only when the client's end() reaches it.
    const server = await scripted((peer, p) => {
      if (p.cmd === 'connect') peer.socket.once('end', () => peer.send({ cmd: 'connack', returnCode: 0, sessionPresent: false }));
      else answer(peer, p);
    });
    const owner = new Owner();
    const c = lean(server.url, 'lean-e', owner);
    let listeners = 0;
    c.onConnect(() => listeners++);
    const opened = c.open();
    await waitFor(() => server.peers[0]?.packets.length === 1, 5_000, 'the CONNECT');
    await c.end(2_000);
    await opened;
    expect({ connects: owner.connects, listeners, connected: c.connected, lines: owner.lines }).toEqual({ connects: 0, listeners: 0, connected: false, lines: [] });
  });

  it("after crash() or end(), a 'queue' publish resolves false instead of waiting for a reconnect that will not come", async () => {
    const server = await scripted();
    const crashed = lean(server.url, 'lean-x', new Owner());
    const ended = lean(server.url, 'lean-y', new Owner());
    await Promise.all([crashed.open(), ended.open()]);
    crashed.crash();
    await ended.end(2_000);
    await waitFor(() => server.peers.length === 2 && server.peers.every((p) => p.closed), 5_000, 'both closed');
    await roundTrip(server.url);
    const outcomes: (boolean | 'pending')[] = ['pending', 'pending'];
    void crashed.publish('setResult', { id: 'lean-x' }, { ok: true }, 'queue').then((ok) => (outcomes[0] = ok));
    void ended.publish('setResult', { id: 'lean-y' }, { ok: true }, 'queue').then((ok) => (outcomes[1] = ok));
    await roundTrip(server.url);
    expect(outcomes).toEqual([false, false]);
  });

  it('logs in with the user name and password written in the broker URL (as mqtt.js does) unless given its own', async () => {
    const server = await scripted();
    const port = new URL(server.url).port;
    const owner = new Owner();
    const fromUrl = lean(`mqtt://fleet:p%40ss@127.0.0.1:${port}`, 'lean-l1', owner);
    expect(fromUrl.identity().username).toBe('fleet');
    const given = lean(`mqtt://fleet:p%40ss@127.0.0.1:${port}`, 'lean-l2', new Owner(), { username: 'dishwasher-1', password: 'own' });
    // connection.ts (mqtt.js), which the fleet used before, as the reference.
    const reference = new Connection({ url: `mqtt://fleet:p%40ss@127.0.0.1:${port}`, base: 'aquastop', bridgeId: 'lean-l0', log: () => undefined });
    // A stray "%" is taken as written, not thrown from a socket listener.
    const stray = lean(`mqtt://fleet:50%@127.0.0.1:${port}`, 'lean-l3', new Owner());
    await Promise.all([fromUrl.open(), given.open(), reference.open(), stray.open()]);
    await reference.end(1_000);
    const logins = server.peers.map((peer) => peer.packets[0] as mqttPacket.IConnectPacket).map((p) => `${p.clientId} ${p.username} ${p.password?.toString()}`);
    expect(logins.sort()).toEqual(['aquastop-lean-l0 fleet p@ss', 'aquastop-lean-l1 fleet p@ss', 'aquastop-lean-l2 dishwasher-1 own', 'aquastop-lean-l3 fleet 50%']);
    // The password never shows: not in the node a log line names, nor in the lines themselves.
    expect(owner.lines.some((l) => l.startsWith('connected to mqtt://fleet:***@127.0.0.1:'))).toBe(true);
    for (const shown of [fromUrl.node(), reference.node(), ...owner.lines]) expect(shown).not.toContain('p%40ss');
  });
});

// ---- framing ----

const PUBLISH_SEED = Number(process.env.FC_SEED ?? 1_129_2026);

type Incoming = mqttPacket.IPublishPacket | mqttPacket.IPubackPacket | mqttPacket.ISubackPacket | mqttPacket.IPingrespPacket;

const topicArb = fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 40 }).map((s) => s.replace(/[+#\0]/g, '_'));
/** Payload sizes across the 1-, 2- and 3-byte remaining lengths (127, 16,383). */
const payloadArb = fc.oneof(
  fc.uint8Array({ maxLength: 140 }),
  fc.integer({ min: 16_300, max: 16_500 }).map((n) => new Uint8Array(n).map((_, i) => (i * 7 + n) & 0xff)),
);
const incomingArb: fc.Arbitrary<Incoming> = fc.oneof(
  fc
    .record({ topic: topicArb, payload: payloadArb, qos: fc.constantFrom<0 | 1>(0, 1), retain: fc.boolean(), messageId: fc.integer({ min: 1, max: 65_535 }) })
    .map(({ topic, payload, qos, retain, messageId }): Incoming => ({
      cmd: 'publish',
      topic,
      payload: Buffer.from(payload),
      qos,
      retain,
      dup: false,
      ...(qos === 1 ? { messageId } : {}),
    })),
  // Acknowledgements of nothing in flight: framed, decoded and ignored.
  fc.integer({ min: 10_000, max: 65_535 }).map((messageId): Incoming => ({ cmd: 'puback', messageId })),
  fc.integer({ min: 10_000, max: 65_535 }).map((messageId): Incoming => ({ cmd: 'suback', messageId, granted: [1, 0x80] })),
  fc.constant<Incoming>({ cmd: 'pingresp' }),
);

const seen = (p: mqttPacket.IPublishPacket) => ({ topic: p.topic, payload: Buffer.from(p.payload).toString('hex'), retained: p.retain });

describe('framing', () => {
  it('frameAt: the end of a whole packet at any offset, short until it is all there, bad for a fifth length byte or over the limit', () => {
    const puback = mqttPacket.generate({ cmd: 'puback', messageId: 9 });
    const big = mqttPacket.generate({ cmd: 'publish', topic: 't', payload: Buffer.alloc(20_000), qos: 0, retain: false, dup: false });
    const buf = Buffer.concat([Buffer.from([0xee]), puback, big]);
    expect(frameAt(buf, 1)).toBe(1 + puback.length);
    expect(frameAt(buf, 1 + puback.length)).toBe(buf.length);
    for (let end = 1 + puback.length; end < buf.length; end++) expect(frameAt(buf.subarray(0, end), 1 + puback.length)).toBe('short');
    for (let end = 1; end < 1 + puback.length; end++) expect(frameAt(buf.subarray(0, end), 1)).toBe('short');
    const length = (n: number) => {
      const out = [];
      do {
        out.push((n % 128) | (n >= 128 ? 0x80 : 0));
        n = Math.floor(n / 128);
      } while (n > 0);
      return out;
    };
    expect(frameAt(Buffer.from([0x30, ...length(MAX_INCOMING_BYTES)]), 0)).toBe('short');
    expect(frameAt(Buffer.concat([Buffer.from([0x30, ...length(MAX_INCOMING_BYTES)]), Buffer.alloc(MAX_INCOMING_BYTES)]), 0)).toBe(4 + MAX_INCOMING_BYTES);
    expect(frameAt(Buffer.from([0x30, ...length(MAX_INCOMING_BYTES + 1)]), 0)).toBe('bad');
    expect(frameAt(Buffer.from([0x30, 0x80, 0x80, 0x80]), 0)).toBe('short');
    expect(frameAt(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x80]), 0)).toBe('bad');
    expect(frameAt(Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f]), 0)).toBe('bad');
  });

  describe('the data path of a connected connection', () => {
    let server: Scripted;
    let owner: Owner;
    let c: LeanConnection;
    beforeAll(async () => {
      server = await scripted();
      owner = new Owner();
      c = new LeanConnection({ url: server.url, nodes: brokerNodes(server.url), base: 'aquastop', keepaliveS: 600 }, 'lean-d', owner);
      await c.open();
      await waitFor(() => owner.connects === 1 && server.peers[0]!.packets.some((p) => p.cmd === 'publish'), 5_000, 'online sent');
      await roundTrip(server.url);
    });
    afterAll(() => c.crash());
    const acks = () => server.peers[0]!.packets.flatMap((p) => (p.cmd === 'puback' ? [p.messageId] : []));

    it('takes packets split at every byte boundary, one byte at a time, and several in one chunk', async () => {
      const packets: Incoming[] = [
        { cmd: 'publish', topic: 'aquastop/lean-d/set', payload: Buffer.from('{"valve":"CLOSE"}'), qos: 1, retain: false, dup: false, messageId: 41 },
        { cmd: 'pingresp' },
        { cmd: 'publish', topic: 'homeassistant/status', payload: Buffer.alloc(300, 'x'), qos: 0, retain: true, dup: false },
        { cmd: 'puback', messageId: 60_000 },
        { cmd: 'publish', topic: 'aquastop/lean-d/inject', payload: Buffer.from(''), qos: 1, retain: true, dup: false, messageId: 42 },
      ];
      const wire = Buffer.concat(packets.map((p) => mqttPacket.generate(p)));
      const expected = packets.filter((p): p is mqttPacket.IPublishPacket => p.cmd === 'publish').map(seen);
      const before = acks().length;
      const feeds = [[wire], [...wire].map((b) => Buffer.from([b]))];
      for (let cut = 1; cut < wire.length; cut++) feeds.push([wire.subarray(0, cut), wire.subarray(cut)]);
      for (const chunks of feeds) {
        owner.messages.length = 0;
        for (const chunk of chunks) c.data(chunk);
        expect(owner.messages).toEqual(expected);
      }
      expect(c.connected).toBe(true);
      await waitFor(() => acks().length === before + 2 * feeds.length, 5_000, 'a PUBACK for every QoS 1 publish');
      expect(acks().slice(before)).toEqual(feeds.flatMap(() => [41, 42]));
      expect(owner.errors()).toEqual([]);
    });

    it(`random packets, concatenated and cut into random chunks, all arrive in order (fast-check seed ${PUBLISH_SEED})`, async () => {
      console.log(`lean-connection framing property: seed ${PUBLISH_SEED} (FC_SEED to change)`);
      const before = acks().length;
      const expectedAcks: number[] = [];
      fc.assert(
        fc.property(fc.array(incomingArb, { minLength: 1, maxLength: 12 }), fc.array(fc.nat(), { maxLength: 30 }), (packets, cutsRaw) => {
          const wire = Buffer.concat(packets.map((p) => mqttPacket.generate(p)));
          const cuts = [...new Set(cutsRaw.map((n) => n % wire.length))].sort((a, b) => a - b);
          owner.messages.length = 0;
          let from = 0;
          for (const cut of [...cuts, wire.length]) {
            c.data(wire.subarray(from, cut));
            from = cut;
          }
          const publishes = packets.filter((p): p is mqttPacket.IPublishPacket => p.cmd === 'publish');
          expect(owner.messages).toEqual(publishes.map(seen));
          expect(c.connected).toBe(true);
          expectedAcks.push(...publishes.flatMap((p) => (p.qos === 1 ? [p.messageId!] : [])));
        }),
        { seed: PUBLISH_SEED, numRuns: 150 },
      );
      await waitFor(() => acks().length >= before + expectedAcks.length, 10_000, 'a PUBACK for every QoS 1 publish');
      expect(acks().slice(before)).toEqual(expectedAcks);
      expect(owner.errors()).toEqual([]);
    });

    it('the same through the socket: a batch written in odd-sized pieces arrives whole and in order', async () => {
      const packets = fc.sample(fc.array(incomingArb, { minLength: 40, maxLength: 40 }), { seed: PUBLISH_SEED, numRuns: 1 })[0]!;
      const wire = Buffer.concat(packets.map((p) => mqttPacket.generate(p)));
      owner.messages.length = 0;
      const peer = server.peers[0]!;
      for (let at = 0, step = 1; at < wire.length; at += step, step = (step * 7 + 3) % 997) peer.send(wire.subarray(at, at + step));
      const publishes = packets.filter((p): p is mqttPacket.IPublishPacket => p.cmd === 'publish');
      await waitFor(() => owner.messages.length >= publishes.length, 5_000, 'every publish');
      expect(owner.messages).toEqual(publishes.map(seen));
      expect(c.connected).toBe(true);
    });
  });

  it.each([
    ['a remaining length over MAX_INCOMING_BYTES', [0x30, 0x81, 0x80, 0x10], `a malformed or oversized packet (over ${MAX_INCOMING_BYTES} bytes)`],
    ['a fifth remaining-length byte', [0x30, 0x80, 0x80, 0x80, 0x80, 0x01], `a malformed or oversized packet (over ${MAX_INCOMING_BYTES} bytes)`],
    ['a packet type that does not exist', [0x00, 0x00], 'a packet it could not decode'],
  ])('%s drops the socket with one line and reconnects', async (_what, bytes, why) => {
    const server = await scripted((peer, p, connection) => {
      answer(peer, p);
      // The first connection sends the bad bytes once it is logged in and online.
      if (connection === 0 && p.cmd === 'publish') peer.send(Buffer.from(bytes));
    });
    const owner = new Owner();
    const c = lean(server.url, 'lean-m', owner);
    await c.open();
    await waitFor(() => server.peers.length === 2 && c.connected, 5_000, 'dropped and reconnected');
    expect(server.peers[0]!.closed).toBe(true);
    expect(owner.lines).toEqual([
      `connected to ${server.url}`,
      `broker error: broker ${server.url} sent ${why}`,
      `broker ${server.url} unreachable; protecting offline, fault events are kept and sent after reconnect`,
      `reconnected to ${server.url}`,
    ]);
  });
});

// ---- real brokers ----

describe.skipIf(!hasTools(MOSQUITTO, 'gcc'))('a lean connection on mosquitto (the shipped configuration)', () => {
  let broker: Mosquitto;
  beforeAll(async () => {
    // Persistent sessions survive stop() / start(): the watcher misses nothing while the broker is away.
    broker = await startMosquitto({ persistence: true });
  });
  afterAll(async () => {
    await broker?.close();
  });

  async function watcher(clientId: string, filter: string): Promise<{ client: mqtt.MqttClient; got: string[] }> {
    const client = await mqtt.connectAsync(broker.url, { ...account('viewer'), clientId, clean: false, reconnectPeriod: 50 });
    const got: string[] = [];
    client.on('message', (topic, payload, packet) => got.push(`${topic} ${payload.toString()}${packet.retain ? ' retained' : ''}`));
    await client.subscribeAsync(filter, { qos: 1 });
    return { client, got };
  }

  it('crash() fires the will (offline, retained); end() publishes offline itself and its DISCONNECT leaves no will', async () => {
    const { client, got } = await watcher('lean-test-will', 'aquastop/bridge/+/state');
    const fleet = await mqtt.connectAsync(broker.url, { ...account('fleet'), reconnectPeriod: 0 });
    try {
      const crashed = lean(broker.url, 'lean-w1', new Owner(), account('fleet'));
      await crashed.open();
      await waitFor(() => got.includes(`aquastop/bridge/lean-w1/state ${ONLINE}`), 5_000, 'lean-w1 online');
      crashed.crash();
      await waitFor(() => got.includes(`aquastop/bridge/lean-w1/state ${OFFLINE}`), 5_000, 'the will of lean-w1');
      const late = await mqtt.connectAsync(broker.url, { ...account('viewer'), reconnectPeriod: 0 });
      const kept = new Promise<string>((resolve) => late.on('message', (_t, payload, packet) => resolve(`${payload.toString()} ${packet.retain}`)));
      await late.subscribeAsync('aquastop/bridge/lean-w1/state', { qos: 1 });
      expect(await kept).toBe(`${OFFLINE} true`);
      await late.endAsync();

      const ended = lean(broker.url, 'lean-w2', new Owner(), account('fleet'));
      await ended.open();
      await waitFor(() => got.includes(`aquastop/bridge/lean-w2/state ${ONLINE}`), 5_000, 'lean-w2 online');
      await ended.end(2_000);
      // end() resolved once the broker closed the socket; a will would have been sent before this marker.
      await fleet.publishAsync('aquastop/bridge/marker/state', ONLINE, { qos: 1 });
      await waitFor(() => got.includes(`aquastop/bridge/marker/state ${ONLINE}`), 5_000, 'the marker');
      expect(got.filter((l) => l.startsWith('aquastop/bridge/lean-w2/'))).toEqual([`aquastop/bridge/lean-w2/state ${ONLINE}`, `aquastop/bridge/lean-w2/state ${OFFLINE}`]);
    } finally {
      await Promise.all([client.endAsync(), fleet.endAsync()]);
    }
  });

  it("while the broker is away: 'drop' resolves false and is never sent; 'queue' messages go out in order when it is back; subscriptions come back too", async () => {
    const { client, got } = await watcher('lean-test-queue', 'aquastop/lean-q/set/result');
    const operator = await mqtt.connectAsync(broker.url, { ...account('operator'), reconnectPeriod: 50 });
    try {
      const owner = new Owner();
      const c = lean(broker.url, 'lean-q', owner, account('fleet'));
      c.subscribe(['aquastop/lean-q/set']);
      await c.open();
      expect(c.connected).toBe(true);
      await broker.stop();
      await waitFor(() => !c.connected, 5_000, 'the connection lost');
      const queued = [1, 2, 3, 4].map((n) => c.publish('setResult', { id: 'lean-q' }, { ok: true, command: `queued-${n}` }, 'queue'));
      expect(await c.publish('setResult', { id: 'lean-q' }, { ok: true, command: 'dropped' }, 'drop')).toBe(false);
      await broker.start();
      expect(await Promise.all(queued)).toEqual([true, true, true, true]);
      expect(await c.publish('setResult', { id: 'lean-q' }, { ok: true, command: 'after' }, 'drop')).toBe(true);
      await waitFor(() => got.some((l) => l.includes('"after"')), 10_000, 'the message sent after the reconnect');
      expect(got.map((l) => JSON.parse(l.slice(l.indexOf(' ') + 1)).command)).toEqual(['queued-1', 'queued-2', 'queued-3', 'queued-4', 'after']);
      // mosquitto going away may reset the socket (one more error line) or close it.
      expect(owner.lines[0]).toBe(`connected to ${broker.url}`);
      expect(owner.lines).toContain(`broker ${broker.url} unreachable; protecting offline, fault events are kept and sent after reconnect`);
      expect(owner.lines.at(-1)).toBe(`reconnected to ${broker.url}`);
      // Each distinct error once in the outage, however many attempts failed.
      expect(new Set(owner.errors()).size).toBe(owner.errors().length);

      // Subscribed again on the new session: a command reaches the owner, live (not retained).
      await waitFor(() => operator.connected, 5_000, 'the operator back');
      // Its SUBSCRIBE went out before "after", so the broker had taken it when it acknowledged "after".
      await operator.publishAsync('aquastop/lean-q/set', '{"valve":"CLOSE"}', { qos: 1 });
      await waitFor(() => owner.messages.length === 1, 5_000, 'the command');
      expect(owner.messages[0]).toEqual({ topic: 'aquastop/lean-q/set', payload: Buffer.from('{"valve":"CLOSE"}').toString('hex'), retained: false });
    } finally {
      await Promise.all([client.endAsync(), operator.endAsync()]);
    }
  });

  it('a refused login (bad password) rejects open() with one line naming the broker and the reason', async () => {
    const random = vi.fn(() => 0.5);
    const owner = new Owner();
    const c = lean(broker.url, 'lean-r', owner, { username: 'fleet', password: 'not-the-password' }, { backoff: { firstMs: 1, maxMs: 1, random } });
    await expect(c.open()).rejects.toThrow(new Error(`broker ${broker.url} refused the connection: Not authorized`));
    await roundTrip(broker.url);
    expect(random).not.toHaveBeenCalled();
    expect(c.over()).toBe(true);
    expect(owner.lines).toEqual([]);
  });
});

describe('a lean connection on the embedded broker', () => {
  let broker: EmbeddedBroker;
  beforeAll(async () => {
    broker = await startEmbeddedBroker({ host: '127.0.0.1', port: 0, wsPort: null, accounts: [], base: 'aquastop', haPrefix: 'homeassistant' });
  });
  afterAll(async () => {
    await broker?.close();
  });

  it('given a cluster of two nodes where the first is down, connects to the second and node() names it', async () => {
    const down = `mqtt://127.0.0.1:${await freePort()}`;
    const url = `${down},${broker.url}`;
    const owner = new Owner();
    const c = lean(url, 'lean-n', owner, broker.internal);
    await c.open(); // the first attempt (the node that is down) is over
    await waitFor(() => c.connected, 5_000, 'connected to the second node');
    expect(c.node()).toBe(broker.url);
    expect(owner.lines).toEqual([`broker error: connect ECONNREFUSED ${down.slice('mqtt://'.length)}`, `connected to ${broker.url}`]);
  });
});

describe.skipIf(!hasTools('openssl'))('a lean connection over mqtts://', () => {
  let pki: Pki;
  let broker: EmbeddedBroker;
  beforeAll(async () => {
    pki = makePki();
    broker = await startTlsBroker(pki, null);
  });
  afterAll(async () => {
    await broker?.close();
    pki?.remove();
  });

  it('connects when it trusts the CA', async () => {
    const owner = new Owner();
    const c = lean(broker.url, 'lean-t1', owner, broker.internal, { tls: { ca: readFileSync(pki.ca) } });
    await c.open();
    expect(c.connected).toBe(true);
    expect(owner.lines).toEqual([`connected to ${broker.url}`]);
  });

  it('an untrusted certificate rejects open() with one line, and is not tried again', async () => {
    const random = vi.fn(() => 0.5);
    const owner = new Owner();
    const c = lean(broker.url, 'lean-t2', owner, broker.internal, { tls: { ca: readFileSync(pki.wrongCa) }, backoff: { firstMs: 1, maxMs: 1, random } });
    const err = await c.open().then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(new RegExp(`^broker ${broker.url.replaceAll('.', '\\.')}: the broker's certificate is not trusted: [^\\n]+ \\(check --cafile\\)$`));
    await roundTrip(broker.url);
    expect(random).not.toHaveBeenCalled();
    expect(c.over()).toBe(true);
    expect(c.connected).toBe(false);
  });
});
