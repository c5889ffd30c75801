/**
 * A retained message the broker acknowledges and does not keep (link.ts `SLOW_ACK_MS`).
 *
 * NATS's MQTT stores a retained message in a JetStream stream before it acknowledges the publish.
 * While that stream has no leader (a node of the cluster lost) the store times out after 4 s;
 * NATS logs "unable to store retained message" and acknowledges all the same, keeping the older
 * retained message: test/telemetry/nats-cluster.test.ts met it as a bridge left "offline" by its
 * will and as a state and fault memory from before a trip. Here an in-process aedes broker does
 * the same on cue, with the 4 s as a step of the wall clock the device times acknowledgements by:
 * while it stalls, each retained publish moves that clock 4 s on, is acknowledged and is not
 * stored. The will is stored as usual (the node that closes a connection stores it before the
 * device is back). Both device connections: the process bridge (mqtt.js, one connection for the
 * process's appliances) and a fleet's own connection per appliance (lean-connection.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { Simulation } from '../../sim/engine.js';
import { parseScenario } from '../../sim/scenario.js';
import { startFleetTelemetry } from '../../src/telemetry/fleet.js';
import { startTelemetry, type Telemetry } from '../../src/telemetry/index.js';
import { startBroker, waitFor, type TestBroker } from '../monitor/helpers.js';

const ID = 'doubt-1';
const HEARTBEAT_MS = 10_000;
const STATE = `aquastop/${ID}`;
const AVAILABILITY = `aquastop/${ID}/availability`;
const MEMORY = `aquastop/${ID}/fault-memory`;
const BRIDGE = `aquastop/bridge/${ID}/state`;
const RETAINED = [STATE, AVAILABILITY, MEMORY, BRIDGE];
const WILL = '{"state":"offline"}';
/** The leak, latched as i30 1 s later; between the heartbeats at 30 s and 40 s. */
const LEAK_AT = 35_000;

/** An aedes broker (test/monitor/helpers.ts) that stalls, and sends a will late, on cue. */
interface StallingBroker extends TestBroker {
  /** While on, each retained publish but a will takes 4 s of the ack clock, is acknowledged and is not stored. */
  stalling: boolean;
  /** While on, a will waits until the bridge's next online has been received, and is sent right after it (a broker that sends the lost connection's will late). */
  lateWill: boolean;
  /** Retained publishes received per topic (stored or not). */
  readonly received: Map<string, number>;
  /** What a new subscriber is given for `topics` (each of them is retained by then). */
  retained(topics: string[]): Promise<Map<string, string>>;
}

async function stallingBroker(clock: { wall: number }): Promise<StallingBroker> {
  const lost = new Set<string>();
  const key = (topic: string, payload: Buffer | string) => `${topic}\0${payload.toString()}`;
  const flags = { stalling: false, lateWill: false };
  let heldWill: (() => void) | null = null;
  const received = new Map<string, number>();
  const broker = await startBroker({
    authorizePublish: (_client, packet, done) => {
      if (packet.retain) {
        received.set(packet.topic, (received.get(packet.topic) ?? 0) + 1);
        if (flags.stalling && packet.payload.toString() !== WILL) {
          clock.wall += 4_000;
          lost.add(key(packet.topic, packet.payload));
        }
        if (flags.lateWill && packet.payload.toString() === WILL) {
          heldWill = () => done(null);
          return;
        }
        if (heldWill !== null && packet.topic === BRIDGE && packet.payload.toString() === '{"state":"online"}') {
          const will = heldWill;
          heldWill = null;
          flags.lateWill = false;
          done(null);
          setImmediate(will);
          return;
        }
      }
      done(null);
    },
  });
  // aedes's typings leave out its persistence; the retained store of its in-memory one is wrapped.
  type Retained = { topic: string; payload: Buffer };
  const persistence = (broker.aedes as unknown as { persistence: { storeRetained(packet: Retained): Promise<void> } }).persistence;
  const store = persistence.storeRetained.bind(persistence);
  persistence.storeRetained = (packet) => (lost.delete(key(packet.topic, packet.payload)) ? Promise.resolve() : store(packet));
  // The flags are the returned object's own: setting `stalling` on it is what the hook reads.
  return Object.assign(flags, broker, {
    received,
    async retained(topics: string[]) {
      const c = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0, clientId: `reader-${Math.random().toString(16).slice(2, 10)}` });
      const seen = new Map<string, string>();
      c.on('message', (topic, payload, packet) => packet.retain && seen.set(topic, payload.toString()));
      try {
        await c.subscribeAsync(topics, { qos: 0 });
        await waitFor(() => topics.every((t) => seen.has(t)), 5_000, `the retained ${topics.join(', ')}`);
        return seen;
      } finally {
        await c.endAsync(true);
      }
    },
  });
}

