/**
 * One simulated appliance: virtual clock, physics, a board, the controller runtime and the
 * dishwasher program, driven by a scenario's timeline. Produces an ordered event log
 * (virtual time `t`, `type`, fields): the same scenario and seed give the same log.
 *
 * The board is made by a factory so the command can put the emulated Arduino in the loop;
 * sim/ never imports hardware/.
 */
import type { Board } from '../src/board/board.js';
import type { Clock } from '../src/clock/clock.js';
import { isLinkFault, linkFaultStage, UnsupportedLinkFaultError, type LinkFault } from '../src/board/link-faults.js';
import type { Plant } from '../src/board/plant.js';
import { cannotStageReason, selfTestStage, type SelfTestName, type SelfTestStage } from '../src/board/self-tests.js';
import { startRuntime } from '../src/board/runtime.js';
import type { Runtime, RuntimeEvent, UserCommand } from '../src/board/runtime-types.js';
import { MemoryStore, type Store } from '../src/board/store.js';
import { SimulatedBoard } from './board.js';
import { DishwasherPlant } from './physics.js';
import { applyInjection, injectionNamed, injectionOf, manualStep, type InjectionName, type InjectionTarget } from './injections.js';
import { DishwasherProgram, type ProgramHost, type ProgramStep } from './program.js';
import { ScenarioError, type Scenario, type TimelineStep } from './scenario.js';
import { VirtualClock } from '../src/clock/virtual-clock.js';

export type LogEntry = { readonly t: number; readonly type: string } & Record<string, unknown>;

export type BoardFactory = (plant: Plant, clock: Clock) => Promise<Board>;

export interface SimulationOptions {
  readonly scenario: Scenario;
  readonly seed?: number;
  readonly deviceId?: string;
  readonly tickMs?: number;
  readonly createBoard?: BoardFactory;
  readonly store?: Store;
  /** Keep the log in memory (default true); a long interactive run may turn it off. */
  readonly keepLog?: boolean;
  /**
   * Virtual ms after `start()` at which the appliance is plugged in (default 0): the scenario's
   * timeline counts from then. A fleet's appliances do not all come online at once (fleet-start.ts).
   */
  readonly powerOnAfterMs?: number;
  /** Virtual ms after power-on at which the program starts, when the scenario starts one (default 0). */
  readonly programAfterMs?: number;
}

/** The simulated board, with its link watchdog timed by the scenario's controller configuration. */
export function simulatedBoard(watchdogMs: number): BoardFactory {
  return async (plant, clock) => new SimulatedBoard(plant, { clock, watchdogMs });
}

export class Simulation {
  readonly clock = new VirtualClock();
  readonly plant: DishwasherPlant;
  readonly scenario: Scenario;
  readonly seed: number;
  readonly deviceId: string;
  readonly tickMs: number;
  readonly log: LogEntry[] = [];
  private readonly store: Store;
  private readonly createBoard: BoardFactory;
  private readonly program: DishwasherProgram;
  private readonly keepLog: boolean;
  private readonly powerOnAfterMs: number;
  private readonly programAfterMs: number;
  private programTimer: unknown = null;
  // Made when first needed, as are brokenForBoot and linkFaults: a fleet holds thousands of
  // appliances, and an empty Set is about 150 bytes.
  /** Listener lists copied on change, never changed in place (smaller than Sets, in every appliance of a fleet). */
  private logListeners: readonly ((entry: LogEntry) => void)[] | null = null;
  private runtimeListeners: readonly ((runtime: Runtime | null) => void)[] | null = null;
  private current: Runtime | null = null;
  private board: Board | null = null;
  private programCycles = 0;
  private powered = false;
  /** Asynchronous work started by the timeline (a power restore) that the run loop must wait for. */
  private pending: Promise<void>[] = [];

