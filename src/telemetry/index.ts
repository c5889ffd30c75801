/**
 * Telemetry entry point used by the commands: publishes every device's state, availability,
 * heartbeats and fault events, and takes commands (README, "MQTT").
 *
 * One MQTT connection per process (the bridge, with its last will on the process's own bridge
 * topic, named in every device's availability); an embedded aedes broker unless an external
 * one is named. Timestamps are the injected clock's time anchored at the
 * wall time when telemetry started, so a simulated run at max speed shows its virtual time.
 */
import { mkdirSync } from 'node:fs';
import { UsageError } from '../errors/usage-error.js';
import type { Clock } from '../clock/clock.js';
import type { CommandResult, Runtime } from '../board/runtime-types.js';
import type { z } from 'zod';
import type { Account } from './access.js';
import { startEmbeddedBroker, type EmbeddedBroker } from './broker.js';
import { brokerUrlProblem } from '../protocol/broker-url.js';
import { Connection } from './connection.js';
import type { ConnectionLimitOptions } from './connection-guard.js';
import { DeviceTelemetry } from './device.js';
import { LoopLagWindows } from './loop-lag.js';
import { InFlight, routeMessage, sharedDeviceOptions } from './device-wiring.js';
import { linkTiming, type LinkTiming } from './link.js';
import { bridgeIdSchema, topicFor, type injectSchema } from '../protocol/topics.js';
import { DEFAULT_BASE_TOPIC } from '../protocol/names.js';
import type { TlsMaterial } from './tls.js';

export type InjectName = z.output<typeof injectSchema>['inject'];

/** What a telemetry log line is about, for a structured logger. */
export interface TelemetryLogFields {
  readonly device?: string;
}

export interface TelemetryDevice {
  readonly runtime: Runtime;
  /** Firmware / software version shown in state and discovery. */
  readonly fw: string;
  /** Simulated devices accept fault injection from the dashboard; real ones leave this out. */
  readonly inject?: (fault: InjectName) => CommandResult;
}

export type BrokerOptions =
  | {
      readonly kind: 'embedded';
      readonly host: string;
      readonly port: number;
      readonly wsPort: number | null;
      /** Connection limits other than connection-guard.ts's defaults (a fleet with a connection per appliance needs more than 64 from one address). */
      readonly connections?: ConnectionLimitOptions;
      /** Listen with TLS only (mqtts://, wss://); `trust` is what this process's own clients trust to reach it (tls.ts loadServerTls). */
      readonly tls?: { readonly server: { readonly cert: Buffer; readonly key: Buffer }; readonly trust: Buffer };
    }
  | { readonly kind: 'external'; readonly url: string; readonly username?: string; readonly password?: string; readonly tls?: TlsMaterial };

/** `ackClock` and `willSettleMs` (link.ts `LinkTiming`): tests move their own clock and delays. */
export interface TelemetryOptions extends LinkTiming {
  readonly broker: BrokerOptions;
  /**
   * This process's bridge id (`<base>/bridge/<bridgeId>/state`, src/protocol/topics.ts `bridgeIdSchema`):
   * different for every process publishing at the same time, the same across its restarts.
   * A device account may publish only the bridge named like itself.
   */
  readonly bridgeId: string;
  /** Base topic, default "aquastop". */
  readonly baseTopic?: string;
  /** Home Assistant discovery prefix, default "homeassistant"; null turns discovery off. */
  readonly haPrefix?: string | null;
  /** Heartbeat interval in seconds (clock time), default 10. */
  readonly heartbeatS?: number;
  /** Wall-time window of the event-loop lag a heartbeat carries (loop-lag.ts), default 10,000 ms. */
  readonly loopLagWindowMs?: number;
  /** Where the outbox (fault events queued during outages) and boot counters live. */
  readonly dataDir: string;
  readonly clock: Clock;
  /** Allow `{"reset":"trip"}` from MQTT (still refused while the pan is wet). Default false. */
  readonly allowRemoteReset?: boolean;
  /** One line per notable thing (connected, reconnecting, rejected command). */
  /** One line per event worth telling; `fields.device` names the device a line is about. */
  readonly log?: (line: string, fields?: TelemetryLogFields) => void;
  /** Accounts of the embedded broker (operators, viewers, devices); ignored for an external one. */
  readonly accounts?: readonly Account[];
}

