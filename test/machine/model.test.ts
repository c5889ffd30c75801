/**
 * Model-based testing: paths generated from the controller machine itself with
 * xstate/graph's getShortestPaths, then driven step by step on a virtual clock. A delayed
 * transition in a path is taken by letting virtual time pass until the state changes, never
 * by sending a synthetic event; a path whose timers cannot fire in that order in real time
 * is counted as infeasible and skipped. The suite fails unless every state node is reached
 * and every transition definition is taken; it prints the coverage.
 */
import { createActor, type AnyStateNode } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import { describe, expect, it } from 'vitest';
import { parseControllerConfig } from '../../src/machine/config.js';
import type { ControllerEvent } from '../../src/machine/events.js';
import { controllerMachine } from '../../src/machine/machine.js';
import type { MachineInput } from '../../src/machine/machine.js';
import { VirtualClock } from '../../src/clock/virtual-clock.js';

// Distinct delays, so timers never tie.
const config = parseControllerConfig({
  fill: { staticTimeoutMs: 90_000, dynamicTimeoutMs: 120_000, topUpTimeoutMs: 61_000, maxFailedTopUps: 2 },
  drain: { timeoutMs: 91_000 },
  leak: { wetDebounceMs: 10_000, dryMs: 60_000 },
  breaker: { coolDownMs: 125_000 },
  sensors: { levelLostMs: 2_500, levelImplausibleMs: 5_000, levelSettleMs: 2_200 },
  valveLeak: { flowMs: 2_000, quietMs: 1_000 },
  valve: { maxOpens: 2, windowMs: 65_000 },
  exercise: { durationMs: 2_100, intervalMs: 3_700_000 },
});

type Snap = ReturnType<typeof controllerMachine.getInitialSnapshot>;
type Step = ControllerEvent | { type: 'time' };

const e = {
  dry: { type: 'sensor.float', reading: 'dry' },
  wet: { type: 'sensor.float', reading: 'wet' },
  floatOpen: { type: 'sensor.float', reading: 'open' },
  empty: { type: 'sensor.level', reading: { status: 'ok', litres: 0 } },
  some: { type: 'sensor.level', reading: { status: 'ok', litres: 0.5 } },
  full: { type: 'sensor.level', reading: { status: 'ok', litres: 3 } },
  levelOpen: { type: 'sensor.level', reading: { status: 'open' } },
  implausible: { type: 'sensor.level', reading: { status: 'implausible', litres: 40 } },
  trickle: { type: 'sensor.flow', litres: 0.01 },
  gush: { type: 'sensor.flow', litres: 3 },
  hoseFuse: { type: 'sensor.hoseFuse' },
  fill: { type: 'program.fill', targetL: 3 },
  topUp: { type: 'program.fill', targetL: 3, topUp: true },
  drain: { type: 'program.drain' },
  idle: { type: 'program.idle' },
  resume: { type: 'user.resume' },
  reset: { type: 'user.reset' },
  close: { type: 'user.closeValve' },
  exercise: { type: 'user.exercise' },
  linkLost: { type: 'board.linkLost' },
  linkRestored: { type: 'board.linkRestored' },
  selfTest: { type: 'board.selfTestFailed', test: 'ram' },
} satisfies Record<string, ControllerEvent>;
const TIME = { type: 'time' } as const;

/**
 * What makes two snapshots the same state, for path generation and for checking a replay.
 * Valve and pump are left out (they follow from the other regions); the tub level is
 * bucketed the way the guards see it.
 */
function serialize(s: Snap): string {
  const { valve: _valve, pump: _pump, ...value } = s.value as Record<string, unknown>;
  const c = s.context;
  const level = c.levelL === null ? null : c.levelL <= 0.2 ? 'empty' : c.levelL >= 3 ? 'full' : 'some';
  const risen = c.levelL !== null && c.levelL - c.fillStartL >= c.config.fill.minRiseL;
  const metered = c.inflowL >= c.config.exercise.maxVolumeL;
  return JSON.stringify([value, c.fault, c.demand, level, risen, c.failedTopUps, metered]);
}

function allStateNodes(node: AnyStateNode): AnyStateNode[] {
  return [node, ...Object.values(node.states).flatMap((child) => allStateNodes(child as AnyStateNode))];
}
const nodes = allStateNodes(controllerMachine.root).filter((n) => n !== controllerMachine.root);
const transitions = nodes.flatMap((n) => [...[...n.transitions.values()].flat(), ...(n.always ?? [])]);
type Transition = (typeof transitions)[number];
const label = (t: Transition) => `${t.source.id} --${t.eventType || '(always)'}--> ${t.target?.map((x) => x.id).join(',') ?? '(none)'}`;

