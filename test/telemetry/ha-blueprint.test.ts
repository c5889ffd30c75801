/**
 * The shipped Home Assistant blueprint (src/telemetry/home-assistant/aquastop-fault-raised.yaml):
 * a blueprint's structure (metadata, inputs, every `!input` declared and every input used), its
 * fault classes the catalogue's, and its trigger and conditions rendered with Jinja2 on the
 * fault events the device publishes: it acts on a raised fault of the chosen class from the
 * chosen appliance, and on nothing else.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, type ScalarTag } from 'yaml';
import { discoveryMessages, faultClassCodes } from '../../src/telemetry/discovery.js';
import { FAULT_CLASSES, FAULT_CODES, FAULTS, type FaultCode } from '../../src/machine/catalogue.js';
import { faultEventSchema, filterFor } from '../../src/protocol/topics.js';
import { faultEvent } from '../../src/board/status.js';
import { hasJinja, renderJinja } from '../helpers/jinja.js';

const FILE = join(import.meta.dirname, '../../src/telemetry/home-assistant/aquastop-fault-raised.yaml');

/** Home Assistant's `!input name` tag, kept as a marker. */
class Input {
  constructor(readonly name: string) {}
}
const inputTag: ScalarTag = { tag: '!input', resolve: (s) => new Input(s) };

interface Blueprint {
  blueprint: {
    name: string;
    description: string;
    domain: string;
    homeassistant?: { min_version: string };
    input: Record<string, { name: string; description?: string; default?: unknown; selector: Record<string, unknown> }>;
  };
  mode: string;
  max: number;
  trigger_variables: Record<string, unknown>;
  variables: Record<string, unknown> & { class_codes: Record<string, string[]> };
  triggers: { trigger: string; topic: string }[];
  conditions: { condition: string; value_template: string }[];
  actions: unknown;
}

function load(text = readFileSync(FILE, 'utf8')): Blueprint {
  return parse(text, { customTags: [inputTag] }) as Blueprint;
}

/** Every `!input` in the document, by name. */
function inputsUsed(node: unknown, out = new Set<string>()): Set<string> {
  if (node instanceof Input) out.add(node.name);
  else if (Array.isArray(node)) for (const x of node) inputsUsed(x, out);
  else if (typeof node === 'object' && node !== null) for (const x of Object.values(node)) inputsUsed(x, out);
  return out;
}

