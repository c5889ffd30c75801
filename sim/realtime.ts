/**
 * Drives simulations against wall time: virtual time = speed x wall time. Each simulation
 * keeps its own virtual clock (so the controller logic is the same as at max speed); the
 * wall timer here only decides how far to advance them.
 */
import type { Simulation } from './engine.js';

export interface RealtimeOptions {
  /** Virtual seconds per wall second (1 = real time). */
  readonly speed: number;
  /** Stop after this much virtual time (default: until stopped). */
  readonly durationMs?: number;
  /** Wall period of the driver, default 20 ms. */
  readonly periodMs?: number;
}

export interface RealtimeRun {
  /** Resolves when the duration is reached or stop() was called. */
  readonly done: Promise<void>;
  stop(): void;
}

export function runRealtime(sims: readonly Simulation[], options: RealtimeOptions): RealtimeRun {
  const period = options.periodMs ?? 20;
  const startWall = performance.now();
  const starts = sims.map((s) => s.clock.now());
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));

  const step = async (): Promise<void> => {
    timer = null;
    if (stopped) return finish();
    const elapsedVirtual = (performance.now() - startWall) * options.speed;
    const target = options.durationMs === undefined ? elapsedVirtual : Math.min(elapsedVirtual, options.durationMs);
    for (let i = 0; i < sims.length; i++) {
      const sim = sims[i]!;
      const until = starts[i]! + target;
      while (!stopped && sim.clock.now() + sim.tickMs <= until) {
        sim.tick();
        await sim.settle();
      }
    }
    if (options.durationMs !== undefined && target >= options.durationMs) {
      stopped = true;
      return finish();
    }
    if (!stopped) timer = setTimeout(() => void step(), period);
    else finish();
  };
  timer = setTimeout(() => void step(), 0);
  return {
    done,
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      finish();
    },
  };
}
