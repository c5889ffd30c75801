/**
 * The controller's safety rules (README, "Safety rules"), each written once, as a monitor over
 * a trace of what happened OUTSIDE the machine: the inputs the controller was given, the
 * commands the board received, and the events the outside world saw. The properties feed it
 * the runtime's trace (a scripted board on the virtual clock); the exhaustive exploration feeds
 * it the machine's own outputs, mapped the way the runtime maps them onto a board.
 *
 * Nothing here asks the machine what it believes (no state value, no guard, no tag): every
 * check is on what the board was told, against what the sensors had said. A rule that read
 * the machine's guard would only restate it.
 *
 * A trace is a sequence of steps. A step is one input (or one board sample carrying several
 * inputs, or time passing) and everything it caused: board commands and observed events.
 * `begin()` opens a step (and checks the end of the previous one), `command()` and
 * `observe()` record what the step caused, `finish()` checks the end of the last step.
 *
 * R1 Whenever the board is commanded to open the valve, and for as long as it stays commanded
 *    open: the float's latest reading is dry, the level signal is good (latest reading ok and
 *    not inside a noisy spell: after an implausible reading the level is good again only once
 *    it has read ok for sensors.levelSettleMs), the link is good (no linkLost report without a
 *    later linkRestored), and the breaker is armed or probing.
 * R2 A wet (or open-circuit) float reading closes the valve in the same step; a float wet for
 *    leak.wetDebounceMs without a break has raised i30 with the breaker latched (or service).
 * R3 While the link is lost the valve is never commanded open, and no probe starts (the
 *    breaker is not announced probing).
 * R4 No user command opens the valve (closed -> open in the command's step) unless the float
 *    has read dry without a break for leak.dryMs.
 * R5 A latched trip (latched or service) comes back after a restart with the same breaker and
 *    code; the board's own latch is cleared (resetLatch) only in the step of an accepted reset.
 * R6 At most valve.maxOpens opens within any valve.windowMs of one boot; i13 is raised only for
 *    the open that would exceed it (maxOpens opens in the window), and latches the breaker.
 * R7 A proof test (exercise) is accepted only when armed, idle, the pan dry for leak.dryMs, the
 *    tub level ok and at most exercise.maxStartLevelL, level and link good, and no other one
 *    accepted within exercise.intervalMs (per boot); a refused one opens nothing; its valve is
 *    open at most exercise.durationMs and closes in the step the tub rose more than
 *    exercise.maxRiseL or the meter counted more than exercise.maxVolumeL since it opened; it
 *    ends with one `exercise.done` (passed, failed or stopped).
 * R8 A closeValve command leaves the valve commanded closed at the end of its step.
 *
 * Deadlines (R2's debounce, R7's duration) are checked strictly after they pass, so a timer
 * that fires exactly on time is never blamed for the order in which same-instant callbacks run.
 */

import {
  DEFAULTS,
  PREMISES,
  type BoardCommand,
  type FloatReading,
  type LevelSignal,
  type Observed,
  type Premise,
  type RuleConfig,
  type RuleId,
  type TraceInput,
  type UserCommandName,
  type Violation,
} from './safety-trace.js';

export * from './safety-trace.js';

interface ExerciseRun {
  acceptedAt: number;
  startLevel: number | null;
  openedAt: number | null;
  closed: boolean;
  inflowL: number;
  iB0: boolean;
}

/** What the trace has said so far, in its own terms; `clone()`able for the exploration. */
interface View {
  now: number;
  step: number;
  /** Inputs and effects of the current step. */
  inputs: TraceInput[];
  valveAtStepStart: boolean;
  resetLatchInStep: boolean;
  commandResultInStep: boolean | null;
  faultsInStep: string[];
  breakerEventInStep: boolean;
  /** The outside world. */
  float: FloatReading | 'unknown';
  drySince: number | null;
  /** Start of the current spell of readings that are not dry (wet or open). */
  wetSince: number | null;
  level: LevelSignal | 'unknown';
  /** Noisy spell: an implausible reading not yet followed by levelSettleMs of ok readings. */
  noisy: boolean;
  okSince: number | null;
  linkLost: boolean;
  demand: 'fill' | 'drain' | 'idle';
  /** What the outside world was told. */
  breaker: string;
  code: string | null;
  valve: boolean;
  opens: number[];
  /** i30 was raised, or held latched, during the current wet spell. */
  i30SinceWet: boolean;
  /** R5: the latch held before a restart, to be seen again after it. */
  expectLatch: { breaker: string; code: string | null } | null;
  lastImplausibleAt: number | null;
  /** The step's end has been checked. */
  ended: boolean;
  lastExerciseAt: number | null;
  exercise: ExerciseRun | null;
  /** Time of the cool-down's start, for the link-during-cool-down premise. */
  trippedAt: number | null;
}

