/**
 * Who may do what on the broker: one table of rules (`RULES`, MQTT topic filters per role),
 * which the embedded broker enforces and from which the shipped mosquitto ACL file is written
 * (`mosquittoAclFile`, one `user` block per account, no `pattern` lines: mosquitto applies
 * patterns to every account). test/telemetry/access-matrix.test.ts runs every kind of account
 * against every topic kind on both brokers and requires the same table.
 *
 * Roles:
 * - `viewer`   reads everything under the base topic and the discovery prefix; publishes nothing.
 * - `local`    an anonymous client on a loopback-only broker: a viewer that may also press the
 *              simulator's fault-injection buttons (`<base>/<id>/inject`); never `set`.
 * - `operator` a person (or Home Assistant): commands on `<base>/<id>/set`, injections, and
 *              Home Assistant's birth message `<prefix>/status`.
 * - `device`   one appliance, named by its user name: publishes only its own topics (state,
 *              availability, heartbeat, fault, fault-memory, exercise, set/result, its
 *              discovery) and its own bridge state `<base>/bridge/<username>/state`; reads only
 *              its own commands.
 * - `fleet`    a process publishing for several appliances (aquastop sim/start): every device's
 *              own topics and any bridge state, but never `set` or `inject`.
 *
 * Reading is checked on every message a client would receive (as mosquitto does); a
 * subscription that no read rule could ever match is refused outright (SUBACK 0x80).
 * Retained messages: only on the topics the contract retains (`RETAINED_FILTERS`, from
 * src/protocol/topics.ts), whoever publishes; mosquitto needs the aquastop_retain plugin for that.
 * Discovery: only the configs of src/protocol/topics.ts `DISCOVERY_ENTITIES`, each at most
 * `MAX_DISCOVERY_BYTES`, and a device account's naming only its own topics (`discoveryRefusal`;
 * on mosquitto the same plugin, with the limits its comment names).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { deviceIdSchema, DISCOVERY_ENTITIES, MAX_DISCOVERY_BYTES, TOPICS, type TopicName } from '../protocol/topics.js';

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
    error: 'a device account\'s username is its device id (letters, digits, "_" and "-", not starting with "_", which is reserved for the bridge ids of multi-device processes)',
  });

export type Account = z.output<typeof accountSchema>;

export const accountsFileSchema = z.object({ accounts: z.array(accountSchema).max(10_000) }).strict();

/** Reads an accounts file (`{"accounts":[{username,password,role}]}`); throws one line naming what is wrong. */
export function loadAccountsFile(path: string): Account[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read accounts file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
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

// Passwords are checked in passwords.ts (scrypt on the thread pool, never on the event loop).

export interface Principal {
  readonly role: Role;
  readonly username?: string;
}

export interface Namespaces {
  readonly base: string;
  /** Home Assistant discovery prefix, or null when discovery is off. */
  readonly haPrefix: string | null;
}

export type Access = 'read' | 'write';

/** A topic filter template: `{base}`, `{prefix}` (rule dropped when discovery is off) and `%u` (the user name). */
export interface Rule {
  readonly access: Access;
  readonly filter: string;
}

const read = (filter: string): Rule => ({ access: 'read', filter });
const write = (filter: string): Rule => ({ access: 'write', filter });
const READ_ALL = [read('{base}/#'), read('{prefix}/#')];
/** What a publisher may do for the device(s) `who` stands for: `%u` for one device, `+` for any. */
const publisher = (who: string): Rule[] => [
  write(`{base}/bridge/${who}/state`),
  ...['', '/availability', '/heartbeat', '/fault', '/fault-memory', '/exercise', '/set/result'].map((tail) => write(`{base}/${who}${tail}`)),
  // Exactly the discovery configs a device has (src/protocol/topics.ts), not any component or object id.
  ...DISCOVERY_ENTITIES.map((e) => write(`{prefix}/${e.component}/${who}/${e.object}/config`)),
  read(`{base}/${who}/set`),
  read(`{base}/${who}/inject`),
  read('{prefix}/status'),
];

export const RULES: Readonly<Record<Role, readonly Rule[]>> = {
  viewer: READ_ALL,
  local: [...READ_ALL, write('{base}/+/inject')],
  operator: [...READ_ALL, write('{base}/+/set'), write('{base}/+/inject'), write('{prefix}/status')],
  device: publisher('%u'),
  fleet: publisher('+'),
};

/** The topics whose messages may be retained: those the contract retains (src/protocol/topics.ts), as filters. */
export function retainedFilters(ns: Namespaces): string[] {
  return Object.values(TOPICS)
    .filter((t) => t.retain && (ns.haPrefix !== null || !t.template.includes('{prefix}')))
    .flatMap((t) => (t === TOPICS.discovery ? discoveryFilters(ns) : [t.template.replace('{base}', ns.base).replace(/\{(id|bridge)\}/g, '+')]));
}

/** The discovery config topics of every device (`<prefix>/<component>/+/<object>/config`); none when discovery is off. */
export function discoveryFilters(ns: Namespaces): string[] {
  if (ns.haPrefix === null) return [];
  return DISCOVERY_ENTITIES.map((e) => `${ns.haPrefix}/${e.component}/+/${e.object}/config`);
}

/**
 * The topics a device's discovery config may name (its `*_topic` fields and availability
 * topics): that device's own topics and the bridge named after it. `%u` is the device id.
 * A config naming anything else would let a device make Home Assistant, which may command
 * every device, command another one.
 */
export function discoveryTopicTemplates(ns: Pick<Namespaces, 'base'>): string[] {
  const names = (Object.keys(TOPICS) as TopicName[]).filter((n) => !TOPICS[n].template.includes('{prefix}'));
  return names.map((n) => TOPICS[n].template.replace('{base}', ns.base).replace('{id}', '%u').replace('{bridge}', '%u'));
}

/** The aquastop_retain plugin's options (one `plugin_opt_...` line each), as mosquitto.conf lists them after each `plugin` line. */
export function retainPluginOptions(ns: Namespaces): string[] {
  return [
    `plugin_opt_retain ${retainedFilters(ns).join(' ')}`,
    `plugin_opt_discovery ${discoveryFilters(ns).join(' ')}`,
    `plugin_opt_discovery_max_bytes ${MAX_DISCOVERY_BYTES}`,
    `plugin_opt_discovery_topics ${discoveryTopicTemplates(ns).join(' ')}`,
  ];
}

/** A key that names a topic in a discovery config, in full (`command_topic`) or abbreviated (`cmd_t`), and availability's `topic`/`t`. */
const TOPIC_KEY = /^(topic|t|.+_topic|.+_t)$/;

/**
 * Why a publish under the discovery prefix is refused, or null when it is not. Any publisher:
 * a config of at most MAX_DISCOVERY_BYTES. A device account: an empty payload (removal) or a
 * JSON object whose topic fields (any depth, full or abbreviated keys) each name one of
 * `discoveryTopicTemplates` for it; no `~` (Home Assistant's base-topic abbreviation) and no
 * `\u` escapes (the mosquitto plugin does not decode them, so neither broker takes them).
 * Other topics: null.
 */
export function discoveryRefusal(who: Principal, topic: string, body: Buffer | string, ns: Namespaces): string | null {
  if (!discoveryFilters(ns).some((f) => topicMatches(f, topic))) return null;
  const payload = typeof body === 'string' ? Buffer.from(body) : body;
  if (payload.length > MAX_DISCOVERY_BYTES) return `a discovery config of ${payload.length} bytes (at most ${MAX_DISCOVERY_BYTES})`;
  if (who.role !== 'device' || payload.length === 0) return null;
  const text = payload.toString('utf8');
  if (text.includes('\\u')) return 'a discovery config with a \\u escape';
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return 'a discovery config that is not JSON';
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return 'a discovery config that is not a JSON object';
  const allowed = new Set(discoveryTopicTemplates(ns).map((t) => t.replace('%u', who.username ?? '')));
  const walk = (v: unknown): string | null => {
    if (Array.isArray(v)) {
      for (const x of v) {
        const r = walk(x);
        if (r) return r;
      }
    } else if (typeof v === 'object' && v !== null) {
      for (const [key, x] of Object.entries(v)) {
        if (key === '~') return 'a discovery config with a "~" (base topic) key';
        if (TOPIC_KEY.test(key) && (typeof x !== 'string' || !allowed.has(x))) return `a discovery config whose ${key} is ${JSON.stringify(x)}, not one of the device's own topics`;
        const r = walk(x);
        if (r) return r;
      }
    }
    return null;
  };
  return walk(json);
}

/** The rules of a principal with the namespaces and user name filled in. */
export function rulesFor(who: Principal, ns: Namespaces): Rule[] {
  const out: Rule[] = [];
  for (const r of RULES[who.role]) {
    if (r.filter.includes('{prefix}') && ns.haPrefix === null) continue;
    if (r.filter.includes('%u') && who.username === undefined) continue;
    out.push({
      access: r.access,
      filter: r.filter
        .replace('{base}', ns.base)
        .replace('{prefix}', ns.haPrefix ?? '')
        .replace('%u', who.username ?? ''),
    });
  }
  return out;
}

/** MQTT topic matching: `+` one level, `#` the rest (and the parent); `$` topics only by name. */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** True when some topic matches both filters. */
function filtersOverlap(a: string, b: string): boolean {
  const x = a.split('/');
  const y = b.split('/');
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] === '#' || y[i] === '#') return true;
    if (x[i] === undefined || y[i] === undefined) return false;
    if (x[i] !== '+' && y[i] !== '+' && x[i] !== y[i]) return false;
  }
  return true;
}