describe('the fault-raised blueprint', () => {
  const bp = load();

  it('is an automation blueprint whose every !input is declared and every input used', () => {
    expect(bp.blueprint).toMatchObject({ name: expect.any(String), description: expect.any(String), domain: 'automation' });
    expect(bp.blueprint.homeassistant?.min_version).toMatch(/^\d{4}\.\d+\.\d+$/);
    const declared = Object.keys(bp.blueprint.input);
    expect(declared.sort()).toEqual(['actions', 'appliance', 'base_topic', 'fault_class']);
    for (const [key, input] of Object.entries(bp.blueprint.input)) {
      expect(input.name, key).toEqual(expect.any(String));
      expect(Object.keys(input.selector), key).toHaveLength(1);
    }
    const { blueprint: _b, ...body } = bp;
    expect([...inputsUsed(body)].sort()).toEqual(declared.sort());
    expect(inputsUsed(bp.blueprint).size).toBe(0);
    expect(bp.mode).toBe('queued');
    expect(bp.max).toBeGreaterThan(0);
    expect(bp.actions).toEqual(new Input('actions'));
  });

  it("offers the catalogue's fault classes, each with the displays of its codes, and maps each to its codes", () => {
    const select = bp.blueprint.input.fault_class!.selector.select as { options: { label: string; value: string }[] };
    expect(select.options.map((o) => o.value)).toEqual([...FAULT_CLASSES]);
    for (const o of select.options) for (const code of faultClassCodes(o.value as never)) expect(o.label, o.value).toContain(FAULTS[code as FaultCode].display);
    expect(bp.variables.class_codes).toEqual(Object.fromEntries(FAULT_CLASSES.map((c) => [c, faultClassCodes(c)])));
    expect(FAULT_CLASSES).toContain(bp.blueprint.input.fault_class!.default);
  });

  it('picks the appliance among the devices our discovery makes (MQTT, manufacturer aquastop-sim)', () => {
    const device = discoveryMessages({ id: 'dishwasher-1', fw: '1', board: 'usb' }, 'aquastop', 'dishwasher-1')[0]!.payload.device as Record<string, unknown>;
    expect(bp.blueprint.input.appliance!.selector).toEqual({ device: { filter: [{ integration: 'mqtt', manufacturer: device.manufacturer }] } });
    expect(device.identifiers).toEqual(['aquastop_dishwasher-1']);
  });

  describe.skipIf(!hasJinja())('rendered with Jinja2', () => {
    const variables = (faultClass: string) => ({ fault_class: faultClass, class_codes: bp.variables.class_codes, appliance: 'ha-device-1' });
    const trigger = (topic: string, payload: string) => ({ platform: 'mqtt', topic, payload, payload_json: JSON.parse(payload) as unknown });
    const event = (e: 'raised' | 'cleared', code: FaultCode) => JSON.stringify(faultEventSchema.parse({ ...faultEvent(e, code, 0, '1-1'), ts: '2026-11-23T19:48:13.508Z' }));

    it("subscribes to every appliance's fault topic under the base topic", () => {
      expect(bp.triggers).toHaveLength(1);
      expect(bp.triggers[0]!.trigger).toBe('mqtt');
      expect(bp.trigger_variables).toEqual({ base_topic: new Input('base_topic') });
      const out = renderJinja(['aquastop', 'home/kitchen'].map((base) => ({ template: bp.triggers[0]!.topic, variables: { base_topic: base } })));
      expect(out).toEqual([filterFor('fault', 'aquastop'), filterFor('fault', 'home/kitchen')]);
    });

    it('acts on a raised fault of the chosen class and on no cleared one or other class', () => {
      const cases = FAULT_CLASSES.flatMap((c) => FAULT_CODES.flatMap((code) => (['raised', 'cleared'] as const).map((e) => ({ c, code, e }))));
      const out = renderJinja(
        cases.map(({ c, code, e }) => ({
          template: bp.conditions[0]!.value_template,
          variables: { ...variables(c), trigger: trigger('aquastop/dishwasher-1/fault', event(e, code)) },
        })),
      );
      expect(out).toEqual(cases.map(({ c, code, e }) => (e === 'raised' && FAULTS[code].class === c ? 'True' : 'False')));
    });

    it('acts only on the chosen appliance: the one whose discovery identifier is aquastop_<id> of the topic, whatever the base topic', () => {
      const identifiers = [['mqtt', 'aquastop_dishwasher-1']] as const;
      const topics: [string, string][] = [
        ['aquastop/dishwasher-1/fault', 'True'],
        ['home/kitchen/dishwasher-1/fault', 'True'],
        ['aquastop/dishwasher-2/fault', 'False'],
        ['aquastop/dishwasher-10/fault', 'False'],
      ];
      const out = renderJinja(
        topics.map(([topic]) => ({
          template: bp.conditions[1]!.value_template,
          variables: { ...variables('leak'), trigger: trigger(topic, event('raised', 'i30')) },
          device: { identifiers },
        })),
      );
      expect(out).toEqual(topics.map(([, want]) => want));
    });

    it('tells in its default notification which appliance, which fault and what it means', () => {
      const [action] = bp.blueprint.input.actions!.default as { action: string; data: { title: string; message: string } }[];
      expect(action!.action).toBe('persistent_notification.create');
      const vars = { device_name: 'Dishwasher', trigger: trigger('aquastop/dishwasher-1/fault', event('raised', 'i30')) };
      expect(
        renderJinja([
          { template: action!.data.title, variables: vars },
          { template: action!.data.message, variables: vars },
        ]),
      ).toEqual(['Dishwasher: fault ,30', 'Anti-flood: water in the base pan (Aquastop) (i30, critical, reset: manual)']);
    });
  });
});
