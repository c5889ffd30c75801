/**
 * Telemetry for a fleet in which every appliance has its own MQTT connection, as a real fleet
 * has (`aquastop start --per-device-connections`): the same {@link Telemetry} as index.ts, but
 * one {@link Connection} per device instead of one bridge for the process.
 *
 * Contract:
 * - Each device's connection is its own bridge: client id `aquastop-<id>`, last will
 *   `{"state":"offline"}` on `<base>/bridge/<id>/state`, and the device's availability names
 *   it. A dead connection (a cut socket, a crashed device) makes exactly that device offline at
 *   the monitor; the others stay online. This is the bridge a device account may publish
 *   (access.ts: a device publishes only the bridge named like itself), so a per-device login
 *   works as well as one fleet login (`credentials`).
 * - A device's connection opens when the device is added (the fleet's power-on plan spreads
 *   that over one heartbeat interval, sim/fleet-start.ts) and never blocks `addDevice`.
 *   Reconnects use jittered exponential back-off (link.ts `Backoff`): after a broker
 *   restart the fleet comes back spread over `reconnect.firstMs` .. 2 x that, not at once.
 * - Topics, payloads, retained flags and QoS are those of a bridge's device (device.ts); a
 *   connection carries one device's few QoS 1 messages, so no connection runs short of MQTT
 *   message ids (65,535 in flight) however large the fleet.
 * - Bounded: at most `maxDevices` connections (default and ceiling {@link MAX_FLEET_CONNECTIONS}).
 */
import { nodeDurableFs, type DurableFs } from '../board/durable-file.js';
import { brokerNodes, brokerUrlProblem } from '../protocol/broker-url.js';
import { Connection } from './connection.js';
import { LeanConnection, type LeanShared } from './lean-connection.js';
import { linkTiming, type LinkOwner, type OwnLink } from './link.js';
import { DeviceTelemetry } from './device.js';
import { LoopLagWindows } from './loop-lag.js';
import { makeDataDir, telemetrySettings, TelemetryError, type Telemetry, type TelemetryOptions } from './index.js';
import { InFlight, routeMessage, sharedDeviceOptions, type Routing } from './device-wiring.js';
import { MAX_FLEET_CONNECTIONS } from './fleet-size.js';
import { topicFor } from '../protocol/topics.js';
import type { TlsMaterial } from './tls.js';

export { MAX_FLEET_CONNECTIONS };

export interface FleetTelemetryOptions extends Omit<TelemetryOptions, 'bridgeId' | 'broker' | 'accounts'> {
  /** An external broker (mosquitto, a NATS cluster, EMQX): one URL or a cluster's list (src/protocol/broker-url.ts). */
  readonly url: string;
  readonly tls?: TlsMaterial;
  /** The login of a device's connection: one fleet account for all, or each device's own account. */
  readonly credentials?: (id: string) => { readonly username: string; readonly password: string } | undefined;
  /** Reconnect back-off of every connection (link.ts `Backoff`); default 1 s doubling to 30 s. */
  readonly reconnect?: { readonly firstMs: number; readonly maxMs: number };
  /** [0, 1) for the back-off's jitter; default Math.random. */
  readonly random?: () => number;
  readonly maxDevices?: number;
  /**
   * Write each device's outbox and boot count without fsync (still atomic: a temp file renamed
   * over the old one), for simulated appliances, whose power is cut in software. Two fsyncs per
   * appliance at power-on took 38 s of a 10,000-appliance start (a quarter of its CPU profile).
   * Default false: durable, as a real device must be.
   */
  readonly simulated?: boolean;
}

/** Atomic but not durable across a power loss of the machine: for simulated appliances. */
const noFsync: DurableFs = { ...nodeDurableFs, fsyncFile: () => undefined, fsyncDir: () => undefined };

export interface FleetTelemetry extends Telemetry {
  /** The device's own connection (tests cut its socket to fire its will). */
  connectionOf(id: string): OwnLink | undefined;
  /** How many of the connections are up now. */
  connectedCount(): number;
}

/** What the members of one fleet share. */
interface FleetWiring {
  readonly base: string;
  readonly haPrefix: string | null;
  readonly log: (line: string, fields?: { readonly device?: string }) => void;
}

/**
 * One appliance of the fleet: its telemetry, its own connection, the listener of that connection
 * (a lean connection calls its methods) and the routing of what arrives on it, which is for this
 * appliance alone. Methods on a class, not closures: tsx names every arrow function it compiles,
 * which costs each about 250 bytes more, in every appliance of a fleet.
 */
class Member implements Routing, LinkOwner {
  connection!: OwnLink;
  telemetry!: DeviceTelemetry;

  constructor(
    private readonly wiring: FleetWiring,
    readonly id: string,
  ) {}

  get base(): string {
    return this.wiring.base;
  }

