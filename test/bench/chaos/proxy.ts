/**
 * A TCP proxy on loopback between one device and the broker, that the chaos bench can cut:
 * - `cut('reset')`: every connection through it is closed at once and new ones are closed as
 *   they come (a router that answers with resets: the broker sees the client go and sends its
 *   last will);
 * - `cut('blackhole')`: connections stay open but nothing moves either way, and new ones wait
 *   (a cable pulled somewhere in between: each side finds out only by its own keepalive);
 * - `restore()`: traffic flows again (what was held is delivered late, as TCP would);
 * - `strand()`: the connections open now go silent for good while new ones pass (a half-open
 *   connection: the device rebooted or roamed, the broker still holds its old connection until
 *   its keepalive runs out, then sends that connection's last will);
 * - `delayUpstream(fn)`: each chunk from the device to the broker is held `fn()` ms (a slow,
 *   jittery path), in order (a chunk never overtakes an earlier one, as on one TCP connection);
 *   `delayUpstream(null)` ends it for new chunks.
 * Memory is bounded: a held connection stops reading (pause), so the kernel's socket buffers
 * push back on the sender, and so does a delayed one past 1 MiB in flight; at most
 * `maxConnections` pairs are kept (past it new ones are closed).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export type CutMode = 'reset' | 'blackhole';

interface Pair {
  readonly client: Socket;
  upstream: Socket | null;
  /** Device-to-broker chunks held by the delay, in order, with when each is due, and their bytes. */
  readonly held: Array<{ readonly due: number; readonly chunk: Buffer }>;
  delayedBytes: number;
  heldTimer: ReturnType<typeof setTimeout> | null;
}

/** Most bytes held by the delay per connection before the device's side stops being read. */
const MAX_DELAYED_BYTES = 1 << 20;

export class ChaosProxy {
  private server: Server | null = null;
  private readonly pairs = new Set<Pair>();
  /** Stranded pairs: the device's side closed, the broker's side open and silent until the broker or close() ends it (at most maxConnections). */
  private readonly stranded = new Set<Pair>();
  private mode: CutMode | null = null;
  private delay: (() => number) | null = null;
  port = 0;
  /** Connections accepted, and closed because the proxy was cut (reset) or full. */
  readonly stats = { accepted: 0, reset: 0, refusedFull: 0 };

  constructor(
    private readonly targetPort: number,
    private readonly maxConnections = 16,
  ) {}

  async listen(): Promise<number> {
    const server = createServer((client) => this.accept(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const a = server.address();
    this.port = typeof a === 'object' && a ? a.port : 0;
    return this.port;
  }

  get cut(): CutMode | null {
    return this.mode;
  }

  /** Cuts the path; a second cut changes its mode. */
  cutOff(mode: CutMode): void {
    this.mode = mode;
    for (const p of this.pairs) {
      if (mode === 'reset') this.drop(p, true);
      else {
        p.client.pause();
        p.upstream?.pause();
      }
    }
  }

  /** Resolves once the broker has closed every connection stranded now (a session takeover, or its keepalive). */
  strand(): Promise<void> {
    const closed: Promise<void>[] = [];
    for (const p of this.pairs) {
      this.pairs.delete(p);
      const upstream = p.upstream;
      // Nothing the device's side does (it dies, its socket closes) may reach the broker any more.
      for (const event of ['data', 'end', 'drain', 'close']) p.client.removeAllListeners(event);
      p.client.destroy();
      if (!upstream || this.stranded.size >= this.maxConnections) {
        upstream?.destroy();
        continue;
      }
      for (const event of ['data', 'end', 'drain', 'close']) upstream.removeAllListeners(event);
      upstream.pause();
      this.stranded.add(p);
      closed.push(new Promise((resolve) => upstream.once('close', () => resolve(void this.stranded.delete(p)))));
    }
    return Promise.all(closed).then(() => undefined);
  }

  /** Holds each device-to-broker chunk `delay()` ms from now on (null: no more delay). */
  delayUpstream(delay: (() => number) | null): void {
    this.delay = delay;
  }

  restore(): void {
    this.mode = null;
    for (const p of this.pairs) {
      if (p.upstream === null) this.open(p);
      else {
        p.client.resume();
        p.upstream.resume();
      }
    }
  }

  async close(): Promise<void> {
    for (const p of this.pairs) this.drop(p, false);
    for (const p of this.stranded) p.upstream?.destroy();
    this.stranded.clear();
    const s = this.server;
    this.server = null;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private accept(client: Socket): void {
    this.stats.accepted++;
    client.on('error', () => undefined);
    if (this.mode === 'reset') {
      this.stats.reset++;
      client.destroy();
      return;
    }
    if (this.pairs.size >= this.maxConnections) {
      this.stats.refusedFull++;
      client.destroy();
      return;
    }
    const pair: Pair = { client, upstream: null, held: [], delayedBytes: 0, heldTimer: null };
    this.pairs.add(pair);
    client.once('close', () => this.drop(pair, false));
    if (this.mode === 'blackhole') client.pause();
    else this.open(pair);
  }

  /** Connects the upstream side and forwards both ways, with back-pressure and cut-aware resume. */
  private open(pair: Pair): void {
    const upstream = connect(this.targetPort, '127.0.0.1');
    pair.upstream = upstream;
    upstream.on('error', () => undefined);
    upstream.once('close', () => this.drop(pair, false));
    this.forward(pair.client, upstream, pair);
    this.forward(upstream, pair.client);
    pair.client.resume();
  }

  /** Forwards `from` to `to`; with `delayed`, through the upstream delay when one is set or chunks are still held. */
  private forward(from: Socket, to: Socket, delayed?: Pair): void {
    from.on('data', (chunk: Buffer) => {
      if (delayed && (this.delay !== null || delayed.delayedBytes > 0)) return this.hold(delayed, from, to, chunk);
      if (!to.write(chunk)) from.pause();
    });
    to.on('drain', () => {
      if (this.mode === null) from.resume();
    });
    from.once('end', () => to.end());
  }

  private hold(pair: Pair, from: Socket, to: Socket, chunk: Buffer): void {
    const now = Date.now();
    const due = Math.max(pair.held.at(-1)?.due ?? 0, now + Math.max(0, this.delay?.() ?? 0));
    pair.held.push({ due, chunk });
    pair.delayedBytes += chunk.length;
    if (pair.delayedBytes > MAX_DELAYED_BYTES) from.pause();
    if (pair.heldTimer === null) this.release(pair, from, to);
  }

  /** Writes the held chunks that are due, in order, and waits for the next one (one timer per connection). */
  private release(pair: Pair, from: Socket, to: Socket): void {
    pair.heldTimer = null;
    while (pair.held.length > 0 && pair.held[0]!.due <= Date.now()) {
      const { chunk } = pair.held.shift()!;
      pair.delayedBytes -= chunk.length;
      if (!to.destroyed) to.write(chunk);
    }
    if (pair.delayedBytes <= MAX_DELAYED_BYTES && this.mode === null && this.pairs.has(pair)) from.resume();
    const next = pair.held[0];
    if (next) pair.heldTimer = setTimeout(() => this.release(pair, from, to), next.due - Date.now());
  }

  private drop(pair: Pair, counted: boolean): void {
    if (!this.pairs.delete(pair)) return;
    if (pair.heldTimer !== null) clearTimeout(pair.heldTimer);
    pair.heldTimer = null;
    pair.held.length = 0;
    pair.delayedBytes = 0;
    if (counted) this.stats.reset++;
    pair.client.destroy();
    pair.upstream?.destroy();
  }
}
