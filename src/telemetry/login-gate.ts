/**
 * Everything the embedded broker does with a connection before the client is in: connection
 * limits and the packet guard (connection-guard.ts), the login back-off (login-throttle.ts)
 * and the password check off the event loop (passwords.ts, on the low-priority threads of
 * hash-threads.ts).
 *
 * Order for a login with a user name: in-process account (cheap compare, never throttled) ->
 * back-off of the address, or of the user name for an address that failed as it (refused, not
 * checked: CONNACK 5 "not authorized"; a clean address is checked, so nobody can lock an account out)
 * -> the check queue full (refused: CONNACK 3 "server unavailable") -> one scrypt -> accepted,
 * or refused as a bad user name or password (CONNACK 4), which counts towards the back-off.
 *
 * Log lines about refused logins are bounded: at most LOG_BURST per LOG_WINDOW_MS, then one
 * line saying how many more were refused in that window.
 */
import type { Duplex } from 'node:stream';
import type { Account } from './access.js';
import { CONNECTION_LIMITS, ConnectionCounter, GuardedConnection, type ConnectionLimitOptions, type DeadlineTimers } from './connection-guard.js';
import { addressKey, LoginThrottle, type LoginThrottleOptions } from './login-throttle.js';
import { startHashThreads, type HashThreads } from './hash-threads.js';
import { PASSWORD_CHECK_DEFAULTS, PasswordBook, type PasswordBookOptions } from './passwords.js';

export interface LoginGateOptions {
  readonly accounts: readonly Account[];
  /** The broker's own one-time accounts (192-bit random passwords). */
  readonly inProcess: readonly Account[];
  readonly log: (line: string) => void;
  readonly now?: () => number;
  readonly passwords?: PasswordBookOptions;
  readonly throttle?: Omit<LoginThrottleOptions, 'now'>;
  readonly connections?: ConnectionLimitOptions;
  /** The timer of the CONNECT deadline (connection-guard.ts); default Node's. */
  readonly timers?: DeadlineTimers;
}

export type LoginResult = { readonly ok: true; readonly role: Account['role'] } | { readonly ok: false; readonly returnCode: 3 | 4 | 5 };

const LOG_BURST = 20;
/** New connections handed to aedes per turn of the event loop. */
const ARRIVALS_PER_TURN = 8;
const LOG_WINDOW_MS = 10_000;

interface Conn {
  readonly address: string | undefined;
  readonly guard: GuardedConnection;
}

export class LoginGate {
  readonly book: PasswordBook;
  readonly throttle: LoginThrottle;
  readonly connections: ConnectionCounter;
  private readonly limits: Required<ConnectionLimitOptions>;
  private readonly conns = new WeakMap<object, Conn>();
  private readonly log: (line: string) => void;
  private readonly now: () => number;
  private logWindow = { start: -Infinity, lines: 0, dropped: 0 };
  private threads: HashThreads | null = null;
  private readonly arriving: (() => void)[] = [];
  private draining = false;

  private constructor(book: PasswordBook, options: LoginGateOptions) {
    this.book = book;
    this.log = options.log;
    this.now = options.now ?? Date.now;
    this.throttle = new LoginThrottle({ ...options.throttle, now: this.now });
    this.limits = { ...CONNECTION_LIMITS, ...options.connections };
    this.connections = new ConnectionCounter(this.limits, options.timers);
  }

  /** The largest packet after the CONNECT (a WebSocket frame may hold one, plus its fixed header). */
  get maxPacketBytes(): number {
    return this.limits.maxPacketBytes;
  }

  /** Hashes on low-priority threads of their own (hash-threads.ts) unless `passwords.hasher` is given. */
  static async create(options: LoginGateOptions): Promise<LoginGate> {
    const threads = options.passwords?.hasher ? null : startHashThreads(options.passwords?.concurrency ?? PASSWORD_CHECK_DEFAULTS.concurrency);
    try {
      const book = await PasswordBook.create(options.accounts, options.inProcess, { ...options.passwords, ...(threads ? { hasher: threads.hasher } : {}) });
      const gate = new LoginGate(book, options);
      gate.threads = threads;
      return gate;
    } catch (err) {
      await threads?.close();
      throw err;
    }
  }

  /** Ends the hashing threads; later logins with a password are refused. */
  async close(): Promise<void> {
    await this.threads?.close();
  }

