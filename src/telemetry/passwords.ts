/**
 * Password checks for the embedded broker that never block the event loop the controllers
 * run on (`aquastop start` hosts the broker, three controllers, the monitor and the dashboard
 * in one process).
 *
 * Contract:
 * - Passwords are kept only as scrypt hashes (node:crypto defaults: N=16384, r=8, p=1, about
 *   16 MiB and 50-70 ms of CPU each), computed off the event loop by the `hasher` (default
 *   libuv's thread pool; the broker gives it the low-priority threads of hash-threads.ts): the
 *   event loop only waits.
 * - At most `concurrency` checks run at once (default 2: on the thread pool that leaves 2 of its
 *   4 threads for the file writes of the outbox and the fault memory). Up to `queueLimit` more
 *   (default 256: what two threads check in about 15 s on a small, busy machine, within the
 *   30 s a client waits for its CONNACK) wait their turn, first come first served. A longer
 *   queue means fewer refused clients coming back to retry: with 64, a flood of 600 logins made
 *   ten times as many connection attempts. Beyond it `verify` answers `busy`
 *   at once without hashing (the broker refuses that CONNECT as "server unavailable" and the
 *   client retries later). So a login flood costs at most `concurrency` threads and
 *   `queueLimit` waiting records, however large it is.
 * - Every check costs exactly one scrypt, whatever the name: an unknown user name, or a missing
 *   password, is hashed against a dummy record, so the time of an answer does not tell which
 *   names exist. Hashes are compared in constant time.
 * - In-process accounts (the broker's own one-time logins, whose passwords are 192 random bits)
 *   need no slow hash: `inProcess` checks them with a constant-time compare of SHA-256 digests,
 *   so the process's own telemetry and monitor get in even while a flood fills the queue.
 */
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { Account } from './access.js';

/** Turns a password and a salt into a 32-byte key off the event loop. */
export type PasswordHasher = (password: Buffer, salt: Buffer) => Promise<Buffer>;

const KEY_BYTES = 32;

export const scryptHasher: PasswordHasher = (password, salt) =>
  new Promise((resolve, reject) => scrypt(password, salt, KEY_BYTES, (err, key) => (err ? reject(err) : resolve(key))));

export type Verdict = { readonly ok: true; readonly role: Account['role'] } | { readonly ok: false; readonly reason: 'bad-credentials' | 'busy' | 'gone' };

export interface PasswordBookOptions {
  /** Checks hashing at once (default 2). */
  readonly concurrency?: number;
  /** Checks waiting for a turn before new ones are refused `busy` (default 256). */
  readonly queueLimit?: number;
  /** The slow hash (default scrypt on the thread pool); tests count its calls. */
  readonly hasher?: PasswordHasher;
}

export const PASSWORD_CHECK_DEFAULTS = { concurrency: 2, queueLimit: 256 } as const;

interface StoredAccount {
  readonly role: Account['role'];
  readonly salt: Buffer;
  readonly hash: Buffer;
}

const toBuffer = (password: Buffer | string | undefined): Buffer =>
  password === undefined ? Buffer.alloc(0) : typeof password === 'string' ? Buffer.from(password, 'utf8') : password;

const digest = (b: Buffer) => createHash('sha256').update(b).digest();

export class PasswordBook {
  private readonly accounts = new Map<string, StoredAccount>();
  private readonly own = new Map<string, { readonly role: Account['role']; readonly digest: Buffer }>();
  private readonly hasher: PasswordHasher;
  private readonly concurrency: number;
  private readonly queueLimit: number;
  private readonly waiting: (() => void)[] = [];
  private running = 0;
  private dummy: StoredAccount | null = null;

  private constructor(options: PasswordBookOptions) {
    this.hasher = options.hasher ?? scryptHasher;
    this.concurrency = options.concurrency ?? PASSWORD_CHECK_DEFAULTS.concurrency;
    this.queueLimit = options.queueLimit ?? PASSWORD_CHECK_DEFAULTS.queueLimit;
    if (!(this.concurrency >= 1) || !(this.queueLimit >= 0)) throw new Error('password checks need a concurrency of at least 1 and a queue limit of at least 0');
  }

  /** Hashes every account (on the thread pool, `concurrency` at a time) and a dummy record for unknown names. */
  static async create(accounts: readonly Account[], inProcess: readonly Account[], options: PasswordBookOptions = {}): Promise<PasswordBook> {
    const book = new PasswordBook(options);
    const hashOne = async (password: string): Promise<{ salt: Buffer; hash: Buffer }> => {
      const salt = randomBytes(16);
      return { salt, hash: await book.limited(() => book.hasher(Buffer.from(password, 'utf8'), salt)) };
    };
    // Made like a real record, so a check against it costs the same.
    book.dummy = { role: 'viewer', ...(await hashOne(randomBytes(24).toString('hex'))) };
    const hashed = await Promise.all(accounts.map(async (a) => ({ a, h: await hashOne(a.password) })));
    for (const { a, h } of hashed) book.accounts.set(a.username, { role: a.role, ...h });
    for (const a of inProcess) book.own.set(a.username, { role: a.role, digest: digest(Buffer.from(a.password, 'utf8')) });
    return book;
  }

  /** The role of an in-process account when the password matches, else null (never hashes slowly). */
  inProcess(username: string, password: Buffer | string | undefined): Account['role'] | null {
    const own = this.own.get(username);
    if (!own || password === undefined) return null;
    return timingSafeEqual(digest(toBuffer(password)), own.digest) ? own.role : null;
  }

  /**
   * Checks a login with exactly one slow hash; `busy` (no hash) when the queue is full.
   * `wanted` is asked when the check's turn comes: a client that hung up meanwhile is answered
   * `gone` without hashing, so clients that give up free their place.
   */
  async verify(username: string, password: Buffer | string | undefined, wanted: () => boolean = () => true): Promise<Verdict> {
    if (this.running >= this.concurrency && this.waiting.length >= this.queueLimit) return { ok: false, reason: 'busy' };
    const known = this.accounts.get(username);
    const record = known ?? this.dummy!;
    const hash = await this.limited(async () => (wanted() ? this.hasher(toBuffer(password), record.salt) : null));
    if (hash === null) return { ok: false, reason: 'gone' };
    const match = timingSafeEqual(hash, record.hash);
    return match && known && password !== undefined ? { ok: true, role: known.role } : { ok: false, reason: 'bad-credentials' };
  }

  /** Checks hashing or waiting now (for logs and the bench). */
  get load(): { readonly running: number; readonly waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  private async limited<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return await work();
    } finally {
      // The turn passes straight to the next waiter, so `running` never drops in between.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
