/**
 * A Clock that reads the emulated CPU's cycle counter: `now()` is emulated milliseconds, and a
 * timer fires when the emulation reaches its cycle (whoever runs the CPU calls `fireDue()`).
 * The driver of an emulated board keeps its timeouts and keepalive guard on it, so they are
 * measured in the firmware's own time, whatever pace the outside clock sets.
 */
import type { Clock } from '../../../src/clock/clock.js';

interface Timer {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

export class CycleClock implements Clock {
  private nextId = 1;
  private timers: Timer[] = [];

  constructor(
    private readonly cycles: () => number,
    private readonly cyclesPerMs: number,
  ) {}

  now(): number {
    return this.cycles() / this.cyclesPerMs;
  }

  setTimeout(fn: () => void, ms: number): number {
    const id = this.nextId++;
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    this.timers.push({ id, at: this.now() + delay, fn });
    this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
    return id;
  }

  clearTimeout(id: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== id);
  }

  /** Cycle count at which the next timer falls due, or Infinity. */
  nextDueCycles(): number {
    const t = this.timers[0];
    return t ? Math.ceil(t.at * this.cyclesPerMs) : Infinity;
  }

  /** Fires every timer due by now, in order. */
  fireDue(): void {
    const now = this.now();
    while (this.timers.length > 0 && this.timers[0]!.at <= now) {
      const t = this.timers.shift()!;
      t.fn();
    }
  }
}
