/**
 * Exhaustive exploration of the controller MACHINE: every configuration reachable with an
 * abstract input alphabet, breadth first, every safety rule (safety-rules.ts) checked on every
 * step taken. It fails with the SHORTEST input sequence to each rule broken.
 *
 * How it runs the machine: xstate's pure `initialTransition`/`transition`, which return the
 * next snapshot and the actions to execute without executing them. The explorer executes them
 * the way an actor would: a delayed `raise` is a pending timer (id, due time), a `cancel`
 * drops one, an `emit` is what the runtime would act on (valve.changed becomes the board's
 * setValve, latch.changed goes to the store, the rest are observed events).
 *
 * Time: timers fire in due-time order, exactly as on a clock (not over-approximated): the
 * "time" input advances to the earliest pending timer or rule deadline (a debounce or an
 * exercise that should have ended, the end of a dry spell or of a valve window) and fires
 * every timer due then, in the order they were set. Inputs arrive at the instants between
 * those; an input at an instant no timer or rule marks is equivalent, for every guard, to one
 * at the previous such instant, because nothing that reads time changes in between. (The
 * machine keeps no clock of its own: all its timing is named delays.)
 *
 * Deduplication: two configurations are the same when they agree on
 * - the machine's state value;
 * - its context without the configuration, the fault's text, the trip count and the boot
 *   input (none of which any guard reads), numbers rounded to 1e-9 and capped at 10 (the
 *   largest threshold any guard compares against, 3 x a rise of at most 3 L, is below 10);
 * - the pending timers, as (id, time left), an unnamed one by its event;
 * - the persisted latch's breaker and code (its text is read only back into the fault's text);
 * - the rule monitor's own state, with every age capped where no rule tells larger ages apart
 *   and a flag no rule reads before it is written again left out (monitor.key() gives each
 *   cap its reason).
 * Two configurations with the same key have the same future, so the exploration is sound up
 * to its depth bound. The set of keys seen holds each as its 128-bit digest (`fingerprint`:
 * the chance of any collision among ten million is about 1e-25).
 *
 * Throughput, none of it an abstraction: a transition of the machine is taken once per exact
 * snapshot and event and looked up after that (`MachineCache`; the explorer still runs the
 * actions it returned through its own timers and the monitor on every step), with one inert
 * actor scope instead of a fresh actor per call; the last level's configurations are checked
 * and counted but not kept.
 *
 * Inputs: the first sample after a boot carries float and level together, as the runtime's
 * first board read does (a machine that has never heard of the level is not a state a board
 * can put it in); a restart is a power cycle followed by that first sample of an unchanged
 * world.
 *
 * Focus: the whole alphabet multiplies every region by every other: the number of new
 * configurations grows 2.3 to 2.6 times per depth (12, 109, 524, 1,858, 5,588, 15,165, 39,113,
 * 98,749, 244,796, 596,604, 1,431,800, 3,378,911, 7,799,487 for depths 0 to 12), and most of it
 * is not time: the state value and context alone, without timers and ages, still double per
 * depth at depth 6. The deep run (`npm run explore`) takes the whole alphabet to depth 12
 * (13.6 million configurations, 105 million transitions, half an hour and 8 GB on one core);
 * `npm test`'s budget takes it to depth 4. So each concern also runs with the inputs that
 * matter to it (a focus): depth 12 in the deep run, 8 to 11 in `npm test`'s budget. A focus
 * explores fewer interleavings than the whole alphabet, never different ones: every path it
 * finds is a path of the full machine.
 */
import { hash } from 'node:crypto';
import { createActor, initialTransition, type AnyMachineSnapshot } from 'xstate';
import type { ControllerEvent, PersistedLatch } from '../../src/machine/events.js';
import { controllerMachine } from '../../src/machine/machine.js';
import { describeViolations, SafetyMonitor, type LevelSignal, type TraceInput, type Violation } from './safety-rules.js';
import { acceptedConfig } from './rule-config.js';

