/**
 * Simulation speed of one appliance running normal-cycle at --speed max: in-process
 * (virtual seconds per wall second, controller events per second; target >= 10,000x), and
 * through the real command (`aquastop sim --scenario normal-cycle --speed max --json`) in a
 * child process, whose wall time includes starting Node and compiling the TypeScript.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
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
    cli: cliRun(scenario.duration),
  };
}

function cliRun(durationMs: number): Record<string, unknown> {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const args = ['--import', 'tsx', 'src/cli.ts', 'sim', '--scenario', 'normal-cycle', '--speed', 'max', '--no-mqtt', '--json'];
  const t0 = performance.now();
  const stdout = execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const wallMs = performance.now() - t0;
  const lines = stdout.trim().split('\n');
  const summary = JSON.parse(lines.at(-1)!) as { passed: boolean };
  return {
    command: `aquastop ${args.slice(3).join(' ')}`,
    passed: summary.passed,
    wallMs: Math.round(wallMs),
    virtualSecondsPerWallSecond: Math.round(durationMs / wallMs),
    jsonLines: lines.length,
  };
}
