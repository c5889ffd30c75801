/**
 * Graphite push: the figures of /metrics, sent to carbon in its plaintext protocol
 * (`<path> <value> <unix seconds>\n`) every interval, for sites that run Graphite (push)
 * rather than Prometheus (scrape). The lines themselves (paths, escaping, the buffer) are
 * graphite-lines.ts; src/monitor/README.md "Graphite" is the operator's side.
 *
 * Contract of {@link GraphitePusher}:
 * - One TCP connection. Each push waits in a {@link LineBuffer} of at most `maxBufferedLines`
 *   (500,000), oldest dropped and counted past it. Written lines count as sent (carbon has no
 *   acknowledgement: lines in flight when a connection breaks are lost); a socket that will not
 *   take more (backpressure) leaves the rest in the bounded buffer.
 * - Carbon unreachable, or a connection that ends: reconnect after a jittered exponential
 *   back-off (`firstRetryMs` x 2^n, at most `maxRetryMs`, each delay x 0.5-1 at random; n restarts
 *   once a connection has lasted `stableMs`). An outage (an attempt that fails, or a connection
 *   that ends sooner than `stableMs`) is logged once when it starts and once at the first
 *   connection after it, never per attempt; it is over once a connection has lasted `stableMs`
 *   (so a carbon that accepts and drops at once logs nothing more). A stable connection that
 *   ends and is reopened at once is not an outage.
 */
import { connect, type Socket } from 'node:net';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Clock } from '../clock/clock.js';
import { formatGraphite, LineBuffer, type CarbonAddress, type MetricFamily } from './graphite-lines.js';

export * from './graphite-lines.js';

export interface GraphiteStats {
  /** Lines written to a carbon connection. */
  sent: number;
  /** Lines dropped unsent: the buffer was full, or the monitor stopped while carbon was away. */
  dropped: number;
}

export interface GraphitePusherOptions {
  /** For log lines: the `--graphite` URL. */
  readonly url: string;
  readonly address: CarbonAddress;
  readonly prefix: string;
  readonly intervalMs: number;
  /** The figures to push (the /metrics registry's `getMetricsAsJSON`). */
  readonly collect: () => Promise<readonly MetricFamily[]>;
  readonly clock: Clock;
  readonly log: (level: 'info' | 'warn', line: string) => void;
  readonly maxBufferedLines?: number;
  readonly firstRetryMs?: number;
  readonly maxRetryMs?: number;
  /** A connection that lasted this long starts the back-off afresh. */
  readonly stableMs?: number;
  readonly connectTimeoutMs?: number;
  /** [0, 1): the back-off jitter. */
  readonly random?: () => number;
}

export class GraphitePusher {
  readonly stats: GraphiteStats = { sent: 0, dropped: 0 };
  private readonly buffer: LineBuffer;
  private readonly firstRetryMs: number;
  private readonly maxRetryMs: number;
  private readonly stableMs: number;
  private readonly connectTimeoutMs: number;
  private readonly random: () => number;
  private socket: Socket | null = null;
  private connected = false;
  private connectedAt = 0;
  private waitingForDrain = false;
  private failures = 0;
  private attemptCount = 0;
  private outage: { since: number; dropped: number; backLogged: boolean } | null = null;
  /** When a stable connection ended, until the next one: the start of an outage if reconnecting fails. */
  private lostAt: number | null = null;
  private pushTimer: unknown = null;
  private retryTimer: unknown = null;
  private stopped = false;

  constructor(private readonly options: GraphitePusherOptions) {
    this.buffer = new LineBuffer(options.maxBufferedLines ?? 500_000);
    this.firstRetryMs = options.firstRetryMs ?? 1_000;
    this.maxRetryMs = options.maxRetryMs ?? 30_000;
    this.stableMs = options.stableMs ?? 10_000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
    this.random = options.random ?? Math.random;
  }

  /** Lines waiting for carbon. */
  get buffered(): number {
    return this.buffer.size;
  }

  get isConnected(): boolean {
    return this.connected;
  }

  /** connecting, connected, waiting (for the next attempt) or stopped. */
  get phase(): 'connecting' | 'connected' | 'waiting' | 'stopped' {
    if (this.stopped) return 'stopped';
    if (this.connected) return 'connected';
    return this.socket ? 'connecting' : 'waiting';
  }

  /** Connections tried so far. */
  get attempts(): number {
    return this.attemptCount;
  }

  /** Connects and pushes now, then every interval. */
  start(): void {
    this.connect();
    void this.push();
  }

