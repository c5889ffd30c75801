/**
 * Discovery payloads use only keys Home Assistant documents for each MQTT component, and carry
 * what each needs. The key lists are taken from the Home Assistant MQTT integration pages
 * (home-assistant.io/integrations/<component>.mqtt, "Configuration variables").
 */
import { describe, expect, it } from 'vitest';
import { discoveryMessages } from '../../src/telemetry/discovery.js';
import { discoveryRefusal } from '../../src/telemetry/access.js';
import { DISCOVERY_ENTITIES, MAX_DISCOVERY_BYTES } from '../../src/telemetry/topics.js';

/** Keys every MQTT entity accepts. */
const COMMON = [
  'availability', 'availability_mode', 'availability_template', 'availability_topic', 'default_entity_id', 'device', 'enabled_by_default',
  'encoding', 'entity_category', 'entity_picture', 'icon', 'json_attributes_template', 'json_attributes_topic', 'name', 'object_id',
  'origin', 'payload_available', 'payload_not_available', 'platform', 'qos', 'unique_id',
];
const DOCUMENTED: Record<string, string[]> = {
  valve: ['command_template', 'command_topic', 'device_class', 'optimistic', 'payload_close', 'payload_open', 'payload_stop', 'position_closed', 'position_open', 'reports_position', 'retain', 'state_closed', 'state_closing', 'state_open', 'state_opening', 'state_topic', 'value_template'],
  binary_sensor: ['device_class', 'expire_after', 'force_update', 'off_delay', 'payload_off', 'payload_on', 'state_topic', 'value_template'],
  sensor: ['device_class', 'expire_after', 'force_update', 'last_reset_value_template', 'options', 'state_class', 'state_topic', 'suggested_display_precision', 'unit_of_measurement', 'value_template'],
  button: ['command_template', 'command_topic', 'device_class', 'payload_press', 'retain'],
};
const REQUIRED: Record<string, string[]> = { valve: ['command_topic'], binary_sensor: ['state_topic'], sensor: ['state_topic'], button: ['command_topic'] };
const DEVICE_KEYS = ['configuration_url', 'connections', 'hw_version', 'identifiers', 'manufacturer', 'model', 'model_id', 'name', 'serial_number', 'suggested_area', 'sw_version', 'via_device'];
const ORIGIN_KEYS = ['name', 'sw_version', 'support_url'];

describe('Home Assistant discovery', () => {
  const messages = discoveryMessages({ id: 'dishwasher-1', fw: 'fw-1.2', board: 'usb' }, 'aquastop', 'kitchen-pi');

  it('offers the valve, leak and problem binary sensors, fault code and uptime sensors, and the reset button', () => {
    expect(messages.map((m) => `${m.component}/${m.object}`)).toEqual(['valve/inlet', 'binary_sensor/leak', 'binary_sensor/problem', 'sensor/fault_code', 'sensor/uptime', 'button/reset']);
    expect(messages.find((m) => m.object === 'leak')!.payload.device_class).toBe('moisture');
    expect(messages.find((m) => m.object === 'problem')!.payload.device_class).toBe('problem');
  });

  it.each(messages.map((m) => [`${m.component}/${m.object}`, m] as const))('%s uses only documented keys and has the required ones', (_name, m) => {
    const allowed = new Set([...COMMON, ...DOCUMENTED[m.component]!]);
    expect(Object.keys(m.payload).filter((k) => !allowed.has(k))).toEqual([]);
    for (const k of REQUIRED[m.component]!) expect(m.payload).toHaveProperty(k);
    expect(Object.keys(m.payload.device as object).filter((k) => !DEVICE_KEYS.includes(k))).toEqual([]);
    expect(Object.keys(m.payload.origin as object).filter((k) => !ORIGIN_KEYS.includes(k))).toEqual([]);
  });

  it('gives every entity the device block, origin, a unique id, and availability from the bridge of its own process and the device (mode all)', () => {
    for (const m of messages) {
      expect(m.payload.device).toMatchObject({ identifiers: ['aquastop_dishwasher-1'], sw_version: 'fw-1.2', manufacturer: 'aquastop-sim' });
      expect(m.payload.origin).toMatchObject({ name: 'aquastop-sim' });
      expect(m.payload.unique_id).toBe(`aquastop_dishwasher-1_${m.object}`);
      expect(m.payload.availability_mode).toBe('all');
      expect(m.payload.availability).toEqual([
        { topic: 'aquastop/bridge/kitchen-pi/state', value_template: '{{ value_json.state }}' },
        { topic: 'aquastop/dishwasher-1/availability', value_template: '{{ value_json.state }}' },
      ]);
    }
    expect(new Set(messages.map((m) => m.payload.unique_id)).size).toBe(messages.length);
  });

  it('publishes exactly the configs of DISCOVERY_ENTITIES, the only ones the brokers accept', () => {
    expect(messages.map((m) => ({ component: m.component, object: m.object }))).toEqual(DISCOVERY_ENTITIES);
  });

  it('stays far under MAX_DISCOVERY_BYTES, with the longest id, a long firmware string and base topic, and names only the device\'s own topics', () => {
    const id = 'd'.repeat(64);
    const base = `aquastop/${'b'.repeat(247)}`;
    const longest = discoveryMessages({ id, fw: 'f'.repeat(1000), board: 'emulated' }, base, id);
    const sizes = longest.map((m) => Buffer.byteLength(JSON.stringify(m.payload)));
    // Measured: 700-900 bytes for dishwasher-1; at most about 2.3 KiB here.
    expect(Math.max(...sizes)).toBeLessThan(MAX_DISCOVERY_BYTES * 0.6);
    for (const m of longest) {
      expect(discoveryRefusal({ role: 'device', username: id }, `homeassistant/${m.component}/${id}/${m.object}/config`, JSON.stringify(m.payload), { base, haPrefix: 'homeassistant' })).toBeNull();
    }
  });

  it('commands go to the set topic as the device expects them', () => {
    const valve = messages.find((m) => m.component === 'valve')!.payload;
    expect([valve.command_topic, valve.payload_close, valve.state_topic]).toEqual(['aquastop/dishwasher-1/set', '{"valve":"CLOSE"}', 'aquastop/dishwasher-1']);
    expect(messages.find((m) => m.component === 'button')!.payload.payload_press).toBe('{"reset":"trip"}');
  });
});