  constructor(options: SimulationOptions) {
    this.scenario = options.scenario;
    this.seed = options.seed ?? options.scenario.seed;
    this.deviceId = options.deviceId ?? 'dishwasher-1';
    this.tickMs = options.tickMs ?? 100;
    this.store = options.store ?? new MemoryStore();
    this.createBoard = options.createBoard ?? simulatedBoard(options.scenario.controller.link.watchdogMs);
    this.keepLog = options.keepLog ?? true;
    this.powerOnAfterMs = options.powerOnAfterMs ?? 0;
    this.programAfterMs = options.programAfterMs ?? 0;
    this.plant = new DishwasherPlant({ seed: this.seed, ...options.scenario.physics });
    this.program = new DishwasherProgram(new SimulationProgramHost(this.clock, this), undefined, options.scenario.program.loop);
  }

  /** The program's step or its end (SimulationProgramHost): a line of the log; the end counts a cycle. */
  programEvent(event: { readonly event: 'step'; readonly index: number; readonly name: string } | { readonly event: 'done'; readonly cycle: number }): void {
    if (event.event === 'done') this.programCycles = event.cycle;
    this.record({ type: 'program', ...event });
  }

  get runtime(): Runtime | null {
    return this.current;
  }

  get cyclesCompleted(): number {
    return this.programCycles;
  }

  get boardKind(): Board['kind'] {
    return this.board?.kind ?? 'simulated';
  }

  /** Listen to log entries as they happen. */
  onLog(listener: (entry: LogEntry) => void): () => void {
    if (!this.logListeners?.includes(listener)) this.logListeners = (this.logListeners ?? []).concat([listener]);
    return () => {
      this.logListeners = this.logListeners?.filter((l) => l !== listener) ?? null;
    };
  }

  /** Told whenever the runtime changes: a new one after power-up, null at a power cut. */
  onRuntime(listener: (runtime: Runtime | null) => void): () => void {
    if (!this.runtimeListeners?.includes(listener)) this.runtimeListeners = (this.runtimeListeners ?? []).concat([listener]);
    return () => {
      this.runtimeListeners = this.runtimeListeners?.filter((l) => l !== listener) ?? null;
    };
  }

  /**
   * Powers the appliance up and starts its timeline and program; with `powerOnAfterMs`, that
   * happens then, as the clock runs (a step its board cannot perform is then logged as an error
   * and the appliance stopped, where an immediate start throws).
   */
  async start(): Promise<void> {
    this.record({ type: 'sim', event: 'start', scenario: this.scenario.name, seed: this.seed });
    if (this.powerOnAfterMs <= 0) return this.begin();
    this.clock.setTimeout(() => {
      this.pending.push(
        this.begin().catch((err: unknown) => {
          this.record({ type: 'sim', event: 'error', message: err instanceof Error ? err.message : String(err) });
        }),
      );
    }, this.powerOnAfterMs);
  }

  private async begin(): Promise<void> {
    await this.powerUp();
    const refused = this.stepBoardCannotPerform();
    if (refused) {
      await this.stop();
      throw new ScenarioError(refused);
    }
    for (const step of this.scenario.timeline) this.clock.setTimeout(() => this.pending.push(this.apply(step)), step.at);
    if (!this.scenario.program.start) return;
    if (this.programAfterMs <= 0) this.program.start();
    else
      this.programTimer = this.clock.setTimeout(() => {
        this.programTimer = null;
        this.program.start();
      }, this.programAfterMs);
  }

  /** Advances virtual time by one tick: physics first, then everything due on the clock. */
  tick(): void {
    this.plant.step(this.tickMs);
    this.clock.advance(this.tickMs);
  }

  /** Runs as fast as possible until `untilMs` of virtual time. */
  /** Runs as fast as possible for `durationMs` of virtual time; `onProgress` returning false stops early. */
  async runFor(durationMs: number, onProgress?: (fraction: number) => boolean | void): Promise<void> {
    const end = this.clock.now() + durationMs;
    // Boards that talk asynchronously (the emulated Arduino) need the event loop every tick.
    const yieldEvery = this.boardKind === 'simulated' ? 5_000 : 1;
    let n = 0;
    while (this.clock.now() < end) {
      this.tick();
      if (this.pending.length > 0) await this.settle();
      if (++n % yieldEvery === 0) {
        await new Promise((resolve) => setImmediate(resolve));
        if (onProgress?.(1 - (end - this.clock.now()) / durationMs) === false) return;
      }
    }
  }

