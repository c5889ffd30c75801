/**
 * A real three-node NATS cluster (nats-server 2.9+, MQTT with JetStream) for tests, on free
 * loopback ports, started from the configuration we ship (src/telemetry/nats/aquastop-node.conf)
 * with only the addresses, ports, routes and store directory changed, so a setting of that file
 * (the replicas, the accounts) is what the tests run. Each node has its own store directory
 * under one temporary directory, removed by `close()`.
 *
 * `startNatsCluster()` returns once every node's MQTT port accepts, every node agrees on a
 * JetStream meta leader, and an MQTT round trip (a QoS 1 publish on one node, received by a
 * QoS 1 subscriber on every node) has gone through: NATS creates its MQTT streams at the first
 * MQTT connection of an account and each node its own session manager at its first client,
 * which would otherwise land in the first seconds of a test. A node can be SIGKILLed and started
 * again on the same ports and store. Waits are bounded polls on the real processes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { freePort } from '../e2e/start-process.js';
import { findTool } from './tools.js';

/** The nats-server binary (Debian puts it in /usr/sbin, which is not always on PATH). */
export const NATS_SERVER = findTool('nats-server') ?? '/usr/sbin/nats-server';

export const SHIPPED_NATS_CONF = join(process.cwd(), 'src', 'telemetry', 'nats', 'aquastop-node.conf');

/** The example accounts the shipped configuration knows (the same as mosquitto's). */
export const NATS_LOGIN = {
  fleet: { username: 'fleet', password: 'change-me-fleet' },
  viewer: { username: 'viewer', password: 'change-me-viewer' },
  operator: { username: 'operator', password: 'change-me-operator' },
  'dishwasher-1': { username: 'dishwasher-1', password: 'change-me-dishwasher-1' },
} as const;

export interface NatsNode {
  /** server_name, `n1` ... */
  readonly name: string;
  /** mqtt://127.0.0.1:<port> of this node. */
  readonly url: string;
  /** MQTT over WebSocket: ws://127.0.0.1:<port>/mqtt */
  readonly wsUrl: string;
  readonly mqttPort: number;
  readonly httpPort: number;
  running(): boolean;
  pid(): number | null;
  /** Everything the node printed, across restarts. */
  log(): string;
}

export interface NatsCluster {
  readonly nodes: readonly NatsNode[];
  /** Every node's URL as one `--broker` list, starting with node `first` (so clients spread). */
  brokerList(first?: number): string;
  /** The name of the JetStream meta leader as a running node sees it (null while there is none). */
  metaLeader(): Promise<string | null>;
  /** The node leading each JetStream stream (`$MQTT_sess`, `$MQTT_msgs`, `$MQTT_rmsgs`), as the running nodes report them. */
  streamLeaders(): Promise<Record<string, string>>;
  /** SIGKILL (no shutdown, no last wills), then wait for the exit. */
  kill(index: number): Promise<void>;
  /** Starts a killed node again on its ports and store; returns once it serves MQTT with a meta leader. */
  restart(index: number): Promise<void>;
  /** Kills every node and removes the store directories. */
  close(): Promise<void>;
}

export interface NatsClusterOptions {
  /** Edits the shipped configuration before the per-node changes (tests that break a setting on purpose). */
  readonly editConfig?: (conf: string) => string;
  /** Bound of each wait for the cluster (default 30 s). */
  readonly timeoutMs?: number;
}

interface Ports {
  readonly client: number;
  readonly cluster: number;
  readonly mqtt: number;
  readonly http: number;
  readonly ws: number;
}

/** Replaces exactly one occurrence, so a change to the shipped file that these edits miss fails loudly. */
function replaceOnce(text: string, from: RegExp, to: string): string {
  const matches = text.match(new RegExp(from.source, `${from.flags.replace('g', '')}g`));
  if (matches?.length !== 1) throw new Error(`${SHIPPED_NATS_CONF}: expected one match of ${from} (found ${matches?.length ?? 0}); update test/helpers/nats-cluster.ts`);
  return text.replace(from, to);
}

