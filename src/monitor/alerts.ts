/**
 * Where alerts go: one pino log line each, and a webhook (POST of the {@link Alert} as JSON)
 * when a URL is configured. Deduplication is the tracker's job (it decides once per incident
 * and records it); the webhook delivers what it is given in order, signed, with a timeout and
 * retries (webhook.ts). A retry after a lost answer can repeat a POST: it keeps its
 * `X-Aquastop-Delivery` id, so a receiver drops the duplicate.
 */
import type { Logger } from 'pino';
import { wallClock, type Clock } from '../clock/clock.js';
import type { AlertSink } from './tracker.js';
import type { Alert } from './types.js';
import { WebhookDelivery, type WebhookOptions, type WebhookStats } from './webhook.js';

export interface AlertSinkOptions {
  readonly logger: Logger;
  /** http(s) URL that receives each alert as a JSON POST; null = log only. */
  readonly webhookUrl?: string | null;
  /** Per-request timeout, ms (default 5000). */
  readonly timeoutMs?: number;
  /** HMAC-SHA256 key for the signature header; null or absent: unsigned. */
  readonly secret?: string | null;
  /** Attempts per alert, the first included (default 6). */
  readonly maxAttempts?: number;
  /** Timeouts and back-off run on this clock (default: wall time). */
  readonly clock?: Clock;
  /** Back-off and queue bound (webhook.ts defaults). */
  readonly delivery?: Pick<WebhookOptions, 'firstRetryMs' | 'maxRetryMs' | 'queueLimit'>;
}

export class WebhookAlertSink implements AlertSink {
  private readonly webhook: WebhookDelivery | null;

  constructor(private readonly options: AlertSinkOptions) {
    const { logger, webhookUrl } = options;
    this.webhook = webhookUrl
      ? new WebhookDelivery({
          url: webhookUrl,
          secret: options.secret ?? null,
          clock: options.clock ?? wallClock,
          ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
          ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
          ...options.delivery,
          log: (level, line, fields) => logger[level](fields, line),
        })
      : null;
  }

  /** Webhook counters (null without a webhook). */
  get webhookStats(): Readonly<WebhookStats> | null {
    return this.webhook?.stats ?? null;
  }

  send(alert: Alert): void {
    const { logger } = this.options;
    const level = alert.kind === 'down' || alert.kind === 'fault-raised' ? 'warn' : 'info';
    // The device (and the fault event) at the top of the record, as in every record about a device.
    const about = { device: alert.device, ...(alert.code ? { code: alert.code } : {}), ...(alert.event ? { event: alert.event } : {}) };
    logger[level]({ ...about, alert }, `alert ${alert.kind} ${alert.device}${alert.code ? ` ${alert.code}` : ''}: ${alert.reason}`);
    this.webhook?.send(alert, `${alert.kind} ${alert.device}${alert.code ? ` ${alert.code}` : ''}`, about);
  }

  /** At stop: sends what waits without further back-off (webhook.ts), then resolves. */
  async drain(): Promise<void> {
    await this.webhook?.drain();
  }
}
