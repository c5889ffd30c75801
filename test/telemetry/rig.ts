/**
 * One simulated dishwasher with telemetry on its virtual clock, and an MQTT watcher that
 * records what a third party sees. Time moves only through `advance()`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { expect } from 'vitest';
import { Simulation } from '../../sim/engine.js';
import { parseScenario } from '../../sim/scenario.js';
import { injectFromDashboard } from '../../sim/interactive.js';
import { startTelemetry, type Telemetry, type TelemetryOptions } from '../../src/telemetry/index.js';

export interface Rig {
  readonly sim: Simulation;
  readonly telemetry: Telemetry;
  readonly dataDir: string;
  readonly lines: string[];
  /** Advances virtual time, then waits until what was published has reached the broker. */
  advance(ms: number): Promise<void>;
  stop(): Promise<void>;
}

export interface RigOptions extends Partial<Omit<TelemetryOptions, 'clock' | 'broker'>> {
  readonly broker: TelemetryOptions['broker'];
  /** This rig's bridge id; default: the device id (as `aquastop sim` does). */
  readonly bridgeId?: string;
  readonly id?: string;
  readonly timeline?: Record<string, unknown>[];
  /** Run the dishwasher program (default false: the appliance stands idle, armed). */
  readonly program?: boolean;
  /** Controller configuration overrides, as a scenario's `controller` (e.g. shorter fault timings). */
  readonly controller?: Record<string, unknown>;
}

export async function startRig(options: RigOptions): Promise<Rig> {
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'aquastop-telemetry-'));
  const id = options.id ?? 'dishwasher-1';
  const scenario = parseScenario(
    {
      name: 'telemetry-rig',
      description: 'telemetry test',
      duration: '10h',
      program: { start: options.program ?? false },
      timeline: options.timeline ?? [],
      controller: options.controller ?? {},
    },
    'test',
  );
  const sim = new Simulation({ scenario, deviceId: id });
  const lines: string[] = [];
  const { broker, id: _id, timeline: _t, program: _p, controller: _c, ...rest } = options;
  const telemetry = await startTelemetry({ heartbeatS: 10, bridgeId: id, ...rest, broker, dataDir, clock: sim.clock, log: (l) => lines.push(l) });
  sim.onRuntime((runtime) => {
    if (runtime) telemetry.addDevice({ runtime, fw: 'test-fw', inject: (fault) => injectFromDashboard(sim, fault) });
    else telemetry.removeDevice(id);
  });
  await sim.start();
  await telemetry.flush();
  return {
    sim,
    telemetry,
    dataDir,
    lines,
    advance: async (ms) => {
      await sim.runFor(ms);
      await telemetry.flush();
    },
    stop: async () => {
      await sim.stop();
      await telemetry.stop();
      if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Seen {
  readonly topic: string;
  readonly text: string;
  readonly retain: boolean;
}

/** A third-party MQTT client that records every message it sees. */
export class Watcher {
  readonly seen: Seen[] = [];
  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => this.seen.push({ topic, text: payload.toString('utf8'), retain: packet.retain }));
  }

  static async connect(url: string, filters: string[], options: IClientOptions = {}): Promise<Watcher> {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 200, connectTimeout: 5_000, ...options });
    const w = new Watcher(client);
    await client.subscribeAsync(filters, { qos: 1 });
    return w;
  }

  on(topic: string): Seen[] {
    return this.seen.filter((s) => s.topic === topic);
  }

  json<T = Record<string, unknown>>(topic: string): T[] {
    return this.on(topic).map((s) => JSON.parse(s.text) as T);
  }

  last<T = Record<string, unknown>>(topic: string): T | undefined {
    return this.json<T>(topic).at(-1);
  }

  /** Waits (bounded) until a message on `topic` satisfies `ok`. */
  async waitFor<T = Record<string, unknown>>(topic: string, ok: (value: T) => boolean = () => true, timeout = 10_000): Promise<T> {
    await expect.poll(() => this.json<T>(topic).some(ok), { timeout, interval: 20 }).toBe(true);
    return this.json<T>(topic).find(ok)!;
  }

  async end(): Promise<void> {
    await this.client.endAsync(true);
  }
}

/** Publishes a command as `who` and returns the answer from set/result. */
export async function sendCommand(
  url: string,
  id: string,
  payload: string | Buffer,
  who: IClientOptions = {},
  base = 'aquastop',
): Promise<{ ok: boolean; error?: string; command?: string }> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5_000, ...who });
  try {
    const answer = new Promise<{ ok: boolean; error?: string }>((resolve) => {
      client.on('message', (topic, body) => {
        if (topic === `${base}/${id}/set/result`) resolve(JSON.parse(body.toString('utf8')));
      });
    });
    await client.subscribeAsync(`${base}/${id}/set/result`, { qos: 1 });
    await client.publishAsync(`${base}/${id}/set`, payload, { qos: 1 });
    return await answer;
  } finally {
    await client.endAsync(true);
  }
}
