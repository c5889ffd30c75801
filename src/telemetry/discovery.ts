/**
 * Home Assistant MQTT discovery for one appliance: the inlet valve, the leak (moisture) and
 * fault (problem) binary sensors, the fault code and uptime sensors, and the reset button.
 * Every entity reads the retained state topic with a value template, carries the device block
 * and `origin`, and is available only while both the bridge of the process publishing it
 * (`<base>/bridge/<bridgeId>/state`, so another process's death leaves it alone) and the device
 * say online (`availability_mode: all`).
 */
import type { DiscoveryObject, HaComponent } from './topics.js';
import { DISCOVERY_ENTITIES, topicFor } from './topics.js';

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
  readonly object: DiscoveryObject;
  readonly config: Record<string, unknown>;
}

/** The entities, in the order and with the component/object ids of topics.ts `DISCOVERY_ENTITIES` (the only ones a broker accepts). */
function entities(stateTopic: string, setTopic: string): Entity[] {
  const all = configs(stateTopic, setTopic);
  return DISCOVERY_ENTITIES.map(({ component, object }) => {
    const e = all.find((x) => x.component === component && x.object === object);
    if (!e) throw new Error(`no discovery config for ${component}/${object}`);
    return e;
  });
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
        // Opening from Home Assistant is refused by the device (and answered on set/result); closing always works.
        payload_close: '{"valve":"CLOSE"}',
        payload_open: '{"valve":"OPEN"}',
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
        value_template: '{{ value_json.uptimeS | round(0) }}',
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
  const stateTopic = topicFor('state', { base, id: device.id });
  const setTopic = topicFor('set', { base, id: device.id });
  const uid = `aquastop_${device.id}`;
  const common = {
    device: {
      identifiers: [uid],
      name: `Aquastop ${device.id}`,
      manufacturer: 'aquastop-sim',
      model: BOARD_MODEL[device.board],
      // Cut to 64 characters: a config must stay far under the brokers' bound (topics.ts MAX_DISCOVERY_BYTES) whatever a board reports.
      sw_version: device.fw.slice(0, 64),
    },
    origin: ORIGIN,
    availability: [
      { topic: topicFor('bridgeState', { base, bridge: bridgeId }), value_template: '{{ value_json.state }}' },
      { topic: topicFor('availability', { base, id: device.id }), value_template: '{{ value_json.state }}' },
    ],
    availability_mode: 'all',
    qos: 1,
  };
  return entities(stateTopic, setTopic).map((e) => ({
    component: e.component,
    object: e.object,
    payload: { ...e.config, unique_id: `${uid}_${e.object}`, ...common },
  }));
}
