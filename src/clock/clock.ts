/**
 * Time as a dependency. xstate's `Clock` plus `now()`; real runs use wall time, the
 * simulator a virtual clock (virtual-clock.ts, beside this file). Nothing that waits calls setTimeout
 * or Date.now() directly.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
}

export const wallClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
};
