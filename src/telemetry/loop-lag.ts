/**
 * How late this process's event loop runs what it is given: the controllers' ticks, the
 * keepalives to the board and the heartbeats all wait behind whatever holds the loop.
 *
 * Contract:
 * - Sampled by perf_hooks' monitorEventLoopDelay (a timer every `resolutionMs`, default 10 ms,
 *   recorded in a fixed-size histogram: nothing grows). A sample's lag is how much later than
 *   its due time the timer ran (the histogram's value minus the resolution, never below 0).
 * - `take()` answers p50, p99 and max in milliseconds (0.1 ms steps) of the samples since the
 *   previous `take()` and starts a new window; all null when no sample was recorded yet.
 * - `stop()` ends sampling; `take()` then answers nulls.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export interface LoopLag {
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly maxMs: number | null;
}

const NONE: LoopLag = { p50Ms: null, p99Ms: null, maxMs: null };

export class LoopLagMonitor {
  private readonly histogram: IntervalHistogram;
  private readonly resolutionMs: number;
  private running = true;

  constructor(resolutionMs = 10) {
    this.resolutionMs = resolutionMs;
    this.histogram = monitorEventLoopDelay({ resolution: resolutionMs });
    this.histogram.enable();
  }

  take(): LoopLag {
    const h = this.histogram;
    if (!this.running || h.count === 0) return NONE;
    const ms = (ns: number) => Math.max(0, Math.round((ns / 1e6 - this.resolutionMs) * 10) / 10);
    const lag = { p50Ms: ms(h.percentile(50)), p99Ms: ms(h.percentile(99)), maxMs: ms(h.max) };
    h.reset();
    return lag;
  }

  stop(): void {
    this.running = false;
    this.histogram.disable();
  }
}

/**
 * The lag over the last minute of wall time, for heartbeats: windows of `windowMs` (10 s), the
 * last `keep` (6) kept; `latest()` answers the highest p99 and the highest max among them, so a
 * spike shows in every heartbeat of the next minute whatever clock the heartbeats follow and
 * however many devices the process runs (null before the first window ends). The timer does
 * not keep the process alive; `stop()` ends it.
 */
export class LoopLagWindows {
  private readonly monitor: LoopLagMonitor;
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly recent: LoopLag[] = [];

  constructor(windowMs = 10_000, keep = 6, resolutionMs = 10) {
    this.monitor = new LoopLagMonitor(resolutionMs);
    this.timer = setInterval(() => {
      const lag = this.monitor.take();
      if (lag.p99Ms === null) return;
      this.recent.push(lag);
      if (this.recent.length > keep) this.recent.shift();
    }, windowMs);
    this.timer.unref();
  }

  latest(): LoopLag | null {
    if (this.recent.length === 0) return null;
    const top = (k: keyof LoopLag) => Math.max(...this.recent.map((l) => l[k] ?? 0));
    return { p50Ms: top('p50Ms'), p99Ms: top('p99Ms'), maxMs: top('maxMs') };
  }

  stop(): void {
    clearInterval(this.timer);
    this.monitor.stop();
  }
}