/** The shipped configuration for one node of this cluster on loopback. */
export function nodeConfig(shipped: string, ports: Ports, all: readonly Ports[], storeDir: string): string {
  let conf = shipped;
  conf = replaceOnce(conf, /^listen: 0\.0\.0\.0:4222$/m, `listen: 127.0.0.1:${ports.client}`);
  conf = replaceOnce(conf, /^http: 127\.0\.0\.1:8222$/m, `http: 127.0.0.1:${ports.http}`);
  conf = replaceOnce(conf, /^ {2}store_dir: "\/var\/lib\/nats\/aquastop"$/m, `  store_dir: "${storeDir}"`);
  conf = replaceOnce(conf, /^ {2}listen: 0\.0\.0\.0:6222$/m, `  listen: 127.0.0.1:${ports.cluster}`);
  conf = replaceOnce(conf, /^ {2}routes: \[\n(?: {4}nats-route:\/\/\S+\n)+ {2}\]$/m, `  routes: [\n${all.map((p) => `    nats-route://127.0.0.1:${p.cluster}`).join('\n')}\n  ]`);
  conf = replaceOnce(conf, /^ {2}listen: 0\.0\.0\.0:1883$/m, `  listen: 127.0.0.1:${ports.mqtt}`);
  conf = replaceOnce(conf, /^ {2}listen: 0\.0\.0\.0:9001$/m, `  listen: 127.0.0.1:${ports.ws}`);
  return conf;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1');
    c.once('connect', () => (c.destroy(), resolve(true)));
    c.once('error', () => resolve(false));
  });
}