  get haPrefix(): string | null {
    return this.wiring.haPrefix;
  }

  /** A fleet's connections say little: their lines carry the device. */
  log(line: string): void {
    this.wiring.log(`${this.id}: ${line}`, { device: this.id });
  }

  connected(): void {
    this.telemetry.publishAll();
    this.telemetry.heartbeatNow();
  }

  message(topic: string, payload: Buffer, retained: boolean): void {
    routeMessage(this, topic, payload, retained);
  }

  device(to: string): DeviceTelemetry | undefined {
    return to === this.id ? this.telemetry : undefined;
  }

  devices(): Iterable<DeviceTelemetry> {
    return [this.telemetry];
  }
}

export async function startFleetTelemetry(options: FleetTelemetryOptions): Promise<FleetTelemetry> {
  const settings = telemetrySettings(options);
  const { base, haPrefix, log } = settings;
  const maxDevices = options.maxDevices ?? MAX_FLEET_CONNECTIONS;
  if (!Number.isInteger(maxDevices) || maxDevices < 1 || maxDevices > MAX_FLEET_CONNECTIONS)
    throw new TelemetryError(`per-device connections: at most ${MAX_FLEET_CONNECTIONS} devices (got ${maxDevices})`);
  const problem = brokerUrlProblem(options.url);
  if (problem !== null) throw new TelemetryError(problem);
  makeDataDir(options.dataDir);
  const clock = options.clock;
  const backoff = { ...(options.reconnect ?? { firstMs: 1_000, maxMs: 30_000 }), random: options.random ?? Math.random };
  const inFlight = new InFlight();
  const shared = sharedDeviceOptions(settings, options, clock, inFlight);
  const members = new Map<string, Member>();
  const loopLag = new LoopLagWindows(options.loopLagWindowMs);
  const deviceOptions = { ...shared, loopLag: () => loopLag.latest(), ...(options.simulated ? { outboxFs: noFsync } : {}) };
  let stopped = false;

  // MQTT over TCP or TLS: the lean connection (about a tenth of an mqtt.js client's memory);
  // WebSocket URLs: mqtt.js.
  const nodes = brokerNodes(options.url);
  const lean: LeanShared | null = nodes.every((n) => n.protocol === 'mqtt' || n.protocol === 'mqtts')
    ? {
        url: options.url,
        nodes,
        base,
        backoff,
        ...(options.tls ? { tls: options.tls } : {}),
        ...linkTiming(options),
      }
    : null;

  const wiring: FleetWiring = { base, haPrefix, log };
  const open = (id: string): Member => {
    const creds = options.credentials?.(id);
    const member = new Member(wiring, id);
    if (lean !== null) member.connection = new LeanConnection(lean, id, member, creds);
    else {
      const connection = new Connection({
        url: options.url,
        base,
        bridgeId: id,
        log: (line) => member.log(line),
        ...(creds ?? {}),
        ...(options.tls ? { tls: options.tls } : {}),
        ...linkTiming(options),
        backoff,
      });
      connection.onConnect(() => member.connected());
      connection.onMessage((topic, payload, retained) => member.message(topic, payload, retained));
      member.connection = connection;
    }
    member.telemetry = new DeviceTelemetry(deviceOptions, id, member.connection);
    member.connection.subscribe([...member.telemetry.filters, ...(haPrefix !== null ? [topicFor('haStatus', { base, prefix: haPrefix })] : [])]);
    // In the background: a device protects offline while its broker is away.
    member.connection.open().catch((err: unknown) => log(`${id}: ${err instanceof Error ? err.message : String(err)}`, { device: id }));
    return member;
  };

  return {
    brokerUrl: options.url,
    wsUrl: null,
    watcherLogin: null,
    fleetLogin: null,
    clientTls: options.tls,
    addDevice(d) {
      if (stopped) return;
      const id = d.runtime.deviceId;
      let m = members.get(id);
      if (!m) {
        if (members.size >= maxDevices) {
          log(`${id}: not connected: this fleet holds at most ${maxDevices} per-device connections`, { device: id });
          return;
        }
        m = open(id);
        members.set(id, m);
      }
      m.telemetry.attach(d);
    },
    removeDevice(id) {
      members.get(id)?.telemetry.detach();
    },
    async flush() {
      // Bounded: what a cut connection holds is in its outbox on disk (faults) or not meant to be kept.
      await Promise.race([inFlight.settled(), new Promise((r) => setTimeout(r, 5_000).unref())]);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      loopLag.stop();
      for (const m of members.values()) m.telemetry.detach();
      await Promise.allSettled([...members.values()].map((m) => m.connection.end()));
    },
    connectionOf: (id) => members.get(id)?.connection,
    connectedCount: () => {
      let n = 0;
      for (const m of members.values()) if (m.connection.connected) n++;
      return n;
    },
  };
}