/** Time passing, as the graph sees it: one synthetic event per delayed transition. */
const TIME_EVENTS = [...new Set(transitions.map((t) => t.eventType).filter((x) => x.startsWith('xstate.after')))].map((type) => ({ type }));

interface Traversal {
  readonly name: string;
  readonly input: MachineInput;
  /** Driven first (on the clock); the graph explores from where it ends. */
  readonly prefix?: readonly Step[];
  readonly events: readonly ControllerEvent[];
}

const fresh: MachineInput = { latch: null, config };
const slowQuiet: MachineInput = { latch: null, config: { ...config, valveLeak: { ...config.valveLeak, quietMs: 2_300 } } };
const sensors = [e.dry, e.empty, e.some, e.full];

/**
 * Focused traversals. All parallel regions at once multiply into far more states than any
 * path can visit, so each traversal explores the machine with the inputs of one concern,
 * some from a starting point reached by a driven prefix. Together they must cover every
 * state and transition, or the test fails.
 */
const traversals: Traversal[] = [
  { name: 'fill, drain and commands', input: fresh, events: [...sensors, e.fill, e.topUp, e.drain, e.idle, e.resume, e.reset, e.close, e.exercise] },
  { name: 'base-pan float', input: fresh, events: [e.dry, e.wet, e.floatOpen, e.empty, e.full, e.fill, e.drain, e.reset, e.resume] },
  { name: 'level sensor', input: fresh, events: [e.dry, e.empty, e.full, e.levelOpen, e.implausible, e.fill, e.drain, e.reset] },
  { name: 'flow meter', input: fresh, events: [e.dry, e.empty, e.full, e.trickle, e.gush, e.fill, e.reset] },
  // A quiet spell longer than valveLeak.flowMs: a closed valve that let one trickle through is iB0 before the flow counts as stopped.
  { name: 'flow meter, slow to call the flow stopped', input: slowQuiet, events: [e.dry, e.empty, e.full, e.trickle, e.fill, e.reset] },
  { name: 'board link and hose fuse', input: fresh, events: [e.dry, e.empty, e.full, e.linkLost, e.linkRestored, e.hoseFuse, e.fill, e.reset, e.resume] },
  {
    name: 'faults while tripped',
    input: fresh,
    prefix: [e.dry, e.empty, e.fill, TIME],
    events: [e.wet, e.dry, e.floatOpen, e.hoseFuse, e.linkLost, e.levelOpen, e.empty, e.trickle],
  },
  {
    name: 'faults and resets while latched',
    input: fresh,
    prefix: [e.dry, e.empty, e.levelOpen, TIME],
    events: [e.dry, e.wet, e.floatOpen, e.empty, e.levelOpen, e.hoseFuse, e.linkLost, e.linkRestored, e.trickle, e.reset],
  },
  {
    name: 'a stuck valve reset once the pan has long been dry',
    input: slowQuiet,
    prefix: [e.dry, e.empty, TIME],
    events: [e.trickle, e.reset],
  },
  {
    name: 'the proof test, and why it is refused',
    input: fresh,
    prefix: [e.dry, e.empty, TIME],
    events: [e.exercise, e.trickle, e.gush, e.some, e.implausible, e.empty, e.wet, e.close],
  },
  { name: 'faults in service', input: fresh, prefix: [e.dry, e.empty, e.hoseFuse], events: [e.wet, e.floatOpen, e.levelOpen, e.hoseFuse, e.reset] },
  { name: 'boot with a persisted i30 latch', input: { latch: { code: 'i30', breaker: 'latched' }, config }, events: [e.dry, e.wet, e.empty, e.reset] },
  { name: 'boot with a service latch', input: { latch: { code: 'iH0', breaker: 'service' }, config }, events: [e.dry, e.empty, e.reset, e.fill] },
  { name: 'boot with unreadable memory', input: { latch: null, memoryFault: true, config }, events: [e.dry, e.empty, e.reset, e.fill] },
];

interface Coverage {
  readonly nodes: Set<string>;
  readonly transitions: Set<Transition>;
}