async function getJson(url: string): Promise<Record<string, unknown> | null> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return res.ok ? ((await res.json()) as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Polls `check` every 100 ms until it returns a value other than null/false, or throws `what` after `timeoutMs`. */
async function poll<T>(check: () => Promise<T | null | false>, timeoutMs: number, what: () => string): Promise<T> {
  const start = Date.now();
  for (;;) {
    const value = await check();
    if (value !== null && value !== false) return value;
    if (Date.now() - start > timeoutMs) throw new Error(`NATS cluster: ${what()} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startNatsCluster(options: NatsClusterOptions = {}): Promise<NatsCluster> {
  let last: unknown;
  // A port free a moment ago can be taken before nats-server binds it: try again on new ports.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await launchCluster(options);
    } catch (err) {
      last = err;
      if (!/address already in use/.test(String(err))) break;
    }
  }
  throw last;
}

async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

async function launchCluster(options: NatsClusterOptions): Promise<NatsCluster> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const dir = mkdtempSync(join(tmpdir(), 'aquastop-nats-'));
  const shipped = (options.editConfig ?? ((c) => c))(readFileSync(SHIPPED_NATS_CONF, 'utf8'));
  const free = await freePorts(15);
  const ports: Ports[] = [0, 1, 2].map((i) => ({ client: free[5 * i]!, cluster: free[5 * i + 1]!, mqtt: free[5 * i + 2]!, http: free[5 * i + 3]!, ws: free[5 * i + 4]! }));
  const names = ports.map((_, i) => `n${i + 1}`);
  const children: Array<ChildProcess | null> = ports.map(() => null);
  const logs = ports.map(() => '');
  for (const [i, p] of ports.entries()) {
    mkdirSync(join(dir, names[i]!));
    writeFileSync(join(dir, `${names[i]}.conf`), nodeConfig(shipped, p, ports, join(dir, names[i]!, 'store')));
  }
  // A failed test must not leave nats-server running.
  const killAll = () => children.forEach((c) => c?.kill('SIGKILL'));
  process.once('exit', killAll);

  const launch = (i: number) => {
    const c = spawn(NATS_SERVER, ['-c', join(dir, `${names[i]}.conf`)], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AQUASTOP_NATS_NODE: names[i] } });
    children[i] = c;
    const append = (d: Buffer) => (logs[i] = (logs[i]! + d.toString()).slice(-200_000));
    c.stdout.on('data', append);
    c.stderr.on('data', append);
  };
  const running = (i: number) => {
    const c = children[i];
    return c !== null && c !== undefined && c.exitCode === null && c.signalCode === null;
  };
  const lastLines = (i: number) => logs[i]!.trim().split('\n').slice(-5).join('\n');
  const leaderSeenBy = async (i: number): Promise<string | null> => {
    const jsz = await getJson(`http://127.0.0.1:${ports[i]!.http}/jsz`);
    const leader = (jsz?.meta_cluster as { leader?: string } | undefined)?.leader;
    return typeof leader === 'string' && leader !== '' ? leader : null;
  };
  const ready = async (indexes: number[]) => {
    for (const i of indexes) {
      await poll(
        async () => {
          if (!running(i)) throw new Error(`NATS node ${names[i]} exited: ${lastLines(i)}`);
          return accepts(ports[i]!.mqtt);
        },
        timeoutMs,
        () => `${names[i]} did not accept MQTT connections on ${ports[i]!.mqtt}: ${lastLines(i)}`,
      );
    }
    const up = ports.map((_, i) => i).filter(running);
    await poll(
      async () => {
        const seen = await Promise.all(up.map(leaderSeenBy));
        return seen[0] !== null && seen.every((l) => l === seen[0]) ? seen[0]! : null;
      },
      timeoutMs,
      () => `the running nodes (${up.map((i) => names[i]).join(', ')}) did not agree on a JetStream meta leader`,
    );
    await roundTrip(indexes, up);
  };
  // A QoS 1 publish on one running node reaches a QoS 1 subscriber on each node of `indexes`:
  // the MQTT streams exist and those nodes have their MQTT session managers.
  const roundTrip = async (indexes: number[], up: number[]) => {
    const topic = `aquastop/nats-probe-${process.pid}/fault`;
    const subscribers = await Promise.all(
      indexes.map((i) =>
        mqtt.connectAsync(`mqtt://127.0.0.1:${ports[i]!.mqtt}`, {
          ...NATS_LOGIN.viewer,
          clientId: `probe-sub-${names[i]}-${process.pid}`,
          reconnectPeriod: 500,
          connectTimeout: timeoutMs,
        }),
      ),
    );
    const publisher = await mqtt.connectAsync(`mqtt://127.0.0.1:${ports[up[0]!]!.mqtt}`, {
      ...NATS_LOGIN.fleet,
      clientId: `probe-pub-${process.pid}`,
      reconnectPeriod: 500,
      connectTimeout: timeoutMs,
    });
    try {
      const got = subscribers.map(() => false);
      subscribers.forEach((s, k) => s.on('message', (t) => t === topic && (got[k] = true)));
      for (const s of subscribers) await s.subscribeAsync(topic, { qos: 1 });
      await poll(
        async () => {
          await publisher.publishAsync(topic, 'probe', { qos: 1 });
          await new Promise((r) => setTimeout(r, 200));
          return got.every(Boolean);
        },
        timeoutMs,
        () => `an MQTT QoS 1 message did not reach every node (${got.map((g, k) => `${names[indexes[k]!]}: ${g}`).join(', ')})`,
      );
    } finally {
      await Promise.all([...subscribers, publisher].map((c) => c.endAsync(true)));
    }
  };
  const stop = async (i: number) => {
    const c = children[i];
    if (!c || !running(i)) return;
    const exited = once(c, 'exit');
    c.kill('SIGKILL');
    await exited;
  };

  try {
    ports.forEach((_, i) => launch(i));
    await ready([0, 1, 2]);
  } catch (err) {
    await Promise.all(ports.map((_, i) => stop(i)));
    process.off('exit', killAll);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  const nodes: NatsNode[] = ports.map((p, i) => ({
    name: names[i]!,
    url: `mqtt://127.0.0.1:${p.mqtt}`,
    wsUrl: `ws://127.0.0.1:${p.ws}/mqtt`,
    mqttPort: p.mqtt,
    httpPort: p.http,
    running: () => running(i),
    pid: () => (running(i) ? (children[i]!.pid ?? null) : null),
    log: () => logs[i]!,
  }));
  return {
    nodes,
    brokerList: (first = 0) => nodes.map((_, k) => nodes[(first + k) % nodes.length]!.url).join(','),
    metaLeader: async () => {
      for (const i of ports.keys()) if (running(i)) return leaderSeenBy(i);
      return null;
    },
    streamLeaders: async () => {
      const leaders: Record<string, string> = {};
      // A node lists only the streams it holds a replica of.
      for (const i of ports.keys()) {
        if (!running(i)) continue;
        const jsz = await getJson(`http://127.0.0.1:${ports[i]!.http}/jsz?accounts=true&streams=true`);
        const accounts = (jsz?.account_details ?? []) as Array<{ stream_detail?: Array<{ name: string; cluster?: { leader?: string } }> }>;
        for (const a of accounts) for (const st of a.stream_detail ?? []) if (st.cluster?.leader) leaders[st.name] = st.cluster.leader;
      }
      return leaders;
    },
    kill: stop,
    restart: async (i) => {
      if (running(i)) throw new Error(`NATS node ${names[i]} is running`);
      launch(i);
      await ready([i]);
    },
    close: async () => {
      await Promise.all(ports.map((_, i) => stop(i)));
      process.off('exit', killAll);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
