/**
 * A virtual clock: time moves only when `advance()` is called, so a two-hour program
 * replays in milliseconds and every run is exactly repeatable. Implements xstate's Clock
 * (setTimeout/clearTimeout) and our `Clock` (plus now()).
 *
 * Timers due at the same instant fire in the order they were set. A timer set while
 * advancing, due within the advanced span, fires in the same advance.
 */
import type { Clock } from './clock.js';

interface Timer {
  readonly id: number;
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
}

export class VirtualClock implements Clock {
  private nowMs: number;
  private nextId = 1;
  private seq = 0;
  private heap: Timer[] = [];
  /** Ids of cleared timers not yet dropped from the heap; made at the first clearTimeout (an empty Set is about 150 bytes). */
  private cancelled: Set<number> | null = null;

  constructor(startMs = 0) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  setTimeout(fn: () => void, ms: number): number {
    const id = this.nextId++;
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    this.push({ id, at: this.nowMs + delay, seq: this.seq++, fn });
    return id;
  }

  clearTimeout(id: unknown): void {
    if (typeof id === 'number') (this.cancelled ??= new Set()).add(id);
  }

  /** Number of timers still pending. */
  get pending(): number {
    return this.heap.length - (this.cancelled?.size ?? 0);
  }

  /** Time of the next pending timer, or null. */
  nextDue(): number | null {
    this.dropCancelled();
    return this.heap[0]?.at ?? null;
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`advance(${ms}): ms must be >= 0`);
    this.advanceTo(this.nowMs + ms);
  }

  advanceTo(targetMs: number): void {
    for (;;) {
      this.dropCancelled();
      const top = this.heap[0];
      if (!top || top.at > targetMs) break;
      this.pop();
      this.nowMs = Math.max(this.nowMs, top.at);
      top.fn();
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

  private dropCancelled(): void {
    const cancelled = this.cancelled;
    if (cancelled === null) return;
    while (this.heap.length > 0 && cancelled.has(this.heap[0]!.id)) {
      cancelled.delete(this.heap[0]!.id);
      this.pop();
    }
    if (cancelled.size === 0) this.cancelled = null;
  }

  private push(t: Timer): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): Timer | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
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
    return top;
  }
}

function before(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
