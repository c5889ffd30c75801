/**
 * Binds one controller actor to one board: samples the board every tick on the injected
 * clock, turns samples into controller events, drives the board's outputs from what the
 * controller emits, persists latches and the fault memory, and tells listeners.
 *
 * Fail-safe: any exception here (board read, store write, listener, actor error) closes
 * the valve and keeps it closed until the runtime is restarted.
 */
import { createActor, type Actor } from 'xstate';
import type { FaultCode } from '../machine/catalogue.js';
import { DEFAULT_CONFIG, parseControllerConfig, type ControllerConfig, type ControllerConfigInput } from '../machine/config.js';
import type { ControllerEmitted, ControllerEvent } from '../machine/events.js';
import { controllerMachine } from '../machine/machine.js';
import type { Board, BoardReport } from './board.js';
import type { Clock } from '../clock/clock.js';
import { InputSampler } from './sampler.js';
import { deviceStatus, faultEvent } from './status.js';
import type { CommandResult, DeviceStatus, ProgramRequest, Runtime, RuntimeEvent, RuntimeEventOf, RuntimeEventType, UserCommand } from './runtime-types.js';
import { emptyMemory, FAULT_MEMORY_SIZE, type PersistedMemory, type Store } from './store.js';

export interface RuntimeOptions {
  readonly deviceId: string;
  readonly board: Board;
  readonly clock: Clock;
  readonly store: Store;
  readonly config?: ControllerConfigInput;
  /** Board sampling period, default 100 ms. */
  readonly tickMs?: number;
  readonly fw?: string;
}

const COMMAND_EVENTS: Record<UserCommand, ControllerEvent['type']> = {
  resume: 'user.resume',
  reset: 'user.reset',
  closeValve: 'user.closeValve',
  exercise: 'user.exercise',
};

/**
 * Parsed controller configurations by the object they were parsed from: the appliances of a fleet
 * share their scenario's, so they share one parsed copy (a parsed configuration is about 1 KB)
 * instead of holding one each. A shared copy is frozen, deeply: a write to one appliance's timings
 * would change every other's, so it throws instead (and the runtime's fail-safe closes the valve).
 */
const parsedConfigs = new WeakMap<object, ControllerConfig>();

