/**
 * Persistent sessions on the embedded broker are bounded (session-limits.ts): none for anonymous
 * clients, client ids and subscriptions per client capped, at most so many stored (the one
 * offline longest ends first), and ended after an hour offline. Real sockets, real aedes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../src/telemetry/broker.js';
import { SESSION_LIMITS, type SessionLimitOptions } from '../../src/telemetry/session-limits.js';
import { account, ACCOUNTS } from '../helpers/mosquitto.js';

let broker: EmbeddedBroker | null = null;
const lines: string[] = [];
const clients: MqttClient[] = [];
let now = 0;
afterEach(async () => {
  for (const c of clients.splice(0)) c.end(true);
  await broker?.close();
  broker = null;
  lines.length = 0;
  now = 0;
});

async function start(sessions: SessionLimitOptions = {}): Promise<string> {
  broker = await startEmbeddedBroker({
    base: 'aquastop',
    haPrefix: 'homeassistant',
    host: '127.0.0.1',
    port: 0,
    wsPort: null,
    accounts: ACCOUNTS,
    log: (l) => lines.push(l),
    limits: { now: () => now, sessions },
  });
  return broker.url;
}

/** Connects; the CONNACK's session-present flag, or the refusal's return code. */
function connect(url: string, options: IClientOptions): Promise<{ client: MqttClient; sessionPresent: boolean } | { code: number | string }> {
  return new Promise((resolve) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5_000, ...options });
    clients.push(client);
    client.once('connect', (connack) => resolve({ client, sessionPresent: connack.sessionPresent }));
    client.once('error', (err: Error & { code?: number | string }) => resolve({ code: err.code ?? err.message }));
  });
}

/** A viewer with a persistent session subscribed to one topic, then gone. */
async function leaveSession(url: string, clientId: string): Promise<void> {
  const r = await connect(url, { ...account('viewer'), clientId, clean: false });
  if (!('client' in r)) throw new Error(`${clientId} refused: ${r.code}`);
  await r.client.subscribeAsync('aquastop/+/heartbeat', { qos: 1 });
  await r.client.endAsync();
}

async function sessionPresent(url: string, clientId: string): Promise<boolean> {
  const r = await connect(url, { ...account('viewer'), clientId, clean: false });
  if (!('client' in r)) throw new Error(`${clientId} refused: ${r.code}`);
  await r.client.endAsync();
  return r.sessionPresent;
}