/**
 * Short, distinct timings (no two timers tie; several fit in twelve steps), and thresholds set
 * so that one value sits on several boundaries at once: 0.3 L is the empty level, the exercise's
 * start limit and its rise limit; two flow pulses pass the exercise's volume cap and make iE0.
 */
export const WANTED = {
  fill: { staticTimeoutMs: 9_000, dynamicTimeoutMs: 12_000, topUpTimeoutMs: 6_500, maxFailedTopUps: 2 },
  drain: { timeoutMs: 9_500, emptyL: 0.3 },
  leak: { wetDebounceMs: 1_000, dryMs: 6_000 },
  breaker: { coolDownMs: 12_500 },
  sensors: { levelLostMs: 2_500, levelImplausibleMs: 5_000, levelSettleMs: 2_000 },
  valveLeak: { flowMs: 2_200, quietMs: 1_100 },
  unaccounted: { minLossL: 0.3, ratio: 3 },
  valve: { maxOpens: 2, windowMs: 30_000 },
  exercise: { durationMs: 2_100, intervalMs: 40_000, maxStartLevelL: 0.3, maxRiseL: 0.3, maxVolumeL: 0.25 },
};
const { config, rules, dropped } = acceptedConfig(WANTED);
export const droppedConfigKeys = dropped;

const TARGET_L = 3;

type Snap = AnyMachineSnapshot;
interface Timer {
  readonly id: string;
  /** What the deduplication key knows it by: its id when the machine named it, else its event. */
  readonly name: string;
  readonly due: number;
  readonly seq: number;
  readonly event: { type: string };
}
interface Node {
  readonly machine: MachineState;
  readonly timers: readonly Timer[];
  readonly monitor: SafetyMonitor;
  readonly now: number;
  readonly latch: PersistedLatch | null;
  readonly float: TraceInput & { kind: 'float' };
  readonly level: TraceInput & { kind: 'level' };
  /** How it was reached: its inputs only, so a finished level's snapshots can be collected. */
  readonly trail: Trail;
}
interface Trail {
  readonly parent: Trail | null;
  readonly label: string;
}

const LEVELS: Record<string, LevelSignal> = {
  'level low': { status: 'ok', litres: 0.3 },
  'level high': { status: 'ok', litres: TARGET_L },
  'level lost': { status: 'lost' },
  'level noisy': { status: 'implausible' },
};
const FLOATS = { 'float dry': 'dry', 'float wet': 'wet', 'float open': 'open' } as const;

function levelEvent(signal: LevelSignal): ControllerEvent {
  if (signal.status === 'ok') return { type: 'sensor.level', reading: { status: 'ok', litres: signal.litres } };
  if (signal.status === 'lost') return { type: 'sensor.level', reading: { status: 'open' } };
  // A reading that is no number at all: the plausibility check lets it through only as implausible.
  return { type: 'sensor.level', reading: { status: 'implausible', litres: Number.NaN } };
}

type Input = { label: string; kind: 'event'; event: ControllerEvent; trace: TraceInput[] } | { label: 'time'; kind: 'time' } | { label: 'restart'; kind: 'restart' };

