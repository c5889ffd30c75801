/**
 * Failed logins on the embedded broker, counted per client address and per user name, with an
 * exponential back-off: the broker asks `retryAfter` before it checks a password, and refuses
 * without checking while the address is backing off, or while the user name is backing off and
 * this address has failed as that name itself.
 *
 * Contract (defaults in LOGIN_THROTTLE_DEFAULTS):
 * - Each key (an address, a user name) has `freeFailures` failed logins free (5). Failure number
 *   `freeFailures + k` (k >= 1) blocks the key for `min(maxMs, baseMs * 2^(k-1))` from that
 *   failure: 1 s, 2 s, 4 s, ... up to 5 min.
 * - A user name's back-off never locks the account out: an address with no failed login as that
 *   name of its own (kept per name and address, same `forgetMs` and `maxEntries`) still gets its
 *   password checked (one hash, bounded by the check queue of passwords.ts), so an attacker
 *   failing as `operator` from one address cannot keep the real operator out from another.
 *   Distributed guessing stays slow: each address gets at most one guess at a name per window of
 *   the name's back-off (and its own 5 free failures overall).
 * - Attempts refused during a back-off are not checked and do not count: a client that retries
 *   every second gets in once the window has passed and it sends the right password.
 * - A successful login clears its user name's record and that name's record for this address,
 *   never the address's own (one valid account
 *   must not buy an attacker on the same address more guesses at the others).
 * - User names are counted whether or not they exist, so the back-off does not tell which do.
 * - A key whose last failure is `forgetMs` old (15 min) and which is not backing off is forgotten.
 * - Each map holds at most `maxEntries` keys (10,000). When full, forgotten keys are swept; if
 *   none, the key touched least recently is evicted (Map order, refreshed on every failure).
 *   Eviction can only lift a back-off early, never refuse a client that did nothing.
 * - IPv6 clients are counted per /64 (one host commonly holds a whole /64); an IPv4-mapped IPv6
 *   address counts as its IPv4 address.
 *
 * Time comes from `now()` (injected), so tests drive it.
 */

export interface LoginThrottleOptions {
  readonly now: () => number;
  readonly freeFailures?: number;
  readonly baseMs?: number;
  readonly maxMs?: number;
  readonly forgetMs?: number;
  readonly maxEntries?: number;
}

export const LOGIN_THROTTLE_DEFAULTS = { freeFailures: 5, baseMs: 1_000, maxMs: 5 * 60_000, forgetMs: 15 * 60_000, maxEntries: 10_000 } as const;

interface Entry {
  failures: number;
  lastFailure: number;
  blockedUntil: number;
}

/** The key an address is counted under: IPv4 as it is, IPv6 by its /64. */
export function addressKey(address: string | undefined): string {
  if (!address) return 'unknown';
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!address.includes(':')) return address;
  const bare = address.split('%')[0]!.toLowerCase();
  const [head, tail] = bare.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

function pairKey(address: string | undefined, username: string): string {
  return `${addressKey(address)}\u0000${username}`;
}

class BackoffMap {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly o: Required<LoginThrottleOptions>) {}

  get size(): number {
    return this.entries.size;
  }

  /** True while the key has failures not yet forgotten (nor evicted). */
  remembers(key: string, now: number): boolean {
    const e = this.entries.get(key);
    return e !== undefined && (e.blockedUntil > now || now - e.lastFailure < this.o.forgetMs);
  }

  retryAfter(key: string, now: number): number {
    const e = this.entries.get(key);
    return e ? Math.max(0, e.blockedUntil - now) : 0;
  }

  failed(key: string, now: number): Entry {
    let e = this.entries.get(key);
    if (e) this.entries.delete(key);
    else {
      this.makeRoom(now);
      e = { failures: 0, lastFailure: now, blockedUntil: 0 };
    }
    e.failures++;
    e.lastFailure = now;
    const over = e.failures - this.o.freeFailures;
    if (over > 0) e.blockedUntil = now + Math.min(this.o.maxMs, this.o.baseMs * 2 ** Math.min(over - 1, 30));
    this.entries.set(key, e);
    return e;
  }

  clear(key: string): void {
    this.entries.delete(key);
  }

  private makeRoom(now: number): void {
    if (this.entries.size < this.o.maxEntries) return;
    for (const [key, e] of this.entries) {
      if (e.blockedUntil <= now && now - e.lastFailure >= this.o.forgetMs) this.entries.delete(key);
    }
    if (this.entries.size < this.o.maxEntries) return;
    const oldest = this.entries.keys().next();
    if (!oldest.done) this.entries.delete(oldest.value);
  }
}

export class LoginThrottle {
  private readonly o: Required<LoginThrottleOptions>;
  private readonly addresses: BackoffMap;
  private readonly names: BackoffMap;
  /** Failures per (user name, address): which addresses a name's back-off refuses. */
  private readonly pairs: BackoffMap;

  constructor(options: LoginThrottleOptions) {
    this.o = { ...LOGIN_THROTTLE_DEFAULTS, ...options };
    this.addresses = new BackoffMap(this.o);
    this.names = new BackoffMap(this.o);
    this.pairs = new BackoffMap(this.o);
  }

  /** Milliseconds before this address and user name may try again; 0 when they may try now. */
  retryAfter(address: string | undefined, username: string): number {
    const now = this.o.now();
    const own = this.addresses.retryAfter(addressKey(address), now);
    return this.pairs.remembers(pairKey(address, username), now) ? Math.max(own, this.names.retryAfter(username, now)) : own;
  }

  /** Counts a failed login; returns the back-off it started (0 while failures are still free). */
  failed(address: string | undefined, username: string): number {
    const now = this.o.now();
    const a = this.addresses.failed(addressKey(address), now);
    const n = this.names.failed(username, now);
    this.pairs.failed(pairKey(address, username), now);
    return Math.max(a.blockedUntil, n.blockedUntil, now) - now;
  }

  succeeded(address: string | undefined, username: string): void {
    this.names.clear(username);
    this.pairs.clear(pairKey(address, username));
  }

  /** Keys held now, per map (never above maxEntries each). */
  get sizes(): { readonly addresses: number; readonly names: number; readonly pairs: number } {
    return { addresses: this.addresses.size, names: this.names.size, pairs: this.pairs.size };
  }
}
