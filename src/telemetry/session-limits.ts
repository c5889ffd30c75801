/**
 * Bounds on the sessions the embedded broker (aedes, in-memory persistence) keeps for clients
 * that connect with clean session off, which aedes would otherwise keep forever, with their
 * subscriptions and up to MAX_QUEUED_MESSAGES each (broker-limits.ts).
 *
 * Contract (defaults in SESSION_LIMITS):
 * - A client id is at most `maxClientIdBytes` long (128 bytes; ours are about 40); a longer one is
 *   refused with CONNACK 2 "identifier rejected".
 * - Anonymous clients (loopback only, broker.ts) get no persistent session: a CONNECT with clean
 *   session off and no user name is refused with CONNACK 5 "not authorized" (nobody could tell
 *   whose session it is, and anyone on the host could fill the store).
 * - A client holds at most `maxSubscriptions` subscriptions (64; ours use at most 4); one more is
 *   refused in the SUBACK (0x80), the client stays connected. A fleet's own connection (role
 *   fleet: `aquastop start`, `aquastop sim`) listens on two topics per appliance (its `set` and
 *   `inject`), so it may hold `maxFleetSubscriptions` (20,016: two for each of the largest
 *   fleet's 10,000 appliances, and a few more).
 * - At most `maxSessions` persistent sessions are stored (1,000, the connection cap). A new one
 *   beyond that, once its login is accepted (a refused login never ends anyone's session), ends
 *   the session that has been offline longest (its subscriptions and queued
 *   messages are dropped); if every stored session is online, the new client is refused with
 *   CONNACK 3 "server unavailable".
 * - A session offline for `offlineExpiryMs` (1 h) is ended; expiry is checked at every login.
 * - Each ended session is logged (expiry: the first 5 at once, then one line counting the rest).
 *
 * Time comes from `now()` (injected, so tests drive it).
 */
import { Buffer } from 'node:buffer';

export const SESSION_LIMITS = { maxClientIdBytes: 128, maxSubscriptions: 64, maxFleetSubscriptions: 20_016, maxSessions: 1_000, offlineExpiryMs: 60 * 60_000 } as const;

/** Log lines for sessions ended at once by expiry; the rest are counted in one more. */
const EXPIRY_LINES = 5;

export type SessionLimitOptions = { readonly [K in keyof typeof SESSION_LIMITS]?: number };

/** What ending a stored session takes (the persistence's own calls, see broker.ts). */
export type EndSession = (clientId: string) => void;

export interface Refusal {
  readonly returnCode: 2 | 3 | 5;
  readonly why: string;
}

export class SessionBook {
  private readonly limits: Required<SessionLimitOptions>;
  private readonly online = new Set<string>();
  /** Offline sessions, longest offline first (insertion order), with the time they went offline. */
  private readonly offline = new Map<string, number>();

  constructor(
    options: SessionLimitOptions,
    private readonly now: () => number,
    private readonly end: EndSession,
    private readonly log: (line: string) => void,
  ) {
    this.limits = { ...SESSION_LIMITS, ...options };
  }

  get maxSubscriptions(): number {
    return this.limits.maxSubscriptions;
  }

  /** The subscriptions a client of this role may hold (a fleet's connection: two per appliance). */
  maxSubscriptionsFor(role: string | undefined): number {
    return role === 'fleet' ? this.limits.maxFleetSubscriptions : this.limits.maxSubscriptions;
  }

  /** Sessions stored now, online and offline (never above maxSessions). */
  get size(): number {
    return this.online.size + this.offline.size;
  }

  /**
   * Called before a login is checked: a reason to refuse it (with its CONNACK code), else null.
   * Ends expired sessions (nothing else: a login not yet checked must not end anyone's session).
   */
  check(clientId: string, clean: boolean, anonymous: boolean): Refusal | null {
    this.expire();
    if (Buffer.byteLength(clientId) > this.limits.maxClientIdBytes)
      return { returnCode: 2, why: `client id of ${Buffer.byteLength(clientId)} bytes (at most ${this.limits.maxClientIdBytes})` };
    if (!clean && anonymous) return { returnCode: 5, why: 'a persistent session (clean session off) needs an account' };
    return null;
  }

  /** Called once the login is accepted: makes room for a new persistent session, or refuses it (all stored ones online). */
  accepted(clientId: string, clean: boolean): Refusal | null {
    if (clean || this.online.has(clientId) || this.offline.has(clientId) || this.size < this.limits.maxSessions) return null;
    if (this.offline.size === 0) return { returnCode: 3, why: `${this.size} persistent sessions, all online (at most ${this.limits.maxSessions})` };
    this.trim(1);
    return null;
  }

  /** The client is in (aedes' `client` event). A clean login ends the id's stored session (aedes drops it). */
  connected(clientId: string, clean: boolean): void {
    this.offline.delete(clientId);
    if (clean) this.online.delete(clientId);
    else this.online.add(clientId);
    // Logins accepted together may each have found a place free: end the ones offline longest.
    this.trim(0);
  }

  /** Ends sessions offline longest until `room` places are free (or none is offline). */
  private trim(room: number): void {
    while (this.size + room > this.limits.maxSessions) {
      const oldest = this.offline.keys().next();
      if (oldest.done) return;
      this.drop(oldest.value, `${this.size} persistent sessions stored (at most ${this.limits.maxSessions}); it was offline longest`);
    }
  }

  /** The client left (aedes' `clientDisconnect`): a persistent session starts its offline time. */
  disconnected(clientId: string, clean: boolean): void {
    if (!this.online.delete(clientId) || clean) return;
    this.offline.set(clientId, this.now());
  }

  private expire(): void {
    const now = this.now();
    let ended = 0;
    for (const [id, since] of this.offline) {
      if (now - since < this.limits.offlineExpiryMs) break;
      // One line each for the first few, then one line counting the rest.
      this.drop(id, ended++ < EXPIRY_LINES ? `offline for ${Math.round((now - since) / 60_000)} min (at most ${this.limits.offlineExpiryMs / 60_000})` : null);
    }
    if (ended > EXPIRY_LINES) this.log(`... and ${ended - EXPIRY_LINES} more persistent sessions ended, offline for at least ${this.limits.offlineExpiryMs / 60_000} min`);
  }

  private drop(clientId: string, why: string | null): void {
    this.offline.delete(clientId);
    if (why !== null) this.log(`ended the persistent session of client ${clientId}: ${why}`);
    this.end(clientId);
  }
}
