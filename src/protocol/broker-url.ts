/**
 * The one check of a `--broker` URL, shared by the commands' flag schemas and telemetry. Kept
 * free of imports so that reading flags does not load the MQTT client.
 *
 * A `--broker` value is one URL, or the nodes of one clustered broker separated by commas
 * (`mqtt://nats-1:1883,mqtt://nats-2:1883,mqtt://nats-3:1883`): the client connects to the
 * first and, whenever the connection is lost, tries the next one in turn, so a device carries on
 * through a surviving node. The nodes of a list share one scheme, one path and the credentials
 * given apart (`--username`, `--password`, TLS files), since they are one broker.
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

/** One node of a broker list, as mqtt.js's `servers` option takes it. */
export interface BrokerNode {
  readonly protocol: 'mqtt' | 'mqtts' | 'ws' | 'wss';
  readonly host: string;
  readonly port: number;
}

/** A node as a URL, for log lines (an IPv6 host in brackets). */
export function nodeUrl(node: BrokerNode): string {
  return `${node.protocol}://${node.host.includes(':') ? `[${node.host}]` : node.host}:${node.port}`;
}

const DEFAULT_PORT: Record<BrokerNode['protocol'], number> = { mqtt: 1883, mqtts: 8883, ws: 80, wss: 443 };

/**
 * Why a `--broker` value (one URL or a comma-separated list) cannot be used, in one line naming
 * the entry at fault; null when it can.
 */
export function brokerUrlProblem(value: string, flag = '--broker'): string | null {
  const entries = value.split(',').map((e) => e.trim());
  if (entries.length === 1) return isBrokerUrl(value) ? null : `${flag} must be a URL like mqtt://host:1883, mqtts://, ws:// or wss:// (got "${value.slice(0, 200)}")`;
  let first: URL | null = null;
  const seen = new Set<string>();
  for (const [i, entry] of entries.entries()) {
    const at = `${flag} entry ${i + 1} of ${entries.length}`;
    if (entry === '') return `${at} is empty: give the nodes as mqtt://host:port,mqtt://host:port`;
    if (!isBrokerUrl(entry)) return `${at} ("${entry.slice(0, 200)}") is not a URL like mqtt://host:1883, mqtts://, ws:// or wss://`;
    const u = new URL(entry);
    if (u.username !== '' || u.password !== '') return `${at} ("${u.host}") carries a user name or password: give them once with --username and --password for all nodes`;
    first ??= u;
    if (u.protocol !== first.protocol) return `${at} ("${entry}") is ${u.protocol}// but entry 1 is ${first.protocol}//: the nodes of one broker share a scheme`;
    if (u.pathname !== first.pathname) return `${at} ("${entry}") has path ${u.pathname} but entry 1 has ${first.pathname}: the nodes of one broker share a path`;
    const node = `${u.hostname}:${u.port}`;
    if (seen.has(node)) return `${at} ("${entry}") names a node listed before`;
    seen.add(node);
  }
  return null;
}

/**
 * The nodes of a valid `--broker` value (brokerUrlProblem returned null), in order. A single URL
 * gives one node.
 */
export function brokerNodes(value: string): BrokerNode[] {
  return value.split(',').map((entry) => {
    const u = new URL(entry.trim());
    const protocol = u.protocol.slice(0, -1) as BrokerNode['protocol'];
    return { protocol, host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port: u.port === '' ? DEFAULT_PORT[protocol] : Number(u.port) };
  });
}