  /** Waits for work the timeline started (power restore), so virtual time does not run ahead of it. */
  async settle(): Promise<void> {
    while (this.pending.length > 0) await Promise.all(this.pending.splice(0));
  }

  async stop(): Promise<void> {
    if (this.programTimer !== null) this.clock.clearTimeout(this.programTimer);
    this.programTimer = null;
    this.program.stop();
    if (this.current) await this.current.stop();
    this.current = null;
  }

  /**
   * Applies a parsed timeline step now: an injection of the table (sim/injections.ts), a `clear`
   * or a `press`. The interactive keys and the dashboard give theirs through {@link inject}.
   */
  async apply(step: TimelineStep | DistributiveOmit<TimelineStep, 'at'>): Promise<void> {
    if ('clear' in step) {
      this.record({ type: 'clear', fault: step.clear });
      injectionNamed(step.clear)!.clear!(this.target);
    } else if ('press' in step) {
      this.press(step.press);
    } else {
      const entry = injectionOf(step);
      if (entry) await applyInjection(this.target, entry, step);
    }
  }

  /** An injection as a key or a dashboard button gives it (its entry's `manual` step). */
  inject(name: InjectionName): Promise<void> {
    const entry = injectionNamed(name)!;
    return Promise.resolve(applyInjection(this.target, entry, manualStep(entry, this.current !== null)));
  }

  /** What the injection table acts on; made at the first injection (most appliances of a fleet never get one). */
  private get target(): InjectionTarget {
    const sim = this;
    // Methods, not arrow-function properties (see the program's host in the constructor).
    return (this.injectionTarget ??= {
      record(entry) {
        sim.record(entry);
      },
      plantFault(fault) {
        sim.plant.inject(fault);
      },
      clearPlantFault(kind) {
        sim.plant.clear(kind);
      },
      setLinkFault(fault, active) {
        sim.setLinkFault(fault, active);
      },
      failSelfTest(test) {
        sim.failSelfTest(test);
      },
      corruptMemory() {
        sim.corruptMemory();
      },
      dryPan() {
        sim.plant.dryPan();
      },
      powerCut() {
        sim.powerCut();
      },
      powerUp() {
        return sim.powerUp();
      },
    });
  }
  private injectionTarget: InjectionTarget | null = null;

  press(command: UserCommand): void {
    const runtime = this.current;
    if (!runtime) {
      this.record({ type: 'command', command, ok: false, error: 'no power' });
      return;
    }
    runtime.command(command); // logged through the runtime's 'command' event
  }

  powerCut(): void {
    if (!this.powered) return;
    this.powered = false;
    // The valve is normally closed: without power it shuts, and the log says so.
    const valveWasOpen = this.current?.status().valve === 'open';
    const pumpWasOn = this.current?.status().drainPump === 'on';
    this.current?.halt();
    this.current = null;
    this.plant.powerOff();
    const board = this.board;
    this.board = null;
    void board?.close().catch(() => undefined);
    this.record({ type: 'power', event: 'cut' });
    if (valveWasOpen) this.record({ type: 'valve', state: 'closed', cause: 'power cut' });
    if (pumpWasOn) this.record({ type: 'pump', state: 'off', cause: 'power cut' });
    if (this.runtimeListeners) for (const l of this.runtimeListeners) l(null);
  }