function freshView(): View {
  return {
    now: 0,
    step: -1,
    inputs: [],
    valveAtStepStart: false,
    resetLatchInStep: false,
    commandResultInStep: null,
    faultsInStep: [],
    breakerEventInStep: false,
    float: 'unknown',
    drySince: null,
    wetSince: null,
    level: 'unknown',
    noisy: false,
    okSince: null,
    linkLost: false,
    demand: 'idle',
    breaker: 'booting',
    code: null,
    valve: false,
    opens: [],
    i30SinceWet: false,
    expectLatch: null,
    lastImplausibleAt: null,
    ended: true,
    lastExerciseAt: null,
    exercise: null,
    trippedAt: null,
  };
}

const LATCHED = new Set(['latched', 'service']);

/** The configuration with every limit a rule reads at hand, defaults filled in. */
type Derived = Required<Omit<RuleConfig, 'valve'>> & {
  readonly levelSettleMs: number;
  readonly maxOpens: number;
  readonly windowMs: number;
  readonly intervalMs: number;
  readonly maxStartLevelL: number;
  readonly maxRiseL: number;
  readonly maxVolumeL: number;
  readonly wetDebounceMs: number;
  readonly dryMs: number;
  readonly durationMs: number;
};
/** Computed once per configuration (and a derived one is its own): the exploration clones a monitor per step. */
const DERIVED = new WeakMap<object, Derived>();
function derived(config: RuleConfig): Derived {
  let c = DERIVED.get(config);
  if (!c) {
    c = {
      ...config,
      wetDebounceMs: config.leak.wetDebounceMs,
      dryMs: config.leak.dryMs,
      durationMs: config.exercise.durationMs,
      levelSettleMs: config.sensors.levelSettleMs ?? DEFAULTS.levelSettleMs,
      maxOpens: config.valve?.maxOpens ?? DEFAULTS.maxOpens,
      windowMs: config.valve?.windowMs ?? DEFAULTS.windowMs,
      intervalMs: config.exercise.intervalMs ?? DEFAULTS.intervalMs,
      maxStartLevelL: config.exercise.maxStartLevelL ?? DEFAULTS.maxStartLevelL,
      maxRiseL: config.exercise.maxRiseL ?? DEFAULTS.maxRiseL,
      maxVolumeL: config.exercise.maxVolumeL ?? DEFAULTS.maxVolumeL,
    } as never;
    DERIVED.set(config, c);
    DERIVED.set(c, c);
  }
  return c;
}

export class SafetyMonitor {
  readonly violations: Violation[] = [];
  readonly premises: Record<Premise, number>;
  private v: View;
  private readonly c: Derived;

  constructor(config: RuleConfig, view: View = freshView(), premises?: Record<Premise, number>) {
    this.c = derived(config);
    this.v = view;
    this.premises = premises ?? (Object.fromEntries(PREMISES.map((p) => [p, 0])) as Record<Premise, number>);
  }

  /** A copy to continue on another branch (the exploration); premises are shared. */
  clone(): SafetyMonitor {
    const v = this.v;
    const copy: View = {
      ...v,
      inputs: [...v.inputs],
      faultsInStep: [...v.faultsInStep],
      opens: [...v.opens],
      exercise: v.exercise ? { ...v.exercise } : null,
    };
    return new SafetyMonitor(this.c, copy, this.premises);
  }

  get ok(): boolean {
    return this.violations.length === 0;
  }

  get commandedOpen(): boolean {
    return this.v.valve;
  }

  // ---- the trace ------------------------------------------------------------------------

