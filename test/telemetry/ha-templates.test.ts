/**
 * The templates in our discovery configs, rendered with Jinja2 (the engine Home Assistant runs
 * them with, test/helpers/jinja.ts) on the payloads the device really publishes: each entity
 * reads the state it should, and a device trigger fires (its rendered value_template equals
 * its payload, as Home Assistant's MQTT trigger compares them) exactly for a raised fault of its
 * class.
 */
import { describe, expect, it } from 'vitest';
import { discoveryMessages } from '../../src/telemetry/discovery.js';
import { deviceStateSchema, faultEventSchema } from '../../src/protocol/topics.js';
import { faultEvent } from '../../src/board/status.js';
import { FAULT_CODES, FAULTS, type FaultCode } from '../../src/machine/catalogue.js';
import { deviceState, type DeviceState } from '../helpers/device-state.js';
import { hasJinja, renderJinja } from '../helpers/jinja.js';

const messages = discoveryMessages({ id: 'dishwasher-1', fw: 'fw-1.2', board: 'simulated' }, 'aquastop', 'dishwasher-1');
const config = (object: string) => messages.find((m) => m.object === object)!.payload;

/** A state message as the device publishes it (checked against the topic's schema). */
function state(fields: Partial<DeviceState>): string {
  return JSON.stringify(deviceStateSchema.parse(deviceState(fields)));
}

/** A fault event as the device publishes it on <base>/<id>/fault (checked against the topic's schema). */
function faultMessage(event: 'raised' | 'cleared', code: FaultCode): string {
  return JSON.stringify(faultEventSchema.parse({ ...faultEvent(event, code, 0, '1-1'), ts: '2026-11-23T19:48:13.508Z' }));
}

describe.skipIf(!hasJinja())('discovery templates rendered with Jinja2', () => {
  it('read the valve, the base-pan water, the fault and the uptime from the state the device publishes', () => {
    const cases: [string, string, string][] = [
      ['inlet', state({ valve: 'open' }), config('inlet').state_open as string],
      ['inlet', state({ valve: 'closed' }), config('inlet').state_closed as string],
      ['leak', state({ leak: true }), config('leak').payload_on as string],
      ['leak', state({ leak: false }), config('leak').payload_off as string],
      ['problem', state({ fault: 'i30' }), config('problem').payload_on as string],
      ['problem', state({ fault: null }), config('problem').payload_off as string],
      ['fault_code', state({ fault: 'iE0' }), 'iE0'],
      ['fault_code', state({ fault: null }), 'none'],
      ['uptime', state({ uptimeS: 210.8 }), '210'],
    ];
    const out = renderJinja(cases.map(([object, payload]) => ({ template: config(object).value_template as string, payload })));
    expect(out).toEqual(cases.map(([, , want]) => want));
    expect(config('inlet')).toMatchObject({ state_open: 'open', state_closed: 'closed' });
  });

  it('read availability from the bridge and the device as they publish it', () => {
    const avail = config('inlet').availability as { value_template: string }[];
    const out = renderJinja(
      avail.flatMap((a) => ['{"state":"online"}', '{"state":"offline","bridge":"dishwasher-1"}'].map((payload) => ({ template: a.value_template, payload }))),
    );
    expect(out).toEqual(['online', 'offline', 'online', 'offline']);
  });

  it("fire each class's device trigger for a raised fault of that class and of no other, and never for a cleared one", () => {
    const triggers = messages.filter((m) => m.component === 'device_automation');
    const cases = FAULT_CODES.flatMap((code) => (['raised', 'cleared'] as const).flatMap((event) => triggers.map((t) => ({ code, event, t }))));
    const out = renderJinja(cases.map(({ code, event, t }) => ({ template: t.payload.value_template as string, payload: faultMessage(event, code) })));
    const fired = (code: FaultCode, event: string) => cases.filter((c, i) => c.code === code && c.event === event && out[i] === c.t.payload.payload).map((c) => c.t.object);
    for (const code of FAULT_CODES) {
      expect(fired(code, 'raised'), code).toEqual([`fault_${FAULTS[code].class}`]);
      expect(fired(code, 'cleared'), code).toEqual([]);
    }
    expect(out.filter((o) => typeof o !== 'string')).toEqual([]);
  });
});
