/**
 * Home Assistant's MQTT discovery schemas for the platforms we publish, as a table of keys and
 * value types, written (not copied) from Home Assistant's source, home-assistant/core,
 * homeassistant/components/mqtt/ at these commits (the versions the code index holds):
 *
 * | what | file | commit |
 * |---|---|---|
 * | valve keys, the close-only rule (payload_open null: no OPEN feature) | valve.py | 05dcdde8ce70 |
 * | sensor keys and its options/unit rules | sensor.py | 05dcdde8ce70 |
 * | entity set-up from the discovery schema (unknown keys removed, not refused) | entity.py | 05dcdde8ce70 |
 * | qos, encoding; MQTT_RO_SCHEMA (state_topic required) | config.py | 459c79f295fd |
 * | availability, device, origin schemas | schemas.py | 0f5c1b547043 |
 * | binary_sensor keys | binary_sensor.py | 00ffd2c46be9 |
 * | button keys | button.py | 05fd736fa9e7 |
 * | device trigger keys (TRIGGER_DISCOVERY_SCHEMA) | device_trigger.py | 040b1855d2de |
 * | automation_type "trigger" only | device_automation.py | 0e841bb59ddf |
 * | abbreviations | abbreviations.py | 05efb6ea1907 |
 * | abbreviation expansion, origin checked for every payload, "~" | discovery.py | 00b08a436e4d |
 * | MQTT trigger: fires when the rendered value_template equals payload | trigger.py | 03350de99b3c |
 * | valve, sensor device classes; duration units | valve/__init__.py 02e6124621fb, sensor/const.py 00eb6680fbf6 |
 *
 * Home Assistant builds each discovery schema with `extra=vol.REMOVE_EXTRA`: a key it does not
 * know is dropped without a word, so a misspelt key silently loses its setting. Here an unknown
 * key is an error. Where Home Assistant coerces (cv.string takes a number, cv.boolean "true"),
 * this table wants the JSON type we mean.
 */
import { z } from 'zod';

/** abbreviations.py ABBREVIATIONS, the entries for the keys of the platforms below. */
export const ABBREVIATIONS: Readonly<Record<string, string>> = {
  atype: 'automation_type',
  avty: 'availability',
  avty_mode: 'availability_mode',
  avty_t: 'availability_topic',
  avty_tpl: 'availability_template',
  cmd_t: 'command_topic',
  cmd_tpl: 'command_template',
  dev: 'device',
  dev_cla: 'device_class',
  e: 'encoding',
  en: 'enabled_by_default',
  ent_cat: 'entity_category',
  exp_aft: 'expire_after',
  frc_upd: 'force_update',
  ic: 'icon',
  json_attr_t: 'json_attributes_topic',
  json_attr_tpl: 'json_attributes_template',
  lrst_val_tpl: 'last_reset_value_template',
  obj_id: 'object_id',
  off_dly: 'off_delay',
  ops: 'options',
  opt: 'optimistic',
  pl: 'payload',
  pl_avail: 'payload_available',
  pl_cls: 'payload_close',
  pl_not_avail: 'payload_not_available',
  pl_off: 'payload_off',
  pl_on: 'payload_on',
  pl_open: 'payload_open',
  pl_prs: 'payload_press',
  pl_stop: 'payload_stop',
  pos_clsd: 'position_closed',
  pos_open: 'position_open',
  ret: 'retain',
  stat_cla: 'state_class',
  stat_clsd: 'state_closed',
  stat_closing: 'state_closing',
  stat_open: 'state_open',
  stat_opening: 'state_opening',
  stat_t: 'state_topic',
  stype: 'subtype',
  t: 'topic',
  uniq_id: 'unique_id',
  unit_of_meas: 'unit_of_measurement',
  val_tpl: 'value_template',
};
/** abbreviations.py DEVICE_ABBREVIATIONS. */
export const DEVICE_ABBREVIATIONS: Readonly<Record<string, string>> = {
  cns: 'connections',
  cu: 'configuration_url',
  ids: 'identifiers',
  mf: 'manufacturer',
  mdl: 'model',
  sw: 'sw_version',
  sa: 'suggested_area',
};

/** Expands abbreviated keys as discovery.py does: the top level, the device block, each availability entry. */
export function expandAbbreviations(payload: Record<string, unknown>): Record<string, unknown> {
  const expand = (o: unknown, table: Readonly<Record<string, string>>): unknown =>
    typeof o === 'object' && o !== null && !Array.isArray(o) ? Object.fromEntries(Object.entries(o).map(([k, v]) => [table[k] ?? k, v])) : o;
  const out = expand(payload, ABBREVIATIONS) as Record<string, unknown>;
  if ('device' in out) out.device = expand(out.device, DEVICE_ABBREVIATIONS);
  if (Array.isArray(out.availability)) out.availability = out.availability.map((a) => expand(a, ABBREVIATIONS));
  return out;
}