  /** Opens a step at clock time `at` with its inputs; first checks how the previous step ended. */
  begin(at: number, inputs: readonly TraceInput[]): void {
    if (!this.v.ended) this.endOfStep();
    const v = this.v;
    v.now = at;
    v.step++;
    v.ended = false;
    v.inputs = [...inputs];
    v.valveAtStepStart = v.valve;
    v.resetLatchInStep = false;
    v.commandResultInStep = null;
    v.faultsInStep = [];
    v.breakerEventInStep = false;
    this.expireOpens();
    for (const input of inputs) this.apply(input);
    // Deadlines that passed while time went by are checked before anything this step does.
    this.checkDeadlines();
  }

  /** Adds inputs to the current step (a boot's first board read belongs to the boot's step). */
  more(inputs: readonly TraceInput[]): void {
    this.v.inputs.push(...inputs);
    for (const input of inputs) this.apply(input);
  }

  /**
   * The board is told something. `at` is when, if later than the step's input: a timer that
   * fires between two board reads acts at its own time, not at the last read's.
   */
  command(cmd: BoardCommand, at?: number): void {
    this.timeTo(at);
    const v = this.v;
    if (cmd.kind === 'setValve') {
      if (cmd.open && !v.valve) this.opening();
      v.valve = cmd.open;
      if (!cmd.open && v.exercise?.openedAt !== null && v.exercise) v.exercise.closed = true;
    } else if (cmd.kind === 'resetLatch') {
      v.resetLatchInStep = true;
    }
  }

  observe(o: Observed, at?: number): void {
    this.timeTo(at);
    const v = this.v;
    switch (o.kind) {
      case 'breaker': {
        v.breakerEventInStep = true;
        if (v.expectLatch) {
          const want = v.expectLatch;
          v.expectLatch = null;
          if (o.breaker !== want.breaker || o.code !== want.code) {
            this.violate('R5', `after a restart the breaker came back ${o.breaker} ${o.code ?? ''}, not ${want.breaker} ${want.code ?? ''}`);
          }
        }
        if (o.breaker === 'probing' && v.breaker !== 'probing' && v.linkLost) this.violate('R3', 'the breaker started a probe while the board link is lost');
        if (LATCHED.has(o.breaker) && o.code === 'i30') v.i30SinceWet = true;
        if (o.breaker === 'tripped' && v.breaker !== 'tripped') v.trippedAt = v.now;
        if (o.breaker !== 'tripped' && o.breaker !== 'probing') v.trippedAt = null;
        v.breaker = o.breaker;
        v.code = o.code;
        break;
      }
      case 'fault':
        if (o.event !== 'raised') break;
        v.faultsInStep.push(o.code);
        if (o.code === 'i30') v.i30SinceWet = true;
        if (o.code === 'iB0' && v.exercise) v.exercise.iB0 = true;
        // i13 restored at boot (a latch from before the restart) is no new refusal.
        if (o.code === 'i13' && !v.inputs.some((i) => i.kind === 'restart')) {
          this.premises.i13Raised++;
          const inWindow = v.opens.length;
          if (inWindow < this.c.maxOpens) this.violate('R6', `i13 raised with only ${inWindow} opens in the last ${this.c.windowMs} ms (limit ${this.c.maxOpens})`);
        }
        break;
      case 'commandResult':
        v.commandResultInStep = o.ok;
        if (o.command === 'reset') this.premises[o.ok ? 'resetAccepted' : 'resetRefused']++;
        if (o.command === 'exercise') this.exerciseAnswered(o.ok);
        break;
      case 'phaseDone':
        v.demand = 'idle';
        break;
      case 'exerciseDone':
        this.premises.exerciseDone++;
        if (!v.exercise) this.violate('R7', `exercise.done (${o.result}) without an accepted exercise`);
        else if (!['passed', 'failed', 'stopped'].includes(o.result)) this.violate('R7', `exercise.done with result ${o.result}`);
        else if (o.result === 'passed' && v.exercise.iB0) this.violate('R7', 'exercise passed although iB0 (flow after the close) was raised during it');
        v.exercise = null;
        break;
    }
  }

