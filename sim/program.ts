/**
 * A dishwasher program: the appliance's own sequencer that asks the controller for water
 * and for draining, and waits. It knows nothing of faults: when the breaker trips, the
 * controller keeps the request pending and the program simply waits (paused); when the
 * breaker latches, it waits until someone resets (locked).
 *
 * About 9 L in all: prewash, main wash with a top-up, rinse, final rinse, drying.
 *
 * A top-up that ends short of its level (the controller gave up on it after its timeout) is
 * asked again after the wash has circulated for a while, as a real program keeps its heater
 * covered; the controller counts the failed top-ups in a row and stops them with iF0.
 */
import type { Clock } from '../src/clock/clock.js';
import type { ProgramRequest, Runtime } from '../src/board/runtime-types.js';

export type ProgramStep =
  | { readonly kind: 'fill'; readonly name: string; readonly targetL: number; readonly topUp?: boolean }
  | { readonly kind: 'drain'; readonly name: string }
  | { readonly kind: 'wait'; readonly name: string; readonly ms: number; readonly absorbL?: number };

const MIN = 60_000;

/** A failed top-up is asked again after this much washing ... */
export const TOP_UP_RETRY_MS = 2 * MIN;
/** ... when the level is more than this below its target (level noise alone never retries). */
const TOP_UP_SHORT_L = 0.1;

export const DISHWASHER_PROGRAM: readonly ProgramStep[] = [
  { kind: 'fill', name: 'prewash fill', targetL: 2.2 },
  { kind: 'wait', name: 'prewash', ms: 4 * MIN },
  { kind: 'drain', name: 'prewash drain' },
  { kind: 'fill', name: 'main wash fill', targetL: 2.2 },
  // The load soaks up water while heating: the level falls and a top-up follows.
  { kind: 'wait', name: 'main wash, heating', ms: 15 * MIN, absorbL: 0.4 },
  { kind: 'fill', name: 'main wash top-up', targetL: 2.2, topUp: true },
  { kind: 'wait', name: 'main wash', ms: 15 * MIN },
  { kind: 'drain', name: 'main wash drain' },
  { kind: 'fill', name: 'rinse fill', targetL: 2.2 },
  { kind: 'wait', name: 'rinse', ms: 5 * MIN },
  { kind: 'drain', name: 'rinse drain' },
  { kind: 'fill', name: 'final rinse fill', targetL: 2.2 },
  { kind: 'wait', name: 'final rinse, heating', ms: 10 * MIN },
  { kind: 'drain', name: 'final rinse drain' },
  { kind: 'wait', name: 'drying', ms: 15 * MIN },
];

export interface ProgramHost {
  readonly clock: Clock;
  /** The runtime now in charge (replaced after a power cut). */
  runtime(): Runtime | null;
  /** The plant's side of a step (water soaked up by the load). */
  absorb(litres: number): void;
  /** The appliance's own tub level sensor, litres (null when its signal is lost). */
  level(): number | null;
  /** Told when a step starts and when the program ends. */
  onStep(step: ProgramStep, index: number): void;
  onDone(cycle: number): void;
}

export class DishwasherProgram {
  private index = -1;
  private cycle = 0;
  private timer: unknown = null;
  private unsubscribe: (() => void) | null = null;
  private running = false;
  /** The pending timer is a top-up retry (a new runtime after a power cut asks at once instead). */
  private retrying = false;

  constructor(
    private readonly host: ProgramHost,
    private readonly steps: readonly ProgramStep[] = DISHWASHER_PROGRAM,
    private readonly loop = false,
  ) {}

  get currentStep(): ProgramStep | null {
    return this.steps[this.index] ?? null;
  }

  start(): void {
    this.running = true;
    this.cycle = 1;
    this.index = -1;
    this.next();
  }

  stop(): void {
    this.running = false;
    this.cancelTimer();
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  /**
   * A new runtime took over (power restored): listen to it, and ask again for what the
   * current step needs. A program interrupted during a wait simply goes on waiting.
   */
  attach(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    const step = this.currentStep;
    if (this.retrying) this.cancelTimer();
    if (this.running && step && step.kind !== 'wait') this.request(step);
  }

  private cancelTimer(): void {
    if (this.timer !== null) this.host.clock.clearTimeout(this.timer);
    this.timer = null;
    this.retrying = false;
  }

  private next(): void {
    if (!this.running) return;
    this.index++;
    if (this.index >= this.steps.length) {
      this.host.onDone(this.cycle);
      if (!this.loop) {
        this.running = false;
        return;
      }
      this.cycle++;
      this.index = 0;
    }
    const step = this.steps[this.index]!;
    this.host.onStep(step, this.index);
    if (step.kind === 'wait') {
      if (step.absorbL) this.host.absorb(step.absorbL);
      this.timer = this.host.clock.setTimeout(() => {
        this.timer = null;
        this.next();
      }, step.ms);
      return;
    }
    this.request(step);
  }

  private request(step: Extract<ProgramStep, { kind: 'fill' | 'drain' }>): void {
    const runtime = this.host.runtime();
    if (!runtime) return;
    this.unsubscribe?.();
    this.unsubscribe = runtime.on('phase', (event) => {
      if (event.done !== step.kind || this.currentStep !== step) return;
      this.unsubscribe?.();
      this.unsubscribe = null;
      if (step.kind === 'fill' && step.topUp && this.isShort(step)) {
        this.retrying = true;
        this.timer = this.host.clock.setTimeout(() => {
          this.timer = null;
          this.retrying = false;
          this.host.onStep(step, this.index);
          this.request(step);
        }, TOP_UP_RETRY_MS);
        return;
      }
      // Let the controller finish the transition that announced the step before asking again.
      this.timer = this.host.clock.setTimeout(() => {
        this.timer = null;
        this.next();
      }, 0);
    });
    const request: ProgramRequest = step.kind === 'fill' ? { type: 'fill', targetL: step.targetL, ...(step.topUp ? { topUp: true } : {}) } : { type: 'drain' };
    runtime.program(request);
  }

  private isShort(step: Extract<ProgramStep, { kind: 'fill' }>): boolean {
    const level = this.host.level();
    return level !== null && level < step.targetL - TOP_UP_SHORT_L;
  }
}