const ev = (label: string, event: ControllerEvent, trace: TraceInput): Input => ({ label, kind: 'event', event, trace: [trace] });
const ALPHABET: Input[] = [
  ...Object.entries(FLOATS).map(([label, reading]) => ev(label, { type: 'sensor.float', reading }, { kind: 'float', reading })),
  ...Object.entries(LEVELS).map(([label, signal]) => ev(label, levelEvent(signal), { kind: 'level', signal })),
  ev('flow pulse', { type: 'sensor.flow', litres: 0.2 }, { kind: 'flow', litres: 0.2 }),
  ev('link lost', { type: 'board.linkLost' }, { kind: 'report', report: 'linkLost' }),
  ev('link restored', { type: 'board.linkRestored' }, { kind: 'report', report: 'linkRestored' }),
  ev('fill', { type: 'program.fill', targetL: TARGET_L }, { kind: 'program', request: 'fill' }),
  ev('drain', { type: 'program.drain' }, { kind: 'program', request: 'drain' }),
  ev('idle', { type: 'program.idle' }, { kind: 'program', request: 'idle' }),
  ev('reset', { type: 'user.reset' }, { kind: 'command', command: 'reset' }),
  ev('resume', { type: 'user.resume' }, { kind: 'command', command: 'resume' }),
  ev('exercise', { type: 'user.exercise' }, { kind: 'command', command: 'exercise' }),
  ev('closeValve', { type: 'user.closeValve' }, { kind: 'command', command: 'closeValve' }),
  ev('hose fuse', { type: 'sensor.hoseFuse' }, { kind: 'other', what: 'hoseFuse' }),
  { label: 'time', kind: 'time' },
  { label: 'restart', kind: 'restart' },
];
export const INPUT_NAMES = ALPHABET.map((i) => i.label);

/** The concerns, each with the inputs that matter to it (time is in every one). */
export const FOCUS: Record<string, readonly string[]> = {
  'leak and commands': ['float dry', 'float wet', 'float open', 'level low', 'fill', 'idle', 'reset', 'resume', 'exercise', 'closeValve', 'restart'],
  'level signal and valve cycling': ['level low', 'level high', 'level lost', 'level noisy', 'float dry', 'fill', 'idle', 'drain', 'closeValve', 'resume'],
  'link and breaker': ['link lost', 'link restored', 'level low', 'level high', 'float dry', 'float wet', 'fill', 'idle', 'resume', 'reset'],
  'flow and exercise': ['flow pulse', 'level low', 'level high', 'float dry', 'fill', 'idle', 'exercise', 'closeValve', 'resume', 'link lost'],
  'latches and restarts': ['hose fuse', 'float dry', 'float wet', 'float open', 'level low', 'level lost', 'fill', 'reset', 'restart'],
  everything: INPUT_NAMES.filter((n) => n !== 'time'),
};

const machine = controllerMachine as never as Parameters<typeof initialTransition>[0];
const BASE = 1_000_000;

/** What the explorer reads of an action the pure transition returned (Step.run executes it). */
type Effect =
  | { readonly kind: 'timer'; readonly id: string | undefined; readonly delay: number; readonly event: { type: string } }
  | { readonly kind: 'cancel'; readonly sendId: unknown }
  | { readonly kind: 'emit'; readonly event: { type: string } & Record<string, unknown> };

function effects(actions: readonly { type: string; params?: unknown }[]): Effect[] {
  const out: Effect[] = [];
  for (const action of actions) {
    const p = (action.params ?? {}) as Record<string, unknown>;
    if (action.type === 'xstate.raise' && typeof p.delay === 'number') {
      out.push({ kind: 'timer', id: typeof p.id === 'string' ? p.id : undefined, delay: p.delay, event: p.event as { type: string } });
    } else if (action.type === 'xstate.cancel') {
      out.push({ kind: 'cancel', sendId: p.sendId });
    } else if (action.type === 'xstate.emit') {
      out.push({ kind: 'emit', event: p.event as { type: string } & Record<string, unknown> });
    }
  }
  return out;
}

/**
 * One machine snapshot, shared by every configuration whose machine is in it, with the
 * transitions taken from it so far. xstate's `transition` is a pure function of the snapshot
 * and the event, and a snapshot of this machine is fixed by its status, state value and context
 * (it invokes and spawns nothing and has no history states, so `children` and `historyValue`
 * stay empty): so a transition taken once from a snapshot with that exact status, value and
 * context (every field, the configuration by identity) is looked up, not taken again. This is
 * memoisation, not abstraction: the same snapshot and actions come back.
 */