class Driver {
  readonly clock = new VirtualClock();
  readonly actor;
  constructor(input: MachineInput, coverage: Coverage) {
    this.actor = createActor(controllerMachine, {
      clock: this.clock,
      input,
      inspect: (ev) => {
        if (ev.type !== '@xstate.microstep') return;
        for (const t of ev._transitions as Transition[]) {
          coverage.transitions.add(t);
          // A taken transition proves its source was active, transient states (booting) included.
          for (let n: AnyStateNode | undefined = t.source; n; n = n.parent) coverage.nodes.add(n.id);
        }
      },
    });
    this.actor.start();
    this.note(coverage);
  }
  snapshot(): Snap {
    return this.actor.getSnapshot();
  }
  note(coverage: Coverage): void {
    for (const n of (this.snapshot() as unknown as { _nodes: AnyStateNode[] })._nodes) coverage.nodes.add(n.id);
  }
  /** An event is sent; time passes until the state changes (timers whose guard fails change nothing). */
  step(step: { type: string }): boolean {
    if (step.type === 'xstate.init') return true;
    if (step.type !== 'time' && !step.type.startsWith('xstate.after')) {
      this.actor.send(step as ControllerEvent);
      return true;
    }
    const before = serialize(this.snapshot());
    for (let i = 0; i < 20 && serialize(this.snapshot()) === before; i++) {
      const due = this.clock.nextDue();
      if (due === null) return false;
      this.clock.advanceTo(due);
    }
    return serialize(this.snapshot()) !== before;
  }
}

describe('model-based: paths generated from the controller machine', () => {
  it('reaches every state and takes every transition, driven on the virtual clock', () => {
    const coverage: Coverage = { nodes: new Set(), transitions: new Set() };
    const feasible: { traversal: Traversal; steps: { type: string }[]; last: Snap }[] = [];
    let infeasible = 0;

    for (const traversal of traversals) {
      const t0 = performance.now();
      const start = new Driver(traversal.input, coverage);
      for (const s of traversal.prefix ?? []) expect(start.step(s), `${traversal.name}: prefix step ${s.type}`).toBe(true);
      const paths = getShortestPaths(controllerMachine, {
        events: [...traversal.events, ...TIME_EVENTS],
        fromState: start.snapshot(),
        serializeState: (s: Snap) => serialize(s),
        limit: 1_000_000,
      });
      expect(paths.length, traversal.name).toBeGreaterThan(0);
      for (const path of paths) {
        const steps = [...(traversal.prefix ?? []), ...path.steps.map((s) => s.event as { type: string })];
        const prefixLength = traversal.prefix?.length ?? 0;
        const driver = new Driver(traversal.input, coverage);
        let ok = true;
        for (let i = 0; i < steps.length && ok; i++) {
          ok = driver.step(steps[i]!);
          driver.note(coverage);
          if (ok && i >= prefixLength) ok = serialize(driver.snapshot()) === serialize(path.steps[i - prefixLength]!.state);
        }
        if (ok) feasible.push({ traversal, steps, last: driver.snapshot() });
        else infeasible++;
      }
      if (process.env.MODEL_TIMING) console.log(`${traversal.name}: ${paths.length} paths, ${Math.round(performance.now() - t0)} ms`);
    }

    // Transitions no path took: extend a feasible path that ends where the transition
    // starts by one step of its kind (its event, or time passing).
    for (const t of transitions) {
      if (coverage.transitions.has(t)) continue;
      // Eventless, delayed and internal (raised) transitions can follow any step.
      const external = Object.values(e).filter((x) => x.type === t.eventType);
      const extras = external.length > 0 ? external : [TIME, ...Object.values(e)];
      for (const candidate of feasible) {
        const active = (candidate.last as unknown as { _nodes: AnyStateNode[] })._nodes;
        if (!active.includes(t.source)) continue;
        for (const extra of extras) {
          const driver = new Driver(candidate.traversal.input, coverage);
          for (const s of candidate.steps) driver.step(s);
          driver.step(extra);
          driver.note(coverage);
        }
        if (coverage.transitions.has(t)) break;
      }
    }

    const missingNodes = nodes.filter((n) => !coverage.nodes.has(n.id)).map((n) => n.id);
    const missingTransitions = transitions.filter((t) => !coverage.transitions.has(t)).map(label);
    const report = {
      traversals: traversals.length,
      paths: feasible.length,
      infeasiblePaths: infeasible,
      states: `${nodes.length - missingNodes.length}/${nodes.length}`,
      transitions: `${transitions.length - missingTransitions.length}/${transitions.length}`,
    };
    console.log(`model-based coverage: ${JSON.stringify(report)}`);
    expect(missingNodes).toEqual([]);
    expect(missingTransitions).toEqual([]);
  }, 240_000); // about 25 s of CPU: several thousand generated paths, each replayed on its own actor
});
