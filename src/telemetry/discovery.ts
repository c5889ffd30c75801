/**
 * Home Assistant MQTT discovery for one appliance: the inlet valve, the leak (moisture) and
 * fault (problem) binary sensors, the fault code and uptime sensors, the reset button, and one
 * device trigger per fault class ("Leak fault raised", ...). Every entity reads the retained
 * state topic with a value template, carries the device block and `origin`, and is available
 * only while both the bridge of the process publishing it (`<base>/bridge/<bridgeId>/state`, so
 * another process's death leaves it alone) and the device say online (`availability_mode: all`).
 * A device trigger carries only the keys Home Assistant's trigger schema reads (it drops the
 * others): the device block ties it to the same device.
 *
 * test/telemetry/ha-schema.test.ts checks every config against Home Assistant's own schemas.
 */
import type { HaComponent } from '../protocol/topics.js';
import { FAULT_CLASSES, FAULT_CODES, FAULTS, type FaultClass } from '../machine/catalogue.js';
import { DISCOVERY_ENTITIES, topicFor } from '../protocol/topics.js';

export interface DiscoveryDevice {
  readonly id: string;
  readonly fw: string;
  readonly board: 'simulated' | 'emulated' | 'usb';
}

export interface DiscoveryMessage {
  readonly component: HaComponent;
  readonly object: string;
  readonly payload: Record<string, unknown>;
}

export const ORIGIN = { name: 'aquastop-sim', sw_version: '0.1.0', support_url: 'https://www.npmjs.com/package/aquastop-sim' } as const;

const BOARD_MODEL: Record<DiscoveryDevice['board'], string> = {
  simulated: 'Aquastop controller (simulated appliance)',
  emulated: 'Aquastop controller (emulated Arduino Uno)',
  usb: 'Aquastop controller (Arduino Uno)',
};

interface Entity {
  readonly component: HaComponent;
  readonly object: string;
  readonly config: Record<string, unknown>;
}

interface Topics {
  readonly state: string;
  readonly set: string;
  readonly fault: string;
}

/** The configs, in the order and with the component/object ids of src/protocol/topics.ts `DISCOVERY_ENTITIES` (the only ones a broker accepts). */
function entities(topics: Topics): Entity[] {
  const all = [...configs(topics.state, topics.set), ...faultTriggers(topics.fault)];
  return DISCOVERY_ENTITIES.map(({ component, object }) => {
    const e = all.find((x) => x.component === component && x.object === object);
    if (!e) throw new Error(`no discovery config for ${component}/${object}`);
    return e;
  });
}

/** The codes of a fault class, from the catalogue. */
export function faultClassCodes(c: FaultClass): string[] {
  return FAULT_CODES.filter((code) => FAULTS[code].class === c);
}

/** The word Home Assistant shows for a class's trigger: `"Leak fault" raised`. */
const CLASS_LABEL: Record<FaultClass, string> = {
  leak: 'Leak fault',
  valve: 'Valve fault',
  fill: 'Fill fault',
  drain: 'Drain fault',
  sensor: 'Level sensor fault',
  board: 'Controller board fault',
};

/**
 * One device trigger per fault class, on the fault events the device already publishes
 * (`<base>/<id>/fault`, never retained, so a trigger fires once per event, not again when Home
 * Assistant subscribes): Home Assistant renders `value_template` with the event as `value_json`
 * and fires when the result equals `payload`, so the template gives "raised" for a raised event
 * of one of the class's codes ("cleared" or "" otherwise).
 */
function faultTriggers(faultTopic: string): Entity[] {
  return FAULT_CLASSES.map((c) => ({
    component: 'device_automation' as const,
    object: `fault_${c}`,
    config: {
      automation_type: 'trigger',
      type: 'raised',
      subtype: CLASS_LABEL[c],
      topic: faultTopic,
      value_template: `{{ value_json.event if value_json.code in [${faultClassCodes(c)
        .map((code) => `'${code}'`)
        .join(', ')}] else '' }}`,
      payload: 'raised',
    },
  }));
}

