/**
 * The packet guard on a real TCP socket pair: what it passes on before and after the login is
 * accepted, and where it cuts.
 */
import { once } from 'node:events';
import { createServer, connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CONNECTION_LIMITS, GuardedConnection } from '../../src/telemetry/connection-guard.js';

// CONNECT (MQTT 3.1.1, clean session, client id "c"), then a QoS 0 PUBLISH "t" / "hi" and a PINGREQ.
const CONNECT = Buffer.from([0x10, 13, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 2, 0, 60, 0, 1, 0x63]);
const PUBLISH = Buffer.from([0x30, 5, 0, 1, 0x74, 0x68, 0x69]);
const PING = Buffer.from([0xc0, 0]);

const closers: (() => void)[] = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

/** A guarded server side and the client socket talking to it. */
async function pair(): Promise<{ guard: GuardedConnection; client: Socket; received: () => Buffer }> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const client = connect({ host: '127.0.0.1', port });
  const [socket] = (await once(server, 'connection')) as [Socket];
  const guard = new GuardedConnection(socket, { ...CONNECTION_LIMITS });
  guard.on('error', () => undefined);
  const chunks: Buffer[] = [];
  guard.on('data', (b: Buffer) => chunks.push(b));
  closers.push(() => {
    client.destroy();
    guard.destroy();
    server.close();
  });
  return { guard, client, received: () => Buffer.concat(chunks) };
}

describe('the packet guard', () => {
  it('passes on only the CONNECT until the login is accepted, then the rest in order', async () => {
    const { guard, client, received } = await pair();
    client.write(Buffer.concat([CONNECT, PUBLISH, PING]));
    await expect.poll(() => received().length).toBe(CONNECT.length);
    expect(received()).toEqual(CONNECT);
    guard.admit();
    await expect.poll(() => received().length).toBe(CONNECT.length + PUBLISH.length + PING.length);
    expect(received()).toEqual(Buffer.concat([CONNECT, PUBLISH, PING]));
  });

  it('follows packets cut anywhere across chunks', async () => {
    const { guard, client, received } = await pair();
    const all = Buffer.concat([CONNECT, PUBLISH, PING]);
    client.setNoDelay(true);
    for (const b of all.subarray(0, CONNECT.length + 3)) {
      client.write(Buffer.from([b]));
      await new Promise((r) => setImmediate(r));
    }
    await expect.poll(() => received().length).toBe(CONNECT.length);
    guard.admit();
    client.write(all.subarray(CONNECT.length + 3));
    await expect.poll(() => received().length).toBe(all.length);
    expect(received()).toEqual(all);
  });

  it('closes at the header of a packet above the limit after the login', async () => {
    const { guard, client } = await pair();
    client.write(CONNECT);
    await new Promise((r) => setImmediate(r));
    guard.admit();
    const err = new Promise<Error>((r) => guard.once('error', r));
    // 200 KiB announced (3 length bytes), no body sent.
    client.write(Buffer.from([0x30, 0x80, 0xc0, 0x0c]));
    expect((await err).message).toBe(`packet of ${0x0c * 128 * 128 + 0x40 * 128} bytes (at most ${CONNECTION_LIMITS.maxPacketBytes})`);
  });

  it('closes on a remaining length longer than four bytes', async () => {
    const { client, guard } = await pair();
    const err = new Promise<Error>((r) => guard.once('error', r));
    client.write(Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x01]));
    expect((await err).message).toBe('malformed packet length');
  });
});
