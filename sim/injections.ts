/**
 * The injections: everything done to a simulated appliance from outside (a fault, a mopped base
 * pan, a power cut), in one table. Each entry is the one home of its name, its parameters with
 * their defaults (the zod schema of its scenario step), what it does, and how a person gives it:
 * the interactive key of `aquastop sim` and the dashboard's button. Scenario files, the keys, the
 * dashboard's `inject` commands (`aquastop sim`, `aquastop start`) all go through it.
 *
 * A step is parsed once, by the scenario file's schema (or, for a key or a button, by the same
 * schema from the entry's `manual` step); `apply` takes the typed result.
 */
import { z } from 'zod';
import { durationSchema } from '../src/clock/duration.js';
import type { LinkFault } from '../src/board/link-faults.js';
import { isSelfTestName, SELF_TEST_NAMES, type SelfTestName } from '../src/board/self-tests.js';
import type { PlantFault, PlantFaultKind } from './physics.js';

/** What an injection acts on: the simulation's parts (sim/engine.ts gives them). */
export interface InjectionTarget {
  /** Adds a line to the simulation's log. */
  record(entry: { type: string } & Record<string, unknown>): void;
  plantFault(fault: PlantFault): void;
  clearPlantFault(kind: PlantFaultKind): void;
  setLinkFault(fault: LinkFault, active: boolean): void;
  failSelfTest(test: SelfTestName): void;
  corruptMemory(): void;
  dryPan(): void;
  powerCut(): void;
  powerUp(): Promise<void>;
}

/** Which key of a scenario step names the entry: `inject` (its value is the name), or a step of its own (`power`, `dryPan`). */
type Tag = 'inject' | 'power' | 'dryPan';

export interface Injection<Name extends string = string, Shape extends z.ZodRawShape = z.ZodRawShape> {
  /** Its name: the `inject` value of a scenario step, the dashboard's `inject` command, the log's `fault`. */
  readonly name: Name;
  readonly tag: Tag;
  /** The scenario step's fields besides `at`: its tag and its parameters, with their defaults. */
  readonly shape: Shape;
  readonly apply: (target: InjectionTarget, step: z.output<z.ZodObject<Shape>>) => void | Promise<void>;
  /** Ends it (a scenario's `clear`); absent for what cannot be undone (water already in the pan). */
  readonly clear?: (target: InjectionTarget) => void;
  /**
   * The step a key or a dashboard button gives, as a scenario file would write it (parsed by the
   * same schema, so its defaults are the file's); `running` is whether the controller has power.
   */
  readonly manual?: (running: boolean) => z.input<z.ZodObject<Shape>>;
  /** The interactive key of `aquastop sim` and its word in the footer. */
  readonly key?: { readonly key: string; readonly label: string };
  /** The dashboard's button for it (simulated appliances only) and its place among the buttons (1 first). */
  readonly button?: { readonly label: string; readonly place: number };
}

function injection<const Name extends string, Shape extends z.ZodRawShape>(entry: Injection<Name, Shape> & { readonly shape: Shape }): Injection<Name, Shape> {
  return entry;
}

/** A fault of the water side (sim/physics.ts) without parameters, which `clear` ends. */
function plantFault<const Name extends 'burstHose' | 'tapClosed' | 'valveStuckOpen' | 'levelWireBreak' | 'drainBlocked'>(name: Name, how: Pick<Injection, 'key' | 'button'> = {}) {
  return injection({
    name,
    tag: 'inject',
    shape: { inject: z.literal(name) },
    apply: (t) => t.plantFault({ kind: name }),
    clear: (t) => t.clearPlantFault(name),
    ...(how.key || how.button ? { manual: () => ({ inject: name }) } : {}),
    ...how,
  });
}

/** A fault of the serial link between host and board (src/board/link-faults.ts), which `clear` mends. */
function linkFault<const Name extends LinkFault>(name: Name) {
  return injection({
    name,
    tag: 'inject',
    shape: { inject: z.literal(name) },
    apply: (t) => t.setLinkFault(name, true),
    clear: (t) => t.setLinkFault(name, false),
  });
}

const fraction = z.number().min(0).max(1);

