/**
 * Connection-level limits of the embedded broker, applied in front of aedes, which would
 * otherwise buffer a packet of any size (up to MQTT's 256 MiB) before it checks anything and
 * queue whatever a client sends while its login is being checked.
 *
 * Contract (defaults in CONNECTION_LIMITS):
 * - At most `maxConnections` connections at once (1,000), and `maxPerAddress` from one address
 *   (64; IPv6 per /64, as in login-throttle.ts). One more is closed at once, before a byte is read.
 * - A connection is pending until its whole CONNECT has arrived. Pending ones have their own,
 *   smaller caps, so half-open connections (a slowloris sending one byte and waiting) never crowd
 *   out logged-in or new clients: at most `maxPendingPerAddress` per address (8; one more is
 *   closed at once) and `maxPending` in total (64; one more closes the oldest pending connection,
 *   so a new client always gets its turn), and each must complete its CONNECT within
 *   `connectDeadlineMs` (5 s; ours sends it at once, a slow link takes well under a second), or
 *   it is closed. A connection at the total cap closes the oldest pending one too, if there is
 *   one. After the CONNECT, a login waits at most for the check queue of passwords.ts (256, each
 *   answered within about 15 s), so half-open and queued connections together hold at most about
 *   a third of the 1,000.
 * - Every packet's fixed header is read as it arrives: the first packet must be a CONNECT of at
 *   most `maxConnectBytes` (16 KiB: a client id, an account and a will; ours is about 200
 *   bytes), every later one at most `maxPacketBytes` (128 KiB: twice the largest payload the
 *   broker forwards). A packet above its limit, a malformed length or a first packet that is not
 *   a CONNECT closes the connection when its header arrives, so its body is never buffered.
 * - Until the broker calls `admit()` (the login was accepted), only the CONNECT is passed on;
 *   later bytes wait in the socket (TCP back-pressure), so a client whose login is queued holds
 *   at most one CONNECT and one socket chunk in memory.
 */
import { Duplex } from 'node:stream';
import { addressKey } from './login-throttle.js';

export const CONNECTION_LIMITS = {
  maxConnections: 1_000,
  maxPerAddress: 64,
  maxPending: 64,
  maxPendingPerAddress: 8,
  connectDeadlineMs: 5_000,
  maxConnectBytes: 16 * 1024,
  maxPacketBytes: 128 * 1024,
} as const;

export type ConnectionLimitOptions = { readonly [K in keyof typeof CONNECTION_LIMITS]?: number };

