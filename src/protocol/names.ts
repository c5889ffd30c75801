/**
 * The names that go into a topic, each defined once: a device id and a bridge id (one topic level
 * each) and the base topic (levels separated by "/"). The topic builder and parser (topics.ts),
 * the commands' flags, the monitor's and the dashboard's options and, through /config.json, the
 * page all use these; none writes its own pattern.
 *
 * Each rule is a zod fragment made for a name (`deviceIdRule('--id')`), so its messages name the
 * flag or field at fault in one line.
 */
import { z } from 'zod';

/** The longest device or bridge id. */
export const MAX_ID_LENGTH = 64;

/** A device or bridge id: one topic level of 1 to 64 letters, digits, "_" and "-" (no wildcards, separators or control characters). */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** One topic level of any length (a discovery component or object id). */
export const LEVEL_PATTERN = /^[A-Za-z0-9_-]+$/;

/** A base topic or discovery prefix: levels of {@link LEVEL_PATTERN} separated by "/". */
export const LEVELS_PATTERN = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/;

/** The base topic unless told otherwise. */
export const DEFAULT_BASE_TOPIC = 'aquastop';

/** The first level of the bridge topics (`<base>/bridge/<bridge>/state`): no device may have it as its id. */
export const BRIDGE_LEVEL = 'bridge';

/**
 * A device id. "bridge" is taken: `<base>/bridge/...` holds the processes' bridge states. A
 * leading "_" is taken too: the bridge ids of processes running several devices start with it
 * (`START_BRIDGE_ID`), so no device (and no device account, which may publish the bridge named
 * after it) can own one. `name` is what the messages call it ("--id", "device id").
 */
export function deviceIdRule(name = 'device id') {
  return z
    .string()
    .regex(ID_PATTERN, `${name} must be 1 to ${MAX_ID_LENGTH} letters, digits, "_" or "-"`)
    .refine((id) => id !== BRIDGE_LEVEL, `${name} "${BRIDGE_LEVEL}" is reserved for the bridge topics`)
    .refine((id) => !id.startsWith('_'), `${name} may not start with "_" (reserved for the bridge ids of multi-device processes)`);
}

export const deviceIdSchema = deviceIdRule();

/**
 * A process's bridge id: one topic level, the same characters as a device id. One per process
 * that is up at a time (so a dead process's last will makes offline only its own devices), and
 * the same across that process's restarts (so retained bridge states do not pile up).
 */
export function bridgeIdRule(name = 'bridge id') {
  return z.string().regex(ID_PATTERN, `${name} must be 1 to ${MAX_ID_LENGTH} letters, digits, "_" or "-"`);
}

export const bridgeIdSchema = bridgeIdRule();

/** A base topic: levels of letters, digits, "_" and "-" separated by "/", no wildcards. `name` is what the message calls it. */
export function baseTopicRule(name = 'base topic') {
  return z.string().regex(LEVELS_PATTERN, `${name} must be topic levels of letters, digits, "_" or "-" separated by "/" (no wildcards)`);
}
