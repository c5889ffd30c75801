/**
 * Alerts on a terminal when many fire at once (a fleet's bridge going down is a thousand "down"
 * alerts): the first `perWindow` lines of a one-second window are written as they come, the rest
 * are counted by kind, and when the window ends one line says how many were left out:
 * `… and 37 more alerts (fault-raised 30, down 7)`. Nothing is lost for the monitor itself: the
 * history, /api, /metrics and the webhook get every alert; only the terminal is spared.
 *
 * Bounded: the counts are per alert kind (a handful), one timer at most; the clock is injected.
 */
import type { Clock } from '../../clock/clock.js';

export interface AlertSummaryOptions {
  readonly clock: Clock;
  /** Lines written as they come per window (default 10). */
  readonly perWindow?: number;
  /** Window length, ms (default 1000). */
  readonly windowMs?: number;
  readonly write: (line: string) => void;
}

export class AlertSummary {
  private readonly perWindow: number;
  private readonly windowMs: number;
  private windowEnds: number | null = null;
  private shown = 0;
  private readonly held = new Map<string, number>();
  private timer: unknown = null;

  constructor(private readonly o: AlertSummaryOptions) {
    this.perWindow = o.perWindow ?? 10;
    this.windowMs = o.windowMs ?? 1_000;
  }

  /** One alert of `kind`, as the line it would be. */
  offer(kind: string, line: string): void {
    const now = this.o.clock.now();
    if (this.windowEnds === null || now >= this.windowEnds) this.startWindow(now);
    if (this.shown < this.perWindow) {
      this.shown++;
      this.o.write(line);
      return;
    }
    this.held.set(kind, (this.held.get(kind) ?? 0) + 1);
  }

  /** Writes the pending summary line now (at stop). */
  flush(): void {
    if (this.timer !== null) this.o.clock.clearTimeout(this.timer);
    this.timer = null;
    this.endWindow();
  }

  private startWindow(now: number): void {
    if (this.timer !== null) this.o.clock.clearTimeout(this.timer);
    this.endWindow();
    this.windowEnds = now + this.windowMs;
    this.shown = 0;
    this.timer = this.o.clock.setTimeout(() => {
      this.timer = null;
      this.endWindow();
    }, this.windowMs);
    // A timer of its own must not keep a process alive that has nothing else to do.
    (this.timer as { unref?: () => void } | null)?.unref?.();
  }

  private endWindow(): void {
    if (this.held.size === 0) return;
    const kinds = [...this.held.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    const total = kinds.reduce((n, [, c]) => n + c, 0);
    this.held.clear();
    this.o.write(`… and ${total} more alert${total === 1 ? '' : 's'} (${kinds.map(([k, c]) => `${k} ${c}`).join(', ')})`);
  }
}
