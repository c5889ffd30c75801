/**
 * Every MQTT topic and its payload schema, in one typed map (README, "MQTT").
 * Publishers and subscribers use the same schemas; no topic string is built inline elsewhere.
 *
 * Topic templates use `{base}` (default "aquastop"), `{id}` (device id), `{bridge}` (the id of
 * the publishing process), `{prefix}` (Home Assistant discovery prefix, default "homeassistant").
 */
import { z } from 'zod';
import { FAULT_CLASSES, FAULT_CODES } from '../machine/catalogue.js';
import { bridgeIdSchema, deviceIdSchema, LEVEL_PATTERN, LEVELS_PATTERN } from './names.js';

// The names in a topic (device id, bridge id, base topic) are defined once, in names.ts.
export { bridgeIdSchema, deviceIdSchema } from './names.js';

/** How many faults a device keeps in its fault memory and publishes on `<base>/<id>/fault-memory` (its last ones). */
export const FAULT_MEMORY_SIZE = 16;

const faultCode = z.enum(FAULT_CODES);
const breaker = z.enum(['booting', 'armed', 'tripped', 'probing', 'latched', 'service']);

/** The bridge id of `aquastop start` (all its devices): starts with "_", so it is no device's. */
export const START_BRIDGE_ID = '_start';

export const bridgeStateSchema = z.object({ state: z.enum(['online', 'offline']) }).strict();
/** A device's availability names the bridge (process) that publishes it: it is offline when that bridge is. */
export const availabilitySchema = z.object({ state: z.enum(['online', 'offline']), bridge: bridgeIdSchema.optional() }).strict();

/** A fault event's id: unique per device, `<boot>-<n>` from our devices (src/telemetry/outbox.ts). */
const faultEventIdSchema = z.string().min(1).max(64);

export const deviceStateSchema = z
  .object({
    state: z.string(),
    breaker,
    valve: z.enum(['open', 'closed']),
    drainPump: z.enum(['on', 'off']),
    leak: z.boolean(),
    fault: faultCode.nullable(),
    /** The fault event behind `fault` (device.ts): the id of its raise, or with no fault the id of the last clearing; absent before any fault of this boot, and from devices older than the field. */
    faultEvent: faultEventIdSchema.optional(),
    tripCount: z.number().int().nonnegative(),
    uptimeS: z.number().nonnegative(),
    tubLevelL: z.number().nullable(),
    fw: z.string(),
    board: z.enum(['simulated', 'emulated', 'usb']),
    /** ISO-8601 time of this state (virtual in the simulator). */
    last_seen: z.string(),
  })
  .strict();

export const heartbeatSchema = z
  .object({
    seq: z.number().int().nonnegative(),
    boot: z.number().int().nonnegative(),
    uptimeS: z.number().nonnegative(),
    /** At most an hour: the monitor's DOWN deadline is a timer of 1.5 intervals. */
    intervalS: z.number().positive().max(3600),
    state: z.string(),
    fault: faultCode.nullable(),
    /** As the state's `faultEvent`. */
    faultEvent: faultEventIdSchema.optional(),
    ts: z.string(),
    /** The publishing process's event-loop lag in ms: the highest p99 and the highest max of its 10 s windows of the last minute (loop-lag.ts); absent before the first window ends. */
    loopLagMs: z.number().nonnegative().optional(),
    loopLagMaxMs: z.number().nonnegative().optional(),
  })
  .strict();

export const faultEventSchema = z
  .object({
    id: z.string(),
    event: z.enum(['raised', 'cleared']),
    code: faultCode,
    display: z.string(),
    text: z.string(),
    severity: z.enum(['warning', 'error', 'critical']),
    reset: z.enum(['auto', 'manual', 'service']),
    detail: z.string().optional(),
    ts: z.string(),
  })
  .strict();

/**
 * The last proof test of the shut-off (`{"exercise":true}`): passed (the flow stopped after the
 * close), failed (with the fault it raised, e.g. iB0) or stopped by a person. Retained, so a
 * watcher knows when the valve last proved it can shut.
 */