describe('persistent sessions on the embedded broker', () => {
  it('refuses a persistent session to an anonymous client, and keeps serving it with a clean one', async () => {
    const url = await start();
    expect(await connect(url, { clientId: 'anon-persistent', clean: false })).toEqual({ code: 5 });
    expect(lines).toEqual(['refused client anon-persistent: a persistent session (clean session off) needs an account']);
    expect(await connect(url, { clientId: 'anon-clean', clean: true })).toMatchObject({ sessionPresent: false });
  });

  it('refuses a client id over 128 bytes with "identifier rejected", and takes one of 128', async () => {
    const url = await start();
    expect(await connect(url, { ...account('viewer'), clientId: 'x'.repeat(129), clean: false })).toEqual({ code: 2 });
    expect(lines).toEqual([`refused client ${'x'.repeat(64)}...: client id of 129 bytes (at most 128)`]);
    expect(await connect(url, { ...account('viewer'), clientId: 'x'.repeat(128), clean: false })).toMatchObject({ sessionPresent: false });
  });

  it('refuses a subscription beyond the cap in the SUBACK, keeps the client connected, and takes one already held again', async () => {
    const url = await start({ maxSubscriptions: 3 });
    const r = await connect(url, account('viewer'));
    if (!('client' in r)) throw new Error(`refused: ${r.code}`);
    const granted = await r.client.subscribeAsync(['aquastop/a/heartbeat', 'aquastop/b/heartbeat', 'aquastop/c/heartbeat'], { qos: 1 });
    expect(granted.map((g) => g.qos)).toEqual([1, 1, 1]);
    // mqtt.js rejects a SUBACK refusal (0x80) as an error.
    await expect(r.client.subscribeAsync('aquastop/d/heartbeat', { qos: 1 })).rejects.toThrow('Subscribe error');
    expect((await r.client.subscribeAsync('aquastop/a/heartbeat', { qos: 0 }))[0]!.qos).toBe(0);
    expect(r.client.connected).toBe(true);
    expect(lines).toEqual(['refused subscription by "viewer" to aquastop/d/heartbeat: it holds 3 (at most 3)']);
  });

  it("lets a fleet's own connection hold two subscriptions per appliance, up to its own cap", async () => {
    const url = await start({ maxSubscriptions: 3, maxFleetSubscriptions: 6 });
    const fleet = broker!.internal;
    const r = await connect(url, { username: fleet.username, password: fleet.password });
    if (!('client' in r)) throw new Error(`refused: ${r.code}`);
    const filters = ['a', 'b', 'c'].flatMap((id) => [`aquastop/${id}/set`, `aquastop/${id}/inject`]);
    const granted = await r.client.subscribeAsync(filters, { qos: 1 });
    expect(granted.map((g) => g.qos)).toEqual([1, 1, 1, 1, 1, 1]);
    await expect(r.client.subscribeAsync('aquastop/d/set', { qos: 1 })).rejects.toThrow('Subscribe error');
    expect(lines.filter((l) => l.startsWith('refused subscription'))).toEqual([expect.stringMatching(/to aquastop\/d\/set: it holds 6 \(at most 6\)$/)]);
  });

  it('by default a fleet of 10,000 appliances fits, and any other client keeps the cap of 64', () => {
    expect(SESSION_LIMITS.maxFleetSubscriptions).toBeGreaterThanOrEqual(2 * 10_000);
    expect(SESSION_LIMITS.maxSubscriptions).toBe(64);
  });

  it('stores at most maxSessions persistent sessions, ending the one offline longest first', async () => {
    const url = await start({ maxSessions: 3 });
    for (const id of ['s1', 's2', 's3']) await leaveSession(url, id);
    // s2 comes back and leaves again: s1 is now the one offline longest.
    expect(await sessionPresent(url, 's2')).toBe(true);
    await leaveSession(url, 's4');
    expect(lines).toEqual(['ended the persistent session of client s1: 3 persistent sessions stored (at most 3); it was offline longest']);
    expect(await sessionPresent(url, 's3')).toBe(true);
    expect(await sessionPresent(url, 's4')).toBe(true);
    expect(await sessionPresent(url, 's2')).toBe(true);
    // s1 is gone: it comes back to no session (and that takes a place again, ending s3, now offline longest).
    expect(await sessionPresent(url, 's1')).toBe(false);
  });

  it("drops an ended session's queued messages with it", async () => {
    const url = await start({ maxSessions: 1 });
    await leaveSession(url, 'q1');
    const fleet = await connect(url, account('fleet'));
    if (!('client' in fleet)) throw new Error(`fleet refused: ${fleet.code}`);
    for (let i = 0; i < 5; i++) await fleet.client.publishAsync('aquastop/q/heartbeat', `queued-${i}`, { qos: 1 });
    await leaveSession(url, 'q2');
    const back = await connect(url, { ...account('viewer'), clientId: 'q1', clean: false });
    if (!('client' in back)) throw new Error(`q1 refused: ${back.code}`);
    const got: string[] = [];
    back.client.on('message', (_t, p) => got.push(p.toString()));
    await back.client.subscribeAsync('aquastop/q/heartbeat', { qos: 1 });
    // A live message after the queue would have been handed over: only it arrives.
    await fleet.client.publishAsync('aquastop/q/heartbeat', 'live', { qos: 1 });
    await expect.poll(() => got, { timeout: 5_000, interval: 10 }).toContain('live');
    expect(back.sessionPresent).toBe(false);
    expect(got).toEqual(['live']);
  });

  it('does not end a stored session for a login that is refused', async () => {
    const url = await start({ maxSessions: 1 });
    await leaveSession(url, 'kept');
    expect(await connect(url, { username: 'viewer', password: 'wrong', clientId: 'intruder', clean: false })).toEqual({ code: 4 });
    expect(await sessionPresent(url, 'kept')).toBe(true);
  });

  it('refuses a new persistent session when every stored one is online', async () => {
    const url = await start({ maxSessions: 1 });
    const first = await connect(url, { ...account('viewer'), clientId: 'on1', clean: false });
    expect(first).toMatchObject({ sessionPresent: false });
    expect(await connect(url, { ...account('viewer'), clientId: 'on2', clean: false })).toEqual({ code: 3 });
    expect(await connect(url, { ...account('viewer'), clientId: 'on3', clean: true })).toMatchObject({ sessionPresent: false });
  });

  it('ends a session offline for an hour, and keeps one offline for less', async () => {
    const url = await start();
    await leaveSession(url, 'old');
    now += 30 * 60_000;
    await leaveSession(url, 'recent');
    now += 30 * 60_000;
    expect(await sessionPresent(url, 'recent')).toBe(true);
    expect(await sessionPresent(url, 'old')).toBe(false);
    expect(lines).toEqual(['ended the persistent session of client old: offline for 60 min (at most 60)']);
  });
});
