/**
 * The MQTT contract (README, "MQTT"), as one suite run against the embedded broker and against a
 * real mosquitto with the shipped configuration. Each test uses its own device id, because
 * retained messages stay on the broker between tests.
 */
import { afterEach, describe, expect, it } from 'vitest';
import mqtt, { type IClientOptions } from 'mqtt';
import { deviceStateSchema, faultEventSchema, faultMemorySchema, heartbeatSchema, DISCOVERY_ENTITIES } from '../../src/protocol/topics.js';
import type { TelemetryOptions } from '../../src/telemetry/index.js';
import { sendCommand, startRig, Watcher, type Rig, type RigOptions } from './rig.js';
import { hasJinja, renderJinja } from '../helpers/jinja.js';

export interface ContractTarget {
  readonly name: string;
  /** MQTT URL third parties connect to. */
  url(): string;
  /** How the telemetry under test reaches the broker. */
  broker(): TelemetryOptions['broker'];
  readonly operator: IClientOptions;
  readonly viewer: IClientOptions;
  /** A device account and the device id it owns. */
  readonly device: IClientOptions & { username: string };
  /** What a refused publish does to the client: closes it (aedes) or drops the message (mosquitto 3.1.1). */
  readonly refusal: 'disconnect' | 'drop';
}

let n = 0;
const uniqueId = (prefix: string) => `${prefix}-${process.pid}-${++n}`;
/** A leak at 5 s (i30 raised), the base pan dried at 60 s, the reset pressed at 150 s (i30 cleared). */
const leakDryReset = () => [
  { at: '5s', inject: 'leak', ml: 300 },
  { at: '60s', dryPan: true },
  { at: '150s', press: 'reset' },
];

