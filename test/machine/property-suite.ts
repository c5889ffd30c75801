/**
 * The fast-check properties of the controller, driven through the RUNTIME on a scripted board
 * (runtime-rig.ts) and checked by the safety rules (safety-rules.ts) on what the board was
 * told. Shared by the test suite (properties.test.ts) and the bench (test/bench/properties.ts).
 *
 * Each property draws sequences of board inputs, program requests, commands, board reports,
 * restarts and waits, weighted towards its own rule's premise, and fails on any violation of
 * its rules. It also counts the sequences in which its premises came up (the valve opened, a
 * command while the pan was wet, a restart while latched...), so a generator that stopped
 * producing them fails the property instead of letting it pass vacuously.
 */
import fc from 'fast-check';
import type { ProgramRequest, UserCommand } from '../../src/board/runtime-types.js';
import { acceptedConfig } from './rule-config.js';
import { RuntimeRig, TICK_MS } from './runtime-rig.js';
import { describeViolations, PREMISES, type Premise, type RuleId } from './safety-rules.js';

/** Timings short enough that a sequence crosses several of them in a few hundred ticks. */
export const PROPERTY_CONFIG = {
  fill: { staticTimeoutMs: 20_000, dynamicTimeoutMs: 30_000, topUpTimeoutMs: 15_000, maxFailedTopUps: 3 },
  drain: { timeoutMs: 20_000 },
  leak: { wetDebounceMs: 3_000, dryMs: 10_000 },
  breaker: { coolDownMs: 25_000 },
  sensors: { levelLostMs: 2_500, levelImplausibleMs: 5_000, levelSettleMs: 2_000 },
  valveLeak: { flowMs: 2_000, quietMs: 1_000 },
  valve: { maxOpens: 6, windowMs: 60_000 },
  exercise: { durationMs: 2_000, intervalMs: 120_000, maxStartLevelL: 0.3, maxRiseL: 0.3, maxVolumeL: 0.25 },
};
const accepted = acceptedConfig(PROPERTY_CONFIG);
export const droppedConfigKeys = accepted.dropped;

export type Step =
  | { readonly k: 'float'; readonly reading: 'dry' | 'wet' | 'open' }
  | { readonly k: 'level'; readonly litres: number | null }
  /** A noisy level signal: the reading jumps by more than levelMaxJumpL and back, holding each value a tick or two, for `ticks` ticks. */
  | { readonly k: 'noise'; readonly ticks: number; readonly hold: number }
  /** A chattering float: wet and dry by turns, each for `hold` ticks, for `ticks` ticks. */
  | { readonly k: 'chatter'; readonly ticks: number; readonly hold: number }
  | { readonly k: 'flow'; readonly litres: number }
  /** A trickle: pulses every tick for `ticks` ticks. */
  | { readonly k: 'trickle'; readonly ticks: number; readonly litresPerTick: number }
  | { readonly k: 'program'; readonly request: ProgramRequest }
  | { readonly k: 'command'; readonly command: UserCommand }
  | { readonly k: 'report'; readonly report: 'linkLost' | 'linkRestored' }
  | { readonly k: 'restart' }
  | { readonly k: 'wait'; readonly ms: number };

type Kind = Step['k'];

const TIMINGS = [2_000, 2_500, 3_000, 5_000, 10_000, 15_000, 20_000, 25_000, 30_000, 60_000, 120_000];
/** Waits cluster around the timings (a tick before, on, a tick after) so sequences cross them often. */
const waitArb = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 1_500 }) },
  { weight: 4, arbitrary: fc.tuple(fc.constantFrom(...TIMINGS), fc.constantFrom(-TICK_MS, 0, TICK_MS, 2 * TICK_MS)).map(([t, d]) => t + d) },
  { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 35_000 }) },
);

