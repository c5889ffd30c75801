/**
 * Waiting on an injected clock, for a driver's handshakes: nothing here reads wall time, so a
 * test or the emulator decides how fast the timeouts pass.
 *
 * - `Waiters.waitFor(pred, ms)` resolves true as soon as `pred()` holds when `wake()` is called
 *   (the driver calls it on every frame), false after `ms` of clock time or at `cancelAll()`.
 * - `within(clock, ms, message, setup)` resolves when `setup`'s `done` is called, rejects with a
 *   BoardError on `fail(msg)` or, after `ms`, with `message`. Only the first outcome counts.
 */
import { BoardError } from '../../src/board/board.js';
import type { Clock } from '../../src/clock/clock.js';

export class Waiters {
  private readonly checks = new Set<() => void>();
  private cancelled = false;

  constructor(private readonly clock: Clock) {}

  wake(): void {
    for (const check of [...this.checks]) check();
  }

  /** Ends every wait (each resolves with its predicate's current value); later waits end at once. */
  cancelAll(): void {
    this.cancelled = true;
    this.wake();
  }

  waitFor(pred: () => boolean, ms: number): Promise<boolean> {
    if (pred() || this.cancelled) return Promise.resolve(pred());
    return new Promise((resolve) => {
      const check = () => {
        if (pred() || this.cancelled) finish(pred());
      };
      const timer = this.clock.setTimeout(() => finish(pred()), ms);
      const finish = (ok: boolean) => {
        this.clock.clearTimeout(timer);
        this.checks.delete(check);
        resolve(ok);
      };
      this.checks.add(check);
    });
  }
}

export function within(clock: Clock, ms: number, timeoutMessage: string, setup: (done: () => void, fail: (msg: string) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = clock.setTimeout(() => settle(() => reject(new BoardError(timeoutMessage))), ms);
    const settle = (f: () => void) => {
      if (settled) return;
      settled = true;
      clock.clearTimeout(timer);
      f();
    };
    setup(
      () => settle(resolve),
      (msg) => settle(() => reject(new BoardError(msg))),
    );
  });
}
