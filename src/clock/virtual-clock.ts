/**
 * A virtual clock: time moves only when `advance()` is called, so a two-hour program
 * replays in milliseconds and every run is exactly repeatable. Implements xstate's Clock
 * (setTimeout/clearTimeout) and our `Clock` (plus now()).
 *
 * Timers due at the same instant fire in the order they were set. A timer set while
 * advancing, due within the advanced span, fires in the same advance.
 *
 * Memory: a fleet holds one clock per appliance, each with a handful of timers, so a clock
 * holds its heap and nothing that grows with the timers it has already fired. clearTimeout
 * finds the timer in the heap and marks it (its callback let go); a timer that has fired, was
 * cleared already or never existed is not there, and clearing it changes nothing. A small heap
 * is scanned; in a large one (a monitor's clock with a deadline per device) the timer is found
 * through an index by id, made when a large heap is searched and let go when a small one is
 * (`indexed` tells its size).
 */
import type { Clock } from './clock.js';

interface Timer {
  /** Set order: ids increase, so equal due times fire by id. */
  readonly id: number;
  readonly at: number;
  /** null once cleared; the timer stays in the heap until it reaches the top. */
  fn: (() => void) | null;
}

/** Heaps up to this long are scanned for an id; longer ones keep an index. */
export const SCAN_LIMIT = 32;

export class VirtualClock implements Clock {
  private nowMs: number;
  private nextId = 1;
  private heap: Timer[] = [];
  /** Cleared timers still in the heap. */
  private cleared = 0;
  /** The heap's timers by id: made by a clearTimeout on a heap longer than SCAN_LIMIT, let go by one on a shorter heap. */
  private index: Map<unknown, Timer> | null = null;

  constructor(startMs = 0) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  /** Calls `fn` once, `ms` from now; a delay that is not a finite number >= 0 means now. */
  setTimeout(fn: () => void, ms: number): number {
    const id = this.nextId++;
    this.push({ id, at: this.nowMs + (Number.isFinite(ms) ? Math.max(ms, 0) : 0), fn });
    return id;
  }

  /** Stops a timer that has not fired yet; any other id (fired, cleared, unknown, not a number) changes nothing. */
  clearTimeout(id: unknown): void {
    const timer = this.find(id);
    if (timer === undefined || timer.fn === null) return;
    timer.fn = null;
    this.cleared++;
  }

  /** Number of timers still pending. */
  get pending(): number {
    return this.heap.length - this.cleared;
  }

  /** Timers held in the id index: 0 while the heap is small (what a fleet's clocks cost beyond their heaps). */
  get indexed(): number {
    return this.index?.size ?? 0;
  }

  /** Time of the next pending timer, or null. */
  nextDue(): number | null {
    this.dropCleared();
    return this.heap[0]?.at ?? null;
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`advance(${ms}): ms must be >= 0`);
    this.advanceTo(this.nowMs + ms);
  }

  advanceTo(targetMs: number): void {
    for (;;) {
      this.dropCleared();
      const top = this.heap[0];
      if (!top || top.at > targetMs) break;
      this.pop();
      this.nowMs = Math.max(this.nowMs, top.at);
      top.fn!();
    }
    this.nowMs = Math.max(this.nowMs, targetMs);
  }

  /**
   * Advances in `stepMs` steps until `predicate()` holds; throws after `maxMs` of virtual time
   * instead of hanging (like avr8js's runUntil).
   */
  runUntil(predicate: () => boolean, maxMs: number, stepMs = 100): number {
    const start = this.nowMs;
    while (!predicate()) {
      if (this.nowMs - start >= maxMs) {
        throw new Error(`runUntil: condition not met within ${maxMs} ms of virtual time`);
      }
      this.advance(stepMs);
    }
    return this.nowMs - start;
  }

  private find(id: unknown): Timer | undefined {
    const h = this.heap;
    if (h.length <= SCAN_LIMIT) {
      this.index = null;
      return h.find((t) => t.id === id);
    }
    this.index ??= new Map(h.map((t) => [t.id, t]));
    return this.index.get(id);
  }

  private dropCleared(): void {
    while (this.heap[0]?.fn === null) {
      this.pop();
      this.cleared--;
    }
  }

  private push(t: Timer): void {
    const h = this.heap;
    h.push(t);
    this.index?.set(t.id, t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  /** Removes the top timer (the heap is not empty). */
  private pop(): void {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    this.index?.delete(top.id);
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && before(h[l]!, h[m]!)) m = l;
      if (r < h.length && before(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}

function before(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.id < b.id);
}