  /** Stops pushing; what waits is written if carbon is connected (at most `connectTimeoutMs`), else dropped. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.options.clock.clearTimeout(this.pushTimer);
    this.options.clock.clearTimeout(this.retryTimer);
    const socket = this.socket;
    if (socket && this.connected) {
      for (let chunk = this.buffer.take(); chunk; chunk = this.buffer.take()) {
        socket.write(chunk.text);
        this.stats.sent += chunk.lines;
      }
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      const timer = this.options.clock.setTimeout(() => socket.destroy(), this.connectTimeoutMs);
      socket.end();
      await closed;
      this.options.clock.clearTimeout(timer);
    } else {
      socket?.destroy();
      const left = this.buffer.size;
      if (left > 0) {
        while (this.buffer.take());
        this.stats.dropped += left;
        this.options.log('warn', `graphite: stopped with carbon at ${this.options.url} away: ${left} line(s) not sent`);
      }
    }
  }

  private async push(): Promise<void> {
    if (this.stopped) return;
    this.pushTimer = this.options.clock.setTimeout(() => void this.push(), this.options.intervalMs);
    let families: readonly MetricFamily[];
    try {
      families = await this.options.collect();
    } catch (err) {
      this.options.log('warn', `graphite: could not collect the metrics: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    if (this.stopped) return;
    const lines = formatGraphite(families, { prefix: this.options.prefix, timestampS: this.options.clock.now() / 1000 });
    const dropped = this.buffer.add(lines);
    this.stats.dropped += dropped;
    if (this.outage) this.outage.dropped += dropped;
    this.flush();
  }

  private flush(): void {
    const socket = this.socket;
    if (!socket || !this.connected || this.waitingForDrain) return;
    for (let chunk = this.buffer.take(); chunk; chunk = this.buffer.take()) {
      this.stats.sent += chunk.lines;
      if (!socket.write(chunk.text)) {
        // Node would queue without limit: the rest waits in the bounded buffer.
        this.waitingForDrain = true;
        socket.once('drain', () => {
          this.waitingForDrain = false;
          this.flush();
        });
        return;
      }
    }
  }

  private connect(): void {
    if (this.stopped) return;
    const { clock } = this.options;
    this.attemptCount++;
    const socket = connect({ host: this.options.address.host, port: this.options.address.port });
    this.socket = socket;
    let why = 'connection closed by carbon';
    const timeout = clock.setTimeout(() => socket.destroy(new Error(`no connection within ${this.connectTimeoutMs} ms`)), this.connectTimeoutMs);
    socket.setKeepAlive(true, 30_000);
    // Carbon sends nothing, but a paused socket would not notice carbon closing it.
    socket.resume();
    socket.on('connect', () => {
      clock.clearTimeout(timeout);
      this.connected = true;
      this.connectedAt = clock.now();
      this.lostAt = null;
      // The outage stays open until this connection proves stable: one that carbon cuts short
      // continues it, and the line below is not written again.
      if (this.outage && !this.outage.backLogged) {
        const s = ((clock.now() - this.outage.since) / 1000).toFixed(1);
        this.options.log(
          'info',
          `graphite: carbon at ${this.options.url} is back after ${s} s: sending the ${this.buffer.size} line(s) that waited (${this.outage.dropped} dropped)`,
        );
        this.outage.backLogged = true;
      }
      this.flush();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      why = err.code ?? err.message;
    });
    socket.on('close', () => {
      clock.clearTimeout(timeout);
      const wasConnected = this.connected;
      this.connected = false;
      this.waitingForDrain = false;
      this.socket = null;
      if (this.stopped) return;
      const stable = wasConnected && clock.now() - this.connectedAt >= this.stableMs;
      if (stable) {
        this.failures = 0;
        this.outage = null;
      }
      const delay = Math.round(Math.min(this.maxRetryMs, this.firstRetryMs * 2 ** this.failures) * (0.5 + 0.5 * this.random()));
      this.failures = Math.min(this.failures + 1, 30);
      // A connection that served its time and ended (carbon restarted, or dropping idle clients)
      // is reopened without a word; an outage is an attempt that fails, or a connection cut short.
      if (stable) this.lostAt = clock.now();
      else if (!this.outage || (this.outage.backLogged && !wasConnected)) {
        // A new outage, or one said to be over whose next attempt failed: carbon is away again.
        this.outage = { since: this.lostAt ?? clock.now(), dropped: 0, backLogged: false };
        this.options.log(
          'warn',
          `graphite: carbon at ${this.options.url} unreachable (${why}): keeping the newest ${this.buffer.limit} lines, retrying with back-off up to ${this.maxRetryMs / 1000} s`,
        );
      }
      this.retryTimer = clock.setTimeout(() => this.connect(), delay);
    });
  }
}

/** The pusher's own figures on /metrics (and so in the push itself, under `<prefix>.monitor`). */
export function registerGraphiteMetrics(registry: Registry, pusher: GraphitePusher): void {
  new Counter({
    name: 'aquastop_monitor_graphite_lines_total',
    help: "Graphite plaintext lines: sent (written to carbon's connection) or dropped (the send buffer was full while carbon was away, or the monitor stopped then).",
    labelNames: ['result'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ result: 'sent' }, pusher.stats.sent);
      this.inc({ result: 'dropped' }, pusher.stats.dropped);
    },
  });
  new Gauge({
    name: 'aquastop_monitor_graphite_buffered_lines',
    help: 'Graphite lines waiting for carbon (at most 500000: the oldest are dropped past it).',
    registers: [registry],
    collect() {
      this.set(pusher.buffered);
    },
  });
  new Gauge({
    name: 'aquastop_monitor_graphite_connected',
    help: 'Whether the monitor has a connection to carbon (1) or is reconnecting (0).',
    registers: [registry],
    collect() {
      this.set(pusher.isConnected ? 1 : 0);
    },
  });
}
