/**
 * The embedded broker's login and connection limits, on real sockets: the back-off, equal work
 * for unknown names, the event loop during a login flood, the packet guard and connection caps.
 */
import { once } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { startEmbeddedBroker, type EmbeddedBroker, type EmbeddedBrokerOptions } from '../../src/telemetry/broker.js';
import { startHashThreads } from '../../src/telemetry/hash-threads.js';
import { scryptHasher, type PasswordHasher } from '../../src/telemetry/passwords.js';
import { tryLogin } from '../helpers/mqtt-login.js';
import { account, ACCOUNTS } from '../helpers/mosquitto.js';

const ns = { base: 'aquastop', haPrefix: 'homeassistant' };

/** The real scrypt, counted and timed (time on the thread pool, for comparison with the loop's stalls). */
function countedHasher(base: PasswordHasher = scryptHasher) {
  const c = {
    calls: 0,
    /** Each hash's [start, end] on the loop's clock. */
    spans: [] as Array<[number, number]>,
    hasher: (async (p, s) => {
      c.calls++;
      const t0 = performance.now();
      const key = await base(p, s);
      c.spans.push([t0, performance.now()]);
      return key;
    }) as PasswordHasher,
  };
  return c;
}

let broker: EmbeddedBroker | null = null;
const lines: string[] = [];
afterEach(async () => {
  await broker?.close();
  broker = null;
  lines.length = 0;
});

async function start(limits: EmbeddedBrokerOptions['limits']): Promise<number> {
  broker = await startEmbeddedBroker({ ...ns, host: '127.0.0.1', port: 0, wsPort: null, accounts: ACCOUNTS, log: (l) => lines.push(l), limits });
  return Number(new URL(broker.url).port);
}

const viewer = account('viewer');

describe('logins on the embedded broker', () => {
  it('refuses an address after 5 failed logins without checking, and lets it in once the back-off has passed', async () => {
    let now = 0;
    const h = countedHasher();
    const port = await start({ now: () => now, passwords: { hasher: h.hasher } });
    const at = h.calls;
    for (let i = 0; i < 6; i++) expect(await tryLogin({ port, username: viewer.username, password: 'wrong' })).toEqual({ ok: false, code: 4 });
    expect(h.calls - at).toBe(6);
    expect(lines.at(-1)).toBe(
      'refused login "viewer": bad user name or password; back-off: logins from 127.0.0.1, and as "viewer" from addresses that failed as it, refused for 1 s',
    );
    // The right password now: refused as "not authorized", and not even hashed.
    expect(await tryLogin({ port, ...viewer })).toEqual({ ok: false, code: 5 });
    expect(await tryLogin({ port, ...account('operator') })).toEqual({ ok: false, code: 5 });
    expect(h.calls - at).toBe(6);
    expect(lines.at(-1)).toMatch(/^refused login "operator" from 127\.0\.0\.1 \(client \S+\) without checking: too many failed logins, try again in 1 s$/);
    // Another address is not concerned: the name's back-off refuses only addresses that failed as that name.
    expect(await tryLogin({ port, ...account('operator'), localAddress: '127.0.0.2' })).toEqual({ ok: true });
    expect(await tryLogin({ port, ...viewer, localAddress: '127.0.0.2' })).toEqual({ ok: true });
    now += 1_000;
    expect(await tryLogin({ port, ...viewer })).toEqual({ ok: true });
  });

  it('does not lock an account out: an attacker failing as "operator" in a loop never keeps the right password from a clean address out', async () => {
    const now = 0;
    const h = countedHasher();
    const port = await start({ now: () => now, passwords: { hasher: h.hasher } });
    const operator = account('operator');
    for (let round = 0; round < 4; round++) {
      // The attacker keeps the name (and its own address) backing off.
      for (let i = 0; i < 8; i++) await tryLogin({ port, username: operator.username, password: 'wrong', localAddress: '127.0.0.3' });
      // The real client, from an address that never failed as "operator", gets its password checked and gets in.
      expect(await tryLogin({ port, ...operator, localAddress: '127.0.0.4' })).toEqual({ ok: true });
      // The attacker's address is refused without a hash, even with the right password.
      const before = h.calls;
      expect(await tryLogin({ port, ...operator, localAddress: '127.0.0.3' })).toEqual({ ok: false, code: 5 });
      expect(h.calls).toBe(before);
    }
  });

  it('hashes exactly once for an unknown user name, as for a known one', async () => {
    const h = countedHasher();
    const port = await start({ passwords: { hasher: h.hasher } });
    const cost = async (username: string, password: string) => {
      const before = h.calls;
      expect(await tryLogin({ port, username, password })).toEqual({ ok: false, code: 4 });
      return h.calls - before;
    };
    expect(await cost('viewer', 'wrong')).toBe(1);
    expect(await cost('no-such-user', 'wrong')).toBe(1);
    expect(lines).toEqual(['refused login "viewer": bad user name or password', 'refused login "no-such-user": bad user name or password']);
  });

  it('keeps the event loop turning through a flood of bad logins: the loop runs while each hash is in flight', async () => {
    // The broker's own hashing threads (hash-threads.ts), counted and timed.
    const threads = startHashThreads(2);
    onTestFinished(() => threads.close());
    const h = countedHasher(threads.hasher);
    const port = await start({ passwords: { hasher: h.hasher } });
    const at = h.calls;
    const turns: number[] = [];
    const ticker = setInterval(() => turns.push(performance.now()), 1);
    // 24 clients, each from its own address (so the back-off does not step in), all at once.
    const outcomes = await Promise.all(
      Array.from({ length: 24 }, (_, i) => tryLogin({ port, username: i % 2 ? 'viewer' : `nobody-${i}`, password: 'wrong', localAddress: `127.0.1.${i + 1}` })),
    );
    clearInterval(ticker);
    expect(outcomes.every((o) => !o.ok && o.code === 4)).toBe(true);
    expect(h.calls - at).toBe(24);
    // A hash run on the loop holds it from its start to its end, so no loop turn can fall inside
    // it; on the threads the loop keeps turning while the hash is in flight. Counted, not timed:
    // on a busy machine the loop may lose its core now and then, so most hashes, not all, must
    // see a turn (hashing on the loop gives none, half of them on it at most half).
    const spans = h.spans.slice(-24);
    const seen = spans.filter(([t0, t1]) => turns.some((t) => t > t0 && t < t1)).length;
    expect(seen, `${seen} of 24 hashes saw the loop turn while in flight`).toBeGreaterThan(18);
    // The threads run at nice 10: beside busy processes a hash waits its turn, so the flood may take long.
  }, 60_000);
});

