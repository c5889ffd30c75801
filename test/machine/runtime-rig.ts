/**
 * The runtime on a scripted board, on the virtual clock, with every step written into a
 * SafetyMonitor: what the board reported to the runtime (each read), what the program and a
 * person asked, what the board was told (setValve, setDrainPump, resetLatch), and what the
 * runtime announced. A restart is a power cycle: the runtime and the board stop at once and
 * come back on the same MemoryStore, in an unchanged world (the water is still where it was).
 *
 * The level a read reports is classified here, by the rule the README states (no number:
 * lost; not finite, out of range, or a jump larger than sensors.levelMaxJumpL from the previous
 * finite sample: implausible), not by the runtime's own plausibility code: the rules are
 * checked against what the sensor said, not against what the controller made of it.
 */
import type { BoardInputs } from '../../src/board/board.js';
import { startRuntime } from '../../src/board/runtime.js';
import type { ProgramRequest, Runtime, RuntimeEvent, UserCommand } from '../../src/board/runtime-types.js';
import { MemoryStore } from '../../src/board/store.js';
import type { ControllerConfig } from '../../src/machine/config.js';
import { VirtualClock } from '../../src/clock/virtual-clock.js';
import { ScriptedBoard } from '../helpers/scripted-board.js';
import { SafetyMonitor, type LevelSignal, type RuleConfig, type TraceInput } from './safety-rules.js';

export const TICK_MS = 100;

/** The board's sensors as a test sets them; a read reports them. */
export interface World {
  float: BoardInputs['float'];
  tubLevelL: number | null;
  flowPulses: number;
}

class RecordingBoard extends ScriptedBoard {
  /** Inputs to add to the current step instead of opening a new one (the first read after a boot). */
  mergeNextRead = false;
  private lastFloat: string | null = null;
  private lastSignal: string | null = null;
  private lastRaw: number | null = null;
  private lastPulses: number | null = null;

  constructor(
    private readonly rig: RuntimeRig,
    private readonly sensors: ControllerConfig['sensors'],
  ) {
    super();
  }

  override read(): BoardInputs {
    const world = this.rig.world;
    const inputs: TraceInput[] = [];
    if (world.float !== this.lastFloat) inputs.push({ kind: 'float', reading: world.float });
    this.lastFloat = world.float;
    const signal = classify(world.tubLevelL, this.lastRaw, this.sensors);
    this.lastRaw = world.tubLevelL;
    const signalKey = JSON.stringify(signal);
    if (signalKey !== this.lastSignal) inputs.push({ kind: 'level', signal });
    this.lastSignal = signalKey;
    if (this.lastPulses !== null && world.flowPulses > this.lastPulses) {
      inputs.push({ kind: 'flow', litres: (world.flowPulses - this.lastPulses) / this.pulsesPerLitre });
    }
    this.lastPulses = world.flowPulses;
    if (this.mergeNextRead) {
      this.mergeNextRead = false;
      this.rig.monitor.more(inputs);
    } else {
      this.rig.monitor.begin(this.rig.clock.now(), inputs.length > 0 ? inputs : [{ kind: 'time' }]);
    }
    this.inputs = { float: world.float, tubLevelL: world.tubLevelL, flowPulses: world.flowPulses };
    return super.read();
  }
  override setValve(open: boolean): void {
    if (!this.closed) this.rig.monitor.command({ kind: 'setValve', open }, this.rig.clock.now());
    super.setValve(open);
  }
  override setDrainPump(on: boolean): void {
    if (!this.closed) this.rig.monitor.command({ kind: 'setDrainPump', on }, this.rig.clock.now());
    super.setDrainPump(on);
  }
  resetLatch(): void {
    if (!this.closed) this.rig.monitor.command({ kind: 'resetLatch' }, this.rig.clock.now());
  }
}

/** The level signal a raw sample gives, by the README's rule. */
export function classify(raw: number | null, previousRaw: number | null, sensors: ControllerConfig['sensors']): LevelSignal {
  if (raw === null) return { status: 'lost' };
  if (!Number.isFinite(raw) || raw < sensors.levelMinL || raw > sensors.levelMaxL) return { status: 'implausible' };
  if (previousRaw !== null && Number.isFinite(previousRaw) && Math.abs(raw - previousRaw) > sensors.levelMaxJumpL) return { status: 'implausible' };
  return { status: 'ok', litres: raw };
}

export class RuntimeRig {
  readonly clock = new VirtualClock(0);
  readonly store = new MemoryStore();
  readonly world: World = { float: 'dry', tubLevelL: 0.1, flowPulses: 0 };
  readonly monitor: SafetyMonitor;
  board!: RecordingBoard;
  runtime!: Runtime;
  private unlisten: () => void = () => undefined;

  constructor(
    readonly config: ControllerConfig,
    rules: RuleConfig,
  ) {
    this.monitor = new SafetyMonitor(rules);
  }

  async start(): Promise<void> {
    this.monitor.begin(this.clock.now(), []);
    await this.boot();
  }

  /** Power cycle: everything stops at once; the store keeps what was last written. */
  async restart(): Promise<void> {
    this.unlisten();
    this.runtime.halt();
    // The old board is gone with the power: nothing it is still told counts.
    this.board.closed = true;
    this.monitor.begin(this.clock.now(), [{ kind: 'restart' }]);
    await this.boot();
  }

  private async boot(): Promise<void> {
    this.board = new RecordingBoard(this, this.config.sensors);
    this.board.mergeNextRead = true;
    this.runtime = await startRuntime({ deviceId: 'prop', board: this.board, clock: this.clock, store: this.store, config: this.config, tickMs: TICK_MS });
    this.unlisten = this.runtime.onAny((event) => this.observe(event));
    // Start-up events are delivered on the clock's next turn.
    this.clock.advance(0);
  }

  program(request: ProgramRequest): void {
    this.monitor.begin(this.clock.now(), [{ kind: 'program', request: request.type }]);
    this.runtime.program(request);
  }

  command(command: UserCommand): void {
    this.monitor.begin(this.clock.now(), [{ kind: 'command', command }]);
    this.runtime.command(command);
  }

  report(report: 'linkLost' | 'linkRestored'): void {
    this.monitor.begin(this.clock.now(), [{ kind: 'report', report }]);
    this.board.report({ type: report });
  }

  wait(ms: number): void {
    this.clock.advance(ms);
  }

  finish(): SafetyMonitor {
    this.monitor.finish();
    this.unlisten();
    this.runtime.halt();
    return this.monitor;
  }

  private observe(event: RuntimeEvent): void {
    const m = this.monitor;
    const at = this.clock.now();
    switch (event.type) {
      case 'breaker':
        m.observe({ kind: 'breaker', breaker: event.breaker, code: event.code }, at);
        break;
      case 'fault':
        m.observe({ kind: 'fault', event: event.fault.event, code: event.fault.code }, at);
        break;
      case 'command':
        m.observe({ kind: 'commandResult', command: event.command, ok: event.result.ok }, at);
        break;
      case 'phase':
        m.observe({ kind: 'phaseDone', phase: event.done }, at);
        break;
      default: {
        const e = event as { type: string; result?: unknown };
        if ((e.type === 'exercise' || e.type === 'exercise.done') && typeof e.result === 'string') m.observe({ kind: 'exerciseDone', result: e.result }, at);
      }
    }
  }
}