export interface Telemetry {
  /** mqtt:// URL of the broker in use. */
  readonly brokerUrl: string;
  /** ws:// URL for browsers, when the embedded broker has a WebSocket listener. */
  readonly wsUrl: string | null;
  /** A read-only login on the embedded broker for watchers in this process (the monitor); null for an external broker. */
  readonly watcherLogin: { readonly username: string; readonly password: string } | null;
  /** A publishing login on the embedded broker for per-device connections in this process (fleet.ts); null for an external broker. */
  readonly fleetLogin: { readonly username: string; readonly password: string } | null;
  /** What a watcher in this process (the monitor) needs to reach the broker over TLS; undefined without TLS. */
  readonly clientTls: TlsMaterial | undefined;
  /** Start publishing for a device; a device with the same id (after a power cut) is replaced. */
  addDevice(device: TelemetryDevice): void;
  /** Stop publishing for a device and mark it offline (power cut). */
  removeDevice(id: string): void;
  /** Resolves when everything queued so far has been handed to the broker (or to the on-disk outbox). */
  flush(): Promise<void>;
  /** Publishes offline for every device and the bridge, disconnects, stops an embedded broker. */
  stop(): Promise<void>;
}

/** Thrown for user-caused problems (port in use, bad URL, bad credentials): one line, exit 2. */
export class TelemetryError extends UsageError {}

/** The settings a bridge and a per-device fleet (fleet.ts) both check first; each problem is a {@link TelemetryError}. */
export function telemetrySettings(options: Omit<TelemetryOptions, 'broker' | 'bridgeId'>): {
  base: string;
  haPrefix: string | null;
  heartbeatS: number;
  log: NonNullable<TelemetryOptions['log']>;
} {
  const heartbeatS = options.heartbeatS ?? 10;
  if (!(heartbeatS > 0 && heartbeatS <= 3600)) throw new TelemetryError(`heartbeat interval must be above 0 s and at most 3600 s (got ${heartbeatS})`);
  return {
    base: options.baseTopic ?? DEFAULT_BASE_TOPIC,
    haPrefix: options.haPrefix === undefined ? 'homeassistant' : options.haPrefix,
    heartbeatS,
    log: options.log ?? (() => undefined),
  };
}