  /**
   * A timer that fires after the step's own instant acts in a step of its own: the step before
   * it (a read, a command) had ended when time moved on, and what the timer does is not that
   * step's doing (a fill resumed by the level's settle timer is not the refused command's).
   */
  private timeTo(at: number | undefined): void {
    if (at !== undefined && at > this.v.now) this.begin(at, [{ kind: 'time' }]);
  }

  /** Checks the end of the last step. */
  finish(): void {
    if (!this.v.ended) this.endOfStep();
  }

  // ---- the exploration's view of the monitor ---------------------------------------------

  /**
   * The next instant at which a deadline rule (R2's debounce, R7's duration and end) must have
   * been met: the exploration lets time pass to it even when the machine set no timer for it.
   */
  nextDeadline(): number | null {
    const v = this.v;
    const c = this.c;
    const times: number[] = [];
    if (v.wetSince !== null && v.float === 'wet') times.push(v.wetSince + c.wetDebounceMs + 1);
    if (v.exercise?.openedAt != null && v.valve) times.push(v.exercise.openedAt + c.durationMs + 1);
    if (v.exercise) times.push(v.exercise.acceptedAt + this.doneWithinMs() + 1);
    const future = times.filter((t) => t > v.now);
    return future.length > 0 ? Math.min(...future) : null;
  }

  /**
   * The monitor's state, abstracted for deduplication: every time as an age relative to now,
   * capped where no rule can tell larger ages apart, and a flag no rule can read before it is
   * written again left out. Two monitors with the same key judge every continuation of the
   * trace alike (the same violations, and the same deadlines for `nextDeadline`); only the
   * ages quoted in a violation's message may differ. Each cap follows from how the age is read:
   * - dry since: only as `>= leak.dryMs` (the pan dry long enough) or `<` it (a premise count),
   *   so every age from leak.dryMs on reads alike;
   * - wet since: only as `now > wetSince + leak.wetDebounceMs` (R2's deadline has passed) and
   *   for `nextDeadline` (that deadline + 1 still ahead), so every age past the debounce reads alike;
   * - ok since: only as `>= sensors.levelSettleMs` (the level settled);
   * - the last accepted exercise: only as `< exercise.intervalMs` (one too soon);
   * - an exercise accepted or opened: only against its end and its duration (strictly after
   *   them, the deadlines `nextDeadline` names are one later);
   * - the opens in the valve window: every one younger than valve.windowMs (begin() forgets the
   *   older), all kept, as each one's expiry is an instant R6 counts at;
   * - i30 seen during the wet spell: read only while the float reads wet inside a spell, and
   *   written afresh by the reading that starts a spell (one that is not dry after a dry or
   *   unknown float), so while the float reads dry or unknown it is left out.
   */
  key(): string {
    const v = this.v;
    const c = this.c;
    const age = (t: number | null, cap: number) => (t === null ? '-' : String(Math.min(v.now - t, cap)));
    const level = v.level === 'unknown' ? 'unknown' : v.level.status === 'ok' ? `ok ${v.level.litres}` : v.level.status;
    const ex = v.exercise;
    const exercise = ex
      ? `${age(ex.acceptedAt, this.doneWithinMs() + 1)} ${ex.startLevel ?? '-'} ${age(ex.openedAt, c.durationMs + 1)} ${ex.closed} ${ex.inflowL.toFixed(3)} ${ex.iB0}`
      : '-';
    const i30 = v.float === 'dry' || v.float === 'unknown' ? '-' : String(v.i30SinceWet);
    return [
      v.float,
      age(v.drySince, c.dryMs),
      age(v.wetSince, c.wetDebounceMs + 1),
      level,
      v.noisy,
      age(v.okSince, c.levelSettleMs),
      v.linkLost,
      v.demand,
      v.breaker,
      v.code ?? '-',
      v.valve,
      v.opens.map((t) => v.now - t).join('+'),
      i30,
      age(v.lastExerciseAt, c.intervalMs),
      exercise,
    ].join('|');
  }

  // ---- rules ---------------------------------------------------------------------------