/** Opens a raw TCP connection to the broker. */
async function raw(port: number, localAddress = '127.0.0.1'): Promise<Socket> {
  const s = netConnect({ host: '127.0.0.1', port, localAddress });
  await once(s, 'connect');
  return s;
}

/** MQTT's remaining-length encoding. */
function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

/** Writes zeros until the peer closes or `total` bytes went out; returns how many went out. */
async function sendUntilClosed(s: Socket, total: number): Promise<number> {
  let closed = false;
  s.on('error', () => undefined);
  const gone = new Promise<void>((r) => s.once('close', () => r())).then(() => (closed = true));
  const chunk = Buffer.alloc(1024 * 1024);
  let sent = 0;
  while (!closed && sent < total) {
    const more = s.write(chunk);
    sent += chunk.length;
    if (!more) await Promise.race([new Promise((r) => s.once('drain', r)), gone]);
  }
  await gone;
  return sent;
}

describe('the packet guard and connection limits', () => {
  it('drops a 100 MB CONNECT at its header: the body is never buffered', async () => {
    const port = await start({});
    const claimed = 100 * 1024 * 1024;
    const before = process.memoryUsage().arrayBuffers;
    const s = await raw(port);
    s.write(Buffer.concat([Buffer.from([0x10]), varint(claimed)]));
    const sent = await sendUntilClosed(s, claimed);
    const grown = process.memoryUsage().arrayBuffers - before;
    // The kernel's socket buffers take a few MB before the close reaches the client.
    expect(sent).toBeLessThan(16 * 1024 * 1024);
    expect(grown).toBeLessThan(32 * 1024 * 1024);
    expect(lines).toEqual([`closed a connection from 127.0.0.1: CONNECT of ${claimed} bytes (at most 16384)`]);
  });

  it('drops a 100 MB WebSocket frame at its header', async () => {
    broker = await startEmbeddedBroker({ ...ns, host: '127.0.0.1', port: 0, wsPort: 0, accounts: ACCOUNTS, log: (l) => lines.push(l) });
    const s = await raw(Number(new URL(broker.wsUrl!).port));
    s.write(
      'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n',
    );
    const [answer] = (await once(s, 'data')) as [Buffer];
    expect(answer.toString('latin1')).toMatch(/^HTTP\/1\.1 101 /);
    const claimed = 100 * 1024 * 1024;
    const header = Buffer.alloc(14);
    header[0] = 0x82; // final frame, binary
    header[1] = 0x80 | 127; // masked, 64-bit length follows
    header.writeBigUInt64BE(BigInt(claimed), 2);
    s.write(header);
    expect(await sendUntilClosed(s, claimed)).toBeLessThan(16 * 1024 * 1024);
  });

  it('closes a connection whose first packet is not a CONNECT', async () => {
    const port = await start({});
    const s = await raw(port);
    s.on('error', () => undefined);
    s.write(Buffer.from([0x30, 0x03, 0x00, 0x01, 0x61]));
    await once(s, 'close');
    expect(lines).toEqual(['closed a connection from 127.0.0.1: the first packet is not a CONNECT']);
  });

  it('refuses a packet above the limit after the login, before its body arrives', async () => {
    const port = await start({ connections: { maxPacketBytes: 1024 } });
    let client: import('mqtt').MqttClient | null = null;
    expect(await tryLogin({ port, ...account('operator'), keep: (c) => (client = c) })).toEqual({ ok: true });
    const c = client!;
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    c.publish('aquastop/d1/set', Buffer.alloc(2048));
    await closed;
    c.end(true);
    expect(lines).toEqual([expect.stringMatching(/^closed a connection from 127\.0\.0\.1: packet of 20\d\d bytes \(at most 1024\)$/)]);
  });

  it('keeps half-open connections (one byte of a CONNECT, then nothing) from crowding out real clients, and closes them at the CONNECT deadline', async () => {
    // The CONNECT deadline's timer, fired by hand.
    const timers = new Map<number, () => void>();
    let next = 0;
    const fireDeadlines = () => [...timers.values()].forEach((fire) => fire());
    let now = 0;
    const port = await start({
      now: () => now,
      connections: { maxConnections: 100 },
      timers: { setTimeout: (fire) => (timers.set(++next, fire), next), clearTimeout: (h) => timers.delete(h as number) },
    });
    // 17 addresses, 10 half CONNECTs each (raw sockets: mqtt.js ignores localAddress); 170 > the cap of 100.
    const attackers: Socket[] = [];
    let closed = 0;
    for (let a = 1; a <= 17; a++) {
      for (let i = 0; i < 10; i++) {
        const s = await raw(port, `127.0.2.${a}`);
        s.on('error', () => undefined);
        s.once('close', () => closed++);
        s.write(Buffer.from([0x10]));
        attackers.push(s);
      }
    }
    onTestFinished(() => attackers.forEach((s) => s.destroy()));
    // 8 per address are let in (2 × 17 closed at once), and of those only the newest 64 stay.
    await expect.poll(() => closed, { timeout: 10_000, interval: 10 }).toBe(170 - 64);
    // Real clients still get in; once logged in they are not pending.
    let kept: import('mqtt').MqttClient | null = null;
    expect(await tryLogin({ port, ...viewer, keep: (c) => (kept = c) })).toEqual({ ok: true });
    expect(await tryLogin({ port, ...account('operator'), localAddress: '127.0.2.18' })).toEqual({ ok: true });
    // The viewer took the oldest one's place; it logged in, so the operator found one free.
    await expect.poll(() => closed, { timeout: 10_000, interval: 10 }).toBe(170 - 64 + 1);
    // At the deadline every half-open connection is closed (logged: a new window of the log's bound); the logged-in client stays.
    now += 10_000;
    fireDeadlines();
    await expect.poll(() => closed, { timeout: 10_000, interval: 10 }).toBe(170);
    expect(kept!.connected).toBe(true);
    kept!.end(true);
    expect(lines).toContain('closed a connection from 127.0.2.1: already 8 connections from 127.0.2.1 without a complete CONNECT (at most 8 per address)');
    expect(lines.some((l) => /^closed a connection from 127\.0\.2\.\d+: no complete CONNECT within 5 s$/.test(l))).toBe(true);
  });

  it('closes a connection beyond the per-address cap at once, and takes one again when a place frees up', async () => {
    const port = await start({ connections: { maxPerAddress: 2 } });
    const a = await raw(port);
    const b = await raw(port);
    const c = await raw(port);
    c.on('error', () => undefined);
    await once(c, 'close');
    expect(await tryLogin({ port, ...viewer, localAddress: '127.0.0.2' })).toEqual({ ok: true });
    a.destroy();
    await expect.poll(async () => (await tryLogin({ port, ...viewer })).ok).toBe(true);
    b.destroy();
    expect(lines[0]).toBe('closed a connection from 127.0.0.1: already 2 connections from 127.0.0.1 (at most 2 per address)');
  });
});