/** Creates the data directory (outboxes, boot counts), or says in one line why it cannot. */
export function makeDataDir(dataDir: string): void {
  try {
    mkdirSync(dataDir, { recursive: true });
  } catch (err) {
    throw new TelemetryError(`cannot use data directory ${dataDir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/** The broker this process's bridge connects to: the embedded one, started here, or the one named. */
interface BrokerInUse {
  readonly embedded: EmbeddedBroker | null;
  readonly url: string;
  readonly credentials: { username?: string; password?: string };
  readonly tls: TlsMaterial | undefined;
}

async function brokerInUse(broker: BrokerOptions, accounts: readonly Account[], base: string, haPrefix: string | null, log: (line: string) => void): Promise<BrokerInUse> {
  if (broker.kind === 'external') {
    const problem = brokerUrlProblem(broker.url);
    if (problem !== null) throw new TelemetryError(problem);
    const credentials = {
      ...(broker.username !== undefined ? { username: broker.username } : {}),
      ...(broker.password !== undefined ? { password: broker.password } : {}),
    };
    return { embedded: null, url: broker.url, credentials, tls: broker.tls };
  }
  const b = broker;
  const embedded = await startEmbeddedBroker({
    host: b.host,
    port: b.port,
    wsPort: b.wsPort,
    ...(b.tls ? { tls: b.tls.server } : {}),
    ...(b.connections ? { limits: { connections: b.connections } } : {}),
    accounts,
    base,
    haPrefix,
    log: (line) => log(`broker: ${line}`),
  }).catch((err: unknown) => {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE')
      throw new TelemetryError(
        `embedded broker: port ${e.message.match(/:(\d+)$/)?.[1] ?? ''} on ${b.host} is already in use (choose another port, or --broker URL for a running broker)`,
      );
    if (e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND') throw new TelemetryError(`embedded broker: cannot listen on ${b.host} (${e.code})`);
    throw err;
  });
  return { embedded, url: embedded.url, credentials: embedded.internal, tls: b.tls ? { ca: b.tls.trust } : undefined };
}

/** Resolves once everything in flight has settled, or as soon as the connection goes offline (then what is queued is in the outbox on disk, or not meant to be kept). */
async function flushBridge(connection: Connection, inFlight: InFlight): Promise<void> {
  if (!connection.connected) return;
  let offline = false;
  let wake = () => undefined as void;
  const wentOffline = new Promise<void>((r) => (wake = r));
  const onOffline = () => {
    offline = true;
    wake();
  };
  connection.client.on('offline', onOffline);
  try {
    while (inFlight.size > 0 && !offline) await Promise.race([inFlight.settled(), wentOffline]);
  } finally {
    connection.client.off('offline', onOffline);
  }
}

export async function startTelemetry(options: TelemetryOptions): Promise<Telemetry> {
  const settings = telemetrySettings(options);
  const { base, haPrefix, log } = settings;
  const clock = options.clock;
  const bridgeId = bridgeIdSchema.safeParse(options.bridgeId);
  if (!bridgeId.success) throw new TelemetryError(`bridge id "${options.bridgeId}": ${bridgeId.error.issues[0]?.message ?? 'invalid'}`);
  makeDataDir(options.dataDir);
  const { embedded, url, credentials, tls } = await brokerInUse(options.broker, options.accounts ?? [], base, haPrefix, log);

  const connection = new Connection({
    url,
    base,
    bridgeId: bridgeId.data,
    log,
    ...credentials,
    ...(tls ? { tls } : {}),
    ...linkTiming(options),
  });
  const inFlight = new InFlight();
  const shared = sharedDeviceOptions(settings, options, clock, inFlight);
  const devices = new Map<string, DeviceTelemetry>();
  connection.onConnect(() => {
    for (const d of devices.values()) d.publishAll();
  });
  const routing = { base, haPrefix, device: (id: string) => devices.get(id), devices: () => devices.values() };
  connection.onMessage((topic, payload, retained) => routeMessage(routing, topic, payload, retained));
  if (haPrefix !== null) connection.subscribe([topicFor('haStatus', { base, prefix: haPrefix })]);

  try {
    await connection.open();
  } catch (err) {
    await embedded?.close();
    throw new TelemetryError((err as Error).message);
  }

  let stopped = false;
  // One per process: every heartbeat of this process carries the loop lag its controllers share.
  const loopLag = new LoopLagWindows(options.loopLagWindowMs);
  const deviceOptions = { ...shared, loopLag: () => loopLag.latest() };
  return {
    brokerUrl: url,
    wsUrl: embedded?.wsUrl ?? null,
    watcherLogin: embedded?.watcher ?? null,
    fleetLogin: embedded?.internal ?? null,
    clientTls: tls,
    addDevice(device) {
      if (stopped) return;
      const id = device.runtime.deviceId;
      let d = devices.get(id);
      if (!d) {
        d = new DeviceTelemetry(deviceOptions, id, connection);
        devices.set(id, d);
        connection.subscribe(d.filters);
      }
      d.attach(device);
    },
    removeDevice(id) {
      devices.get(id)?.detach();
    },
    flush: () => flushBridge(connection, inFlight),
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const d of devices.values()) d.detach();
      loopLag.stop();
      await connection.end();
      await embedded?.close();
    },
  };
}
