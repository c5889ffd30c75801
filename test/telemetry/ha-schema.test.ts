/**
 * Every discovery config we publish, checked against Home Assistant's own MQTT schemas (the
 * table in ha-mqtt-schema.ts, written from Home Assistant's source, which names the files and
 * commits): each platform's keys, required keys, value types and cross-key rules, abbreviated
 * keys expanded as Home Assistant expands them, and no key Home Assistant would drop.
 */
import { describe, expect, it } from 'vitest';
import { discoveryMessages, faultClassCodes, type DiscoveryMessage } from '../../src/telemetry/discovery.js';
import { FAULT_CLASSES, FAULT_CODES, FAULTS } from '../../src/machine/catalogue.js';
import { DISCOVERY_ENTITIES, HA_COMPONENTS, START_BRIDGE_ID, topicFor } from '../../src/protocol/topics.js';
import { ABBREVIATIONS, DEVICE_ABBREVIATIONS, HA_DISCOVERY_SCHEMAS, haDiscoveryProblems } from './ha-mqtt-schema.js';

const typical = discoveryMessages({ id: 'dishwasher-1', fw: 'fw-1.2', board: 'usb' }, 'aquastop', 'dishwasher-1');
const longest = discoveryMessages({ id: 'd'.repeat(64), fw: 'f'.repeat(1000), board: 'emulated' }, `aquastop/${'b'.repeat(247)}`, START_BRIDGE_ID);
const sim = discoveryMessages({ id: 'sim-3', fw: 'aquastop-sim/simulated', board: 'simulated' }, 'aquastop', START_BRIDGE_ID);
const name = (m: DiscoveryMessage) => `${m.component}/${m.object}`;
const of = (component: string, object: string) => typical.find((m) => m.component === component && m.object === object)!;

/** Our payload with every key that has an abbreviation abbreviated (the top level, the device block, availability entries). */
function abbreviate(payload: Record<string, unknown>): Record<string, unknown> {
  const inverse = (table: Readonly<Record<string, string>>) => Object.fromEntries(Object.entries(table).map(([short, long]) => [long, short]));
  const top = inverse(ABBREVIATIONS);
  const dev = inverse(DEVICE_ABBREVIATIONS);
  const rename = (o: Record<string, unknown>, t: Record<string, string>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [t[k] ?? k, v]));
  const out = rename(payload, top);
  if (out.dev) out.dev = rename(out.dev as Record<string, unknown>, dev);
  if (Array.isArray(out.avty)) out.avty = out.avty.map((a: Record<string, unknown>) => rename(a, top));
  return out;
}

describe("discovery against Home Assistant's MQTT schemas", () => {
  it('has a schema for every component we publish', () => {
    expect(Object.keys(HA_DISCOVERY_SCHEMAS).sort()).toEqual([...HA_COMPONENTS].sort());
    expect(new Set(DISCOVERY_ENTITIES.map((e) => e.component))).toEqual(new Set(HA_COMPONENTS));
  });

  it.each([...typical, ...longest, ...sim].map((m) => [name(m), m] as const))('%s is valid for its platform, with no key Home Assistant would drop', (_n, m) => {
    expect(haDiscoveryProblems(m.component, m.payload)).toEqual([]);
  });

  it.each(typical.map((m) => [name(m), m] as const))('%s is read the same with abbreviated keys', (_n, m) => {
    const short = abbreviate(m.payload);
    expect(Object.keys(short)).not.toEqual(Object.keys(m.payload));
    expect(haDiscoveryProblems(m.component, short)).toEqual([]);
  });
});