interface MachineState {
  readonly snap: Snap;
  /** The deduplication key's share: the state value and the abstract context (`abstractMachine`). */
  readonly abstractId: number;
  readonly next: Map<string, Move>;
}
interface Move {
  readonly to: MachineState;
  readonly effects: readonly Effect[];
}

/** Numbers that JSON would print alike (NaN, the infinities, as null) stay apart. */
const exactNumbers = (_: string, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? `#${String(v)}` : v);

class MachineCache {
  private readonly states = new Map<string, MachineState>();
  private readonly abstractIds = new Map<string, number>();
  private readonly configs = new Map<unknown, number>();
  private readonly initial = new Map<string, Move>();
  /**
   * What xstate's `transition` does, with one inert actor scope for every call: `transition`
   * builds a fresh actor per call, and an actor computes the machine's initial snapshot as it
   * is built (most of a step's time). The scope only collects the actions (nothing is
   * executed, deferred or emitted through it), and this machine spawns no actor that could
   * register in its system, so one scope serves every transition alike.
   */
  private readonly actions: { type: string; params?: unknown }[] = [];
  private readonly scope = (() => {
    const self = createActor(controllerMachine, { input: { latch: null, config } });
    const noop = () => {};
    return {
      self,
      defer: noop,
      id: '',
      logger: noop,
      sessionId: '',
      stopChild: noop,
      system: self.system,
      emit: noop,
      actionExecutor: (a: { type: string }) => this.actions.push(a),
    };
  })();

  get size(): number {
    return this.states.size;
  }

  private intern(snap: Snap): MachineState {
    const { config: cfg, ...rest } = snap.context as Record<string, unknown>;
    let configId = this.configs.get(cfg);
    if (configId === undefined) this.configs.set(cfg, (configId = this.configs.size));
    const error = snap.status === 'error' ? String((snap as { error?: unknown }).error) : null;
    const exact = JSON.stringify([snap.status, error, snap.value, configId, rest], exactNumbers);
    let state = this.states.get(exact);
    if (!state) {
      const abstract = abstractMachine(snap);
      let abstractId = this.abstractIds.get(abstract);
      if (abstractId === undefined) this.abstractIds.set(abstract, (abstractId = this.abstractIds.size));
      state = { snap, abstractId, next: new Map() };
      this.states.set(exact, state);
    }
    return state;
  }

  /** The machine as it boots with this latch (before any sensor is read). */
  boot(latch: PersistedLatch | null): Move {
    const k = JSON.stringify(latch);
    let move = this.initial.get(k);
    if (!move) {
      const [snap, actions] = initialTransition(machine, { latch, config });
      move = { to: this.intern(snap as Snap), effects: effects(actions) };
      this.initial.set(k, move);
    }
    return move;
  }

  /** `eventKey` names `event` exactly: an input's label, or a timer's event. */
  step(from: MachineState, eventKey: string, event: { type: string }): Move {
    let move = from.next.get(eventKey);
    if (!move) {
      this.actions.length = 0;
      const snap = controllerMachine.transition(from.snap as never, event as never, this.scope as never);
      move = { to: this.intern(snap as Snap), effects: effects(this.actions) };
      from.next.set(eventKey, move);
    }
    return move;
  }
}