  /**
   * Wraps aedes' `handle`: counts the connection, or closes it at once; then hands it to aedes
   * behind the packet guard, at most ARRIVALS_PER_TURN per turn of the event loop, so a burst
   * of hundreds of connections arriving together never holds the loop for all of them at once
   * (the waiting ones sit in the kernel's buffers; at most `maxConnections` wait).
   */
  wrap(handle: (conn: Duplex, req?: never) => unknown): (conn: Duplex, req?: never) => void {
    return (conn, req) => {
      // A TCP or TLS socket has the address; a WebSocket stream comes with its HTTP request.
      const address = (conn as { remoteAddress?: string }).remoteAddress ?? (req as { socket?: { remoteAddress?: string } } | undefined)?.socket?.remoteAddress;
      const admitted = this.connections.admit(address, (why) => {
        this.note(`closed a connection from ${addressKey(address)}: ${why}`);
        conn.destroy();
      });
      if ('refused' in admitted) {
        this.note(`closed a connection from ${addressKey(address)}: ${admitted.refused}`);
        conn.destroy();
        return;
      }
      conn.once('close', admitted.release);
      conn.on('error', () => undefined);
      this.arriving.push(() => {
        if (conn.destroyed) return;
        const guard = new GuardedConnection(conn, this.limits);
        guard.once('close', admitted.release);
        guard.once('connectPacket', admitted.connected);
        guard.on('error', (err: Error & { packetRefused?: boolean }) => {
          if (err.packetRefused) this.note(`closed a connection from ${addressKey(address)}: ${err.message}`);
        });
        this.conns.set(guard, { address, guard });
        handle(guard, req);
      });
      if (!this.draining) {
        this.draining = true;
        setImmediate(this.drain);
      }
    };
  }

  private readonly drain = (): void => {
    for (let i = 0; i < ARRIVALS_PER_TURN && this.arriving.length > 0; i++) this.arriving.shift()!();
    if (this.arriving.length > 0) setImmediate(this.drain);
    else this.draining = false;
  };

  /** Lets the bytes after an accepted CONNECT through (a login accepted without `login`, e.g. anonymous on loopback). */
  admit(conn: object): void {
    this.conns.get(conn)?.guard.admit();
  }

  /** Checks a login with a user name; `conn` is the client's connection as aedes holds it. */
  async login(conn: object, clientId: string, username: string, password: Buffer | undefined, closed: () => boolean): Promise<LoginResult> {
    const c = this.conns.get(conn);
    const from = addressKey(c?.address);
    const own = this.book.inProcess(username, password);
    if (own !== null) {
      c?.guard.admit();
      return { ok: true, role: own };
    }
    const wait = this.throttle.retryAfter(c?.address, username);
    if (wait > 0) {
      this.note(`refused login "${username}" from ${from} (client ${clientId}) without checking: too many failed logins, try again in ${Math.ceil(wait / 1000)} s`);
      return { ok: false, returnCode: 5 };
    }
    const verdict = await this.book
      .verify(username, password, () => !closed())
      .catch((err: unknown) => {
        this.note(`refused login "${username}": the password check failed (${err instanceof Error ? err.message : String(err)})`);
        return { ok: false, reason: 'gone' } as const;
      });
    if (verdict.ok) {
      this.throttle.succeeded(c?.address, username);
      c?.guard.admit();
      return { ok: true, role: verdict.role };
    }
    if (verdict.reason === 'busy') {
      this.note(`refused login "${username}" from ${from}: ${this.book.load.waiting} logins already wait for a check (server busy, retry later)`);
      return { ok: false, returnCode: 3 };
    }
    if (verdict.reason === 'gone') return { ok: false, returnCode: 3 };
    const backoff = this.throttle.failed(c?.address, username);
    this.note(
      `refused login "${username}": bad user name or password${backoff > 0 ? `; back-off: logins from ${from}, and as "${username}" from addresses that failed as it, refused for ${Math.ceil(backoff / 1000)} s` : ''}`,
    );
    return { ok: false, returnCode: 4 };
  }

  private note(line: string): void {
    const now = this.now();
    if (now - this.logWindow.start >= LOG_WINDOW_MS) {
      if (this.logWindow.dropped > 0) this.log(`... and ${this.logWindow.dropped} more refused logins or connections in ${LOG_WINDOW_MS / 1000} s`);
      this.logWindow = { start: now, lines: 0, dropped: 0 };
    }
    if (this.logWindow.lines++ < LOG_BURST) this.log(line);
    else this.logWindow.dropped++;
  }
}