describe('the schema table refuses what Home Assistant would refuse or drop', () => {
  const valve = of('valve', 'inlet').payload;
  const leak = of('binary_sensor', 'leak').payload;
  const uptime = of('sensor', 'uptime').payload;
  const reset = of('button', 'reset').payload;
  const trigger = of('device_automation', 'fault_leak').payload;
  const without = (p: Record<string, unknown>, key: string) => Object.fromEntries(Object.entries(p).filter(([k]) => k !== key));
  const cases: [string, string, Record<string, unknown>, RegExp][] = [
    ['an unknown key on a valve', 'valve', { ...valve, colour: 'blue' }, /unknown key\(s\) colour/],
    ['an unknown abbreviated key', 'binary_sensor', { ...leak, stat_tx: 'x' }, /unknown key\(s\) stat_tx/],
    ['an unknown key in the device block', 'sensor', { ...uptime, device: { ...(uptime.device as object), colour: 'blue' } }, /device: unknown key/],
    ['availability on a device trigger (its schema has none)', 'device_automation', { ...trigger, availability_mode: 'all' }, /unknown key\(s\) availability_mode/],
    ['a unique id on a device trigger', 'device_automation', { ...trigger, unique_id: 'x' }, /unknown key\(s\) unique_id/],
    ['payload_open a number', 'valve', { ...valve, payload_open: 1 }, /payload_open/],
    ['a publish topic with a wildcard', 'button', { ...reset, command_topic: 'aquastop/+/set' }, /command_topic: not a valid publish topic/],
    ['a button without command_topic', 'button', without(reset, 'command_topic'), /command_topic/],
    ['a sensor without state_topic', 'sensor', without(uptime, 'state_topic'), /state_topic/],
    ['a trigger without subtype', 'device_automation', without(trigger, 'subtype'), /subtype/],
    ['a trigger without the device block', 'device_automation', without(trigger, 'device'), /device/],
    ['automation_type other than trigger', 'device_automation', { ...trigger, automation_type: 'action' }, /automation_type/],
    ['a valve reporting a position with payload_open', 'valve', { ...valve, reports_position: true }, /not allowed if the valve reports a position/],
    ['availability and availability_topic both', 'binary_sensor', { ...leak, availability_topic: 'aquastop/x/availability' }, /exclusive/],
    ['a device without identifiers or connections', 'sensor', { ...uptime, device: { name: 'x' } }, /neither identifiers nor connections/],
    ['a duration in "seconds"', 'sensor', { ...uptime, unit_of_measurement: 'seconds' }, /unit_of_measurement not valid/],
    ['a binary sensor class that does not exist', 'binary_sensor', { ...leak, device_class: 'leak' }, /device_class/],
    ['options without device_class enum', 'sensor', { ...of('sensor', 'fault_code').payload, options: ['i30'] }, /options need device_class enum/],
    ['an entity category that does not exist', 'button', { ...reset, entity_category: 'system' }, /entity_category/],
    ['an origin without a name', 'valve', { ...valve, origin: { sw_version: '1' } }, /origin\.name/],
    ['a platform Home Assistant has not got here', 'tap', valve, /no MQTT discovery component "tap"/],
  ];
  it.each(cases)('%s', (_what, component, payload, problem) => {
    const problems = haDiscoveryProblems(component, payload);
    expect(problems.join('\n')).toMatch(problem);
  });
});

describe('the inlet valve', () => {
  const valve = of('valve', 'inlet').payload;
  it('offers Close and no Open: payload_open is null (valve.py adds OPEN only for a non-null payload_open, CLOSE for a non-null payload_close)', () => {
    expect(valve).toHaveProperty('payload_open', null);
    expect(valve).toMatchObject({ command_topic: 'aquastop/dishwasher-1/set', payload_close: '{"valve":"CLOSE"}', reports_position: false });
    expect(valve).not.toHaveProperty('payload_stop');
  });
});

describe('device triggers', () => {
  const triggers = typical.filter((m) => m.component === 'device_automation');
  it('are one per fault class, and every catalogue code is in exactly one class', () => {
    expect(triggers.map((m) => m.object)).toEqual(FAULT_CLASSES.map((c) => `fault_${c}`));
    expect(FAULT_CLASSES.flatMap((c) => faultClassCodes(c)).sort()).toEqual([...FAULT_CODES].sort());
    for (const c of FAULT_CLASSES) expect(faultClassCodes(c).length, c).toBeGreaterThan(0);
    expect(faultClassCodes('leak')).toEqual(['i30', 'iE0']);
    expect(FAULTS.i30.class).toBe('leak');
  });

  it('listen on the device\'s own fault topic, on the same device as its entities, with type "raised" and a subtype of their own', () => {
    for (const m of triggers) {
      expect(m.payload).toMatchObject({ automation_type: 'trigger', type: 'raised', payload: 'raised', topic: topicFor('fault', { base: 'aquastop', id: 'dishwasher-1' }) });
      expect(m.payload.device).toEqual(of('valve', 'inlet').payload.device);
    }
    expect(new Set(triggers.map((m) => m.payload.subtype)).size).toBe(FAULT_CLASSES.length);
  });
});
