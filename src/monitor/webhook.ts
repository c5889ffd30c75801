/**
 * Webhook delivery: POSTs each alert as JSON, signed, one at a time and in order, with a
 * timeout and retries with exponential back-off, from a bounded queue.
 *
 * Contract (src/monitor/README.md "Webhooks" is the receiver's side):
 * - Each attempt is bounded by `timeoutMs` (default 5 s), counted on the injected clock.
 * - 2xx is delivered. A timeout, a network error, HTTP 408, 429 or 5xx is retried after
 *   `firstRetryMs` x 2^(attempt-1), at most `maxRetryMs` (1 s, 2 s, 4 s, 8 s, 16 s by default;
 *   a longer Retry-After is obeyed up to `maxRetryMs`), for at most `maxAttempts` attempts (6).
 *   Any other answer (3xx, 4xx) will not change by retrying: given up at once.
 * - One alert at a time, oldest first: a receiver never sees "up" before the "down" it ends.
 * - At most `queueLimit` alerts wait (100). When a new one arrives to a full queue, the oldest
 *   waiting alert that is not being sent at that moment is dropped, logged and counted: the
 *   receiver keeps learning the newest state.
 * - Every attempt carries `X-Aquastop-Delivery` (the same id on every retry, so a receiver can
 *   drop a duplicate when an answer was lost) and `X-Aquastop-Attempt`; with a secret also
 *   `X-Aquastop-Timestamp` (Unix seconds, new for each attempt) and `X-Aquastop-Signature`:
 *   `v1=` + hex HMAC-SHA256 of `<timestamp>.<body>` ({@link signWebhook}).
 * - `drain()` (at stop) cuts the back-off short: whatever waits gets one more attempt now;
 *   after the first failure while draining, the rest is dropped and counted.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../clock/clock.js';

export const WEBHOOK_HEADERS = {
  delivery: 'x-aquastop-delivery',
  attempt: 'x-aquastop-attempt',
  timestamp: 'x-aquastop-timestamp',
  signature: 'x-aquastop-signature',
} as const;

/** How far a signed timestamp may be from the receiver's clock before it refuses the request. */
export const REPLAY_WINDOW_S = 300;

export interface WebhookOptions {
  readonly url: string;
  /** HMAC key; null sends unsigned requests. */
  readonly secret: string | null;
  readonly clock: Clock;
  readonly timeoutMs?: number;
  readonly maxAttempts?: number;
  readonly firstRetryMs?: number;
  readonly maxRetryMs?: number;
  readonly queueLimit?: number;
  /** One line per retry, give-up and drop. */
  readonly log: (level: 'warn' | 'error', line: string, fields: Record<string, unknown>) => void;
}

export interface WebhookStats {
  delivered: number;
  /** Attempts that failed and were tried again. */
  retried: number;
  /** Given up after the last attempt or a final answer. */
  failed: number;
  /** Dropped unsent: the queue was full, or the monitor stopped. */
  dropped: number;
}

interface Item {
  readonly id: string;
  readonly body: string;
  readonly what: string;
  readonly fields: Record<string, unknown>;
  attempts: number;
}

type Outcome = { readonly ok: true } | { readonly ok: false; readonly retry: boolean; readonly why: string; readonly retryAfterMs?: number };

/** `v1=` + hex HMAC-SHA256(secret, `${timestamp}.${body}`). */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * The receiver's check: the signature matches the body and timestamp, and the timestamp is
 * within `windowS` of `nowMs`. Returns null when valid, else why not.
 */
export function verifyWebhook(secret: string, headers: { timestamp?: string; signature?: string }, body: string, nowMs: number, windowS = REPLAY_WINDOW_S): string | null {
  const { timestamp, signature } = headers;
  if (!timestamp || !/^\d{1,12}$/.test(timestamp)) return 'missing or malformed timestamp';
  if (!signature) return 'missing signature';
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > windowS) return 'timestamp outside the replay window';
  const expected = Buffer.from(signWebhook(secret, timestamp, body));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected) ? null : 'signature does not match';
}

export class WebhookDelivery {
  readonly stats: WebhookStats = { delivered: 0, retried: 0, failed: 0, dropped: 0 };
  private readonly queue: Item[] = [];
  private sending: Item | null = null;
  private pumping: Promise<void> | null = null;
  private draining = false;
  private wake: (() => void) | null = null;
  private wakeTimer: unknown = null;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly firstRetryMs: number;
  private readonly maxRetryMs: number;
  private readonly queueLimit: number;