  private apply(input: TraceInput): void {
    const v = this.v;
    switch (input.kind) {
      case 'float':
        if (input.reading !== 'dry' && v.valve) this.premises.wetWhileOpen++;
        if (input.reading === 'dry') {
          if (v.float !== 'dry') v.drySince = v.now;
          v.wetSince = null;
        } else {
          v.drySince = null;
          // A spell of readings that are not dry (wet, or the wire broken) starts here.
          if (v.float === 'dry' || v.float === 'unknown') {
            v.wetSince = v.now;
            // An i30 latched already covers this spell: the controller need not raise it again.
            v.i30SinceWet = LATCHED.has(v.breaker) && v.code === 'i30';
          }
        }
        v.float = input.reading;
        break;
      case 'level':
        if (input.signal.status === 'implausible') {
          this.premises.noisyLevel++;
          v.lastImplausibleAt = v.now;
          if (v.demand === 'fill') this.premises.noisyWhileFilling++;
          v.noisy = true;
          v.okSince = null;
        } else if (input.signal.status === 'ok') {
          if (v.level === 'unknown' || v.level.status !== 'ok') v.okSince = v.now;
        } else {
          v.okSince = null;
        }
        v.level = input.signal;
        if (v.exercise && v.exercise.openedAt !== null && !v.exercise.closed && input.signal.status === 'ok' && v.exercise.startLevel !== null) {
          if (input.signal.litres - v.exercise.startLevel > this.c.maxRiseL) this.premises.exerciseCapped++;
        }
        break;
      case 'flow':
        if (v.exercise && v.exercise.openedAt !== null && !v.exercise.closed) {
          v.exercise.inflowL += input.litres;
          if (v.exercise.inflowL > this.c.maxVolumeL) this.premises.exerciseCapped++;
        }
        break;
      case 'program':
        v.demand = input.request;
        break;
      case 'report':
        if (input.report === 'linkLost') {
          if (v.valve) this.premises.linkLostWhileOpen++;
          if (v.breaker === 'tripped' && v.demand === 'fill') this.premises.linkLostDuringCoolDownWithDemand++;
        }
        v.linkLost = input.report === 'linkLost';
        break;
      case 'command':
        if (input.command !== 'closeValve') {
          if (v.float !== 'dry') this.premises.commandWhileWet++;
          else if (v.drySince !== null && v.now - v.drySince < this.c.dryMs) this.premises.commandWhileDrying++;
        }
        if (input.command === 'closeValve' && v.valve) this.premises.closeValveWhileOpen++;
        if (input.command === 'exercise') this.premises.exerciseAttempted++;
        break;
      case 'restart': {
        if (LATCHED.has(v.breaker)) this.premises.restartWhileLatched++;
        const latch = LATCHED.has(v.breaker) ? { breaker: v.breaker, code: v.code } : null;
        // The board powers up with the valve closed; nothing is known of the sensors until they are read.
        // The exercise interval and the valve cycle window are per boot: the controller keeps no
        // clock across a power cycle (README, R6 and R7).
        this.v = { ...freshView(), now: v.now, step: v.step, ended: false, inputs: v.inputs, expectLatch: latch };
        break;
      }
      case 'other':
      case 'time':
        break;
    }
  }

  /** An exercise has ended when it has been open its duration and the flow has had time to stop and to count as stuck. */
  private doneWithinMs(): number {
    const leak = this.c.valveLeak ?? { flowMs: 2_000, quietMs: 1_000 };
    return this.c.durationMs + 2 * (leak.flowMs + leak.quietMs);
  }

  private levelGood(): boolean {
    const v = this.v;
    if (v.level === 'unknown' || v.level.status !== 'ok') return false;
    if (!v.noisy) return true;
    return v.okSince !== null && v.now - v.okSince >= this.c.levelSettleMs;
  }

  private dryFor(ms: number): boolean {
    const v = this.v;
    return v.float === 'dry' && v.drySince !== null && v.now - v.drySince >= ms;
  }

  private commandInStep(): UserCommandName | null {
    const input = this.v.inputs.find((i) => i.kind === 'command');
    return input && input.kind === 'command' ? input.command : null;
  }

  private expireOpens(): void {
    const v = this.v;
    v.opens = v.opens.filter((t) => v.now - t < this.c.windowMs);
    if (v.noisy && this.levelGood()) v.noisy = false;
  }

