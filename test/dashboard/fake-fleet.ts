/**
 * Stand-in devices for dashboard tests until the real fleet is used: publishes schema-valid
 * state, availability, heartbeats and fault events (validated with the schemas of topics.ts)
 * and answers `set` on `set/result` the way the controller does: closing the valve is always
 * accepted; a reset is refused while the base pan is wet. `inject: leak` trips i30. A fault
 * raised is remembered in the fault memory, published retained as the controller's is.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { FAULTS, type FaultCode } from '../../src/machine/catalogue.js';
import { TOPICS, injectSchema, parseTopic, topicFor, type PayloadOf, type TopicName } from '../../src/protocol/topics.js';
import { parseCommand } from '../../src/telemetry/commands.js';
import { deviceState } from '../helpers/device-state.js';

type State = PayloadOf<'state'>;

export interface FakeFleet {
  readonly client: MqttClient;
  states: Map<string, State>;
  /** Every injection received, in order. */
  readonly injected: Array<{ id: string; inject: string }>;
  /** Devices whose injections are refused, as the telemetry refuses them for an appliance with no injector. */
  readonly refuseInjections: Set<string>;
  publish<T extends TopicName>(name: T, id: string | undefined, payload: PayloadOf<T>): Promise<void>;
  setState(id: string, patch: Partial<State>): Promise<void>;
  heartbeat(id: string): Promise<void>;
  raise(id: string, code: FaultCode): Promise<void>;
  stop(): Promise<void>;
}

export function baseState(): State {
  return deviceState({ last_seen: new Date().toISOString() });
}

/** `login` defaults to the test broker's stand-in user `device`; a secured broker needs a fleet account. */
export async function startFakeFleet(mqttUrl: string, base = 'aquastop', login: { username: string; password?: string } = { username: 'device' }): Promise<FakeFleet> {
  const client = await mqtt.connectAsync(mqttUrl, { ...login, clientId: `fake-fleet-${process.pid}-${Math.random()}` });
  const states = new Map<string, State>();
  const seq = new Map<string, number>();
  const injected: Array<{ id: string; inject: string }> = [];
  const refuseInjections = new Set<string>();

  const publish = async <T extends TopicName>(name: T, id: string | undefined, payload: PayloadOf<T>) => {
    const spec = TOPICS[name];
    spec.schema.parse(payload);
    await client.publishAsync(topicFor(name, { base, id }), JSON.stringify(payload), { qos: spec.qos, retain: spec.retain });
  };
  const setState = async (id: string, patch: Partial<State>) => {
    const next = { ...(states.get(id) ?? baseState()), ...patch, last_seen: new Date().toISOString() };
    states.set(id, next);
    await publish('state', id, next);
  };
  const heartbeat = async (id: string) => {
    const n = (seq.get(id) ?? 0) + 1;
    seq.set(id, n);
    const s = states.get(id) ?? baseState();
    await publish('heartbeat', id, { seq: n, boot: 1, uptimeS: n, intervalS: 5, state: s.state, fault: s.fault, ts: new Date().toISOString() });
  };
  const memories = new Map<string, PayloadOf<'faultMemory'>['faults']>();
  const raise = async (id: string, code: FaultCode) => {
    const f = FAULTS[code];
    const ts = new Date().toISOString();
    await publish('fault', id, { id: `1-${Date.now()}`, event: 'raised', code, display: f.display, text: f.text, severity: f.severity, reset: f.reset, ts });
    // Like the device: the fault memory (retained) after every fault raised, the last 16.
    const memory = [...(memories.get(id) ?? []), { code, ts, detail: `stand-in ${code}` }].slice(-16);
    memories.set(id, memory);
    await publish('faultMemory', id, { faults: memory, ts });
    const s = states.get(id) ?? baseState();
    const latched = f.reset !== 'auto';
    await setState(id, {
      fault: code,
      breaker: latched ? 'latched' : 'tripped',
      state: latched ? 'latched' : 'tripped',
      valve: 'closed',
      tripCount: s.tripCount + 1,
      ...(code === 'i30' ? { leak: true, drainPump: 'on' as const } : {}),
    });
  };

  await client.subscribeAsync([`${base}/+/set`, `${base}/+/inject`], { qos: 1 });
  client.on('message', (topic, payload) => {
    const t = parseTopic(topic, base);
    if (!t?.id) return;
    const id = t.id;
    let body: unknown;
    try {
      body = JSON.parse(payload.toString());
    } catch {
      body = null;
    }
    void (async () => {
      if (t.name === 'set') {
        // The device's own parser, so the fake reads commands (and their correlation ids) as the telemetry does.
        const cmd = parseCommand(payload);
        let result: PayloadOf<'setResult'>;
        const key = { ...(cmd.key !== undefined ? { command: cmd.key } : {}), ...(cmd.id !== undefined ? { id: cmd.id } : {}) };
        if (!cmd.ok) result = { ok: false, error: cmd.error };
        else if (cmd.command === 'closeValve') {
          await setState(id, { valve: 'closed' });
          result = { ok: true };
        } else if (cmd.command === 'reset') {
          const s = states.get(id) ?? baseState();
          if (s.leak) result = { ok: false, error: 'reset refused: the base pan is still wet (i30)' };
          else {
            await setState(id, { fault: null, breaker: 'armed', state: 'armed.idle' });
            result = { ok: true };
          }
        } else result = { ok: false, error: 'not supported by the fake fleet' };
        await publish('setResult', id, { ...result, ...key });
      } else if (t.name === 'inject') {
        const inj = injectSchema.safeParse(body);
        if (inj.success) injected.push({ id, inject: inj.data.inject });
        // Like the telemetry: an injection is answered only when refused.
        if (refuseInjections.has(id)) {
          await publish('setResult', id, { ok: false, error: `${id} is not a simulated appliance: nothing to inject`, command: 'inject' });
          return;
        }
        if (inj.success && (inj.data.inject === 'leak' || inj.data.inject === 'burstHose')) await raise(id, 'i30');
        if (inj.success && inj.data.inject === 'tapClosed') await raise(id, 'i10');
      }
    })();
  });

  return {
    client,
    states,
    injected,
    refuseInjections,
    publish,
    setState,
    heartbeat,
    raise,
    stop: async () => {
      await client.endAsync();
    },
  };
}
