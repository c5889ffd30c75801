/**
 * Where alerts go: one pino log line each, and a webhook (POST of the {@link Alert} as JSON)
 * when a URL is configured. Deduplication is the tracker's job (it decides once per incident
 * and records it); this sink delivers what it is given, at most once: a failed POST is
 * logged, not retried, so a flapping webhook never turns into duplicate pages.
 */
import type { Logger } from 'pino';
import type { AlertSink } from './tracker.js';
import type { Alert } from './types.js';

export interface AlertSinkOptions {
  readonly logger: Logger;
  /** http(s) URL that receives each alert as a JSON POST; null = log only. */
  readonly webhookUrl?: string | null;
  /** Per-request timeout, ms (default 5000). */
  readonly timeoutMs?: number;
}

export class WebhookAlertSink implements AlertSink {
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly options: AlertSinkOptions) {}

  send(alert: Alert): void {
    const { logger, webhookUrl } = this.options;
    const level = alert.kind === 'down' || alert.kind === 'fault-raised' ? 'warn' : 'info';
    logger[level]({ alert }, `alert ${alert.kind} ${alert.device}${alert.code ? ` ${alert.code}` : ''}: ${alert.reason}`);
    if (!webhookUrl) return;
    const p = this.post(webhookUrl, alert).finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  /** Resolves when every POST started so far has finished (or failed). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  private async post(url: string, alert: Alert): Promise<void> {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(alert),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 5000),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) this.options.logger.error({ status: res.status, alert: alert.kind, device: alert.device }, `webhook answered HTTP ${res.status}`);
    } catch (err) {
      this.options.logger.error({ alert: alert.kind, device: alert.device }, `webhook failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