function parsedConfig(input: ControllerConfigInput | undefined): ControllerConfig {
  if (input === undefined) return deepFreeze(DEFAULT_CONFIG);
  let config = parsedConfigs.get(input);
  if (config === undefined) parsedConfigs.set(input, (config = deepFreeze(parseControllerConfig(input))));
  return config;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

export async function startRuntime(options: RuntimeOptions): Promise<Runtime> {
  const runtime = new ControllerRuntime(options);
  await runtime.start();
  return runtime;
}

class ControllerRuntime implements Runtime {
  readonly deviceId: string;
  readonly boardKind: Board['kind'];
  boot = 0;

  private readonly board: Board;
  private readonly clock: Clock;
  private readonly store: Store;
  private readonly config: ControllerConfig;
  private readonly tickMs: number;
  private actor!: Actor<typeof controllerMachine>;
  private memory: PersistedMemory = emptyMemory();
  private memoryWritable = true;
  /** Copied on change, never changed in place (a Set costs about 150 bytes more, in every appliance of a fleet); a listener is in it once. */
  private listeners: readonly ((event: RuntimeEvent) => void)[] = [];
  private subscriptions: { unsubscribe(): void }[] = [];
  private unlistenBoard: (() => void) | null = null;
  private timer: unknown = null;
  /** Samples and sets the next timer: one function for the runtime's life, given to the clock every tick. */
  private readonly tick: () => void;
  private running = false;
  private failed = false;
  private startedAt = 0;
  private faultSeq = 0;
  private reply: CommandResult | null = null;
  /** The status last told, to tell only changes (an object: its JSON kept as a key held about 300 bytes per appliance of a fleet). */
  private lastStatus: DeviceStatus | null = null;
  private readonly sampler: InputSampler;
  private controllerEvents = 0;
  private samples = 0;
  /**
   * Events from start-up (a latch restored at boot, the first readings) are held and
   * delivered on the next turn of the clock, so listeners attached as soon as
   * `startRuntime` resolves see them.
   */
  private bootBuffer: RuntimeEvent[] | null = [];

  constructor(options: RuntimeOptions) {
    this.deviceId = options.deviceId;
    this.board = options.board;
    this.boardKind = options.board.kind;
    this.clock = options.clock;
    this.store = options.store;
    this.config = parsedConfig(options.config);
    this.tickMs = options.tickMs ?? 100;
    this.sampler = new InputSampler(this.config, options.board.pulsesPerLitre);
    // The clock's timer, made once (assigned, so not named: see start()).
    this.tick = () => this.sampleAndSchedule();
  }

  async start(): Promise<void> {
    let memoryFault = false;
    try {
      this.memory = this.store.load();
    } catch {
      // Unreadable memory: keep the evidence, write nothing, and let the controller go to service (i80).
      memoryFault = true;
      this.memoryWritable = false;
      this.memory = emptyMemory();
    }
    this.memory = { ...this.memory, boot: this.memory.boot + 1 };
    this.boot = this.memory.boot;
    this.persist();

    await this.board.open();
    this.startedAt = this.clock.now();
    this.actor = createActor(controllerMachine, {
      clock: this.clock,
      input: { latch: this.memory.latch, memoryFault, config: this.config },
    });
    // Functions handed over as they are, not arrow-function properties nor wrappers: tsx names
    // every arrow function it compiles, which costs each about 250 bytes more, per appliance.
    // Assigned, not pushed: an array grown by push keeps room for 17 (about 150 bytes).
    this.subscriptions = [
      this.actor.on('*', (event) => this.guarded(() => this.onEmitted(event))),
      this.actor.subscribe(
        () => this.guarded(() => this.publishStatus()),
        (err) => this.failSafe(`controller error: ${String(err)}`),
      ),
    ];
    this.unlistenBoard = this.board.onReport((report) => this.guarded(() => this.onReport(report)));
    this.running = true;
    this.actor.start();
    this.tick();
    this.clock.setTimeout(() => {
      const held = this.bootBuffer ?? [];
      this.bootBuffer = null;
      for (const event of held) this.emit(event);
    }, 0);
  }

  status(): DeviceStatus {
    return deviceStatus(this.actor.getSnapshot(), {
      failed: this.failed,
      uptimeMs: this.clock.now() - this.startedAt,
      tubLevelL: this.sampler.tubLevelL,
    });
  }

  on<T extends RuntimeEventType>(type: T, listener: (event: RuntimeEventOf<T>) => void): () => void {
    return this.onAny((event) => {
      if (event.type === type) listener(event as RuntimeEventOf<T>);
    });
  }

  onAny(listener: (event: RuntimeEvent) => void): () => void {
    if (!this.listeners.includes(listener)) this.listeners = this.listeners.concat([listener]);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  command(command: UserCommand): CommandResult {
    let result: CommandResult;
    if (!this.running) {
      result = { ok: false, error: 'the controller is not running' };
    } else if (this.failed && command !== 'closeValve') {
      result = { ok: false, error: 'the controller stopped after an internal error; the valve is held closed' };
    } else {
      this.reply = null;
      this.guarded(() => this.send({ type: COMMAND_EVENTS[command] } as ControllerEvent));
      result = this.reply ?? { ok: false, error: this.failed ? 'the controller stopped after an internal error; the valve is held closed' : 'command not handled' };
      this.reply = null;
    }
    this.emit({ type: 'command', command, result, ts: this.clock.now() });
    return result;
  }

  program(request: ProgramRequest): void {
    if (!this.running) return;
    const event: ControllerEvent =
      request.type === 'fill'
        ? { type: 'program.fill', targetL: request.targetL, ...(request.topUp ? { topUp: true } : {}) }
        : { type: request.type === 'drain' ? 'program.drain' : 'program.idle' };
    this.guarded(() => this.send(event));
  }

  stats(): { controllerEvents: number; samples: number } {
    return { controllerEvents: this.controllerEvents, samples: this.samples };
  }

  faultMemory(): PersistedMemory['faultMemory'] {
    return this.memory.faultMemory;
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.shutdown();
    try {
      this.board.setValve(false);
      this.board.setDrainPump(false);
    } finally {
      await this.board.close();
    }
  }

  halt(): void {
    if (!this.running) return;
    this.shutdown();
  }

  private shutdown(): void {
    this.running = false;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    for (const sub of this.subscriptions.splice(0)) sub.unsubscribe();
    this.unlistenBoard?.();
    this.unlistenBoard = null;
    this.actor.stop();
  }

  private sampleAndSchedule(): void {
    if (!this.running) return;
    this.guarded(() => this.sample());
    if (this.running) this.timer = this.clock.setTimeout(this.tick, this.tickMs);
  }

  private sample(): void {
    this.samples++;
    for (const event of this.sampler.sample(this.board.read())) this.send(event);
    this.board.keepalive();
  }

  private send(event: ControllerEvent): void {
    this.controllerEvents++;
    this.actor.send(event);
  }

  private onEmitted(event: ControllerEmitted): void {
    const ts = this.clock.now();
    switch (event.type) {
      case 'valve.changed':
        // After a failure the valve stays closed whatever the controller says.
        this.board.setValve(event.open && !this.failed);
        this.emit({ type: 'valve', open: event.open && !this.failed, ts });
        break;
      case 'pump.changed':
        this.board.setDrainPump(event.on);
        this.emit({ type: 'pump', on: event.on, ts });
        break;
      case 'fault.raised':
      case 'fault.cleared': {
        const raised = event.type === 'fault.raised';
        const detail = raised ? event.detail : undefined;
        if (raised) this.remember(event.code, ts, detail);
        this.emit({ type: 'fault', fault: faultEvent(raised ? 'raised' : 'cleared', event.code, ts, `${this.boot}-${++this.faultSeq}`, detail) });
        break;
      }
      case 'latch.changed':
        this.memory = { ...this.memory, latch: event.latch };
        this.persist();
        break;
      case 'breaker.changed':
        this.emit({ type: 'breaker', breaker: event.breaker, code: event.code, ts });
        break;
      case 'fill.done':
        this.emit({ type: 'phase', done: 'fill', ts });
        break;
      case 'drain.done':
        this.emit({ type: 'phase', done: 'drain', ts });
        break;
      case 'command.accepted':
        this.reply = { ok: true };
        // Only the controller's acceptance of a person's reset clears a latch the board keeps
        // itself (our firmware's, in EEPROM); a refused reset never reaches the board.
        if (event.command === 'user.reset') this.board.resetLatch?.();
        break;
      case 'exercise.done':
        this.emit({ type: 'exercise', result: event.result, inflowL: event.inflowL, ...(event.code ? { code: event.code } : {}), ts });
        break;
      case 'command.rejected':
        this.reply = { ok: false, error: event.rejection.reason };
        break;
    }
  }

  private onReport(report: BoardReport): void {
    const ts = this.clock.now();
    this.emit({ type: 'board', report, ts });
    if (report.type === 'linkLost') this.send({ type: 'board.linkLost' });
    else if (report.type === 'linkRestored') this.send({ type: 'board.linkRestored' });
    else if (report.type === 'selfTestFailed') this.send({ type: 'board.selfTestFailed', test: report.test });
    else if (report.type === 'error') this.failSafe(`board error: ${report.message}`);
  }

  private remember(code: FaultCode, at: number, detail?: string): void {
    const entry = { code, at, ...(detail ? { detail: detail.slice(0, 200) } : {}) };
    this.memory = { ...this.memory, faultMemory: [...this.memory.faultMemory, entry].slice(-FAULT_MEMORY_SIZE) };
    this.persist();
  }

  private persist(): void {
    if (this.memoryWritable) this.store.save(this.memory);
  }

  private publishStatus(): void {
    const status = this.status();
    if (this.lastStatus !== null && sameStatus(status, this.lastStatus)) return;
    this.lastStatus = status;
    this.emit({ type: 'status', status, ts: this.clock.now() });
  }

  private emit(event: RuntimeEvent): void {
    if (this.bootBuffer) {
      this.bootBuffer.push(event);
      return;
    }
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        // A broken listener must not silence the others, but it is still a failure of this runtime.
        if (event.type !== 'error') this.failSafe(`listener failed: ${(err as Error).message}`);
      }
    }
  }

  private guarded(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.failSafe(err instanceof Error ? err.message : String(err));
    }
  }

  /** Closes the valve and keeps it closed; the controller's wish to open it is ignored from now on. */
  private failSafe(message: string): void {
    const first = !this.failed;
    this.failed = true;
    try {
      this.board.setValve(false);
    } catch {
      // Nothing more can be done from here; the board's own watchdog closes the valve when we go silent.
    }
    if (first) this.emit({ type: 'error', message, ts: this.clock.now() });
  }
}

/** Equal but for the figures that change all the time (uptime, the tub's level), which alone are no news. */
export function sameStatus(a: DeviceStatus, b: DeviceStatus): boolean {
  const keys = Object.keys(a) as (keyof DeviceStatus)[];
  if (keys.length !== Object.keys(b).length) return false;
  for (const k of keys) if (k !== 'uptimeS' && k !== 'tubLevelL' && a[k] !== b[k]) return false;
  return true;
}