interface Device {
  readonly sim: Simulation;
  readonly telemetry: Telemetry;
  readonly lines: string[];
  /** Advances virtual time, then waits until every publish is acknowledged. */
  advance(ms: number): Promise<void>;
}

const KINDS = ['the process bridge (mqtt.js)', "a fleet appliance's own connection (lean)"] as const;

async function device(kind: (typeof KINDS)[number], url: string, dataDir: string, clock: { wall: number }, willSettleMs?: number[]): Promise<Device> {
  const scenario = parseScenario(
    {
      name: 'doubt',
      description: 'a leak at 35 s, latched 1 s later',
      duration: '1h',
      program: { start: false },
      timeline: [{ at: LEAK_AT, inject: 'leak', ml: 300 }],
      controller: { leak: { wetDebounceMs: 1_000 } },
    },
    'test',
  );
  const sim = new Simulation({ scenario, deviceId: ID });
  const lines: string[] = [];
  const common = {
    heartbeatS: HEARTBEAT_MS / 1000,
    haPrefix: null,
    dataDir,
    clock: sim.clock,
    log: (l: string) => lines.push(l),
    ackClock: () => clock.wall,
    ...(willSettleMs ? { willSettleMs } : {}),
  };
  const telemetry =
    kind === KINDS[0]
      ? await startTelemetry({ ...common, broker: { kind: 'external', url }, bridgeId: ID })
      : await startFleetTelemetry({ ...common, url, reconnect: { firstMs: 50, maxMs: 100 }, random: () => 0.5, simulated: true });
  sim.onRuntime((runtime) => (runtime ? telemetry.addDevice({ runtime, fw: 'test' }) : telemetry.removeDevice(ID)));
  await sim.start();
  if (kind === KINDS[1]) await waitFor(() => lines.some((l) => l.includes('connected to')), 5_000, 'connected');
  await telemetry.flush();
  return {
    sim,
    telemetry,
    lines,
    advance: async (ms) => {
      await sim.runFor(ms);
      await telemetry.flush();
    },
  };
}

