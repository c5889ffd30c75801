/**
 * The environment variables of the long-running commands, one rule for all: `AQUASTOP_` and
 * the flag's long name in upper snake case (`--mqtt-port` is `AQUASTOP_MQTT_PORT`, `--no-mqtt`
 * is `AQUASTOP_NO_MQTT`). A few older names are still read after the rule's own
 * ({@link LEGACY_ENV}); a variable set to a value the flag would refuse is refused the same way.
 */

/** `--mqtt-port` -> `AQUASTOP_MQTT_PORT`. */
export function envNameFor(longFlag: string): string {
  return `AQUASTOP_${longFlag.replace(/^--/, '').replace(/-/g, '_').toUpperCase()}`;
}

/** Names from before the rule, read when the rule's variable is not set (flag long name -> variable). */
export const LEGACY_ENV: Readonly<Record<string, string>> = {
  '--username': 'AQUASTOP_MQTT_USERNAME',
  '--password': 'AQUASTOP_MQTT_PASSWORD',
  '--cafile': 'AQUASTOP_MQTT_CAFILE',
  '--cert': 'AQUASTOP_MQTT_CERT',
  '--key': 'AQUASTOP_MQTT_KEY',
  '--tls-cert': 'AQUASTOP_BROKER_TLS_CERT',
  '--tls-key': 'AQUASTOP_BROKER_TLS_KEY',
};

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off', '']);

/** A switch's variable: `1`/`true`/`yes`/`on` or `0`/`false`/`no`/`off`/empty; null for anything else. */
export function parseSwitch(value: string): boolean | null {
  const v = value.trim().toLowerCase();
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  return null;
}