export const exerciseResultSchema = z
  .object({
    result: z.enum(['passed', 'failed', 'stopped']),
    /** Litres metered while the valve was open. */
    inflowL: z.number().nonnegative(),
    code: faultCode.optional(),
    ts: z.string(),
  })
  .strict();

/**
 * The fault memory the controller keeps across power cycles (the appliance's service memory):
 * its last faults raised, oldest first, each with the time it was raised. Retained and published
 * again at every start and after every fault raised, so a watcher sees a device's history at once.
 */
export const faultMemorySchema = z
  .object({
    faults: z
      .array(
        z
          .object({
            code: faultCode,
            /** ISO-8601 time the fault was raised (virtual in the simulator). */
            ts: z.string(),
            detail: z.string().max(200).optional(),
          })
          .strict(),
      )
      .max(FAULT_MEMORY_SIZE),
    /** When this was published. */
    ts: z.string(),
  })
  .strict();

/** A command's optional correlation id, echoed in its result (MQTT 3.1.1 has no correlation data). */
export const commandIdSchema = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'id must be 1-64 letters, digits or "_.:-"');

/** Commands: exactly one command key per message, plus an optional correlation `id`. */
export const commandSchema = z.union([
  z.object({ valve: z.literal('CLOSE') }).strict(),
  z.object({ reset: z.literal('trip') }).strict(),
  z.object({ exercise: z.literal(true) }).strict(),
  z.object({ resume: z.literal(true) }).strict(),
]);

export const commandResultSchema = z
  .object({
    ok: z.boolean(),
    error: z.string().optional(),
    /** Which command this answers: its key ("valve", "reset", "exercise", "resume", "inject"), when it could be read. */
    command: z.string().optional(),
    /** The command's correlation id, when it carried a valid one. */
    id: commandIdSchema.optional(),
  })
  .strict();

/** Simulator-only fault injection (dashboard buttons): accepted only from the sim process's devices. */
export const injectSchema = z
  .object({
    inject: z.enum(['leak', 'burstHose', 'tapClosed', 'powerCut', 'crackedHose', 'dryPan']),
  })
  .strict();

/** Home Assistant's own birth message on `<prefix>/status`: a plain word, not JSON. */
export const haStatusSchema = z.enum(['online', 'offline']);

/** A discovery config: Home Assistant's keys (checked in test/telemetry/discovery.test.ts). */
export const discoverySchema = z.record(z.string(), z.unknown());

export const HA_COMPONENTS = ['valve', 'binary_sensor', 'sensor', 'button', 'device_automation'] as const;
export type HaComponent = (typeof HA_COMPONENTS)[number];

/**
 * Every discovery config a device has: component and object id of
 * `<prefix>/<component>/<id>/<object>/config`, the six entities and a device trigger per fault
 * class (catalogue.ts FAULT_CLASSES). discovery.ts publishes exactly these, and access.ts lets a
 * publisher write (and retain) only these under the discovery prefix, so the mosquitto aclfile
 * and the retain plugin's list are written from them too.
 */
export const DISCOVERY_ENTITIES: readonly { readonly component: HaComponent; readonly object: string }[] = [
  { component: 'valve', object: 'inlet' },
  { component: 'binary_sensor', object: 'leak' },
  { component: 'binary_sensor', object: 'problem' },
  { component: 'sensor', object: 'fault_code' },
  { component: 'sensor', object: 'uptime' },
  { component: 'button', object: 'reset' },
  ...FAULT_CLASSES.map((c) => ({ component: 'device_automation' as const, object: `fault_${c}` })),
];

/**
 * Largest discovery config a broker keeps (bytes): ours are under 1.3 KiB with a 64-character id
 * and firmware version (test/telemetry/discovery.test.ts), and a retained config is held for
 * every subscriber that comes, so a device may not store 60 KiB ones.
 */
export const MAX_DISCOVERY_BYTES = 4096;

export interface TopicSpec<S extends z.ZodType> {
  readonly template: string;
  readonly schema: S;
  readonly retain: boolean;
  readonly qos: 0 | 1;
}

function topic<S extends z.ZodType>(template: string, schema: S, retain: boolean, qos: 0 | 1): TopicSpec<S> {
  return { template, schema, retain, qos };
}

