/**
 * The one check of a `--broker` URL, shared by the commands' flag schemas and telemetry. Kept
 * free of imports so that reading flags does not load the MQTT client.
 */

/** True for a broker URL mqtt.js can use as given: mqtt(s)/ws(s), a host, a numeric port if any (a bad port would silently become the default). */
export function isBrokerUrl(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  return ['mqtt:', 'mqtts:', 'ws:', 'wss:'].includes(u.protocol) && u.hostname !== '';
}
