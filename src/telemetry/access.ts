/**
 * Who may do what on the broker: the rules the embedded broker enforces, and the same rules
 * the shipped mosquitto ACL (src/telemetry/mosquitto/aclfile) writes down.
 *
 * Roles:
 * - `viewer`   reads everything under the base topic and the discovery prefix; publishes nothing.
 * - `local`    an anonymous client on a loopback-only broker: a viewer that may also press the
 *              simulator's fault-injection buttons (`<base>/<id>/inject`); never `set`.
 * - `operator` a person (or Home Assistant): commands on `<base>/<id>/set`, injections, and
 *              Home Assistant's birth message `<prefix>/status`.
 * - `device`   one appliance, named by its user name: publishes only its own topics (state,
 *              availability, heartbeat, fault, exercise, set/result, its discovery) and the bridge state.
 * - `fleet`    a process publishing for several appliances (aquastop sim/start): every device's
 *              own topics, but never `set` or `inject`.
 */
import { scryptSync, timingSafeEqual, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { deviceIdSchema } from './topics.js';

export const ROLES = ['viewer', 'local', 'operator', 'device', 'fleet'] as const;
export type Role = (typeof ROLES)[number];

export const accountSchema = z
  .object({
    username: z.string().min(1).max(64),
    password: z.string().min(1).max(256),
    role: z.enum(['viewer', 'operator', 'device', 'fleet']),
  })
  .strict()
  .refine((a) => a.role !== 'device' || deviceIdSchema.safeParse(a.username).success, {
    message: 'a device account\'s username is its device id (letters, digits, "_" and "-")',
  });

export type Account = z.output<typeof accountSchema>;

export const accountsFileSchema = z.object({ accounts: z.array(accountSchema).max(10_000) }).strict();

/** Reads an accounts file (`{"accounts":[{username,password,role}]}`); throws one line naming what is wrong. */
export function loadAccountsFile(path: string): Account[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read accounts file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`accounts file ${path} is not valid JSON`);
  }
  const r = accountsFileSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new Error(`accounts file ${path}: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid'}`);
  }
  return r.data.accounts;
}

interface StoredAccount {
  readonly role: Account['role'];
  readonly salt: Buffer;
  readonly hash: Buffer;
}

/** Passwords kept only as scrypt hashes in memory; comparison in constant time. */
export class AccountBook {
  private readonly accounts = new Map<string, StoredAccount>();

  constructor(accounts: readonly Account[]) {
    for (const a of accounts) this.add(a);
  }

  add(account: Account): void {
    const salt = randomBytes(16);
    this.accounts.set(account.username, { role: account.role, salt, hash: scryptSync(account.password, salt, 32) });
  }

  /** The account's role when the password matches, else null. */
  check(username: string, password: Buffer | string | undefined): Account['role'] | null {
    const stored = this.accounts.get(username);
    if (!stored || password === undefined) return null;
    const hash = scryptSync(password, stored.salt, 32);
    return timingSafeEqual(hash, stored.hash) ? stored.role : null;
  }
}

export interface Principal {
  readonly role: Role;
  readonly username?: string;
}

export interface Namespaces {
  readonly base: string;
  /** Home Assistant discovery prefix, or null when discovery is off. */
  readonly haPrefix: string | null;
}

const DEVICE_TAILS = new Set(['', 'availability', 'heartbeat', 'fault', 'exercise', 'set/result']);

/** Splits `<base>/<id>/<tail>`; null when the topic is not under the base topic. */
function deviceTopic(topic: string, base: string): { id: string; tail: string } | null {
  if (!topic.startsWith(`${base}/`)) return null;
  const [id, ...rest] = topic.slice(base.length + 1).split('/');
  if (!id) return null;
  return { id, tail: rest.join('/') };
}

/** True when `who` may publish on `topic`. */
export function mayPublish(who: Principal, topic: string, ns: Namespaces): boolean {
  if (topic.startsWith('$')) return false;
  const t = deviceTopic(topic, ns.base);
  switch (who.role) {
    case 'viewer':
      return false;
    case 'local':
      return t !== null && t.tail === 'inject' && t.id !== 'bridge';
    case 'operator':
      if (ns.haPrefix !== null && topic === `${ns.haPrefix}/status`) return true;
      return t !== null && (t.tail === 'set' || t.tail === 'inject') && t.id !== 'bridge';
    case 'fleet':
    case 'device': {
      const own = (id: string) => who.role === 'fleet' || id === who.username;
      if (t && t.id === 'bridge') return t.tail === 'state';
      if (t) return DEVICE_TAILS.has(t.tail) && own(t.id);
      if (ns.haPrefix !== null && topic.startsWith(`${ns.haPrefix}/`)) {
        // <prefix>/<component>/<id>/<object>/config
        const parts = topic.slice(ns.haPrefix.length + 1).split('/');
        return parts.length === 4 && parts[3] === 'config' && own(parts[1]!);
      }
      return false;
    }
  }
}

/**
 * True when `who` may subscribe to `filter`. People and watchers read everything under our
 * namespaces; a device reads only its own commands and Home Assistant's birth message, a fleet
 * process the commands of any device (the same as the mosquitto aclfile).
 */
export function maySubscribe(who: Principal, filter: string, ns: Namespaces): boolean {
  if (filter.startsWith('$')) return false;
  const haStatus = ns.haPrefix !== null && filter === `${ns.haPrefix}/status`;
  if (who.role === 'device' || who.role === 'fleet') {
    if (haStatus) return true;
    const t = deviceTopic(filter, ns.base);
    if (!t || (t.tail !== 'set' && t.tail !== 'inject')) return false;
    return who.role === 'fleet' ? t.id !== '#' : t.id === who.username;
  }
  const under = (prefix: string) => filter === `${prefix}/#` || filter.startsWith(`${prefix}/`);
  return under(ns.base) || (ns.haPrefix !== null && under(ns.haPrefix)) || filter === '#';
}
