/**
 * Webhook delivery (src/monitor/webhook.ts) against a real HTTP server on loopback, with time
 * on a virtual clock: the timeout and the back-off only move when the test moves the clock.
 */
import { execFileSync } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock/virtual-clock.js';
import { signWebhook, verifyWebhook, WebhookDelivery, WEBHOOK_HEADERS, type WebhookOptions } from '../../src/monitor/webhook.js';
import { findTool } from '../helpers/tools.js';

interface Received {
  readonly at: number;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  readonly res: ServerResponse;
  /** Resolves when the client went away before an answer. */
  readonly aborted: Promise<void>;
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
});

/** A receiver that records each request (with the virtual time it arrived) and lets `answer` reply, or not. */
async function receiver(clock: VirtualClock, answer: (r: Received, n: number) => void) {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const aborted = new Promise<void>((resolve) => res.once('close', () => (res.writableFinished ? undefined : resolve())));
      const r = { at: clock.now(), headers: req.headers, body, res, aborted };
      got.push(r);
      answer(r, got.length);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got };
}

function delivery(clock: VirtualClock, url: string, extra: Partial<WebhookOptions> = {}) {
  const lines: string[] = [];
  const d = new WebhookDelivery({ url, secret: 'a-secret-of-24-characters', clock, log: (_level, line) => lines.push(line), ...extra });
  return { d, lines };
}

/** Bounded wait for something the real network does (never a sleep). */
const until = (what: () => unknown) => expect.poll(what, { timeout: 10_000, interval: 5 });