function configs(stateTopic: string, setTopic: string): Entity[] {
  return [
    {
      component: 'valve',
      object: 'inlet',
      config: {
        name: 'Inlet valve',
        device_class: 'water',
        state_topic: stateTopic,
        value_template: '{{ value_json.valve }}',
        state_open: 'open',
        state_closed: 'closed',
        reports_position: false,
        command_topic: setTopic,
        payload_close: '{"valve":"CLOSE"}',
        // Close-only: the device refuses every remote open (only its supervised proof test opens
        // it). Home Assistant's MQTT valve (valve.py) takes payload_open null and then leaves out
        // the Open feature (it adds OPEN only for a non-null payload_open, CLOSE for a non-null
        // payload_close), so neither its card nor valve.open_valve offers an action that would
        // always be refused. Left out, payload_open would default to "OPEN" and the button show.
        payload_open: null,
        optimistic: false,
      },
    },
    {
      component: 'binary_sensor',
      object: 'leak',
      config: {
        name: 'Base pan water',
        device_class: 'moisture',
        state_topic: stateTopic,
        value_template: "{{ 'ON' if value_json.leak else 'OFF' }}",
        payload_on: 'ON',
        payload_off: 'OFF',
      },
    },
    {
      component: 'binary_sensor',
      object: 'problem',
      config: {
        name: 'Fault',
        device_class: 'problem',
        state_topic: stateTopic,
        value_template: "{{ 'ON' if value_json.fault else 'OFF' }}",
        payload_on: 'ON',
        payload_off: 'OFF',
      },
    },
    {
      component: 'sensor',
      object: 'fault_code',
      config: {
        name: 'Fault code',
        icon: 'mdi:alert-circle-outline',
        state_topic: stateTopic,
        value_template: "{{ value_json.fault if value_json.fault else 'none' }}",
      },
    },
    {
      component: 'sensor',
      object: 'uptime',
      config: {
        name: 'Uptime',
        device_class: 'duration',
        unit_of_measurement: 's',
        state_class: 'measurement',
        entity_category: 'diagnostic',
        state_topic: stateTopic,
        value_template: '{{ value_json.uptimeS | int }}',
      },
    },
    {
      component: 'button',
      object: 'reset',
      config: {
        name: 'Reset trip',
        command_topic: setTopic,
        payload_press: '{"reset":"trip"}',
        entity_category: 'config',
      },
    },
  ];
}

/** The retained discovery messages for one device, published on `<prefix>/<component>/<id>/<object>/config`. */
export function discoveryMessages(device: DiscoveryDevice, base: string, bridgeId: string): DiscoveryMessage[] {
  const topics: Topics = {
    state: topicFor('state', { base, id: device.id }),
    set: topicFor('set', { base, id: device.id }),
    fault: topicFor('fault', { base, id: device.id }),
  };
  const uid = `aquastop_${device.id}`;
  const owner = {
    device: {
      identifiers: [uid],
      name: `Aquastop ${device.id}`,
      manufacturer: 'aquastop-sim',
      model: BOARD_MODEL[device.board],
      // Cut to 64 characters: a config must stay far under the brokers' bound (src/protocol/topics.ts MAX_DISCOVERY_BYTES) whatever a board reports.
      sw_version: device.fw.slice(0, 64),
    },
    origin: ORIGIN,
    qos: 1,
  };
  const entityCommon = {
    ...owner,
    availability: [
      { topic: topicFor('bridgeState', { base, bridge: bridgeId }), value_template: '{{ value_json.state }}' },
      { topic: topicFor('availability', { base, id: device.id }), value_template: '{{ value_json.state }}' },
    ],
    availability_mode: 'all',
  };
  return entities(topics).map((e) => ({
    component: e.component,
    object: e.object,
    payload: e.component === 'device_automation' ? { ...e.config, ...owner } : { ...e.config, unique_id: `${uid}_${e.object}`, ...entityCommon },
  }));
}