/** Executes the actions a pure transition returned, the way the actor and the runtime would. */
class Step {
  timers: Timer[];
  latch: PersistedLatch | null;
  seq = 0;
  command: string | null;
  constructor(
    node: { timers: readonly Timer[]; latch: PersistedLatch | null },
    readonly monitor: SafetyMonitor,
    readonly now: number,
    command: string | null,
  ) {
    this.timers = [...node.timers];
    this.latch = node.latch;
    this.command = command;
    this.seq = Math.max(0, ...this.timers.map((t) => t.seq + 1));
  }
  run(actions: readonly Effect[]): void {
    for (const action of actions) {
      if (action.kind === 'timer') {
        // A delayed raise without an id is never replaced or cancelled: the actor's scheduler
        // gives it a fresh id, so two of them (two valve opens leaving the window) both fire.
        const seq = this.seq++;
        const id = action.id ?? `${action.event.type}#${seq}`;
        this.timers = this.timers.filter((t) => t.id !== id);
        this.timers.push({ id, name: action.id ?? action.event.type, due: this.now + action.delay, seq, event: action.event });
      } else if (action.kind === 'cancel') {
        this.timers = this.timers.filter((t) => t.id !== action.sendId);
      } else {
        this.emitted(action.event);
      }
    }
  }
  private emitted(e: { type: string } & Record<string, unknown>): void {
    const m = this.monitor;
    switch (e.type) {
      case 'valve.changed':
        m.command({ kind: 'setValve', open: e.open === true });
        break;
      case 'pump.changed':
        m.command({ kind: 'setDrainPump', on: e.on === true });
        break;
      case 'breaker.changed':
        m.observe({ kind: 'breaker', breaker: String(e.breaker), code: (e.code as string | null) ?? null });
        break;
      case 'fault.raised':
      case 'fault.cleared':
        m.observe({ kind: 'fault', event: e.type === 'fault.raised' ? 'raised' : 'cleared', code: String(e.code) });
        break;
      case 'latch.changed':
        this.latch = (e.latch as PersistedLatch | null) ?? null;
        break;
      case 'command.accepted':
      case 'command.rejected':
        if (this.command) m.observe({ kind: 'commandResult', command: this.command as never, ok: e.type === 'command.accepted' });
        break;
      case 'fill.done':
        m.observe({ kind: 'phaseDone', phase: 'fill' });
        break;
      case 'drain.done':
        m.observe({ kind: 'phaseDone', phase: 'drain' });
        break;
      case 'exercise.done':
        m.observe({ kind: 'exerciseDone', result: String(e.result) });
        break;
    }
  }
}

interface Outcome {
  node: Node;
  violations: Violation[];
  error: string | null;
}

const FLOAT_LABEL = Object.fromEntries(Object.entries(FLOATS).map(([label, reading]) => [reading, label])) as Record<string, string>;
/** The alphabet's label of a level signal (every signal the exploration gives is one of LEVELS). */
function levelLabel(signal: LevelSignal): string {
  for (const [label, s] of Object.entries(LEVELS)) if (s === signal) return label;
  throw new Error(`not a level of the alphabet: ${JSON.stringify(signal)}`);
}

function boot(
  cache: MachineCache,
  parent: Node | null,
  label: string,
  now: number,
  latch: PersistedLatch | null,
  float: Node['float'],
  level: Node['level'],
  monitor: SafetyMonitor,
): Outcome {
  monitor.begin(now, parent ? [{ kind: 'restart' }, float, level] : [float, level]);
  const step = new Step({ timers: [], latch }, monitor, now, null);
  let move = cache.boot(latch);
  step.run(move.effects);
  const sample: [string, ControllerEvent][] = [
    [FLOAT_LABEL[float.reading]!, { type: 'sensor.float', reading: float.reading }],
    [levelLabel(level.signal), levelEvent(level.signal)],
  ];
  for (const [eventKey, event] of sample) {
    if (move.to.snap.status !== 'active') break;
    move = cache.step(move.to, eventKey, event);
    step.run(move.effects);
  }
  return finish(move.to, step, parent, label, float, level);
}

function finish(state: MachineState, step: Step, parent: Node | null, label: string, float: Node['float'], level: Node['level']): Outcome {
  step.monitor.finish();
  const node: Node = {
    machine: state,
    timers: step.timers,
    monitor: step.monitor,
    now: step.now,
    latch: step.latch,
    float,
    level,
    trail: { parent: parent?.trail ?? null, label },
  };
  const error = state.snap.status === 'error' ? String((state.snap as { error?: unknown }).error) : null;
  return { node, violations: step.monitor.violations, error };
}