describe('webhook delivery', () => {
  it('signs each POST over timestamp + body: it verifies with the secret (ours and openssl), fails with a wrong one, a changed body or an old timestamp', async () => {
    const clock = new VirtualClock(1_800_000_000_000);
    const hook = await receiver(clock, (r) => r.res.writeHead(204).end());
    const { d } = delivery(clock, hook.url);
    d.send({ kind: 'down', device: 'dw-1' }, 'down dw-1');
    await until(() => d.stats.delivered).toBe(1);
    const [r] = hook.got;
    const headers = { timestamp: r!.headers[WEBHOOK_HEADERS.timestamp] as string, signature: r!.headers[WEBHOOK_HEADERS.signature] as string };
    expect(r!.body).toBe('{"kind":"down","device":"dw-1"}');
    expect(headers.timestamp).toBe('1800000000');
    expect(headers.signature).toMatch(/^v1=[0-9a-f]{64}$/);
    expect(r!.headers[WEBHOOK_HEADERS.delivery]).toMatch(/^[0-9a-f-]{36}$/);
    expect(r!.headers[WEBHOOK_HEADERS.attempt]).toBe('1');

    expect(verifyWebhook('a-secret-of-24-characters', headers, r!.body, clock.now())).toBeNull();
    expect(verifyWebhook('another-secret-of-24-chr', headers, r!.body, clock.now())).toBe('signature does not match');
    expect(verifyWebhook('a-secret-of-24-characters', headers, r!.body.replace('dw-1', 'dw-2'), clock.now())).toBe('signature does not match');
    expect(verifyWebhook('a-secret-of-24-characters', headers, r!.body, clock.now() + 301_000)).toBe('timestamp outside the replay window');
    expect(verifyWebhook('a-secret-of-24-characters', { signature: headers.signature }, r!.body, clock.now())).toBe('missing or malformed timestamp');
    // The receiver's recipe in src/monitor/README.md, with a tool that is not ours.
    if (findTool('openssl')) {
      const hex = execFileSync('openssl', ['dgst', '-sha256', '-hmac', 'a-secret-of-24-characters', '-r'], { input: `${headers.timestamp}.${r!.body}`, encoding: 'utf8' }).split(
        ' ',
      )[0];
      expect(`v1=${hex}`).toBe(headers.signature);
    }
    expect(signWebhook('a-secret-of-24-characters', headers.timestamp, r!.body)).toBe(headers.signature);
  });

  it('sends no signature headers without a secret', async () => {
    const clock = new VirtualClock(0);
    const hook = await receiver(clock, (r) => r.res.writeHead(200).end());
    const { d } = delivery(clock, hook.url, { secret: null });
    d.send({ kind: 'up' }, 'up');
    await until(() => d.stats.delivered).toBe(1);
    expect(hook.got[0]!.headers[WEBHOOK_HEADERS.signature]).toBeUndefined();
    expect(hook.got[0]!.headers[WEBHOOK_HEADERS.timestamp]).toBeUndefined();
  });

  it('gives a slow receiver exactly the timeout, then aborts and retries; the retry keeps the delivery id and is signed anew', async () => {
    const clock = new VirtualClock(0);
    // The first request gets no answer at all; the second one is answered.
    const hook = await receiver(clock, (r, n) => (n === 1 ? undefined : r.res.writeHead(204).end()));
    const { d, lines } = delivery(clock, hook.url, { timeoutMs: 5_000 });
    d.send({ kind: 'down' }, 'down dw-1');
    await until(() => hook.got.length).toBe(1);
    clock.advance(4_999);
    // The abort is the timer on the clock: still pending 1 ms before the timeout, fired at it.
    expect(clock.nextDue()).toBe(5_000);
    clock.advance(1);
    await hook.got[0]!.aborted;
    await until(() => lines).toEqual(['webhook attempt 1 for down dw-1 failed (no answer within 5 s); retrying in 1 s']);
    clock.advance(1_000);
    await until(() => d.stats.delivered).toBe(1);
    const [first, second] = hook.got;
    expect(second!.at).toBe(6_000);
    expect(second!.headers[WEBHOOK_HEADERS.delivery]).toBe(first!.headers[WEBHOOK_HEADERS.delivery]);
    expect(second!.headers[WEBHOOK_HEADERS.attempt]).toBe('2');
    expect(second!.headers[WEBHOOK_HEADERS.timestamp]).toBe('6');
    expect(second!.headers[WEBHOOK_HEADERS.signature]).not.toBe(first!.headers[WEBHOOK_HEADERS.signature]);
  });

  it('retries a failing receiver with exponential back-off (1, 2, 4, 8, 16 s) and gives up after 6 attempts', async () => {
    const clock = new VirtualClock(0);
    const hook = await receiver(clock, (r) => r.res.writeHead(503).end());
    const { d, lines } = delivery(clock, hook.url);
    d.send({ kind: 'down' }, 'down dw-1');
    for (let n = 1; n <= 6; n++) {
      await until(() => lines.length).toBe(n);
      const due = clock.nextDue();
      if (due !== null) clock.advanceTo(due);
    }
    expect(hook.got.map((r) => r.at)).toEqual([0, 1_000, 3_000, 7_000, 15_000, 31_000]);
    expect(lines.at(-2)).toBe('webhook attempt 5 for down dw-1 failed (HTTP 503); retrying in 16 s');
    expect(lines.at(-1)).toBe('webhook gave up on down dw-1 after 6 attempt(s): HTTP 503');
    expect(d.stats).toEqual({ delivered: 0, retried: 5, failed: 1, dropped: 0 });
    expect(clock.nextDue()).toBeNull();
  });

  it('caps the back-off, and does not retry an answer that retrying cannot change (404)', async () => {
    const clock = new VirtualClock(0);
    const hook = await receiver(clock, (r, n) => r.res.writeHead(n < 4 ? 500 : 404).end());
    const { d, lines } = delivery(clock, hook.url, { firstRetryMs: 10_000, maxRetryMs: 15_000 });
    d.send({ kind: 'down' }, 'down dw-1');
    for (let n = 1; n <= 4; n++) {
      await until(() => lines.length).toBe(n);
      const due = clock.nextDue();
      if (due !== null) clock.advanceTo(due);
    }
    expect(hook.got.map((r) => r.at)).toEqual([0, 10_000, 25_000, 40_000]);
    expect(lines.at(-1)).toBe('webhook gave up on down dw-1 after 4 attempt(s): HTTP 404');
  });

  it('sends one alert at a time, oldest first; a full queue drops the oldest waiting alert, never the one being sent', async () => {
    const clock = new VirtualClock(0);
    const hook = await receiver(clock, (r, n) => (n === 1 ? undefined : r.res.writeHead(204).end()));
    const { d, lines } = delivery(clock, hook.url, { queueLimit: 3 });
    for (const n of [1, 2, 3, 4, 5]) d.send({ n }, `alert ${n}`);
    expect(d.pending).toBe(3);
    expect(lines).toEqual(['webhook queue full (3): dropped the oldest waiting alert, alert 2', 'webhook queue full (3): dropped the oldest waiting alert, alert 3']);
    await until(() => hook.got.length).toBe(1);
    hook.got[0]!.res.writeHead(204).end();
    await until(() => d.stats.delivered).toBe(3);
    expect(hook.got.map((r) => JSON.parse(r.body))).toEqual([{ n: 1 }, { n: 4 }, { n: 5 }]);
    expect(d.stats.dropped).toBe(2);
  });

  it('at stop, what waits for a retry is tried once more at once; after a failure the rest is dropped', async () => {
    const clock = new VirtualClock(0);
    const hook = await receiver(clock, (r) => r.res.writeHead(500).end());
    const { d, lines } = delivery(clock, hook.url);
    d.send({ n: 1 }, 'alert 1');
    d.send({ n: 2 }, 'alert 2');
    await until(() => lines.length).toBe(1);
    await d.drain();
    expect(hook.got.map((r) => r.body)).toEqual(['{"n":1}', '{"n":1}']);
    expect(lines.slice(1)).toEqual(['webhook gave up on alert 1 after 2 attempt(s): HTTP 500', 'webhook: stopping, dropped 1 alert(s) not sent']);
    expect(d.stats).toEqual({ delivered: 0, retried: 1, failed: 1, dropped: 1 });
  });
});

