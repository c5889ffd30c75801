/**
 * What our discovery offers Home Assistant and how it ties into the brokers' rules. Each config's
 * keys and types against Home Assistant's own schemas: ha-schema.test.ts; its templates rendered
 * with Jinja2: ha-templates.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { discoveryMessages } from '../../src/telemetry/discovery.js';
import { discoveryRefusal } from '../../src/telemetry/access.js';
import { DISCOVERY_ENTITIES, MAX_DISCOVERY_BYTES } from '../../src/protocol/topics.js';
import { FAULT_CLASSES } from '../../src/machine/catalogue.js';

describe('Home Assistant discovery', () => {
  const messages = discoveryMessages({ id: 'dishwasher-1', fw: 'fw-1.2', board: 'usb' }, 'aquastop', 'kitchen-pi');

  it('offers the valve, leak and problem binary sensors, fault code and uptime sensors, the reset button, and a device trigger per fault class', () => {
    expect(messages.map((m) => `${m.component}/${m.object}`)).toEqual([
      'valve/inlet',
      'binary_sensor/leak',
      'binary_sensor/problem',
      'sensor/fault_code',
      'sensor/uptime',
      'button/reset',
      ...FAULT_CLASSES.map((c) => `device_automation/fault_${c}`),
    ]);
    expect(messages.find((m) => m.object === 'leak')!.payload.device_class).toBe('moisture');
    expect(messages.find((m) => m.object === 'problem')!.payload.device_class).toBe('problem');
  });

  const entities = messages.filter((m) => m.component !== 'device_automation');
  it('gives every entity the device block, origin, a unique id, and availability from the bridge of its own process and the device (mode all)', () => {
    for (const m of entities) {
      expect(m.payload.device).toMatchObject({ identifiers: ['aquastop_dishwasher-1'], sw_version: 'fw-1.2', manufacturer: 'aquastop-sim' });
      expect(m.payload.origin).toMatchObject({ name: 'aquastop-sim' });
      expect(m.payload.unique_id).toBe(`aquastop_dishwasher-1_${m.object}`);
      expect(m.payload.availability_mode).toBe('all');
      expect(m.payload.availability).toEqual([
        { topic: 'aquastop/bridge/kitchen-pi/state', value_template: '{{ value_json.state }}' },
        { topic: 'aquastop/dishwasher-1/availability', value_template: '{{ value_json.state }}' },
      ]);
    }
    expect(new Set(entities.map((m) => m.payload.unique_id)).size).toBe(entities.length);
  });

  it('gives every device trigger the same device block and origin, and no availability or unique id (a trigger has neither)', () => {
    const triggers = messages.filter((m) => m.component === 'device_automation');
    expect(triggers).toHaveLength(FAULT_CLASSES.length);
    for (const m of triggers) {
      expect(m.payload.device).toEqual(entities[0]!.payload.device);
      expect(m.payload.origin).toEqual(entities[0]!.payload.origin);
      expect(Object.keys(m.payload).filter((k) => k.startsWith('availability') || k === 'unique_id')).toEqual([]);
    }
  });

  it('publishes exactly the configs of DISCOVERY_ENTITIES, the only ones the brokers accept', () => {
    expect(messages.map((m) => ({ component: m.component, object: m.object }))).toEqual(DISCOVERY_ENTITIES);
  });

  it("stays far under MAX_DISCOVERY_BYTES, with the longest id, a long firmware string and base topic, and names only the device's own topics", () => {
    const id = 'd'.repeat(64);
    const base = `aquastop/${'b'.repeat(247)}`;
    const longest = discoveryMessages({ id, fw: 'f'.repeat(1000), board: 'emulated' }, base, id);
    const sizes = longest.map((m) => Buffer.byteLength(JSON.stringify(m.payload)));
    // Measured: 700-900 bytes for dishwasher-1; at most about 2.3 KiB here.
    expect(Math.max(...sizes)).toBeLessThan(MAX_DISCOVERY_BYTES * 0.6);
    for (const m of longest) {
      expect(
        discoveryRefusal({ role: 'device', username: id }, `homeassistant/${m.component}/${id}/${m.object}/config`, JSON.stringify(m.payload), { base, haPrefix: 'homeassistant' }),
      ).toBeNull();
    }
  });

  it('commands go to the set topic as the device expects them', () => {
    const valve = messages.find((m) => m.component === 'valve')!.payload;
    expect([valve.command_topic, valve.payload_close, valve.state_topic]).toEqual(['aquastop/dishwasher-1/set', '{"valve":"CLOSE"}', 'aquastop/dishwasher-1']);
    expect(messages.find((m) => m.component === 'button')!.payload.payload_press).toBe('{"reset":"trip"}');
  });
});