/** The timer the CONNECT deadline runs on (injected, so tests drive it). */
export interface DeadlineTimers {
  setTimeout(fire: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: DeadlineTimers = {
  setTimeout: (fire, ms) => setTimeout(fire, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** An admitted connection: `connected` once its CONNECT is in, `release` when it closes. */
export interface Admission {
  readonly release: () => void;
  readonly connected: () => void;
}

interface Pending {
  readonly key: string;
  readonly close: (why: string) => void;
  readonly timer: unknown;
  release?: () => void;
}

const CONNECT = 1;

/** Counts open connections in total and per address, and those still waiting for their CONNECT. */
export class ConnectionCounter {
  private total = 0;
  private readonly perAddress = new Map<string, number>();
  /** Oldest first (insertion order). */
  private readonly pending = new Set<Pending>();
  private readonly pendingPerAddress = new Map<string, number>();

  constructor(
    private readonly limits: Required<ConnectionLimitOptions>,
    private readonly timers: DeadlineTimers = realTimers,
  ) {}

  /**
   * Admission when the connection may stay, else a reason to close it. `close` ends the
   * connection (its `release` still follows): called at the CONNECT deadline, or when a newer
   * connection takes the place of this one while it is the oldest pending.
   */
  admit(address: string | undefined, close: (why: string) => void): Admission | { refused: string } {
    const key = addressKey(address);
    const mine = this.perAddress.get(key) ?? 0;
    const minePending = this.pendingPerAddress.get(key) ?? 0;
    if (mine >= this.limits.maxPerAddress) return { refused: `already ${mine} connections from ${key} (at most ${this.limits.maxPerAddress} per address)` };
    if (minePending >= this.limits.maxPendingPerAddress)
      return { refused: `already ${minePending} connections from ${key} without a complete CONNECT (at most ${this.limits.maxPendingPerAddress} per address)` };
    if (this.total >= this.limits.maxConnections && !this.evictOldestPending(`${this.total} connections (at most ${this.limits.maxConnections}) and a new one arrived`)) {
      return { refused: `already ${this.total} connections (at most ${this.limits.maxConnections})` };
    }
    if (this.pending.size >= this.limits.maxPending)
      this.evictOldestPending(`${this.pending.size} connections without a complete CONNECT (at most ${this.limits.maxPending}) and a new one arrived`);
    this.total++;
    this.perAddress.set(key, mine + 1);
    this.pendingPerAddress.set(key, minePending + 1);
    const deadline = this.limits.connectDeadlineMs;
    const entry: Pending = { key, close, timer: this.timers.setTimeout(() => this.evict(entry, `no complete CONNECT within ${deadline / 1000} s`), deadline) };
    this.pending.add(entry);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.settle(entry);
      this.total--;
      const left = (this.perAddress.get(key) ?? 1) - 1;
      if (left > 0) this.perAddress.set(key, left);
      else this.perAddress.delete(key);
    };
    entry.release = release;
    return { release, connected: () => this.settle(entry) };
  }

  /** Connections whose CONNECT has not arrived in full. */
  get waitingForConnect(): number {
    return this.pending.size;
  }

  private evictOldestPending(why: string): boolean {
    const oldest = this.pending.values().next();
    if (oldest.done) return false;
    this.evict(oldest.value, `the oldest of ${why}`);
    return true;
  }

  /** Closes a pending connection and frees its places at once (its own close event comes later). */
  private evict(entry: Pending, why: string): void {
    if (!this.pending.has(entry)) return;
    entry.release?.();
    entry.close(why);
  }

  /** No longer pending: the CONNECT is in, or the connection is gone. */
  private settle(entry: Pending): void {
    if (!this.pending.delete(entry)) return;
    this.timers.clearTimeout(entry.timer);
    const left = (this.pendingPerAddress.get(entry.key) ?? 1) - 1;
    if (left > 0) this.pendingPerAddress.set(entry.key, left);
    else this.pendingPerAddress.delete(entry.key);
  }

  get open(): number {
    return this.total;
  }
}

/** Why a guarded connection was closed. */
export class PacketRefused extends Error {
  readonly packetRefused = true;
}

/**
 * The stream aedes reads instead of the socket: the same bytes, with every packet's size
 * checked at its header and nothing after the CONNECT passed on before `admit()`. Emits
 * `connectPacket` once the whole CONNECT has arrived.
 */
export class GuardedConnection extends Duplex {
  private readonly socket: Duplex;
  private readonly limits: Required<ConnectionLimitOptions>;
  private admitted = false;
  private held: Buffer | null = null;
  private frames = 0;
  /** Parser state: reading a header byte, the remaining-length bytes, or skipping a body. */
  private state: 'header' | 'length' | 'body' = 'header';
  private type = 0;
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private bodyLeft = 0;

  constructor(socket: Duplex, limits: Required<ConnectionLimitOptions>) {
    super({ allowHalfOpen: false });
    this.socket = socket;
    this.limits = limits;
    socket.on('data', (chunk: Buffer) => {
      if (!this.feed(chunk)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => this.destroy());
  }

  /** The login was accepted: pass on what the client sent after its CONNECT. */
  admit(): void {
    if (this.admitted) return;
    this.admitted = true;
    const held = this.held;
    this.held = null;
    if (held && !this.feed(held)) return;
    this.socket.resume();
  }

  override _read(): void {
    if (!this.waiting) this.socket.resume();
  }

  /** The CONNECT went through and the login is not accepted (yet): read nothing more. */
  private get waiting(): boolean {
    return !this.admitted && this.frames > 0;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.socket.destroyed) return done();
    if (this.socket.write(chunk)) done();
    else this.socket.once('drain', () => done());
  }

  override _final(done: (err?: Error | null) => void): void {
    this.socket.end(() => done());
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.held = null;
    this.socket.destroy();
    done(err);
  }

  /** Checks and passes on a chunk; false when reading must pause (held, back-pressure or closed). */
  private feed(chunk: Buffer): boolean {
    if (this.destroyed) return false;
    if (this.waiting) {
      this.held = this.held ? Buffer.concat([this.held, chunk]) : chunk;
      return false;
    }
    let i = 0;
    while (i < chunk.length) {
      if (this.state === 'header') {
        this.type = chunk[i]! >> 4;
        if (this.frames === 0 && this.type !== CONNECT) return this.refuse('the first packet is not a CONNECT');
        this.state = 'length';
        this.length = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
        i++;
      } else if (this.state === 'length') {
        const b = chunk[i++]!;
        this.length += (b & 0x7f) * this.multiplier;
        this.multiplier *= 128;
        this.lengthBytes++;
        if (b & 0x80) {
          if (this.lengthBytes === 4) return this.refuse('malformed packet length');
          continue;
        }
        const first = this.frames === 0;
        const max = first ? this.limits.maxConnectBytes : this.limits.maxPacketBytes;
        if (this.length > max) return this.refuse(`${first ? 'CONNECT' : 'packet'} of ${this.length} bytes (at most ${max})`);
        this.bodyLeft = this.length;
        this.state = 'body';
        if (this.bodyLeft === 0 && this.endFrame(chunk, i)) return false;
      } else {
        const take = Math.min(this.bodyLeft, chunk.length - i);
        i += take;
        this.bodyLeft -= take;
        if (this.bodyLeft === 0 && this.endFrame(chunk, i)) return false;
      }
    }
    return this.push(chunk);
  }

  /** A packet ended at `end` of `chunk`; true when the rest must wait for `admit()` (then already passed on up to `end`). */
  private endFrame(chunk: Buffer, end: number): boolean {
    this.frames++;
    this.state = 'header';
    if (this.frames === 1) this.emit('connectPacket');
    if (this.admitted || this.frames > 1) return false;
    this.push(chunk.subarray(0, end));
    if (end < chunk.length) this.held = chunk.subarray(end);
    // Until the login is through, read nothing more.
    return true;
  }

  private refuse(why: string): false {
    this.destroy(new PacketRefused(why));
    return false;
  }
}
