/**
 * Simulation speed of one appliance running normal-cycle at --speed max, in-process:
 * virtual seconds per wall second and controller events per second (target >= 10,000x).
 */
import { Simulation } from '../../sim/engine.js';
import { loadBuiltinScenario } from '../../sim/scenarios/index.js';

export async function run(): Promise<Record<string, unknown>> {
  const scenario = loadBuiltinScenario('normal-cycle')!;
  const runs: { wallMs: number; virtualS: number; speedup: number; controllerEvents: number; logEntries: number }[] = [];
  for (let i = 0; i < 5; i++) {
    const sim = new Simulation({ scenario });
    const t0 = performance.now();
    await sim.start();
    await sim.runFor(scenario.duration);
    const wallMs = performance.now() - t0;
    runs.push({
      wallMs: Math.round(wallMs * 10) / 10,
      virtualS: sim.clock.now() / 1000,
      speedup: Math.round(sim.clock.now() / wallMs),
      controllerEvents: sim.runtime?.stats().controllerEvents ?? 0,
      logEntries: sim.log.length,
    });
    await sim.stop();
  }
  // The first run warms up the JIT; report the median of the rest.
  const rest = runs.slice(1).sort((a, b) => a.speedup - b.speedup);
  const median = rest[Math.floor(rest.length / 2)]!;
  const ticks = median.virtualS * 10;
  return {
    scenario: 'normal-cycle',
    speed: 'max',
    virtualSeconds: median.virtualS,
    wallMs: median.wallMs,
    virtualSecondsPerWallSecond: median.speedup,
    target: 10_000,
    meetsTarget: median.speedup >= 10_000,
    ticksPerSecond: Math.round(ticks / (median.wallMs / 1000)),
    controllerEvents: median.controllerEvents,
    controllerEventsPerSecond: Math.round(median.controllerEvents / (median.wallMs / 1000)),
    logEntries: median.logEntries,
    runs: runs.map((r) => r.speedup),
  };
}