  /** The board is told to open a closed valve. */
  private opening(): void {
    const v = this.v;
    this.premises.valveOpened++;
    if (v.demand === 'fill') this.premises.openWhileFilling++;
    if (v.lastImplausibleAt !== null && v.now - v.lastImplausibleAt < 3 * this.c.levelSettleMs) this.premises.openAfterNoise++;
    this.openConditions('R1', 'opened');
    if (v.linkLost) this.violate('R3', 'the valve was commanded open while the board link is lost');
    const command = this.commandInStep();
    if (command) {
      this.premises.commandOpenedValve++;
      if (!this.dryFor(this.c.dryMs)) {
        const dry = v.float === 'dry' && v.drySince !== null ? `dry for ${v.now - v.drySince} ms` : `reading ${v.float}`;
        this.violate('R4', `the ${command} command opened the valve with the float ${dry} (needs dry for ${this.c.dryMs} ms)`);
      }
    }
    this.expireOpens();
    if (v.opens.length >= this.c.maxOpens) {
      this.violate('R6', `open number ${v.opens.length + 1} within ${this.c.windowMs} ms (limit ${this.c.maxOpens}); first at ${v.opens[0]}`);
    }
    v.opens.push(v.now);
    if (v.opens.length === this.c.maxOpens) this.premises.maxOpensReached++;
    if (v.exercise && v.exercise.openedAt === null && v.demand !== 'fill') {
      v.exercise.openedAt = v.now;
      this.premises.exerciseOpened++;
    }
  }

  /** R1's conditions, checked when the valve opens and at the end of every step it stays open. */
  private openConditions(rule: 'R1', when: string): void {
    const v = this.v;
    const wrong: string[] = [];
    if (v.float !== 'dry') wrong.push(`the float reads ${v.float}`);
    if (!this.levelGood())
      wrong.push(v.level === 'unknown' ? 'no level reading yet' : v.level.status !== 'ok' ? `the level is ${v.level.status}` : 'the level is inside a noisy spell');
    if (v.linkLost) wrong.push('the link is lost');
    if (v.breaker !== 'armed' && v.breaker !== 'probing') wrong.push(`the breaker is ${v.breaker}`);
    if (wrong.length > 0) this.violate(rule, `valve ${when} while ${wrong.join(', ')}`);
  }

  private exerciseAnswered(accepted: boolean): void {
    const v = this.v;
    if (!accepted) return;
    this.premises.exerciseAccepted++;
    const wrong: string[] = [];
    if (v.breaker !== 'armed') wrong.push(`the breaker is ${v.breaker}`);
    if (v.demand !== 'idle') wrong.push(`the program asks for ${v.demand}`);
    if (!this.dryFor(this.c.dryMs)) wrong.push(`the pan has not been dry for ${this.c.dryMs} ms`);
    if (v.level === 'unknown' || v.level.status !== 'ok') wrong.push('no good level reading');
    else if (v.level.litres > this.c.maxStartLevelL) wrong.push(`the tub holds ${v.level.litres} L (max ${this.c.maxStartLevelL})`);
    if (!this.levelGood()) wrong.push('the level signal is not good');
    if (v.linkLost) wrong.push('the link is lost');
    if (v.lastExerciseAt !== null && v.now - v.lastExerciseAt < this.c.intervalMs)
      wrong.push(`the last one was ${v.now - v.lastExerciseAt} ms ago (interval ${this.c.intervalMs})`);
    if (v.exercise) wrong.push('one is still running');
    if (wrong.length > 0) this.violate('R7', `exercise accepted while ${wrong.join(', ')}`);
    v.lastExerciseAt = v.now;
    // The answer comes after the command's effects: a valve opened in this step is the exercise's.
    const openedNow = v.valve && !v.valveAtStepStart;
    if (openedNow) this.premises.exerciseOpened++;
    v.exercise = {
      acceptedAt: v.now,
      startLevel: v.level !== 'unknown' && v.level.status === 'ok' ? v.level.litres : null,
      openedAt: openedNow ? v.now : null,
      closed: false,
      inflowL: 0,
      iB0: false,
    };
  }