const ARBS: Record<Kind, fc.Arbitrary<Step>> = {
  float: fc.constantFrom<Step>({ k: 'float', reading: 'dry' }, { k: 'float', reading: 'dry' }, { k: 'float', reading: 'wet' }, { k: 'float', reading: 'open' }),
  level: fc
    .oneof(
      { weight: 6, arbitrary: fc.constantFrom(0, 0.1, 0.3, 0.35, 1.5, 3, 3.2) },
      { weight: 2, arbitrary: fc.double({ min: 0, max: 4, noNaN: true }) },
      { weight: 1, arbitrary: fc.constantFrom(null, Number.NaN, Number.POSITIVE_INFINITY, 30) },
    )
    .map((litres): Step => ({ k: 'level', litres })),
  noise: fc.record({ ticks: fc.integer({ min: 1, max: 60 }), hold: fc.integer({ min: 1, max: 3 }) }).map((r): Step => ({ k: 'noise', ...r })),
  chatter: fc.record({ ticks: fc.integer({ min: 1, max: 60 }), hold: fc.integer({ min: 1, max: 3 }) }).map((r): Step => ({ k: 'chatter', ...r })),
  flow: fc.constantFrom(0.05, 0.1, 0.2, 0.3, 2).map((litres): Step => ({ k: 'flow', litres })),
  trickle: fc.record({ ticks: fc.integer({ min: 1, max: 40 }), litresPerTick: fc.constantFrom(0.005, 0.02, 0.05) }).map((r): Step => ({ k: 'trickle', ...r })),
  program: fc
    .oneof(
      { weight: 4, arbitrary: fc.constantFrom(1, 3).map((targetL): ProgramRequest => ({ type: 'fill', targetL })) },
      { weight: 1, arbitrary: fc.constant<ProgramRequest>({ type: 'fill', targetL: 3, topUp: true }) },
      { weight: 2, arbitrary: fc.constant<ProgramRequest>({ type: 'drain' }) },
      { weight: 3, arbitrary: fc.constant<ProgramRequest>({ type: 'idle' }) },
    )
    .map((request): Step => ({ k: 'program', request })),
  command: fc.constantFrom<UserCommand>('reset', 'resume', 'exercise', 'closeValve').map((command): Step => ({ k: 'command', command })),
  report: fc.constantFrom<Step>({ k: 'report', report: 'linkLost' }, { k: 'report', report: 'linkRestored' }),
  restart: fc.constant<Step>({ k: 'restart' }),
  wait: waitArb.map((ms): Step => ({ k: 'wait', ms })),
};

export interface PropertyDef {
  readonly name: string;
  readonly rules: readonly RuleId[];
  readonly weights: Partial<Record<Kind, number>>;
  /** Premises and the share of sequences in which each must come up. */
  readonly premises: Partial<Record<Premise, number>>;
  readonly maxLength: number;
  /** 'fill' draws fill requests only (a fill left waiting is what trips i10 and starts a cool-down). */
  readonly programs?: 'any' | 'fill';
}

