/**
 * The one definition of each fact the controller reasons about ("the pan is wet", "the level
 * is good", "the link is good", "the breaker wants water"). Each fact is the set of state
 * nodes (by id) in which it holds. From this table, and nowhere else:
 * - every state node gets its facts as xstate tags (`tagsFor`), so the status, telemetry and
 *   tests read `snapshot.hasTag(fact)`;
 * - every guard that needs a fact is built with `holds(fact)` (an `or` of `stateIn`).
 * A test walks every state node and checks tags and table agree.
 *
 * Pure data plus two tiny builders: no I/O, imports only xstate.
 */
import { or, stateIn } from 'xstate';

export const FACTS = {
  /** The float reads dry right now (it may have been wet a moment ago). */
  floatDry: ['#leakDry', '#leakDrying'],
  /** The float has read dry without a break for leak.dryMs: the only "dry" that lets a person's command let water in. */
  panDry: ['#leakDry'],
  /** Water in the pan, or a float we cannot read (wire broken): shown as `leak` in the status. */
  leak: ['#leakDebouncing', '#leakWet', '#leakSignalLost'],
  /** No float reading yet since boot: neither wet nor dry. */
  floatUnknown: ['#leakUnknown'],
  /** Water in the pan or a lost float signal: the drain pump runs (i30). */
  panNeedsPumping: ['#leakWet', '#leakSignalLost'],
  /** The tub level signal is present, plausible and settled. */
  levelGood: ['#levelOk'],
  /** The board hears our keepalives (no watchdog report pending). */
  linkGood: ['#linkOk'],
  /** No water flows through the meter while the valve is closed (or the flow has stopped again). */
  inflowQuiet: ['#inflowQuiet'],
  /** The breaker asks for water under supervision: a fill, a probe fill, or the open phase of a proof test. */
  valveDemand: ['#armedFilling', '#probeFill', '#exerciseOpening'],
  /** The breaker asks for the drain pump: a supervised drain or a probe drain. */
  drainDemand: ['#armedDraining', '#probeDrain'],
  /** A proof test of the shut-off is under way (open, verifying, concluding). */
  exerciseRunning: ['#exercising'],
  /** The controller has the valve open (the board is told to open it). */
  valveOpen: ['#valveOpen'],
  /** Water asked for by a person's command (a probe after resume, a proof test): only with the pan dry for leak.dryMs. */
  valveDemandNeedsPanDry: ['#probeFill', '#exerciseOpening'],
} as const satisfies Record<string, readonly `#${string}`[]>;

export type Fact = keyof typeof FACTS;

export const FACT_NAMES = Object.keys(FACTS) as Fact[];

/** A guard that holds when the machine is in any state node of `fact`. */
export function holds(fact: Fact) {
  return or(FACTS[fact].map((id) => stateIn(id)));
}

/** The tags of the state node with this id: every fact that names it. */
export function tagsFor(id: string): Fact[] {
  return FACT_NAMES.filter((fact) => (FACTS[fact] as readonly string[]).includes(`#${id}`));
}
