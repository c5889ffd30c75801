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
 *   its keepalive runs out, then sends that connection's last will).
 * Memory is bounded: a held connection stops reading (pause), so the kernel's socket buffers
 * push back on the sender; at most `maxConnections` pairs are kept (past it new ones are closed).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export type CutMode = 'reset' | 'blackhole';

interface Pair {
  readonly client: Socket;
  upstream: Socket | null;
}

export class ChaosProxy {
  private server: Server | null = null;
  private readonly pairs = new Set<Pair>();
  /** Stranded pairs: the device's side closed, the broker's side open and silent until the broker or close() ends it (at most maxConnections). */
  private readonly stranded = new Set<Pair>();
  private mode: CutMode | null = null;
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
    const pair: Pair = { client, upstream: null };
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
    this.forward(pair.client, upstream);
    this.forward(upstream, pair.client);
    pair.client.resume();
  }

  private forward(from: Socket, to: Socket): void {
    from.on('data', (chunk: Buffer) => {
      if (!to.write(chunk)) from.pause();
    });
    to.on('drain', () => {
      if (this.mode === null) from.resume();
    });
    from.once('end', () => to.end());
  }

  private drop(pair: Pair, counted: boolean): void {
    if (!this.pairs.delete(pair)) return;
    if (counted) this.stats.reset++;
    pair.client.destroy();
    pair.upstream?.destroy();
  }
}