// Validators of homeassistant/helpers/config_validation.py and mqtt/util.py, as the JSON types we publish.
const string = z.string();
const nullableString = z.string().nullable();
const template = z.string().min(1);
const bool = z.boolean();
const positiveInt = z.number().int().nonnegative();
const qos = z.union([z.literal(0), z.literal(1), z.literal(2)]);
const noNul = (t: string) => !t.includes('\0') && Buffer.byteLength(t) <= 65535;
/** valid_publish_topic: no wildcards. */
const publishTopic = z
  .string()
  .min(1)
  .refine((t) => noNul(t) && !/[+#]/.test(t), 'not a valid publish topic');
/** valid_subscribe_topic: "+" a whole level, "#" the whole last level. */
const subscribeTopic = z
  .string()
  .min(1)
  .refine(
    (t) => noNul(t) && t.split('/').every((l, i, all) => (!l.includes('+') || l === '+') && (!l.includes('#') || (l === '#' && i === all.length - 1))),
    'not a valid subscribe topic',
  );
const icon = z.string().regex(/^[a-z0-9_-]+:[a-z0-9_-]+$/, 'not an icon ("prefix:name")');
const entityCategory = z.enum(['config', 'diagnostic']);

/** schemas.py MQTT_ENTITY_DEVICE_INFO_SCHEMA (at least one of identifiers and connections). */
const device = z
  .object({
    identifiers: z.union([string, z.array(string)]).optional(),
    connections: z.array(z.tuple([string, string])).optional(),
    manufacturer: string.optional(),
    model: string.optional(),
    model_id: string.optional(),
    name: string.optional(),
    hw_version: string.optional(),
    serial_number: string.optional(),
    sw_version: string.optional(),
    via_device: string.optional(),
    suggested_area: string.optional(),
    configuration_url: z.url().optional(),
  })
  .strict()
  .refine((d) => (Array.isArray(d.identifiers) ? d.identifiers.length > 0 : !!d.identifiers) || (d.connections?.length ?? 0) > 0, 'device has neither identifiers nor connections');

/** schemas.py MQTT_ORIGIN_INFO_SCHEMA; discovery.py checks it on every payload (a trigger's too). */
const origin = z.object({ name: string, sw_version: string.optional(), support_url: z.url().optional() }).strict();

/** schemas.py MQTT_AVAILABILITY_SCHEMA: one availability_topic, or a list (not both). */
const availability = {
  availability_topic: subscribeTopic.optional(),
  availability_template: template.optional(),
  payload_available: string.optional(),
  payload_not_available: string.optional(),
  availability_mode: z.enum(['all', 'any', 'latest']).optional(),
  availability: z
    .array(z.object({ topic: subscribeTopic, payload_available: string.optional(), payload_not_available: string.optional(), value_template: template.optional() }).strict())
    .optional(),
};

/** config.py MQTT_BASE_SCHEMA + schemas.py MQTT_ENTITY_COMMON_SCHEMA: what every entity platform takes. */
const entityCommon = {
  qos: qos.optional(),
  encoding: string.optional(),
  ...availability,
  device: device.optional(),
  origin: origin.optional(),
  enabled_by_default: bool.optional(),
  entity_category: entityCategory.optional(),
  entity_picture: string.optional(),
  icon: icon.optional(),
  json_attributes_topic: subscribeTopic.optional(),
  json_attributes_template: template.optional(),
  object_id: string.optional(),
  unique_id: string.optional(),
  name: nullableString.optional(),
};

const exclusiveAvailability = (c: { availability?: unknown; availability_topic?: unknown }) => !(c.availability !== undefined && c.availability_topic !== undefined);
const AVAILABILITY_MESSAGE = 'availability and availability_topic are exclusive';

const BINARY_SENSOR_CLASSES = [
  'battery',
  'battery_charging',
  'carbon_monoxide',
  'cold',
  'connectivity',
  'door',
  'garage_door',
  'gas',
  'heat',
  'light',
  'lock',
  'moisture',
  'motion',
  'moving',
  'occupancy',
  'opening',
  'plug',
  'power',
  'presence',
  'problem',
  'running',
  'safety',
  'smoke',
  'sound',
  'tamper',
  'update',
  'vibration',
  'window',
] as const;
const SENSOR_CLASSES = [
  'date',
  'enum',
  'timestamp',
  'apparent_power',
  'aqi',
  'area',
  'atmospheric_pressure',
  'battery',
  'blood_glucose_concentration',
  'carbon_monoxide',
  'carbon_dioxide',
  'conductivity',
  'current',
  'data_rate',
  'data_size',
  'distance',
  'duration',
  'energy',
  'energy_distance',
  'energy_storage',
  'frequency',
  'gas',
  'humidity',
  'illuminance',
  'irradiance',
  'moisture',
  'monetary',
  'nitrogen_dioxide',
  'nitrogen_monoxide',
  'nitrous_oxide',
  'ozone',
  'ph',
  'pm1',
  'pm10',
  'pm25',
  'power_factor',
  'power',
  'precipitation',
  'precipitation_intensity',
  'pressure',
  'reactive_power',
  'signal_strength',
  'sound_pressure',
  'speed',
  'sulphur_dioxide',
  'temperature',
  'temperature_delta',
  'volatile_organic_compounds',
  'volatile_organic_compounds_parts',
  'voltage',
  'volume',
  'volume_storage',
  'volume_flow_rate',
  'water',
  'weight',
  'wind_direction',
  'wind_speed',
] as const;
/** sensor/const.py DEVICE_CLASS_UNITS, for the classes whose units we name. */
const SENSOR_UNITS: Partial<Record<(typeof SENSOR_CLASSES)[number], readonly string[]>> = { duration: ['d', 'h', 'min', 's', 'ms'] };

/** One schema per discovery component (the `<component>` of the config topic). */
export const HA_DISCOVERY_SCHEMAS = {
  valve: z
    .object({
      ...entityCommon,
      command_topic: publishTopic.optional(),
      command_template: template.optional(),
      device_class: z.enum(['water', 'gas']).nullable().optional(),
      optimistic: bool.optional(),
      payload_close: nullableString.optional(),
      payload_open: nullableString.optional(),
      payload_stop: nullableString.optional(),
      position_closed: z.number().int().optional(),
      position_open: z.number().int().optional(),
      reports_position: bool.optional(),
      retain: bool.optional(),
      state_closed: string.optional(),
      state_closing: string.optional(),
      state_open: string.optional(),
      state_opening: string.optional(),
      state_topic: subscribeTopic.optional(),
      value_template: template.optional(),
    })
    .strict()
    .refine(exclusiveAvailability, AVAILABILITY_MESSAGE)
    .refine(
      (c) => !c.reports_position || ['payload_open', 'payload_close', 'state_open', 'state_closed'].every((k) => !(k in c)),
      'payload_open, payload_close, state_open and state_closed are not allowed if the valve reports a position',
    ),
  binary_sensor: z
    .object({
      ...entityCommon,
      state_topic: subscribeTopic,
      value_template: template.optional(),
      device_class: z.enum(BINARY_SENSOR_CLASSES).nullable().optional(),
      expire_after: positiveInt.optional(),
      force_update: bool.optional(),
      off_delay: positiveInt.optional(),
      payload_off: string.optional(),
      payload_on: string.optional(),
    })
    .strict()
    .refine(exclusiveAvailability, AVAILABILITY_MESSAGE),
  sensor: z
    .object({
      ...entityCommon,
      state_topic: subscribeTopic,
      value_template: template.optional(),
      device_class: z.enum(SENSOR_CLASSES).nullable().optional(),
      expire_after: positiveInt.optional(),
      force_update: bool.optional(),
      last_reset_value_template: template.optional(),
      options: z.array(string).optional(),
      suggested_display_precision: positiveInt.optional(),
      state_class: z.enum(['measurement', 'total', 'total_increasing']).nullable().optional(),
      unit_of_measurement: nullableString.optional(),
    })
    .strict()
    .refine(exclusiveAvailability, AVAILABILITY_MESSAGE)
    .refine((c) => !('last_reset_value_template' in c) || c.state_class === 'total', 'last_reset_value_template needs state_class total')
    .refine(
      (c) => c.options === undefined || (c.options.length > 0 && !c.state_class && !c.unit_of_measurement && c.device_class === 'enum'),
      'options need device_class enum, at least one option, and no state_class or unit',
    )
    .refine((c) => {
      const units = c.device_class ? SENSOR_UNITS[c.device_class] : undefined;
      return !units || c.unit_of_measurement == null || units.includes(c.unit_of_measurement);
    }, 'unit_of_measurement not valid for the device class'),
  button: z
    .object({
      ...entityCommon,
      command_topic: publishTopic,
      command_template: template.optional(),
      device_class: z.enum(['identify', 'restart', 'update']).nullable().optional(),
      payload_press: string.optional(),
      retain: bool.optional(),
    })
    .strict()
    .refine(exclusiveAvailability, AVAILABILITY_MESSAGE),
  /** device_trigger.py TRIGGER_DISCOVERY_SCHEMA; device_automation.py takes automation_type "trigger" only. */
  device_automation: z
    .object({
      qos: qos.optional(),
      encoding: string.optional(),
      automation_type: z.literal('trigger'),
      device,
      origin: origin.optional(),
      payload: nullableString.optional(),
      subtype: string,
      topic: subscribeTopic,
      type: string,
      value_template: template.nullable().optional(),
    })
    .strict(),
} as const;

export type HaDiscoveryComponent = keyof typeof HA_DISCOVERY_SCHEMAS;

/** What Home Assistant would refuse or drop in a discovery payload for `component`, one line each; empty when none. */
export function haDiscoveryProblems(component: string, payload: unknown): string[] {
  const schema = (HA_DISCOVERY_SCHEMAS as Record<string, z.ZodType>)[component];
  if (!schema) return [`Home Assistant has no MQTT discovery component "${component}" in this table`];
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return ['a discovery payload must be a JSON object'];
  if ('~' in payload) return ['"~" (base topic) is not used by aquastop and refused by its brokers for device accounts'];
  const r = schema.safeParse(expandAbbreviations(payload as Record<string, unknown>));
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.code === 'unrecognized_keys' ? `unknown key(s) ${i.keys.join(', ')}` : i.message}`);
}