  async powerUp(): Promise<void> {
    if (this.powered) return;
    this.powered = true;
    this.board = await this.createBoard(this.plant, this.clock);
    const selfTests = selfTestStage(this.board);
    this.lastSelfTestStage = selfTests;
    this.lastBoardKind = this.board.kind;
    // What broke while the power was off is still broken: this boot (and every later one) finds it.
    if (this.brokenForBoot) for (const test of this.brokenForBoot) selfTests!.failSelfTestAtBoot(test);
    if (this.linkFaults && this.linkFaults.size > 0) {
      // The cable is still cut when power returns: the board opens (it needs the line for that),
      // then the fault applies before the controller can tell the board anything.
      await this.board.open();
      for (const fault of this.linkFaults ?? []) this.setLinkFault(fault, true);
    }
    const runtime = await startRuntime({
      deviceId: this.deviceId,
      board: this.board,
      clock: this.clock,
      store: this.store,
      config: this.scenario.controller,
      tickMs: this.tickMs,
    });
    this.current = runtime;
    this.record({ type: 'power', event: 'on', boot: runtime.boot });
    runtime.onAny((event) => this.onRuntimeEvent(event));
    this.program.attach();
    if (this.runtimeListeners) for (const l of this.runtimeListeners) l(runtime);
  }

  /** Start-up self-tests broken while the power was off; a broken part stays broken for the rest of the run. */
  private brokenForBoot: Set<SelfTestName> | null = null;
  /** The self-test stage of the last board that was powered (what a board of this kind can stage). */
  private lastSelfTestStage: SelfTestStage | null = null;
  private lastBoardKind: Board['kind'] = 'simulated';

  /** Link faults in force; they outlive a power cut (the cable is still cut when power returns). */
  private linkFaults: Set<LinkFault> | null = null;

  /** Stages a link fault on the board (src/board/link-faults.ts); a board that cannot is an error, never a skip. */
  private setLinkFault(fault: LinkFault, active: boolean): void {
    if (active) (this.linkFaults ??= new Set()).add(fault);
    else this.linkFaults?.delete(fault);
    const board = this.board;
    if (!board) return; // no power: applied when the board comes up
    const stage = linkFaultStage(board);
    if (!stage?.linkFaults.includes(fault)) throw new UnsupportedLinkFaultError(fault, board.kind);
    stage.setLinkFault(fault, active);
  }

  /**
   * The first timeline step the board cannot perform, as one line naming it and the board; null if
   * none. Steps are taken in the order they run, so a `selfTestFail` is judged with the power as it
   * will be then: on (a periodic test) or off between a `power: cut` and its `restore` (a start-up
   * test, for the next boot).
   */
  private stepBoardCannotPerform(): string | null {
    const board = this.board;
    if (!board) return null;
    const staged = linkFaultStage(board)?.linkFaults ?? [];
    const selfTests = selfTestStage(board);
    const inOrder = [...this.scenario.timeline.entries()].sort(([a, x], [b, y]) => x.at - y.at || a - b);
    let powered = true;
    for (const [i, step] of inOrder) {
      const s = step as Record<string, unknown>;
      if ('power' in s) powered = s.power !== 'cut';
      const fault = 'inject' in s ? s.inject : 'clear' in s ? s.clear : null;
      const what = `timeline.${i}: the ${board.kind} board cannot perform "${'inject' in s ? 'inject' : 'clear'}: ${String(fault)}"`;
      if (isLinkFault(fault) && !staged.includes(fault)) return what;
      if (fault === 'selfTestFail') {
        const test = s.test as SelfTestName;
        const can = powered ? selfTests?.stageableSelfTests : selfTests?.bootStageableSelfTests;
        if (!can?.includes(test)) return `${what} with test "${test}"${powered ? '' : ' while the power is off'}: ${cannotStageReason(test, powered, selfTests)}`;
      }
    }
    return null;
  }

