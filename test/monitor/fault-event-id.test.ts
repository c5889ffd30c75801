/**
 * A fault alert names the device's fault event whichever message told the monitor of the fault:
 * the device puts the id of the event behind its fault in its state and heartbeats
 * (`faultEvent`), so a monitor that starts (or comes back) after a device tripped, and learns of
 * the fault from the retained state, alerts with the same id the device's fault event carries.
 * A device older than the field still works: its alerts carry no id.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock/virtual-clock.js';
import { startMonitor, type Monitor } from '../../src/monitor/index.js';
import { MemoryEventLog } from '../../src/monitor/event-log.js';
import { Tracker } from '../../src/monitor/tracker.js';
import type { Alert } from '../../src/monitor/types.js';
import { faultEventSchema, type PayloadOf } from '../../src/protocol/topics.js';
import { startRig, Watcher, type Rig } from '../telemetry/rig.js';
import { startBroker, startWebhookReceiver, waitFor, type TestBroker, type WebhookReceiver } from './helpers.js';

describe('a monitor started after the device tripped', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('alerts fault-raised with the id of the device fault event, told only by the retained state', async () => {
    const broker: TestBroker = await startBroker();
    cleanups.push(() => broker.close());
    const id = 'tripped-1';
    const watcher = await Watcher.connect(broker.url, [`aquastop/${id}/fault`, `aquastop/${id}`]);
    cleanups.push(() => watcher.end());
    const rig: Rig = await startRig({ broker: { kind: 'external', url: broker.url }, id, timeline: [{ at: '5s', inject: 'leak', ml: 300 }] });
    cleanups.push(() => rig.stop());
    await rig.advance(30_000);
    const raised = faultEventSchema.parse(await watcher.waitFor(`aquastop/${id}/fault`, (e) => e.event === 'raised'));
    expect(raised.code).toBe('i30');
    await watcher.waitFor(`aquastop/${id}`, (s) => s.fault === 'i30');

    // The monitor comes now: the fault event is gone (not retained, and no session kept it), the
    // retained state is its only news of the fault. No time passes on the device meanwhile, so
    // no heartbeat comes either.
    const records: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') records.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const hook: WebhookReceiver = await startWebhookReceiver();
    cleanups.push(() => hook.close());
    const dataDir = mkdtempSync(join(tmpdir(), 'aquastop-fault-id-'));
    const monitor: Monitor = await startMonitor({ brokerUrl: broker.url, port: 0, dataDir, webhookUrl: hook.url, logger: pino({ level: 'info' }, sink) });
    cleanups.push(async () => {
      await monitor.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    await waitFor(() => records.some((r) => typeof r.msg === 'string' && r.msg.startsWith(`alert fault-raised ${id}`)), 10_000, 'the fault-raised alert record');
    const record = records.find((r) => typeof r.msg === 'string' && r.msg.startsWith(`alert fault-raised ${id}`))!;
    expect(record).toMatchObject({ device: id, code: 'i30', event: raised.id });
    await waitFor(() => hook.received.length > 0, 10_000, 'the webhook POST');
    expect(hook.received[0]).toMatchObject({ kind: 'fault-raised', device: id, code: 'i30', event: raised.id });
    // The fault event itself never reached this monitor: the id came with the state.
    expect(watcher.on(`aquastop/${id}/fault`)).toHaveLength(1);
    expect(monitor.subscriber.stats.accepted).toBeGreaterThan(0);
  }, 30_000);

  it('the device names the raise in its state and heartbeats while the fault holds, then the clearing', async () => {
    const broker: TestBroker = await startBroker();
    cleanups.push(() => broker.close());
    const id = 'named-1';
    const watcher = await Watcher.connect(broker.url, [`aquastop/${id}/#`, `aquastop/${id}`]);
    cleanups.push(() => watcher.end());
    const rig: Rig = await startRig({
      broker: { kind: 'external', url: broker.url },
      id,
      timeline: [
        { at: '5s', inject: 'leak', ml: 300 },
        { at: '60s', dryPan: true },
        { at: '150s', press: 'reset' },
      ],
    });
    cleanups.push(() => rig.stop());
    await rig.advance(31_000);
    const raised = faultEventSchema.parse(await watcher.waitFor(`aquastop/${id}/fault`, (e) => e.event === 'raised'));
    // Before the fault: no event named. While it holds: its raise, in every state and heartbeat that shows it.
    const states = () => watcher.json<{ fault: string | null; faultEvent?: string }>(`aquastop/${id}`);
    const beats = () => watcher.json<{ fault: string | null; faultEvent?: string }>(`aquastop/${id}/heartbeat`);
    await waitFor(() => beats().some((h) => h.fault === 'i30'), 5_000, 'a heartbeat showing i30');
    expect(states()[0]).not.toHaveProperty('faultEvent');
    expect(beats()[0]).toMatchObject({ fault: null });
    expect(beats()[0]).not.toHaveProperty('faultEvent');
    expect(
      states()
        .filter((s) => s.fault === 'i30')
        .map((s) => s.faultEvent),
    ).toEqual(
      states()
        .filter((s) => s.fault === 'i30')
        .map(() => raised.id),
    );
    expect(
      beats()
        .filter((h) => h.fault === 'i30')
        .map((h) => h.faultEvent),
    ).toEqual(
      beats()
        .filter((h) => h.fault === 'i30')
        .map(() => raised.id),
    );
    // Cleared by the reset: the state names the clearing event.
    await rig.advance(130_000);
    const cleared = faultEventSchema.parse(await watcher.waitFor(`aquastop/${id}/fault`, (e) => e.event === 'cleared'));
    await waitFor(() => states().at(-1)?.fault === null, 5_000, 'the state without the fault');
    expect(states().at(-1)).toMatchObject({ fault: null, faultEvent: cleared.id });
  }, 30_000);
});

describe('the tracker takes the fault event id from whichever message tells the fault', () => {
  const S = 1000;
  function setup() {
    const alerts: Alert[] = [];
    const clock = new VirtualClock(0);
    const tracker = new Tracker({ clock, log: new MemoryEventLog(), alerts: { send: (a) => alerts.push(a) }, snapshotMs: 0 });
    tracker.start();
    const beat = (over: Partial<PayloadOf<'heartbeat'>>) =>
      tracker.onHeartbeat('dw-1', { seq: 1, boot: 1, uptimeS: 0, intervalS: 10, state: 'latched', fault: null, ts: new Date(clock.now()).toISOString(), ...over });
    const state = (over: Partial<PayloadOf<'state'>>) =>
      tracker.onState('dw-1', {
        state: 'latched',
        breaker: 'latched',
        valve: 'closed',
        drainPump: 'on',
        leak: true,
        fault: null,
        tripCount: 1,
        uptimeS: 1,
        tubLevelL: 0,
        fw: 'fw',
        board: 'simulated',
        last_seen: new Date(clock.now()).toISOString(),
        ...over,
      });
    return { tracker, clock, alerts, beat, state };
  }

  it('a heartbeat: the raise id on fault-raised, the clearing id on fault-cleared', () => {
    const { clock, alerts, beat } = setup();
    beat({ fault: 'i30', faultEvent: '4-1' });
    clock.advance(S);
    beat({ seq: 2, fault: null, faultEvent: '4-2' });
    expect(alerts.map((a) => [a.kind, a.code, a.event])).toEqual([
      ['fault-raised', 'i30', '4-1'],
      ['fault-cleared', 'i30', '4-2'],
    ]);
  });

  it('a retained state: the same', () => {
    const { clock, alerts, state } = setup();
    state({ fault: 'i11', faultEvent: '2-7' });
    clock.advance(S);
    state({ fault: null, faultEvent: '2-8', breaker: 'armed' });
    expect(alerts.map((a) => [a.kind, a.code, a.event])).toEqual([
      ['fault-raised', 'i11', '2-7'],
      ['fault-cleared', 'i11', '2-8'],
    ]);
  });

  it('a device older than the field: the alerts carry no id, and nothing else changes', () => {
    const { clock, alerts, beat, state } = setup();
    state({ fault: 'i30' });
    clock.advance(S);
    beat({ fault: null });
    expect(alerts.map((a) => [a.kind, a.code])).toEqual([
      ['fault-raised', 'i30'],
      ['fault-cleared', 'i30'],
    ]);
    expect(alerts.every((a) => !('event' in a))).toBe(true);
  });
});