export const PROPERTIES: readonly PropertyDef[] = [
  {
    name: 'R1: the board is told to open the valve only with the float dry, the level good and settled, the link good, the breaker armed or probing',
    rules: ['R1'],
    weights: { float: 2, level: 4, noise: 2, chatter: 1, flow: 1, program: 6, command: 3, report: 1, restart: 1, wait: 5 },
    premises: { valveOpened: 0.25, openAfterNoise: 0.01, noisyWhileFilling: 0.05 },
    maxLength: 40,
  },
  {
    name: 'R2: the first wet or open float reading closes the valve in the same step, and a float wet for the debounce time latches i30',
    rules: ['R2'],
    weights: { float: 5, chatter: 2, level: 2, program: 4, command: 2, restart: 1, wait: 5 },
    premises: { wetWhileOpen: 0.1, wetDebounceElapsed: 0.1 },
    maxLength: 40,
  },
  {
    name: 'R3: while the board link is lost the valve is never commanded open (cool-down and probe wait for the link)',
    rules: ['R3'],
    weights: { level: 1, program: 2, command: 2, report: 3, restart: 1, wait: 6 },
    premises: { linkLostWhileOpen: 0.05, linkLostDuringCoolDownWithDemand: 0.02, linkLostPastCoolDown: 0.01 },
    maxLength: 30,
    programs: 'fill',
  },
  {
    name: 'R4, R8: no command opens the valve unless the pan has been dry for the dry time; closeValve closes it at once',
    rules: ['R4', 'R8'],
    weights: { float: 4, level: 2, program: 3, command: 6, report: 1, restart: 1, wait: 5 },
    premises: { commandWhileWet: 0.2, commandWhileDrying: 0.1, commandOpenedValve: 0.05, closeValveWhileOpen: 0.05 },
    maxLength: 40,
  },
  {
    name: 'R5: a latched trip survives a restart with its code, and only an accepted reset clears the board latch',
    rules: ['R5'],
    weights: { float: 4, level: 3, program: 2, command: 4, restart: 4, wait: 5 },
    premises: { restartWhileLatched: 0.1, resetAccepted: 0.02, resetRefused: 0.1 },
    maxLength: 40,
  },
  {
    name: 'R6: the board is told to open the valve at most valve.maxOpens times per valve.windowMs; the open beyond raises i13',
    rules: ['R6'],
    weights: { float: 2, level: 3, noise: 3, chatter: 3, program: 4, command: 1, wait: 3 },
    premises: { valveOpened: 0.3, maxOpensReached: 0.05, i13Raised: 0.02 },
    maxLength: 50,
  },
  {
    name: 'R7: a proof test runs only when armed, idle, dry, nearly empty, with good level and link, is capped and bounded, and reports its result',
    rules: ['R7'],
    weights: { float: 2, level: 3, flow: 3, trickle: 2, program: 2, command: 5, report: 1, wait: 6 },
    premises: { exerciseAttempted: 0.3, exerciseAccepted: 0.05, exerciseOpened: 0.05, exerciseDone: 0.03, exerciseCapped: 0.01 },
    maxLength: 40,
  },
];

/** A sequence: for R7 biased towards commands for an exercise on an empty, dry tub. */
export function sequenceArb(def: PropertyDef): fc.Arbitrary<Step[]> {
  const parts = Object.entries(def.weights).map(([kind, weight]) => {
    let arbitrary = ARBS[kind as Kind];
    if (kind === 'program' && def.programs === 'fill') arbitrary = fc.constant<Step>({ k: 'program', request: { type: 'fill', targetL: 3 } });
    if (def.rules.includes('R7') && kind === 'command')
      arbitrary = fc.oneof({ weight: 3, arbitrary: fc.constant<Step>({ k: 'command', command: 'exercise' }) }, { weight: 1, arbitrary });
    return { weight: weight, arbitrary };
  });
  return fc.array(fc.oneof(...parts), { minLength: 1, maxLength: def.maxLength, size: 'max' });
}