/** A self-test by the firmware's name for it (src/board/self-tests.ts). */
const selfTestName = z.custom<SelfTestName>(isSelfTestName, {
  error: (issue) => `unknown self-test ${JSON.stringify(issue.input)?.slice(0, 40) ?? 'missing'}: one of ${SELF_TEST_NAMES.join(', ')}`,
});

/**
 * The table. Its order is the order a scenario step's shapes are tried in (see
 * `timelineStepBranches`), which decides which shape a bad step's error line speaks of.
 */
export const INJECTIONS = [
  injection({
    name: 'crackedHose',
    tag: 'inject',
    shape: {
      inject: z.literal('crackedHose'),
      /** Share of the flow that escapes the cracked hose. */
      leakFraction: fraction.default(0.85),
      /** Share of the escaped water that reaches the base pan (the rest is lost outside). */
      toPanFraction: fraction.default(0.005),
    },
    apply: (t, s) => t.plantFault({ kind: 'crackedHose', leakFraction: s.leakFraction, toPanFraction: s.toPanFraction }),
    clear: (t) => t.clearPlantFault('crackedHose'),
    manual: () => ({ inject: 'crackedHose' }) as const,
  }),
  plantFault('burstHose', { key: { key: 'b', label: 'burst hose' }, button: { label: 'Burst hose', place: 2 } }),
  plantFault('tapClosed', { key: { key: 't', label: 'tap closed' }, button: { label: 'Tap closed', place: 3 } }),
  plantFault('valveStuckOpen'),
  injection({
    name: 'floatChatter',
    tag: 'inject',
    shape: { inject: z.literal('floatChatter'), period: durationSchema.default(20_000), wet: durationSchema.default(3_000) },
    apply: (t, s) => t.plantFault({ kind: 'floatChatter', periodMs: s.period, wetMs: s.wet }),
    clear: (t) => t.clearPlantFault('floatChatter'),
  }),
  injection({
    name: 'leak',
    tag: 'inject',
    /** Millilitres landing in the base pan at once. */
    shape: { inject: z.literal('leak'), ml: z.number().positive().max(100_000) },
    apply: (t, s) => t.plantFault({ kind: 'leak', ml: s.ml }),
    manual: () => ({ inject: 'leak', ml: 120 }) as const,
    key: { key: 'l', label: 'leak' },
    button: { label: 'Leak into the base pan', place: 1 },
  }),
  plantFault('levelWireBreak'),
  plantFault('drainBlocked'),
  linkFault('linkLost'),
  linkFault('usbUnplug'),
  injection({
    name: 'internalLeak',
    tag: 'inject',
    shape: {
      inject: z.literal('internalLeak'),
      /** Share of the metered inflow that escapes inside the appliance before the tub. */
      leakFraction: fraction,
      /** Share of that water that reaches the base pan (the rest runs out under the appliance). */
      toPanFraction: fraction.default(0),
    },
    apply: (t, s) => t.plantFault({ kind: 'internalLeak', leakFraction: s.leakFraction, toPanFraction: s.toPanFraction }),
    clear: (t) => t.clearPlantFault('internalLeak'),
  }),
  injection({
    name: 'siphon',
    tag: 'inject',
    shape: { inject: z.literal('siphon'), lpm: z.number().positive().max(100) },
    apply: (t, s) => t.plantFault({ kind: 'siphon', lpm: s.lpm }),
    clear: (t) => t.clearPlantFault('siphon'),
  }),
  injection({
    name: 'levelNoise',
    tag: 'inject',
    /** Litres: each level reading is off by up to this much, either way. */
    shape: { inject: z.literal('levelNoise'), amplitude: z.number().positive().max(20) },
    apply: (t, s) => t.plantFault({ kind: 'levelNoise', amplitudeL: s.amplitude }),
    clear: (t) => t.clearPlantFault('levelNoise'),
  }),
  injection({
    name: 'selfTestFail',
    tag: 'inject',
    shape: { inject: z.literal('selfTestFail'), test: selfTestName },
    apply: (t, s) => t.failSelfTest(s.test),
  }),
  injection({
    name: 'memoryCorrupt',
    tag: 'inject',
    shape: { inject: z.literal('memoryCorrupt') },
    apply: (t) => t.corruptMemory(),
  }),
  injection({
    name: 'powerCut',
    tag: 'power',
    /** A scenario cuts and restores; a key or a button cuts the power when it is on and restores it when it is off. */
    shape: { power: z.enum(['cut', 'restore']) },
    apply: (t, s) => (s.power === 'cut' ? t.powerCut() : t.powerUp()),
    manual: (running) => ({ power: running ? ('cut' as const) : ('restore' as const) }),
    key: { key: 'p', label: 'power cut/restore' },
    button: { label: 'Power cut', place: 4 },
  }),
  injection({
    name: 'dryPan',
    tag: 'dryPan',
    /** Someone mops the base pan. */
    shape: { dryPan: z.literal(true) },
    apply: (t) => {
      t.record({ type: 'dryPan' });
      t.dryPan();
    },
    manual: () => ({ dryPan: true }) as const,
    key: { key: 'd', label: 'dry pan' },
  }),
] as const;

