/**
 * A login flood against a broker: CONNECT packets (MQTT 3.1.1) with a wrong password and with
 * a right one, written by hand on raw sockets so the flood costs the bench little, a bounded
 * number at a time. Each attempt ends at the CONNACK (or a close, or a timeout) and disconnects.
 */
import { connect } from 'node:net';

export interface FloodOutcome {
  accepted: number;
  refused: number;
  closed: number;
  timedOut: number;
  maxMs: number;
}

function utf8(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}

/** A CONNECT with user name and password, clean session, keepalive 30 s. */
export function connectPacket(clientId: string, username: string, password: string): Buffer {
  const variable = Buffer.concat([utf8('MQTT'), Buffer.from([4, 0xc2, 0, 30])]);
  const payload = Buffer.concat([utf8(clientId), utf8(username), utf8(password)]);
  const body = Buffer.concat([variable, payload]);
  const len: number[] = [];
  let n = body.length;
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    len.push(byte);
  } while (n > 0);
  return Buffer.concat([Buffer.from([0x10, ...len]), body]);
}

const DISCONNECT = Buffer.from([0xe0, 0]);

function attempt(
  port: number,
  clientId: string,
  username: string,
  password: string,
  timeoutMs: number,
): Promise<{ result: 'accepted' | 'refused' | 'closed' | 'timedOut'; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let done = false;
    let buf = Buffer.alloc(0);
    const finish = (result: 'accepted' | 'refused' | 'closed' | 'timedOut') => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (result === 'accepted') socket.end(DISCONNECT);
      else socket.destroy();
      resolve({ result, ms: performance.now() - t0 });
    };
    const timer = setTimeout(() => finish('timedOut'), timeoutMs);
    socket.on('connect', () => socket.write(connectPacket(clientId, username, password)));
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 4 && buf[0] === 0x20) finish(buf[3] === 0 ? 'accepted' : 'refused');
    });
    socket.on('error', () => finish('closed'));
    socket.on('close', () => finish('closed'));
  });
}

/** `count` logins as `username`/`password`, at most `concurrency` at a time. */
export async function flood(port: number, count: number, username: string, password: string, concurrency = 50, timeoutMs = 10_000): Promise<FloodOutcome> {
  const out: FloodOutcome = { accepted: 0, refused: 0, closed: 0, timedOut: 0, maxMs: 0 };
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const r = await attempt(port, `chaos-flood-${username}-${process.pid}-${i}`, username, password, timeoutMs);
      out[r.result]++;
      out.maxMs = Math.max(out.maxMs, Math.round(r.ms));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return out;
}
