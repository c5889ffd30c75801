/**
 * Telemetry pipeline throughput against a real mosquitto (started here with the shipped
 * config): one appliance runs normal-cycle at max speed with a 1 s heartbeat, and a subscriber
 * counts what arrives. Beside it, a raw mqtt.js loop publishes exactly the messages the
 * subscriber saw (same topics, payloads, QoS and retain flags) to the same broker. Both runs
 * end with the same marker, which arrives last because one client's messages stay in order.
 * The ratio pipeline / raw is the figure: how much the controller, the schemas and the outbox
 * cost on top of mqtt.js itself.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { Simulation } from '../../sim/engine.js';
import { loadBuiltinScenario } from '../../sim/scenarios/index.js';
import { startTelemetry } from '../../src/telemetry/index.js';
import { parseTopic, TOPICS } from '../../src/protocol/topics.js';
import { account, startMosquitto } from '../helpers/mosquitto.js';

interface Message {
  readonly topic: string;
  readonly payload: Buffer;
}

const ID = 'bench-1';
const MARKER = `aquastop/${ID}/availability`;
const OFFLINE = '{"state":"offline"}';

async function counter(url: string): Promise<{ client: MqttClient; messages: Message[]; marker: () => Promise<void> }> {
  const client = await mqtt.connectAsync(url, { ...account('viewer'), reconnectPeriod: 0 });
  const messages: Message[] = [];
  let onMarker: (() => void) | null = null;
  client.on('message', (topic, payload) => {
    messages.push({ topic, payload });
    if (topic === MARKER && payload.toString() === OFFLINE) onMarker?.();
  });
  await client.subscribeAsync([`aquastop/${ID}/#`, `aquastop/${ID}`, `homeassistant/+/${ID}/+/config`], { qos: 1 });
  return { client, messages, marker: () => new Promise<void>((r) => (onMarker = r)) };
}

async function pipeline(url: string): Promise<{ wallMs: number; messages: Message[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'aquastop-bench-'));
  const sub = await counter(url);
  const scenario = loadBuiltinScenario('normal-cycle')!;
  const sim = new Simulation({ scenario, deviceId: ID, keepLog: false });
  const done = sub.marker();
  const t0 = performance.now();
  const telemetry = await startTelemetry({ bridgeId: 'bench', broker: { kind: 'external', url, ...account('fleet') }, dataDir: dir, clock: sim.clock, heartbeatS: 1 });
  sim.onRuntime((runtime) => runtime && telemetry.addDevice({ runtime, fw: 'bench' }));
  await sim.start();
  await sim.runFor(scenario.duration);
  telemetry.removeDevice(ID);
  await done;
  const wallMs = performance.now() - t0;
  await sim.stop();
  await telemetry.stop();
  await sub.client.endAsync();
  rmSync(dir, { recursive: true, force: true });
  return { wallMs, messages: sub.messages };
}

/** The same run without telemetry: what the simulation alone costs. */
async function simOnly(): Promise<number> {
  const scenario = loadBuiltinScenario('normal-cycle')!;
  const sim = new Simulation({ scenario, deviceId: ID, keepLog: false });
  const t0 = performance.now();
  await sim.start();
  await sim.runFor(scenario.duration);
  const wallMs = performance.now() - t0;
  await sim.stop();
  return wallMs;
}

async function raw(url: string, messages: readonly Message[]): Promise<number> {
  const sub = await counter(url);
  const done = sub.marker();
  const t0 = performance.now();
  const client = await mqtt.connectAsync(url, { ...account('fleet'), reconnectPeriod: 0 });
  for (const m of messages) {
    const name = parseTopic(m.topic, 'aquastop')?.name ?? 'discovery';
    const spec = TOPICS[name];
    client.publish(m.topic, m.payload, { qos: spec.qos, retain: spec.retain });
  }
  await done;
  const wallMs = performance.now() - t0;
  await client.endAsync();
  await sub.client.endAsync();
  return wallMs;
}

export async function run(): Promise<Record<string, unknown>> {
  const broker = await startMosquitto();
  try {
    const runs: { pipelineMsgPerS: number; rawMsgPerS: number; messages: number; telemetryUsPerMessage: number }[] = [];
    for (let i = 0; i < 4; i++) {
      const p = await pipeline(broker.url);
      // The raw loop sends what arrived, marker last (the pipeline's last message is the marker).
      const rawMs = await raw(broker.url, p.messages);
      const simMs = await simOnly();
      runs.push({
        messages: p.messages.length,
        pipelineMsgPerS: Math.round(p.messages.length / (p.wallMs / 1000)),
        rawMsgPerS: Math.round(p.messages.length / (rawMs / 1000)),
        // What telemetry adds per message on top of the simulation it reports on.
        telemetryUsPerMessage: Math.round(((p.wallMs - simMs) * 1000) / p.messages.length),
      });
    }
    // The first round warms up the JIT; report the median of the rest.
    const rest = runs.slice(1).sort((a, b) => a.pipelineMsgPerS - b.pipelineMsgPerS);
    const median = rest[Math.floor(rest.length / 2)]!;
    return {
      broker: 'mosquitto 2 (shipped config, loopback)',
      scenario: 'normal-cycle',
      speed: 'max',
      heartbeatS: 1,
      messages: median.messages,
      pipelineMessagesPerSecond: median.pipelineMsgPerS,
      rawMqttJsMessagesPerSecond: median.rawMsgPerS,
      ratio: Math.round((median.pipelineMsgPerS / median.rawMsgPerS) * 100) / 100,
      telemetryUsPerMessage: median.telemetryUsPerMessage,
      runs,
    };
  } finally {
    await broker.close();
  }
}