type Entry = (typeof INJECTIONS)[number];
export type InjectionName = Entry['name'];
/** A parsed step of any injection (without `at`). */
export type InjectionStep = Entry extends infer E ? (E extends Injection<string, infer S> ? z.output<z.ZodObject<S>> : never) : never;

/** The table seen without each entry's own types (its steps are checked by their schemas). */
const TABLE = INJECTIONS as unknown as readonly Injection[];
const BY_NAME = new Map<string, Injection>(TABLE.map((e) => [e.name, e]));

export function injectionNamed(name: string): Injection | undefined {
  return BY_NAME.get(name);
}

/** The entry a parsed step belongs to, or null for a step that is no injection (`clear`, `press`). */
export function injectionOf(step: object): Injection | null {
  if ('inject' in step) return BY_NAME.get(String(step.inject)) ?? null;
  for (const e of BY_NAME.values()) if (e.tag !== 'inject' && e.tag in step) return e;
  return null;
}

const at = { at: durationSchema };
const isSimple = (e: Injection) => e.tag === 'inject' && e.clear !== undefined && Object.keys(e.shape).length === 1;

/** What a scenario's `clear` may name: every injection that can be ended, in the table's order. */
export const CLEARABLE = INJECTIONS.filter((e) => 'clear' in e).map((e) => e.name) as [InjectionName, ...InjectionName[]];

/**
 * The scenario step shapes of the table, in the order zod tries them: the `inject` steps with
 * parameters (or that cannot be cleared) in the table's order, then those without parameters
 * as one shape (a mistyped name is then told the whole list), then `others` (a scenario's
 * `clear` and `press`, which are no injections), then the steps of their own (`power`, `dryPan`).
 */
type Branch = z.ZodObject<z.ZodRawShape, z.core.$strict>;
export function timelineStepBranches(others: readonly Branch[]): [Branch, ...Branch[]] {
  const all = TABLE;
  const own = (e: Injection): Branch => z.object({ ...at, ...e.shape }).strict();
  const simple = all.filter(isSimple).map((e) => e.name) as [string, ...string[]];
  const [first, ...rest] = [
    ...all.filter((e) => e.tag === 'inject' && !isSimple(e)).map(own),
    z.object({ ...at, inject: z.enum(simple) }).strict() as Branch,
    ...others,
    ...all.filter((e) => e.tag !== 'inject').map(own),
  ];
  return [first!, ...rest];
}

/**
 * Applies a parsed injection step: an `inject` step is logged with its parameters, then done.
 */
export function applyInjection(target: InjectionTarget, entry: Injection, step: Record<string, unknown>): void | Promise<void> {
  if (entry.tag === 'inject') {
    const { at: _at, inject: _inject, ...params } = step;
    target.record({ type: 'inject', fault: entry.name, ...params });
  }
  return entry.apply(target, step);
}

/** The step a key or a button gives for `entry`, parsed by the entry's own scenario schema (its defaults). */
export function manualStep(entry: Injection, running: boolean): Record<string, unknown> {
  if (!entry.manual) throw new Error(`${entry.name} has no key or button`);
  return z.object(entry.shape).strict().parse(entry.manual(running));
}

/** The dashboard's injection buttons in their order: name (the `inject` command) and label. */
export function dashboardButtons(): { readonly name: InjectionName; readonly label: string }[] {
  return INJECTIONS.flatMap((e) => ('button' in e && e.button ? [{ name: e.name, label: e.button.label, place: e.button.place }] : []))
    .sort((a, b) => a.place - b.place)
    .map(({ name, label }) => ({ name, label }));
}
