/**
 * Graphite push: the figures of /metrics, sent to carbon in its plaintext protocol
 * (`<path> <value> <unix seconds>\n`) every interval, for sites that run Graphite (push)
 * rather than Prometheus (scrape). src/monitor/README.md "Graphite" is the operator's side.
 *
 * Contract:
 * - {@link formatGraphite} is pure: metric families (prom-client's `getMetricsAsJSON()` shape)
 *   in, lines out, one timestamp for all of them. Paths:
 *   `aquastop_device_<name>{device=D,...}` -> `<prefix>.devices.<D>.<name>[.<label values>]`,
 *   `aquastop_monitor_<name>{...}` -> `<prefix>.monitor.<name>[...]`, any other `aquastop_<name>`
 *   -> `<prefix>.<name>[...]`; label values other than `device` follow in label-name order.
 *   Fleet sums of the per-device figures go under `<prefix>.fleet` ({@link FLEET}).
 *   Non-finite values (NaN, +-Inf) are left out: carbon would store them as numbers.
 * - Every device id and label value becomes one path component by {@link graphiteComponent}:
 *   letters, digits, `_` and `-` stay, every other byte of its UTF-8 form is written `%XX`
 *   (so `.`, spaces, `/`, `;`, `*` can neither split a path, nor break a line, nor make a tag or
 *   a glob; and two different ids never share a path).
 * - {@link GraphitePusher} keeps one TCP connection. Lines wait in a {@link LineBuffer} of at
 *   most `maxBufferedLines` (500,000): when full, the oldest lines are dropped and counted, so
 *   carbon gets the newest figures when it is back. Written lines count as sent (carbon has no
 *   acknowledgement: lines in flight when a connection breaks are lost).
 * - Carbon unreachable, or a connection that ends: reconnect after a jittered exponential
 *   back-off (`firstRetryMs` x 2^n, at most `maxRetryMs`, each delay x 0.5-1 at random; n restarts
 *   once a connection has lasted `stableMs`). One warning when an outage starts and one line when
 *   it ends, never one per attempt.
 */
import { connect, type Socket } from 'node:net';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Clock } from '../board/clock.js';

export interface MetricSample {
  readonly value: number;
  readonly labels: Readonly<Record<string, string | number | undefined>>;
}

/** One metric of a prom-client registry (`registry.getMetricsAsJSON()`). */
export interface MetricFamily {
  readonly name: string;
  /** 'counter', 'gauge', ... (prom-client declares an enum but gives these strings). */
  readonly type?: unknown;
  readonly values: readonly MetricSample[];
}

export interface CarbonAddress {
  readonly host: string;
  readonly port: number;
}