function next(cache: MachineCache, node: Node, input: Input): Outcome | null {
  if (input.kind === 'event') {
    // The runtime tells the machine of a sensor only when its reading changed.
    const t = input.trace[0]!;
    if (t.kind === 'float' && t.reading === node.float.reading) return null;
    if (t.kind === 'level' && t.signal === node.level.signal) return null;
  }
  const monitor = node.monitor.clone();
  if (input.kind === 'restart') return boot(cache, node, 'restart', node.now, node.latch, node.float, node.level, monitor);
  if (input.kind === 'time') {
    let at = monitor.nextDeadline() ?? Infinity;
    for (const t of node.timers) if (t.due < at) at = t.due;
    if (!Number.isFinite(at)) return null;
    monitor.begin(at, [{ kind: 'time' }]);
    const step = new Step(node, monitor, at, null);
    let state = node.machine;
    for (;;) {
      let due: Timer | undefined;
      for (const t of step.timers) if (t.due <= at && (!due || t.seq < due.seq)) due = t;
      if (!due || state.snap.status !== 'active') break;
      step.timers = step.timers.filter((t) => t !== due);
      const move = cache.step(state, `timer ${JSON.stringify(due.event)}`, due.event);
      state = move.to;
      step.run(move.effects);
    }
    return finish(state, step, node, 'time', node.float, node.level);
  }
  const t = input.trace[0]!;
  monitor.begin(node.now, input.trace);
  const step = new Step(node, monitor, node.now, t.kind === 'command' ? t.command : null);
  const move = cache.step(node.machine, input.label, input.event);
  step.run(move.effects);
  return finish(move.to, step, node, input.label, t.kind === 'float' ? t : node.float, t.kind === 'level' ? t : node.level);
}

const IGNORED_CONTEXT = new Set(['config', 'faultDetail', 'tripCount', 'bootLatch', 'bootMemoryFault']);
function abstractValue(x: unknown): unknown {
  if (typeof x === 'number') return Number.isFinite(x) ? Math.min(Math.round(x * 1e9) / 1e9, 10) : String(x);
  if (Array.isArray(x)) return x.map(abstractValue);
  if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, abstractValue(v)]));
  return x;
}
/** The machine's share of the deduplication key: its state value and its context, abstracted. */
function abstractMachine(snap: Snap): string {
  const context = Object.fromEntries(
    Object.entries(snap.context as Record<string, unknown>)
      .filter(([k]) => !IGNORED_CONTEXT.has(k))
      .map(([k, v]) => [k, abstractValue(v)]),
  );
  return JSON.stringify([snap.value, context]);
}
function key(node: Node): string {
  const timers = node.timers.map((t) => `${t.name}@${t.due - node.now}`).sort();
  // The latch by breaker and code: its detail text is read only back into the context's
  // faultDetail (which no guard reads) and into the next latch's detail; no rule reads it.
  const latch = node.latch ? `${node.latch.breaker} ${node.latch.code}` : '-';
  return `${node.machine.abstractId}|${timers.join(',')}|${latch}|${node.monitor.key()}`;
}

/**
 * What the set of configurations seen holds of a key: its 128-bit MD5 digest (a fingerprint, not
 * for security), 24 characters instead of a key's 150 or so. Two different keys share a digest with probability
 * 2^-128; among n configurations the chance that any two do is below n^2 / 2^129, about 1.5e-25
 * for ten million (the deep run keeps 13.6 million). A collision would merge two
 * configurations and leave the second unexplored.
 */
function fingerprint(k: string): string {
  return hash('md5', k, 'base64');
}

function path(node: Node): string[] {
  const labels: string[] = [];
  for (let t: Trail | null = node.trail; t; t = t.parent) labels.unshift(t.label);
  return labels;
}

export interface Finding {
  readonly rule: string;
  readonly path: string[];
  readonly message: string;
}