  /** Time-based rules, checked when a step begins (time has moved to `now`). */
  private checkDeadlines(): void {
    const v = this.v;
    const c = this.c;
    if (v.wetSince !== null && v.float === 'wet' && v.now > v.wetSince + c.wetDebounceMs) {
      this.premises.wetDebounceElapsed++;
      if (!LATCHED.has(v.breaker) || !(v.i30SinceWet || v.code === 'i30')) {
        this.violate('R2', `the float has read wet for ${v.now - v.wetSince} ms; breaker ${v.breaker} ${v.code ?? ''}, i30 ${v.i30SinceWet ? 'raised' : 'not raised'}`);
        v.wetSince = null; // one report per wet spell
      }
    }
    const ex = v.exercise;
    if (ex && v.now > ex.acceptedAt + this.doneWithinMs()) {
      this.violate('R7', `no exercise.done ${v.now - ex.acceptedAt} ms after the exercise was accepted`);
      v.exercise = null;
    }
    if (ex && ex.openedAt !== null && !ex.closed && v.valve && v.now > ex.openedAt + c.durationMs) {
      this.violate('R7', `the exercise has held the valve open ${v.now - ex.openedAt} ms (max ${c.durationMs})`);
      ex.closed = true;
    }
  }

  private endOfStep(): void {
    const v = this.v;
    v.ended = true;
    const command = this.commandInStep();
    if (v.valve) {
      const floatInStep = v.inputs.some((i) => i.kind === 'float' && i.reading !== 'dry');
      if (floatInStep && v.float !== 'dry') this.violate('R2', `the float read ${v.float} and the valve was not closed in the same step`);
      else if (v.linkLost) this.violate('R3', 'the valve stays commanded open while the board link is lost');
      else this.openConditions('R1', 'still open');
    }
    if (command === 'closeValve' && v.valve) this.violate('R8', 'closeValve left the valve commanded open');
    if (command === 'exercise' && v.commandResultInStep === false && v.valve && !v.valveAtStepStart) this.violate('R7', 'a refused exercise opened the valve');
    if (v.resetLatchInStep && !(command === 'reset' && v.commandResultInStep === true)) {
      this.violate('R5', `the board's latch was reset in a step that was not an accepted reset (${command ?? 'no command'}, result ${String(v.commandResultInStep)})`);
    }
    if (v.inputs.some((i) => i.kind === 'restart') && v.expectLatch) {
      this.violate('R5', `after a restart the breaker did not come back ${v.expectLatch.breaker} ${v.expectLatch.code ?? ''} (no breaker event)`);
      v.expectLatch = null;
    }
    if (v.faultsInStep.includes('i13') && !LATCHED.has(v.breaker)) this.violate('R6', `i13 raised but the breaker is ${v.breaker}`);
    const ex = v.exercise;
    if (ex && ex.openedAt !== null && !ex.closed && v.valve && v.exercise?.startLevel !== null) {
      const rise = v.level !== 'unknown' && v.level.status === 'ok' ? v.level.litres - (ex.startLevel ?? 0) : 0;
      if (rise > this.c.maxRiseL) this.violate('R7', `the tub rose ${rise.toFixed(3)} L during the exercise (max ${this.c.maxRiseL}) and the valve stayed open`);
      else if (ex.inflowL > this.c.maxVolumeL) this.violate('R7', `${ex.inflowL.toFixed(3)} L metered during the exercise (max ${this.c.maxVolumeL}) and the valve stayed open`);
    }
    const coolDown = this.c.breaker?.coolDownMs;
    // The cool-down is over with the link lost, and a probe would find everything else ready for water.
    if (coolDown !== undefined && v.linkLost && v.trippedAt !== null && v.now - v.trippedAt >= coolDown && v.demand === 'fill' && v.float === 'dry' && this.levelGood()) {
      this.premises.linkLostPastCoolDown++;
    }
  }

  private violate(rule: RuleId, message: string): void {
    this.violations.push({ rule, step: this.v.step, at: this.v.now, message });
  }
}

/** One line per violation, for a failing test. */
export function describeViolations(violations: readonly Violation[]): string {
  return violations.map((x) => `${x.rule} at step ${x.step} (t=${x.at} ms): ${x.message}`).join('\n');
}