  /**
   * The board's own self-test fails. A running board breaks what a periodic test checks, so that
   * it closes the valve, holds it closed and reports it (i90). Without power, what a start-up test
   * checks breaks for the next boot, which finds it. Anything else is refused (before the run
   * starts, by stepBoardCannotPerform; here for steps given while it runs): never silently skipped.
   */
  private failSelfTest(test: SelfTestName): void {
    const board = this.board;
    const stage = board ? selfTestStage(board) : this.lastSelfTestStage;
    const kind = board?.kind ?? this.lastBoardKind;
    const can = board ? stage?.stageableSelfTests : stage?.bootStageableSelfTests;
    if (!can?.includes(test)) {
      const off = board ? '' : ' while the power is off';
      throw new ScenarioError(`the ${kind} board cannot perform "inject: selfTestFail" with test "${test}"${off}: ${cannotStageReason(test, board !== null, stage)}`);
    }
    if (board) stage!.failSelfTest(test);
    else (this.brokenForBoot ??= new Set()).add(test);
  }

  /** The controller's memory is damaged (a torn write): the next boot cannot read it (i80). */
  private corruptMemory(): void {
    if (!(this.store instanceof MemoryStore)) throw new ScenarioError('"inject: memoryCorrupt" needs the simulator\'s own memory store');
    this.store.corrupt();
  }

  private onRuntimeEvent(event: RuntimeEvent): void {
    switch (event.type) {
      case 'status':
        return this.recordStatus();
      case 'valve':
        return this.record({ type: 'valve', state: event.open ? 'open' : 'closed' });
      case 'pump':
        return this.record({ type: 'pump', state: event.on ? 'on' : 'off' });
      case 'fault': {
        const { ts: _ts, ...fault } = event.fault;
        return this.record({ type: 'fault', ...fault });
      }
      case 'command':
        return this.record({
          type: 'command',
          command: event.command,
          ok: event.result.ok,
          ...(event.result.ok ? {} : { error: event.result.error }),
        });
      case 'board': {
        const { type: report, ...rest } = event.report;
        return this.record({ type: 'board', report, ...rest });
      }
      case 'exercise': {
        const { type: _type, ts: _ts, ...result } = event;
        return this.record({ type: 'exercise', ...result });
      }
      case 'error':
        return this.record({ type: 'error', message: event.message });
      case 'breaker':
      case 'phase':
        return;
    }
  }

  /** The last state line (kept as an object: its JSON as a key held about 150 bytes per appliance of a fleet). */
  private lastState: { readonly state: string; readonly breaker: string; readonly fault: string | null; readonly leak: boolean; readonly tripCount: number } | null = null;

  private recordStatus(runtime = this.current): void {
    if (!runtime) return;
    const s = runtime.status();
    // Valve and pump changes have their own lines.
    const last = this.lastState;
    if (last !== null && last.state === s.state && last.breaker === s.breaker && last.fault === s.fault && last.leak === s.leak && last.tripCount === s.tripCount) return;
    const entry = { type: 'state', state: s.state, breaker: s.breaker, fault: s.fault, leak: s.leak, tripCount: s.tripCount };
    this.lastState = entry;
    this.record(entry);
  }

  private record(entry: { type: string } & Record<string, unknown>): void {
    const full = { t: this.clock.now(), ...entry } as LogEntry;
    if (this.keepLog) this.log.push(full);
    if (this.logListeners) for (const l of this.logListeners) l(full);
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * The program's view of its simulation. A class, not an object of methods per appliance: its
 * methods live once on the prototype (the closures, their context and the object were about 400
 * bytes in every appliance of a fleet).
 */
class SimulationProgramHost implements ProgramHost {
  constructor(
    readonly clock: Clock,
    private readonly sim: Simulation,
  ) {}

  runtime(): Runtime | null {
    return this.sim.runtime;
  }

  absorb(litres: number): void {
    this.sim.plant.absorb(litres);
  }

  level(): number | null {
    return this.sim.plant.signals().tubLevelL;
  }

  onStep(step: ProgramStep, index: number): void {
    this.sim.programEvent({ event: 'step', index, name: step.name });
  }

  onDone(cycle: number): void {
    this.sim.programEvent({ event: 'done', cycle });
  }
}