/** `--graphite-prefix`: dot-separated components of letters, digits, `_` and `-`. */
export const GRAPHITE_PREFIX_PATTERN = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/** tcp://host:port (an IPv6 host in brackets); null for anything else. */
export function parseGraphiteUrl(text: string): CarbonAddress | null {
  if (!/^tcp:\/\/[^/?#@\s]+:\d+\/?$/i.test(text)) return null;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  const port = Number(url.port);
  if (!url.hostname || !Number.isInteger(port) || port < 1 || port > 65535) return null;
  return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port };
}

const SAFE = /^[A-Za-z0-9_-]+$/;

/** One Graphite path component: [A-Za-z0-9_-] kept, every other UTF-8 byte `%XX`; "" -> "%". */
export function graphiteComponent(text: string): string {
  if (SAFE.test(text)) return text;
  if (text === '') return '%';
  let out = '';
  for (const ch of text) {
    if (/^[A-Za-z0-9_-]$/.test(ch)) out += ch;
    else for (const byte of Buffer.from(ch, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * The fleet sums pushed under `<prefix>.fleet`: how many devices there are and are up or
 * flapping, every per-device counter and every per-device 0/1 state gauge summed over the devices
 * by its other labels (`fleet.faults_raised_total.<code>`, `fleet.breaker_state.latched`).
 */
export const FLEET = {
  devices: 'devices',
  up: 'devices_up',
  flapping: 'devices_flapping',
} as const;

/** Per-device gauges that are 1 for the current state and 0 for the others: their sums count devices. */
const STATE_GAUGES = new Set(['aquastop_device_status', 'aquastop_device_breaker_state', 'aquastop_device_fault_active']);

const DEVICE = 'aquastop_device_';
const MONITOR = 'aquastop_monitor_';

function labelPath(labels: MetricSample['labels']): string {
  let path = '';
  for (const name of Object.keys(labels).sort()) {
    const v = labels[name];
    if (name === 'device' || v === undefined) continue;
    path += `.${graphiteComponent(String(v))}`;
  }
  return path;
}

/** Plaintext lines (no newline) for every finite sample, all stamped `timestampS` (whole Unix seconds). */
export function formatGraphite(families: readonly MetricFamily[], options: { readonly prefix: string; readonly timestampS: number }): string[] {
  const { prefix } = options;
  const ts = Math.floor(options.timestampS);
  const lines: string[] = [];
  const line = (path: string, value: number) => {
    if (Number.isFinite(value)) lines.push(`${prefix}.${path} ${value} ${ts}`);
  };
  const fleet = new Map<string, number>();
  const add = (path: string, value: number) => {
    if (Number.isFinite(value)) fleet.set(path, (fleet.get(path) ?? 0) + value);
  };
  for (const family of families) {
    if (family.name.startsWith(DEVICE)) {
      const name = family.name.slice(DEVICE.length);
      for (const s of family.values) {
        if (s.labels.device === undefined) continue;
        const rest = labelPath(s.labels);
        line(`devices.${graphiteComponent(String(s.labels.device))}.${name}${rest}`, s.value);
        if (family.name === 'aquastop_device_up') {
          add(FLEET.devices, 1);
          add(FLEET.up, s.value);
        } else if (family.name === 'aquastop_device_flapping') add(FLEET.flapping, s.value);
        else if (family.type === 'counter' || STATE_GAUGES.has(family.name)) add(`${name}${rest}`, s.value);
      }
    } else {
      const name = family.name.startsWith(MONITOR) ? `monitor.${family.name.slice(MONITOR.length)}` : graphiteComponent(family.name.replace(/^aquastop_/, ''));
      for (const s of family.values) line(`${name}${labelPath(s.labels)}`, s.value);
    }
  }
  // A fleet without devices still says so: 0 devices, 0 up.
  for (const key of [FLEET.devices, FLEET.up, FLEET.flapping]) if (!fleet.has(key)) fleet.set(key, 0);
  for (const [path, value] of fleet) line(`fleet.${path}`, value);
  return lines;
}

/**
 * The lines waiting for carbon, at most `limit`: adding past it drops the oldest lines
 * (a push bigger than the limit keeps only its newest lines). One string per push.
 */
export class LineBuffer {
  private readonly chunks: { text: string; lines: number }[] = [];
  private count = 0;

  constructor(readonly limit: number) {
    if (!(Number.isInteger(limit) && limit >= 1)) throw new RangeError('LineBuffer limit must be a positive integer');
  }

  /** Lines waiting. */
  get size(): number {
    return this.count;
  }

  /** Queues the lines; returns how many lines were dropped to stay within the limit. */
  add(lines: readonly string[]): number {
    if (lines.length === 0) return 0;
    let dropped = 0;
    let keep = lines;
    if (keep.length > this.limit) {
      dropped += keep.length - this.limit;
      keep = keep.slice(keep.length - this.limit);
    }
    let over = this.count + keep.length - this.limit;
    while (over > 0) {
      const oldest = this.chunks[0]!;
      if (oldest.lines <= over) {
        this.chunks.shift();
        this.count -= oldest.lines;
        dropped += oldest.lines;
        over -= oldest.lines;
      } else {
        let cut = 0;
        for (let i = 0; i < over; i++) cut = oldest.text.indexOf('\n', cut) + 1;
        oldest.text = oldest.text.slice(cut);
        oldest.lines -= over;
        this.count -= over;
        dropped += over;
        over = 0;
      }
    }
    this.chunks.push({ text: `${keep.join('\n')}\n`, lines: keep.length });
    this.count += keep.length;
    return dropped;
  }

  /** Takes the oldest waiting push (its text ends with a newline), or null. */
  take(): { readonly text: string; readonly lines: number } | null {
    const chunk = this.chunks.shift();
    if (!chunk) return null;
    this.count -= chunk.lines;
    return chunk;
  }
}

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
  private outage: { since: number; dropped: number } | null = null;
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
      if (this.outage) {
        const s = ((clock.now() - this.outage.since) / 1000).toFixed(1);
        this.options.log('info', `graphite: carbon at ${this.options.url} is back after ${s} s: sending the ${this.buffer.size} line(s) that waited (${this.outage.dropped} dropped)`);
        this.outage = null;
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
      if (wasConnected && clock.now() - this.connectedAt >= this.stableMs) this.failures = 0;
      const delay = Math.round(Math.min(this.maxRetryMs, this.firstRetryMs * 2 ** this.failures) * (0.5 + 0.5 * this.random()));
      this.failures = Math.min(this.failures + 1, 30);
      if (!this.outage) {
        this.outage = { since: clock.now(), dropped: 0 };
        this.options.log('warn', `graphite: carbon at ${this.options.url} unreachable (${why}): keeping the newest ${this.buffer.limit} lines, retrying with back-off up to ${this.maxRetryMs / 1000} s`);
      }
      this.retryTimer = clock.setTimeout(() => this.connect(), delay);
    });
  }
}

/** The pusher's own figures on /metrics (and so in the push itself, under `<prefix>.monitor`). */
export function registerGraphiteMetrics(registry: Registry, pusher: GraphitePusher): void {
  new Counter({
    name: 'aquastop_monitor_graphite_lines_total',
    help: 'Graphite plaintext lines: sent (written to carbon\'s connection) or dropped (the send buffer was full while carbon was away, or the monitor stopped then).',
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