export const TOPICS = {
  bridgeState: topic('{base}/bridge/{bridge}/state', bridgeStateSchema, true, 1),
  availability: topic('{base}/{id}/availability', availabilitySchema, true, 1),
  state: topic('{base}/{id}', deviceStateSchema, true, 1),
  heartbeat: topic('{base}/{id}/heartbeat', heartbeatSchema, false, 0),
  fault: topic('{base}/{id}/fault', faultEventSchema, false, 1),
  exercise: topic('{base}/{id}/exercise', exerciseResultSchema, true, 1),
  faultMemory: topic('{base}/{id}/fault-memory', faultMemorySchema, true, 1),
  set: topic('{base}/{id}/set', commandSchema, false, 1),
  setResult: topic('{base}/{id}/set/result', commandResultSchema, false, 1),
  inject: topic('{base}/{id}/inject', injectSchema, false, 1),
  discovery: topic('{prefix}/{component}/{id}/{object}/config', discoverySchema, true, 1),
  haStatus: topic('{prefix}/status', haStatusSchema, false, 1),
} as const;

export type TopicName = keyof typeof TOPICS;
export type PayloadOf<T extends TopicName> = z.output<(typeof TOPICS)[T]['schema']>;

export interface TopicParams {
  readonly base: string;
  readonly id?: string;
  /** The bridge state: the publishing process's bridge id. */
  readonly bridge?: string;
  /** Discovery topics: prefix, component and object id. */
  readonly prefix?: string;
  readonly component?: HaComponent;
  readonly object?: string;
}

/** Builds a concrete topic; refuses wildcards and separators in the parameters. */
export function topicFor(name: TopicName, params: TopicParams): string {
  const { base, id } = params;
  if (!LEVELS_PATTERN.test(base)) throw new Error(`invalid base topic "${base}"`);
  const template = TOPICS[name].template;
  if (template.includes('{id}')) {
    if (id === undefined) throw new Error(`topic ${name} needs a device id`);
    deviceIdSchema.parse(id);
  }
  if (template.includes('{bridge}')) {
    if (params.bridge === undefined) throw new Error(`topic ${name} needs a bridge id`);
    bridgeIdSchema.parse(params.bridge);
  }
  const part = (key: 'prefix' | 'component' | 'object', re: RegExp): string => {
    if (!template.includes(`{${key}}`)) return '';
    const value = params[key];
    if (value === undefined || !re.test(value)) throw new Error(`topic ${name} needs a valid ${key} (got "${value}")`);
    return value;
  };
  return template
    .replace('{base}', base)
    .replace('{prefix}', part('prefix', LEVELS_PATTERN))
    .replace('{component}', part('component', LEVEL_PATTERN))
    .replace('{id}', id ?? '')
    .replace('{bridge}', params.bridge ?? '')
    .replace('{object}', part('object', LEVEL_PATTERN));
}

/** Subscription filter for a topic across all devices and bridges: `{id}` and `{bridge}` become `+`. */
export function filterFor(name: TopicName, base: string): string {
  return TOPICS[name].template.replace('{base}', base).replace('{id}', '+').replace('{bridge}', '+');
}

/**
 * Which topic a concrete topic string is, and its device id (or bridge id); null when it is
 * none of ours. The device state topic is `{base}/{id}` so it is matched last.
 */
export function parseTopic(topicString: string, base: string): { name: TopicName; id?: string; bridge?: string } | null {
  if (!topicString.startsWith(`${base}/`)) return null;
  const rest = topicString.slice(base.length + 1).split('/');
  if (rest[0] === 'bridge') {
    const bridge = rest[1];
    return rest.length === 3 && rest[2] === 'state' && bridge && bridgeIdSchema.safeParse(bridge).success ? { name: 'bridgeState', bridge } : null;
  }
  const id = rest[0];
  if (!id || !deviceIdSchema.safeParse(id).success) return null;
  const tail = rest.slice(1).join('/');
  const byTail: Record<string, TopicName> = {
    '': 'state',
    availability: 'availability',
    heartbeat: 'heartbeat',
    fault: 'fault',
    'fault-memory': 'faultMemory',
    set: 'set',
    'set/result': 'setResult',
    inject: 'inject',
  };
  const name = byTail[tail];
  return name ? { name, id } : null;
}
