/**
 * Scenario files: a timeline of faults and button presses against a simulated dishwasher,
 * and expectations checked at the end. Format documented in sim/scenarios/README.md.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { FAULT_CODES } from '../src/machine/catalogue.js';
import { durationSchema } from '../src/clock/duration.js';
import { controllerConfigSchema } from '../src/machine/config.js';
import { UsageError } from '../src/errors/usage-error.js';
import { CLEARABLE, timelineStepBranches, type InjectionStep } from './injections.js';

// One duration grammar and bound for every command and file (src/clock/duration.ts).
export { durationSchema, MAX_DURATION_MS, parseDuration } from '../src/clock/duration.js';

const faultCode = z.enum(FAULT_CODES);

const at = { at: durationSchema };

/** What a scenario's `clear` may name (sim/injections.ts). */
export const clearable = z.enum(CLEARABLE);

/**
 * A timeline step: an injection of the table (sim/injections.ts, which holds each one's
 * parameters and defaults), a `clear` or a button `press`.
 */
export const timelineStepSchema = z.union(
  timelineStepBranches([z.object({ ...at, clear: clearable }).strict(), z.object({ ...at, press: z.enum(['resume', 'reset', 'closeValve', 'exercise']) }).strict()]),
);

type Press = 'resume' | 'reset' | 'closeValve' | 'exercise';
/** A parsed timeline step. */
export type TimelineStep = { readonly at: number } & (InjectionStep | { readonly clear: z.output<typeof clearable> } | { readonly press: Press });

export const expectationSchema = z.union([
  z
    .object({
      /** One code, or any of several ("i10 or i11"). */
      fault: z.union([faultCode, z.array(faultCode).min(1)]),
      raised: z.boolean().default(true),
      /** Raised no earlier than this (e.g. again after a power restore) ... */
      after: durationSchema.optional(),
      /** ... and no later than this. */
      within: durationSchema.optional(),
    })
    .strict(),
  z.object({ noFault: z.literal(true) }).strict(),
  z.object({ valve: z.enum(['open', 'closed']), at: z.literal('end') }).strict(),
  z.object({ pump: z.enum(['on', 'off']), at: z.literal('end') }).strict(),
  z.object({ breaker: z.enum(['armed', 'tripped', 'probing', 'latched', 'service']), at: z.literal('end') }).strict(),
  /** The valve never opens again once this fault has been raised. */
  z.object({ valveStaysClosedAfter: faultCode }).strict(),
  z
    .object({
      command: z.enum(['resume', 'reset', 'closeValve', 'exercise']),
      result: z.enum(['accepted', 'refused']),
      /** For a refusal: words its reason must contain ("wet"). */
      because: z.string().min(1).optional(),
    })
    .strict(),
  z.object({ programCompleted: z.boolean() }).strict(),
]);

export const scenarioSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and "-"'),
    description: z.string().min(1),
    seed: z.number().int().nonnegative().default(1),
    duration: durationSchema,
    /** Run the dishwasher program from t=0 (default), and loop it. */
    program: z
      .object({ start: z.boolean().default(true), loop: z.boolean().default(false) })
      .strict()
      .prefault({}),
    /** Physics overrides (sim/physics.ts PhysicsOptions). */
    physics: z
      .object({
        inletFlowLpm: z.number().positive().max(100),
        burstFlowLpm: z.number().positive().max(200),
        drainLpm: z.number().positive().max(200),
        floatTripMl: z.number().positive().max(10_000),
        panEvaporationMlPerMin: z.number().nonnegative().max(10_000),
        hoseFuseLpm: z.number().positive().max(1_000),
        levelNoiseL: z.number().nonnegative().max(1),
      })
      .partial()
      .strict()
      .prefault({}),
    /** Controller configuration overrides (src/machine/config.ts). */
    controller: controllerConfigSchema.prefault({}),
    timeline: z
      .array(timelineStepSchema as unknown as z.ZodType<TimelineStep, z.input<typeof timelineStepSchema>>)
      .max(10_000)
      .default([]),
    expect: z.array(expectationSchema).max(1_000).default([]),
  })
  .strict();

export type Scenario = z.output<typeof scenarioSchema>;
export type Expectation = z.output<typeof expectationSchema>;

/** A scenario file or step the simulator cannot run: one line, exit 2. */
export class ScenarioError extends UsageError {}

/**
 * One line naming the first problem, with its path in the file. For an entry that matches
 * none of the allowed shapes, the shape it came closest to (fewest problems) speaks.
 */
function describeIssue(error: z.ZodError, input: unknown): string {
  let issue: z.core.$ZodIssue = error.issues[0]!;
  let path: PropertyKey[] = [...issue.path];
  while (issue.code === 'invalid_union' && issue.errors.length > 0) {
    const base = path;
    // A complaint about a key the file does not have means the entry was meant to be another shape.
    const missing = (i: z.core.$ZodIssue) => (valueAt(input, [...base, ...i.path]) === undefined ? 100 : 0);
    // A branch that rejects the value of a key another branch takes (`"inject": "levelNoise"` against
    // the simple injections) was not meant, even when the one that takes it misses a field.
    const branches = issue.errors;
    const entry = valueAt(input, base);
    const keys = entry !== null && typeof entry === 'object' ? Object.keys(entry) : [];
    const takes = (branch: z.core.$ZodIssue[], key: string) =>
      !branch.some((i) => i.path[0] === key || (i.code === 'unrecognized_keys' && i.path.length === 0 && i.keys.includes(key)));
    const misled = (branch: z.core.$ZodIssue[]) =>
      keys.some((key) => branch.some((i) => i.code === 'invalid_value' && i.path[0] === key) && branches.some((b) => takes(b, key))) ? 1000 : 0;
    const score = (branch: z.core.$ZodIssue[]) =>
      branch.length * 10 +
      Math.max(0, ...branch.map(missing)) +
      misled(branch) -
      // Between equals, the shape that lists the most choices.
      Math.max(0, ...branch.map((i) => (i.code === 'invalid_value' ? i.values.length : 0))) / 1000;
    const best = [...branches].sort((a, b) => score(a) - score(b))[0]!;
    if (best.length === 0) break;
    issue = best[0]!;
    path = [...path, ...issue.path];
  }
  const where = path.length ? path.map(String).join('.') : '(top level)';
  return `${where}: ${issue.message}`;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = input;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

export function parseScenario(json: unknown, source: string): Scenario {
  const parsed = scenarioSchema.safeParse(json);
  if (!parsed.success) throw new ScenarioError(`${source}: ${oneLine(describeIssue(parsed.error, json))}`);
  return parsed.data;
}

/** A message quoting the file's own bytes stays one printable line, whatever the file holds. */
function oneLine(message: string): string {
  const flat = message.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ');
  return flat.length > 160 ? `${flat.slice(0, 157)}...` : flat;
}

export function loadScenarioFile(path: string): Scenario {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ScenarioError(code === 'ENOENT' ? `scenario file not found: ${path}` : `cannot read ${path}: ${code ?? String(err)}`);
  }
  // Editors on some systems start a UTF-8 file with a byte order mark: it is not part of the JSON.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ScenarioError(`${path}: not valid JSON (${oneLine((err as Error).message)})`);
  }
  return parseScenario(json, path);
}