describe.each(KINDS)('a retained publish acknowledged late and not kept, on %s', (kind) => {
  let broker: StallingBroker | null = null;
  let dev: Device | null = null;
  let dir = '';
  afterEach(async () => {
    await dev?.sim.stop();
    await dev?.telemetry.stop();
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
    dev = null;
    broker = null;
  });

  const start = async (willSettleMs?: number[]) => {
    const clock = { wall: 1_000_000 };
    dir = mkdtempSync(join(tmpdir(), 'aquastop-doubt-'));
    broker = await stallingBroker(clock);
    dev = await device(kind, broker.url, dir, clock, willSettleMs);
    return { broker, dev };
  };

  it('is published again at the next heartbeat, while the connection stays up: the trip the broker dropped is retained after all', async () => {
    const { broker, dev } = await start();
    await dev.advance(2_000);
    // A healthy broker: three heartbeats publish nothing retained again.
    const before = new Map(broker.received);
    await dev.advance(3 * HEARTBEAT_MS);
    expect(broker.received).toEqual(before);
    expect(dev.sim.clock.now()).toBe(LEAK_AT - 3_000);

    // The broker stalls across the leak and the trip, and past the heartbeat at 40 s (which
    // publishes the state and the fault memory again, dropped too), until just before 50 s.
    broker.stalling = true;
    await dev.advance(7_000);
    expect(dev.sim.runtime!.status()).toMatchObject({ fault: 'i30', breaker: 'latched' });
    const tripped = new Map(broker.received);
    await dev.advance(HEARTBEAT_MS);
    broker.stalling = false;
    const count = (topic: string) => broker.received.get(topic) ?? 0;
    expect([count(STATE), count(MEMORY)], 'the two messages acknowledged late, published again at 40 s').toEqual([tripped.get(STATE)! + 1, tripped.get(MEMORY)! + 1]);
    const stale = await broker.retained([STATE, MEMORY]);
    expect(JSON.parse(stale.get(STATE)!).fault, 'the broker kept the state from before the trip').toBeNull();
    expect(JSON.parse(stale.get(MEMORY)!).faults).toEqual([]);

    await dev.advance(HEARTBEAT_MS);
    const kept = await broker.retained(RETAINED);
    expect(JSON.parse(kept.get(STATE)!)).toMatchObject({ fault: 'i30', breaker: 'latched' });
    expect(JSON.parse(kept.get(MEMORY)!).faults.map((f: { code: string }) => f.code)).toEqual(['i30']);
    expect(JSON.parse(kept.get(AVAILABILITY)!)).toEqual({ state: 'online', bridge: ID });
    expect(JSON.parse(kept.get(BRIDGE)!)).toEqual({ state: 'online' });
    // Only what was acknowledged late: the availability and the bridge's online were not published.
    expect([count(AVAILABILITY), count(BRIDGE)]).toEqual([before.get(AVAILABILITY), before.get(BRIDGE)]);
    expect(dev.lines.filter((l) => l.includes('to acknowledge'))).toHaveLength(1);

    // Healthy again: nothing more is published again.
    const after = new Map(broker.received);
    await dev.advance(3 * HEARTBEAT_MS);
    expect(broker.received).toEqual(after);
  });

  it('is published again at the next heartbeat after a reconnect whose online the broker dropped: the bridge does not stay offline by its will', async () => {
    const { broker, dev } = await start();
    await dev.advance(2_000);
    broker.stalling = true;
    const reconnects = () => dev.lines.filter((l) => l.startsWith('reconnected to') || l.includes(': reconnected to')).length;
    broker.drop(`aquastop-${ID}`);
    await waitFor(() => reconnects() === 1, 10_000, 'reconnected');
    await waitFor(() => (broker.received.get(MEMORY) ?? 0) >= 2, 5_000, 'what the device publishes after a reconnect');
    await dev.telemetry.flush();
    broker.stalling = false;
    expect(JSON.parse((await broker.retained([BRIDGE])).get(BRIDGE)!), 'the will kept, the online dropped').toEqual({ state: 'offline' });

    await dev.advance(HEARTBEAT_MS);
    expect(JSON.parse((await broker.retained([BRIDGE])).get(BRIDGE)!)).toEqual({ state: 'online' });
  });

  it('publishes its online again after a reconnect, past a will the broker sends after that online (link.ts WILL_SETTLE_MS)', async () => {
    // A short settle delay (the default is 10 s, then 30 s): the will is let go as soon as the online after the reconnect is in.
    const { broker, dev } = await start([300]);
    await dev.advance(2_000);
    broker.lateWill = true;
    const bridgeStates = () => broker.received.get(BRIDGE) ?? 0;
    const before = bridgeStates();
    broker.drop(`aquastop-${ID}`);
    // The will (held), the online after the reconnect, the will let go, then the online again.
    await waitFor(() => !broker.lateWill && bridgeStates() === before + 3, 10_000, 'the will let go after the online, then the online again');
    expect(JSON.parse((await broker.retained([BRIDGE])).get(BRIDGE)!)).toEqual({ state: 'online' });
  });
});
