import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { WebhookAlertSink } from '../../src/monitor/alerts.js';
import type { Alert } from '../../src/monitor/types.js';

/** A pino logger whose JSON lines land in `lines`. */
function capture() {
  const lines: Array<{ level: number; msg: string; alert?: Alert }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

let server: Server | null = null;
afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = null;
});

async function hook(status: number) {
  const bodies: Array<{ type: string | undefined; body: unknown }> = [];
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      bodies.push({ type: req.headers['content-type'], body: JSON.parse(body) });
      res.statusCode = status;
      res.end();
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, bodies };
}

const down: Alert = { kind: 'down', device: 'dw-1', code: null, reason: 'no heartbeat for 1.5 x 10 s', at: '2026-01-01T00:00:00.000Z' };
const raised: Alert = { kind: 'fault-raised', device: 'dw-1', code: 'i30', reason: 'fault raised', at: '2026-01-01T00:00:01.000Z' };

describe('alert sink', () => {
  it('logs one line per alert and POSTs it as JSON to the webhook', async () => {
    const { logger, lines } = capture();
    const h = await hook(204);
    const sink = new WebhookAlertSink({ logger, webhookUrl: h.url });
    sink.send(down);
    sink.send(raised);
    await sink.drain();
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [40, 'alert down dw-1: no heartbeat for 1.5 x 10 s'],
      [40, 'alert fault-raised dw-1 i30: fault raised'],
    ]);
    expect(lines[0]!.alert).toEqual(down);
    expect(h.bodies).toEqual([
      { type: 'application/json', body: down },
      { type: 'application/json', body: raised },
    ]);
  });

  it('logs a webhook that refuses an alert (404) once and does not retry it: retrying cannot change that answer', async () => {
    const { logger, lines } = capture();
    const h = await hook(404);
    const sink = new WebhookAlertSink({ logger, webhookUrl: h.url });
    sink.send(down);
    await sink.drain();
    expect(h.bodies).toHaveLength(1);
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [40, 'alert down dw-1: no heartbeat for 1.5 x 10 s'],
      [50, 'webhook gave up on down dw-1 after 1 attempt(s): HTTP 404'],
    ]);
    expect(sink.webhookStats).toEqual({ delivered: 0, retried: 0, failed: 1, dropped: 0 });
  });
});