export interface ExploreResult {
  readonly focus: string;
  readonly configurations: number;
  readonly transitions: number;
  readonly depth: number;
  readonly fixpoint: boolean;
  readonly newPerDepth: number[];
  readonly seconds: number;
  readonly findings: Finding[];
}

/**
 * Breadth first from every first sample the focus allows, to `maxDepth` inputs or the
 * fixpoint. A level is started only when, at the size of the previous one, it fits in the
 * budget of transitions, and is always finished, so the depth reported is complete.
 */
export function explore(
  focus: string,
  maxDepth: number,
  budgetTransitions: number,
  onLevel?: (progress: { depth: number; configurations: number; transitions: number; frontier: number; seconds: number }) => void,
): ExploreResult {
  const t0 = performance.now();
  const names = new Set([...(FOCUS[focus] ?? []), 'time']);
  const alphabet = ALPHABET.filter((i) => names.has(i.label));
  const seen = new Set<string>();
  const cache = new MachineCache();
  const findings = new Map<string, Finding>();
  let frontier: Node[] = [];
  /** Whether the level being built keeps its configurations (for a level after it). */
  let keep = true;
  let fresh = 0;
  let transitions = 0;
  const record = (outcome: Outcome) => {
    for (const v of outcome.violations) {
      if (!findings.has(v.rule)) findings.set(v.rule, { rule: v.rule, path: path(outcome.node), message: describeViolations([v]) });
    }
    if (outcome.error && !findings.has('error')) findings.set('error', { rule: 'error', path: path(outcome.node), message: outcome.error });
  };
  const admit = (outcome: Outcome) => {
    record(outcome);
    if (outcome.node.machine.snap.status !== 'active') return;
    const k = fingerprint(key(outcome.node));
    if (seen.has(k)) return;
    seen.add(k);
    fresh++;
    if (keep) frontier.push(outcome.node);
  };
  for (const [fl, reading] of Object.entries(FLOATS)) {
    if (!names.has(fl)) continue;
    for (const [ll, signal] of Object.entries(LEVELS)) {
      if (!names.has(ll)) continue;
      transitions++;
      admit(boot(cache, null, `boot: ${fl}, ${ll}`, BASE, null, { kind: 'float', reading }, { kind: 'level', signal }, new SafetyMonitor(rules)));
    }
  }
  const newPerDepth: number[] = [fresh];
  let depth = 0;
  let lastLevel = 0;
  let growth = 1;
  // A level is started only if, at the size of the last one, it ends within the budget.
  // Counted in transitions, not seconds, so the depth reached is the same on any machine.
  // A level keeps its configurations only if the one after it is to be started, as far as
  // can be told before it is built (the depth bound, or the budget at the same growth): the
  // last level's configurations are checked and counted, and need not stay in memory.
  while (fresh > 0 && frontier.length > 0 && depth < maxDepth && transitions + lastLevel * growth <= budgetTransitions) {
    const before = transitions;
    const current = frontier;
    const ahead = transitions + lastLevel * growth;
    keep = depth + 1 < maxDepth && ahead + lastLevel * growth * growth <= budgetTransitions;
    frontier = [];
    fresh = 0;
    for (let i = 0; i < current.length; i++) {
      const node = current[i]!;
      // Expanded: only its trail (held by its successors) is still needed.
      current[i] = undefined as never;
      for (const input of alphabet) {
        const outcome = next(cache, node, input);
        if (!outcome) continue;
        transitions++;
        admit(outcome);
      }
    }
    depth++;
    newPerDepth.push(fresh);
    lastLevel = transitions - before;
    growth = fresh / Math.max(1, current.length);
    onLevel?.({ depth, configurations: seen.size, transitions, frontier: fresh, seconds: Number(((performance.now() - t0) / 1000).toFixed(1)) });
  }
  return {
    focus,
    configurations: seen.size,
    transitions,
    depth,
    fixpoint: fresh === 0,
    newPerDepth,
    seconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
    findings: [...findings.values()],
  };
}