  constructor(private readonly options: WebhookOptions) {
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.maxAttempts = options.maxAttempts ?? 6;
    this.firstRetryMs = options.firstRetryMs ?? 1_000;
    this.maxRetryMs = options.maxRetryMs ?? 60_000;
    this.queueLimit = options.queueLimit ?? 100;
  }

  /** Alerts waiting, the one being sent included. */
  get pending(): number {
    return this.queue.length;
  }

  /** Queues one JSON body; `what` names it in log lines, `fields` go with them (the device it is about). */
  send(payload: unknown, what: string, fields: Record<string, unknown> = {}): void {
    if (this.queue.length >= this.queueLimit) {
      const victim = this.queue.findIndex((item) => item !== this.sending);
      const [dropped] = this.queue.splice(victim, 1);
      this.stats.dropped++;
      this.options.log('error', `webhook queue full (${this.queueLimit}): dropped the oldest waiting alert, ${dropped!.what}`, { ...dropped!.fields, delivery: dropped!.id });
    }
    this.queue.push({ id: randomUUID(), body: JSON.stringify(payload), what, fields, attempts: 0 });
    this.pumping ??= this.pump().finally(() => (this.pumping = null));
  }

  /** Sends what waits without further back-off; resolves when the queue is empty. */
  async drain(): Promise<void> {
    this.draining = true;
    this.wakeUp();
    await this.pumping;
  }

  private wakeUp(): void {
    if (this.wakeTimer !== null) this.options.clock.clearTimeout(this.wakeTimer);
    this.wakeTimer = null;
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private async pump(): Promise<void> {
    for (let item = this.queue[0]; item; item = this.queue[0]) {
      this.sending = item;
      item.attempts++;
      const outcome = await this.attempt(item);
      this.sending = null;
      if (outcome.ok) {
        this.stats.delivered++;
        this.remove(item);
        continue;
      }
      const last = !outcome.retry || item.attempts >= this.maxAttempts || this.draining;
      if (last) {
        this.stats.failed++;
        this.remove(item);
        this.options.log('error', `webhook gave up on ${item.what} after ${item.attempts} attempt(s): ${outcome.why}`, { ...item.fields, delivery: item.id });
        if (this.draining && this.queue.length > 0) {
          this.options.log('error', `webhook: stopping, dropped ${this.queue.length} alert(s) not sent`, {});
          this.stats.dropped += this.queue.length;
          this.queue.length = 0;
        }
        continue;
      }
      const backoff = Math.min(this.maxRetryMs, this.firstRetryMs * 2 ** (item.attempts - 1));
      const delay = Math.min(this.maxRetryMs, Math.max(backoff, outcome.retryAfterMs ?? 0));
      this.stats.retried++;
      this.options.log('warn', `webhook attempt ${item.attempts} for ${item.what} failed (${outcome.why}); retrying in ${delay / 1000} s`, { ...item.fields, delivery: item.id });
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        if (this.draining) return this.wakeUp();
        this.wakeTimer = this.options.clock.setTimeout(() => {
          this.wakeTimer = null;
          this.wakeUp();
        }, delay);
      });
    }
  }

  private remove(item: Item): void {
    const i = this.queue.indexOf(item);
    if (i >= 0) this.queue.splice(i, 1);
  }

  private async attempt(item: Item): Promise<Outcome> {
    const { clock, secret, url } = this.options;
    const headers: Record<string, string> = { 'content-type': 'application/json', [WEBHOOK_HEADERS.delivery]: item.id, [WEBHOOK_HEADERS.attempt]: String(item.attempts) };
    if (secret !== null) {
      const timestamp = String(Math.floor(clock.now() / 1000));
      headers[WEBHOOK_HEADERS.timestamp] = timestamp;
      headers[WEBHOOK_HEADERS.signature] = signWebhook(secret, timestamp, item.body);
    }
    const abort = new AbortController();
    const timer = clock.setTimeout(() => abort.abort(), this.timeoutMs);
    try {
      // A redirect is not followed: a POST turned into a GET somewhere else delivers nothing.
      const res = await fetch(url, { method: 'POST', headers, body: item.body, signal: abort.signal, redirect: 'manual' });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) return { ok: true };
      const retry = res.status === 408 || res.status === 429 || res.status >= 500;
      const after = Number(res.headers.get('retry-after'));
      return { ok: false, retry, why: `HTTP ${res.status}`, ...(retry && after > 0 ? { retryAfterMs: after * 1000 } : {}) };
    } catch (err) {
      if (abort.signal.aborted) return { ok: false, retry: true, why: `no answer within ${this.timeoutMs / 1000} s` };
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      return { ok: false, retry: true, why: cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err)) };
    } finally {
      clock.clearTimeout(timer);
    }
  }
}
