/**
 * What a bridge (index.ts: one connection for the process's devices) and a fleet of per-device
 * connections (fleet.ts) share around their {@link DeviceTelemetry}s: the time stamps, the
 * publishes in flight, and the routing of what arrives to the device it is for.
 */
import type { Clock } from '../clock/clock.js';
import { HeartbeatCadence } from './heartbeat-cadence.js';
import type { DeviceTelemetry, DeviceTelemetryOptions } from './device.js';
import type { LinkTiming } from './link.js';
import { parseTopic } from '../protocol/topics.js';

/**
 * Clock time (ms) as an ISO wall time, anchored at the wall time of this call: a simulated run at
 * max speed shows its virtual time.
 */
export function anchoredIso(clock: Clock): (clockMs: number) => string {
  const anchor = { wall: Date.now(), clock: clock.now() };
  return (ms) => new Date(anchor.wall + ms - anchor.clock).toISOString();
}

/** What every appliance's telemetry in one process shares: its options but the appliance's own id, connection and loop lag. */
export type SharedDeviceOptions = Omit<DeviceTelemetryOptions, 'loopLag' | 'outboxFs'>;

/** The shared options of a process's appliances, from its checked settings (index.ts `telemetrySettings`). */
export function sharedDeviceOptions(
  settings: Pick<SharedDeviceOptions, 'base' | 'haPrefix' | 'heartbeatS' | 'log'>,
  options: { readonly dataDir: string; readonly allowRemoteReset?: boolean } & Pick<LinkTiming, 'ackClock'>,
  clock: Clock,
  inFlight: InFlight,
): SharedDeviceOptions {
  const { base, haPrefix, heartbeatS, log } = settings;
  const allowRemoteReset = options.allowRemoteReset ?? false;
  const cadence = new HeartbeatCadence(clock, heartbeatS * 1000);
  const ackClock = options.ackClock ?? Date.now;
  return { clock, base, haPrefix, heartbeatS, cadence, log, dataDir: options.dataDir, allowRemoteReset, iso: anchoredIso(clock), track: inFlight.track, ackClock };
}

/** The publishes not yet settled, so a flush can wait for them; each leaves the set as it settles. */
export class InFlight {
  private readonly pending = new Set<Promise<unknown>>();

  readonly track = (p: Promise<unknown>): void => {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  };

  get size(): number {
    return this.pending.size;
  }

  /** Resolves when everything tracked so far has settled. */
  settled(): Promise<unknown> {
    return Promise.allSettled([...this.pending]);
  }
}

export interface Routing {
  readonly base: string;
  readonly haPrefix: string | null;
  /** The devices this connection carries: by id, and all of them (Home Assistant's birth message). */
  device(id: string): DeviceTelemetry | undefined;
  devices(): Iterable<DeviceTelemetry>;
}

/**
 * A message on a device connection: Home Assistant's `online` publishes discovery again for every
 * device; a `set` or `inject` goes to its device. Anything else is not for a device.
 */
export function routeMessage(routing: Routing, topic: string, payload: Buffer, retained: boolean): void {
  if (routing.haPrefix !== null && topic === `${routing.haPrefix}/status`) {
    if (payload.toString('utf8').trim() === 'online') for (const d of routing.devices()) d.publishDiscovery();
    return;
  }
  const where = parseTopic(topic, routing.base);
  if (!where?.id || (where.name !== 'set' && where.name !== 'inject')) return;
  routing.device(where.id)?.onMessage(where.name, payload, retained);
}