describe('the monitor signs its webhook', () => {
  it('an alert for a real device arrives signed with the secret from the options, and verifies', async () => {
    const { startMonitor } = await import('../../src/monitor/index.js');
    const { startBroker, spawnDevice, killDevice, silentLogger } = await import('./helpers.js');
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const clock = new VirtualClock(0);
    const hook = await receiver(clock, (r) => r.res.writeHead(204).end());
    const broker = await startBroker();
    const dataDir = mkdtempSync(join(tmpdir(), 'aquastop-webhook-'));
    const secret = 'monitor-webhook-secret-0123';
    const monitor = await startMonitor({ brokerUrl: broker.url, port: 0, dataDir, logger: silentLogger(), webhookUrl: hook.url, webhookSecret: secret });
    const device = await spawnDevice({ BROKER_URL: broker.url, DEVICE_ID: 'signed-1', INTERVAL_S: '1' });
    try {
      await device.command('fault i30');
      await until(() => hook.got.length).toBe(1);
      const [r] = hook.got;
      expect(JSON.parse(r!.body)).toMatchObject({ kind: 'fault-raised', device: 'signed-1', code: 'i30' });
      const headers = { timestamp: r!.headers[WEBHOOK_HEADERS.timestamp] as string, signature: r!.headers[WEBHOOK_HEADERS.signature] as string };
      expect(verifyWebhook(secret, headers, r!.body, Date.now())).toBeNull();
      expect(verifyWebhook(`${secret}x`, headers, r!.body, Date.now())).toBe('signature does not match');
      // and /metrics counts it
      const metrics = await (await fetch(`${monitor.url}/metrics`)).text();
      expect(metrics).toMatch(/^aquastop_monitor_webhook_alerts_total\{result="delivered"\} 1$/m);
      expect(metrics).toMatch(/^aquastop_monitor_webhook_alerts_total\{result="failed"\} 0$/m);
    } finally {
      await killDevice(device);
      await monitor.stop();
      await broker.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