export function telemetryContract(target: ContractTarget): void {
  describe(`MQTT contract on ${target.name}`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0).reverse()) await c();
    });
    const rig = async (options: Partial<RigOptions> = {}): Promise<Rig> => {
      const r = await startRig({ broker: target.broker(), ...options });
      cleanups.push(() => r.stop());
      return r;
    };
    const watch = async (filters: string[], options: IClientOptions = {}): Promise<Watcher> => {
      const w = await Watcher.connect(target.url(), filters, options);
      cleanups.push(() => w.end());
      return w;
    };

    it('shows a late subscriber its own bridge online and the retained state and availability naming that bridge, but no retained heartbeat', async () => {
      const id = uniqueId('late');
      const r = await rig({ id });
      await r.advance(25_000);
      const w = await watch(['aquastop/#']);
      const state = deviceStateSchema.parse(await w.waitFor(`aquastop/${id}`));
      expect(state).toMatchObject({ breaker: 'armed', valve: 'closed', drainPump: 'off', fault: null, board: 'simulated', fw: 'test-fw' });
      // The rig's bridge is named after its device, as `aquastop sim` names it.
      await w.waitFor(`aquastop/bridge/${id}/state`, (s) => s.state === 'online');
      await w.waitFor(`aquastop/${id}/availability`, (s) => s.state === 'online' && s.bridge === id);
      expect(w.on(`aquastop/${id}`).every((m) => m.retain)).toBe(true);
      expect(w.on(`aquastop/${id}/heartbeat`)).toEqual([]);
      await r.advance(10_000);
      await w.waitFor(`aquastop/${id}/heartbeat`);
      expect(w.on(`aquastop/${id}/heartbeat`).some((m) => m.retain)).toBe(false);
    });

    it('counts heartbeat seq up by one each interval and boot up by one after a restart', async () => {
      const id = uniqueId('beat');
      const w = await watch([`aquastop/${id}/heartbeat`]);
      const first = await startRig({ broker: target.broker(), id });
      const dataDir = first.dataDir;
      await first.advance(35_000);
      const beats = (await expect.poll(() => w.json(`aquastop/${id}/heartbeat`).length).toBe(4), w.json(`aquastop/${id}/heartbeat`).map((h) => heartbeatSchema.parse(h)));
      expect(beats.map((h) => h.seq)).toEqual([1, 2, 3, 4]);
      expect(beats.map((h) => h.uptimeS)).toEqual([0, 10, 20, 30]);
      expect(new Set(beats.map((h) => h.intervalS))).toEqual(new Set([10]));
      const boot = beats[0]!.boot;
      await first.sim.stop();
      await first.telemetry.stop();
      const second = await rig({ id, dataDir });
      await second.advance(10_000);
      await expect.poll(() => w.json(`aquastop/${id}/heartbeat`).length).toBe(6);
      const after = w
        .json(`aquastop/${id}/heartbeat`)
        .slice(4)
        .map((h) => heartbeatSchema.parse(h));
      expect(after.map((h) => [h.boot, h.seq])).toEqual([
        [boot + 1, 1],
        [boot + 1, 2],
      ]);
    });

    it('publishes fault events raised and cleared with the catalogue display, text and unique ids', async () => {
      const id = uniqueId('fault');
      const w = await watch([`aquastop/${id}/fault`]);
      const r = await rig({
        id,
        timeline: leakDryReset(),
      });
      await r.advance(160_000);
      const events = (await expect.poll(() => w.json(`aquastop/${id}/fault`).length).toBe(2), w.json(`aquastop/${id}/fault`).map((e) => faultEventSchema.parse(e)));
      expect(events.map((e) => [e.event, e.code, e.display])).toEqual([
        ['raised', 'i30', ',30'],
        ['cleared', 'i30', ',30'],
      ]);
      expect(events[0]).toMatchObject({ severity: 'critical', reset: 'manual' });
      expect(events[0]!.text.length).toBeGreaterThan(5);
      expect(new Set(events.map((e) => e.id)).size).toBe(2);
      expect(w.on(`aquastop/${id}/fault`).some((m) => m.retain)).toBe(false);
    });

    it('keeps the fault memory retained: a late subscriber sees the faults raised with their times, again after a power cycle', async () => {
      const id = uniqueId('memory');
      const w = await watch([`aquastop/${id}/fault`, `aquastop/${id}/fault-memory`]);
      // A leak (i30), reset once dry, then a power cycle with nothing raised at the restart.
      const r = await rig({
        id,
        timeline: [...leakDryReset(), { at: '160s', power: 'cut' }, { at: '162s', power: 'restore' }],
      });
      await r.advance(20_000);
      const raised = faultEventSchema.parse(await w.waitFor(`aquastop/${id}/fault`, (e) => e.event === 'raised'));
      const late = await watch([`aquastop/${id}/fault-memory`]);
      const memory = faultMemorySchema.parse(await late.waitFor<{ faults: unknown[] }>(`aquastop/${id}/fault-memory`, (m) => m.faults.length === 1));
      expect(memory.faults).toEqual([{ code: 'i30', ts: raised.ts, detail: expect.any(String) }]);
      expect(late.on(`aquastop/${id}/fault-memory`).every((m) => m.retain)).toBe(true);
      // The memory is the controller's, kept across the power cycle: the restart publishes it again.
      await r.advance(155_000);
      const cleared = faultEventSchema.parse(await w.waitFor(`aquastop/${id}/fault`, (e) => e.event === 'cleared'));
      const restarted = await w.waitFor<{ ts: string }>(`aquastop/${id}/fault-memory`, (m) => Date.parse(m.ts) > Date.parse(cleared.ts) + 5_000);
      expect(faultMemorySchema.parse(restarted).faults).toEqual(memory.faults);
      expect(w.json(`aquastop/${id}/fault`).filter((e) => e.event === 'raised')).toHaveLength(1);
    });

    it('always accepts {"valve":"CLOSE"} from an operator', async () => {
      const id = uniqueId('close');
      await rig({ id });
      expect(await sendCommand(target.url(), id, '{"valve":"CLOSE"}', target.operator)).toEqual({ ok: true, command: 'valve' });
      expect(await sendCommand(target.url(), id, '{"valve":"CLOSE","id":"op-7"}', target.operator)).toEqual({ ok: true, command: 'valve', id: 'op-7' });
    });

    it('refuses a remote reset unless it is enabled, and while the pan is wet even then; accepts it once dry', async () => {
      const off = uniqueId('reset-off');
      await rig({ id: off, timeline: [{ at: '1s', inject: 'leak', ml: 300 }] });
      const refusedOff = await sendCommand(target.url(), off, '{"reset":"trip"}', target.operator);
      expect(refusedOff).toMatchObject({ ok: false, command: 'reset' });
      expect(refusedOff.error).toMatch(/remote reset is disabled/);

      const id = uniqueId('reset-on');
      const w = await watch([`aquastop/${id}`]);
      const r = await rig({
        id,
        allowRemoteReset: true,
        timeline: [
          { at: '1s', inject: 'leak', ml: 300 },
          { at: '60s', dryPan: true },
        ],
      });
      await r.advance(30_000);
      await w.waitFor(`aquastop/${id}`, (s) => s.breaker === 'latched' && s.fault === 'i30');
      // While latched no command may let water in: the exercise (the only command that opens the valve) is refused.
      const exercise = await sendCommand(target.url(), id, '{"exercise":true}', target.operator);
      expect(exercise).toMatchObject({ ok: false, command: 'exercise' });
      expect(r.sim.runtime!.status().valve).toBe('closed');
      const wet = await sendCommand(target.url(), id, '{"reset":"trip"}', target.operator);
      expect(wet.ok).toBe(false);
      expect(wet.error).toMatch(/dry/);
      expect(r.sim.runtime!.status().breaker).toBe('latched');
      await r.advance(100_000);
      expect(await sendCommand(target.url(), id, '{"reset":"trip"}', target.operator)).toEqual({ ok: true, command: 'reset' });
      await r.advance(1_000);
      await w.waitFor(`aquastop/${id}`, (s) => s.breaker === 'armed' && s.fault === null);
    });

    it('runs the remote proof test only where remote commands are allowed, only when idle, and publishes its result', async () => {
      const locked = uniqueId('exercise-locked');
      const l = await rig({ id: locked });
      await l.advance(61_000);
      const refused = await sendCommand(target.url(), locked, '{"exercise":true}', target.operator);
      expect(refused).toMatchObject({ ok: false, command: 'exercise' });
      expect(refused.error).toMatch(/--allow-remote-reset/);

      const idle = uniqueId('exercise-idle');
      const w = await watch([`aquastop/${idle}/exercise`]);
      const r = await rig({ id: idle, allowRemoteReset: true });
      const early = await sendCommand(target.url(), idle, '{"exercise":true}', target.operator);
      expect(early).toMatchObject({ ok: false, command: 'exercise' });
      expect(early.error).toMatch(/dry for 60 s/);
      await r.advance(61_000);
      expect(await sendCommand(target.url(), idle, '{"exercise":true}', target.operator)).toEqual({ ok: true, command: 'exercise' });
      await r.advance(10_000);
      const result = await w.waitFor(`aquastop/${idle}/exercise`);
      expect(result).toMatchObject({ result: 'passed' });
      const late = await watch([`aquastop/${idle}/exercise`]);
      await late.waitFor(`aquastop/${idle}/exercise`, (m) => m.result === 'passed');
      expect(late.on(`aquastop/${idle}/exercise`).every((m) => m.retain)).toBe(true);
      const again = await sendCommand(target.url(), idle, '{"exercise":true}', target.operator);
      expect(again.error).toMatch(/already ran/);

      const busy = uniqueId('exercise-busy');
      const b = await rig({ id: busy, program: true, allowRemoteReset: true });
      await b.advance(5_000);
      const notIdle = await sendCommand(target.url(), busy, '{"exercise":true}', target.operator);
      expect(notIdle).toMatchObject({ ok: false, command: 'exercise' });
      expect(notIdle.error).toMatch(/idle/);
    });

    it('answers malformed, oversized and unknown payloads with an error and changes nothing', async () => {
      const id = uniqueId('bad');
      const r = await rig({ id, allowRemoteReset: true });
      const before = JSON.stringify(r.sim.runtime!.status());
      const cases: [string | Buffer, RegExp][] = [
        ['not json', /not JSON/],
        [Buffer.alloc(4096, 'x'), /too large: 4096 bytes/],
        ['{"valve":"OPEN"}', /cannot be opened remotely/],
        ['{"open":true}', /unknown command "open"/],
        ['{"valve":"CLOSE","reset":"trip"}', /one command per message/],
        ['[1,2]', /JSON object/],
        ['', /empty payload/],
      ];
      for (const [payload, why] of cases) {
        const answer = await sendCommand(target.url(), id, payload, target.operator);
        expect(answer.ok, String(payload).slice(0, 40)).toBe(false);
        expect(answer.error).toMatch(why);
      }
      expect(JSON.stringify(r.sim.runtime!.status())).toBe(before);
    });

    it('keeps no retained command or injection to run again later (the broker refuses the retain flag there)', async () => {
      const id = uniqueId('retained');
      for (const [tail, payload] of [
        ['set', '{"exercise":true}'],
        ['inject', '{"inject":"leak"}'],
      ] as const) {
        const op = await mqtt.connectAsync(target.url(), { reconnectPeriod: 0, ...target.operator });
        const closed = new Promise<void>((resolve) => op.once('close', () => resolve()));
        op.publish(`aquastop/${id}/${tail}`, payload, { qos: 1, retain: true });
        // aedes closes the connection; mosquitto drops the message but acknowledges it (MQTT 3.1.1).
        if (target.refusal === 'disconnect') await closed;
        else await op.publishAsync(`aquastop/${id}/${tail}`, '{"valve":"CLOSE"}', { qos: 1 });
        await op.endAsync(true);
      }
      const w = await watch([`aquastop/${id}/set/result`, `aquastop/${id}/set`, `aquastop/${id}/inject`]);
      const r = await rig({ id });
      await r.advance(20_000);
      expect(w.seen.filter((m) => m.retain)).toEqual([]);
      expect(w.on(`aquastop/${id}/set/result`)).toEqual([]);
      expect(r.sim.runtime!.status()).toMatchObject({ leak: false, fault: null, breaker: 'armed', valve: 'closed' });
    });

    it('lets no one but an operator publish set, and a device only its own topics', async () => {
      const victim = uniqueId('victim');
      await rig({ id: victim });
      const w = await watch(['aquastop/#']);
      const own = target.device.username;
      const attempts: [IClientOptions, string][] = [
        [{}, `aquastop/${victim}/set`],
        [target.viewer, `aquastop/${victim}/set`],
        [target.device, `aquastop/${victim}/set`],
        [target.device, `aquastop/${own}/set`],
        [target.device, `aquastop/${victim}/fault`],
        [target.device, `aquastop/${victim}`],
      ];
      for (const [who, topic] of attempts) {
        const c = await mqtt.connectAsync(target.url(), { reconnectPeriod: 0, ...who });
        const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
        c.publish(topic, '{"valve":"CLOSE"}', { qos: 0 });
        if (target.refusal === 'disconnect') {
          await closed;
        } else {
          // Messages of one client are delivered in order: once its allowed message arrives, a refused one would have too.
          const barrier = who === target.device ? `aquastop/${own}/availability` : null;
          if (barrier) {
            await c.publishAsync(barrier, '{"state":"online"}', { qos: 1 });
            await w.waitFor(barrier);
          }
        }
        await c.endAsync(true);
      }
      // The device account may publish its own heartbeat.
      const d = await mqtt.connectAsync(target.url(), { reconnectPeriod: 0, ...target.device });
      await d.publishAsync(`aquastop/${own}/heartbeat`, '{"seq":1}', { qos: 1 });
      await w.waitFor(`aquastop/${own}/heartbeat`);
      await d.endAsync(true);
      for (const [, topic] of attempts)
        expect(
          w.on(topic).filter((m) => m.text === '{"valve":"CLOSE"}'),
          topic,
        ).toEqual([]);
      expect(w.seen.filter((m) => m.topic === `aquastop/${victim}/set/result`)).toEqual([]);
    });

    it('announces the device to Home Assistant and again when Home Assistant comes online', async () => {
      const id = uniqueId('ha');
      const w = await watch([`homeassistant/+/${id}/+/config`]);
      await rig({ id });
      const n = DISCOVERY_ENTITIES.length;
      await expect.poll(() => w.seen.length).toBe(n);
      expect(w.seen.map((m) => m.topic).sort()).toEqual(DISCOVERY_ENTITIES.map((e) => `homeassistant/${e.component}/${id}/${e.object}/config`).sort());
      // Retained: a subscriber that comes later gets them all at once.
      const late = await watch([`homeassistant/+/${id}/+/config`]);
      await expect.poll(() => late.seen.filter((m) => m.retain).length).toBe(n);
      const ha = await mqtt.connectAsync(target.url(), { reconnectPeriod: 0, ...target.operator });
      await ha.publishAsync('homeassistant/status', 'online', { qos: 1 });
      await ha.endAsync();
      await expect.poll(() => w.seen.length).toBe(2 * n);
    });

    it("delivers a raised leak where its device trigger listens, and the trigger's template, rendered with Jinja2, fires it", async () => {
      const id = uniqueId('trigger');
      const w = await watch([`homeassistant/device_automation/${id}/+/config`]);
      const r = await rig({ id, timeline: [{ at: '5s', inject: 'leak', ml: 300 }] });
      const config = await w.waitFor<{ topic: string; value_template: string; payload: string }>(`homeassistant/device_automation/${id}/fault_leak/config`);
      // Home Assistant subscribes to the trigger's topic; what comes there is what it renders.
      const events = await watch([config.topic]);
      await r.advance(20_000);
      const raised = await events.waitFor(config.topic, (e) => e.event === 'raised');
      expect(raised).toMatchObject({ code: 'i30' });
      if (!hasJinja()) return;
      const text = events.on(config.topic).find((m) => JSON.parse(m.text).event === 'raised')!.text;
      expect(renderJinja([{ template: config.value_template, payload: text }])).toEqual([config.payload]);
    });

    it('publishes the device and its bridge offline on a clean stop', async () => {
      const id = uniqueId('stop');
      const w = await watch([`aquastop/${id}/availability`, `aquastop/bridge/${id}/state`]);
      const r = await startRig({ broker: target.broker(), id });
      await w.waitFor(`aquastop/${id}/availability`, (s) => s.state === 'online');
      await r.stop();
      await w.waitFor(`aquastop/${id}/availability`, (s) => s.state === 'offline');
      await w.waitFor(`aquastop/bridge/${id}/state`, (s) => s.state === 'offline');
    });
  });
}