/** Runs one sequence on a fresh rig; returns its violations of `rules` and the premises that came up. */
export async function runSequence(steps: readonly Step[], rules: readonly RuleId[]): Promise<{ violations: string; premises: Set<Premise> }> {
  const rig = new RuntimeRig(accepted.config, accepted.rules);
  await rig.start();
  const w = rig.world;
  for (const step of steps) {
    switch (step.k) {
      case 'float':
        w.float = step.reading;
        rig.wait(TICK_MS);
        break;
      case 'level':
        w.tubLevelL = step.litres;
        rig.wait(TICK_MS);
        break;
      case 'noise': {
        const base = typeof w.tubLevelL === 'number' && Number.isFinite(w.tubLevelL) && w.tubLevelL >= 0 && w.tubLevelL <= 8 ? w.tubLevelL : 0.1;
        for (let i = 0; i < step.ticks; i++) {
          w.tubLevelL = Math.floor(i / step.hold) % 2 === 0 ? base + 2 : base;
          rig.wait(TICK_MS);
        }
        w.tubLevelL = base;
        break;
      }
      case 'chatter':
        for (let i = 0; i < step.ticks; i++) {
          w.float = Math.floor(i / step.hold) % 2 === 0 ? 'wet' : 'dry';
          rig.wait(TICK_MS);
        }
        w.float = 'dry';
        break;
      case 'flow':
        w.flowPulses += Math.round(step.litres * rig.board.pulsesPerLitre);
        rig.wait(TICK_MS);
        break;
      case 'trickle':
        for (let i = 0; i < step.ticks; i++) {
          w.flowPulses += Math.max(1, Math.round(step.litresPerTick * rig.board.pulsesPerLitre));
          rig.wait(TICK_MS);
        }
        break;
      case 'program':
        rig.program(step.request);
        break;
      case 'command':
        rig.command(step.command);
        break;
      case 'report':
        rig.report(step.report);
        break;
      case 'restart':
        await rig.restart();
        break;
      case 'wait':
        rig.wait(step.ms);
        break;
    }
  }
  // Let the last step's deadlines (debounce, exercise) pass, then check the end.
  rig.wait(PROPERTY_CONFIG.leak.wetDebounceMs + 2 * TICK_MS);
  const monitor = rig.finish();
  const mine = monitor.violations.filter((v) => rules.includes(v.rule));
  const premises = new Set(PREMISES.filter((p) => monitor.premises[p] > 0));
  const shown = describeViolations(mine.slice(0, 3)) + (mine.length > 3 ? `\n(${mine.length - 3} more)` : '');
  return { violations: mine.length > 0 ? shown : '', premises };
}

export interface PropertyRun {
  readonly name: string;
  readonly seed: number;
  readonly runs: number;
  readonly failed: boolean;
  readonly counterexample: string | null;
  /** Sequences in which each premise came up. */
  readonly premises: Partial<Record<Premise, number>>;
  /** Premises that came up less often than required. */
  readonly starved: string[];
  readonly ms: number;
}

/** Runs one property with fast-check; never throws (the caller asserts on the result). */
export async function checkProperty(def: PropertyDef, seed: number, runs: number): Promise<PropertyRun> {
  const t0 = performance.now();
  const counts = Object.fromEntries(Object.keys(def.premises).map((p) => [p, 0])) as Record<string, number>;
  let executed = 0;
  let shrinking = false;
  const result = await fc.check(
    fc.asyncProperty(sequenceArb(def), async (steps) => {
      const { violations, premises } = await runSequence(steps, def.rules);
      // Count the generated sequences, not the shrinker's variations of a failing one.
      if (!shrinking) {
        executed++;
        for (const p of Object.keys(counts)) if (premises.has(p as Premise)) counts[p]!++;
      }
      if (violations) {
        shrinking = true;
        throw new Error(violations);
      }
    }),
    { seed, numRuns: runs },
  );
  let counterexample: string | null = null;
  if (result.failed) {
    const steps = result.counterexample?.[0] ?? [];
    counterexample = `${result.errorInstance instanceof Error ? result.errorInstance.message : String(result.errorInstance)}\nafter ${steps.length} steps (shrunk ${result.numShrinks} times): ${JSON.stringify(steps)}`;
  }
  const starved = Object.entries(def.premises)
    .filter(([p, share]) => counts[p]! < Math.max(1, Math.floor(share * executed)))
    .map(([p, share]) => `${p}: ${counts[p]} of ${executed} sequences (needs ${Math.round(share * 100)} %)`);
  return { name: def.name, seed, runs: executed, failed: result.failed, counterexample, premises: counts, starved, ms: Math.round(performance.now() - t0) };
}

/** Seeds fixed per property; FC_SEED moves them all, FC_RUNS sets the runs per property. */
export function seedFor(index: number): number {
  const base = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : 20261129;
  return base + index;
}