/** True when `who` may publish on `topic` (the retain flag is judged by `mayRetain`). */
export function mayPublish(who: Principal, topic: string, ns: Namespaces): boolean {
  if (topic.startsWith('$')) return false;
  return rulesFor(who, ns).some((r) => r.access === 'write' && topicMatches(r.filter, topic));
}

/** True when a retained message may be kept on `topic`: the contract retains it. */
export function mayRetain(topic: string, ns: Namespaces): boolean {
  return retainedFilters(ns).some((f) => topicMatches(f, topic));
}

/** True when `who` may receive a message on `topic` (checked for every delivery). */
export function mayRead(who: Principal, topic: string, ns: Namespaces): boolean {
  return rulesFor(who, ns).some((r) => r.access === 'read' && topicMatches(r.filter, topic));
}

/**
 * True when `who` may subscribe to `filter`: some message it may read could match it. What it
 * then receives is still limited to what `mayRead` allows (a device subscribed to `<base>/#`
 * gets only its own commands), as on mosquitto.
 */
export function maySubscribe(who: Principal, filter: string, ns: Namespaces): boolean {
  if (filter.startsWith('$')) return false;
  return rulesFor(who, ns).some((r) => r.access === 'read' && filtersOverlap(r.filter, filter));
}

/**
 * The mosquitto ACL file for these accounts (src/telemetry/mosquitto/aclfile is this for the
 * example accounts): the anonymous (local) rules first, then one block per account.
 */
export function mosquittoAclFile(accounts: readonly Pick<Account, 'username' | 'role'>[], ns: Namespaces): string {
  const lines = (who: Principal) => rulesFor(who, ns).map((r) => `topic ${r.access} ${r.filter}`);
  const out = [
    '# aquastop-sim: who may do what on a mosquitto 2.x broker, written from the rules of the embedded',
    '# broker (src/telemetry/access.ts); test/telemetry/access-matrix.test.ts checks both agree.',
    '# Regenerate it for your accounts (and base topic) with',
    '#   npx tsx src/telemetry/mosquitto-acl.ts accounts.json > aclfile',
    '# Retained messages outside the retained topics, discovery configs over the size bound and',
    "# a device's discovery config naming another device's topics are refused by the",
    '# aquastop_retain plugin (mosquitto.conf), which this file cannot express.',
    '',
    '# Anonymous clients (the loopback listeners only; see mosquitto.conf).',
    ...lines({ role: 'local' }),
  ];
  for (const a of accounts) out.push('', `user ${a.username}`, ...lines({ role: a.role, username: a.username }));
  return `${out.join('\n')}\n`;
}
