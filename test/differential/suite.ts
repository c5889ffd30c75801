/**
 * The differential test: every built-in scenario (sim/scenarios/*.json, read when the suite is
 * collected, so new ones join by themselves) runs on the simulated board and on the emulated
 * Arduino running our firmware, and both runs must give the same sequence of faults
 * raised/cleared, breaker states and power events, each at most TOLERANCE_MS apart in virtual
 * time. A difference is a bug in one of the boards (or in the runtime between them).
 *
 * Why a tolerance at all: the emulated board's inputs reach the host in STATUS reports every
 * 250 ms and its pins move on the chip's own loop, so an event may land a few ticks later than
 * on the simulated board; the firmware's link watchdog and the host's silence detection tick on
 * other phases than the simulated board's; a port reopened after `usbUnplug` needs the Firmata
 * handshake (~0.6 s, most of it the driver's 500 ms version nudge). All of these stay under 1 s.
 *
 * Cost: the emulated runs dominate: about 3 s of CPU per virtual minute for one run on its
 * own, 6-8 s with both workers busy (measured on a heavily shared 2-core machine), and the
 * built-in scenarios add up to hours of virtual time. So in an ordinary test run the emulated
 * board runs a scenario to its end, or, for a longer one, for CAP_MS (10 virtual
 * minutes) and at least until a minute after the simulated board's last event, so every event
 * the simulated board shows is compared; what the emulated board alone might do later in a long
 * quiet stretch (normal-cycle, float-chatter) is not. The test's name says where a run is cut
 * short; `AQUASTOP_DIFFERENTIAL=full` runs every scenario to its end (a nightly job's worth).
 * The scenarios are split over SHARDS test files, balanced by the virtual time they run, so both
 * CI workers share them.
 */
import { describe, expect, it } from 'vitest';
import { builtinScenarioNames, loadBuiltinScenario } from '../../sim/scenarios/index.js';
import { hasTools } from '../helpers/tools.js';
import { ScenarioError } from '../../sim/scenario.js';
import { firstDifference, runScenario, type TraceItem } from './trace.js';

export const TOLERANCE_MS = 1_000;
export const SHARDS = 2;
export const CAP_MS = process.env.AQUASTOP_DIFFERENTIAL === 'full' ? Infinity : 10 * 60_000;

/**
 * Differences found and not fixed here (they need a decision beyond the boards), each pinned: the
 * test checks that the boards part exactly so, and turns red once either side changes (then
 * remove the entry).
 */
export const KNOWN_DIFFERENCES: Readonly<Record<string, { readonly why: string; readonly simulated: string; readonly emulated: string }>> = {
  // None at present. (hose-fuse was one until the board got its hose-fuse input, D4 in hardware/pins.json.)
};

/** What a scenario is expected to cost, for balancing the shards: a long one runs past CAP_MS when its events do. */
function weightOf(name: string): number {
  return Math.min(loadBuiltinScenario(name)!.duration, 2 * CAP_MS);
}

/** The virtual ms the emulated board runs: all of it, or CAP_MS and a minute past the simulated board's last event. */
function emulatedRunMs(fullMs: number, simulated: readonly TraceItem[]): number {
  return Math.min(fullMs, Math.max(CAP_MS, (simulated.at(-1)?.t ?? 0) + 60_000));
}

/** Scenario names for one shard: longest first, each to the shard with the least virtual time so far. */
export function shardOf(shard: number, shards = SHARDS): string[] {
  const sized = builtinScenarioNames().map((name) => ({ name, ms: weightOf(name) }));
  sized.sort((a, b) => b.ms - a.ms || a.name.localeCompare(b.name));
  const load = new Array<number>(shards).fill(0);
  const out: string[][] = Array.from({ length: shards }, () => []);
  for (const s of sized) {
    const i = load.indexOf(Math.min(...load));
    load[i]! += s.ms;
    out[i]!.push(s.name);
  }
  return out[shard]!;
}

const show = (items: readonly TraceItem[]) => items.map((i) => `${(i.t / 1000).toFixed(1)}s ${i.what}`).join('\n  ');

export function differentialSuite(shard: number): void {
  const names = shardOf(shard);
  describe.skipIf(!hasTools('avr-gcc', 'avr-g++', 'avr-objcopy'))(`simulated and emulated boards agree (shard ${shard + 1} of ${SHARDS})`, () => {
    for (const name of names) {
      const fullMs = loadBuiltinScenario(name)!.duration;
      // Generous, to fail on a hang and not on a slow machine: ~3 s of CPU per virtual minute alone, and
      // up to 40 s of wall time per virtual minute measured on a heavily shared 2-core machine.
      const timeoutMs = 180_000 + (Math.min(fullMs, 2 * CAP_MS) / 60_000) * 60_000;
      const part = fullMs > CAP_MS ? ` (emulated: ${CAP_MS / 60_000} of ${fullMs / 60_000} virtual min, or to a minute past the last event)` : '';
      const knownNote = KNOWN_DIFFERENCES[name] ? ' (a known, pinned difference)' : '';
      it(
        `${name}${part}: the same faults raised and cleared and breaker states, at most ${TOLERANCE_MS} ms apart${knownNote}`,
        async (ctx) => {
          const full = await runScenario(name, 'simulated');
          const runMs = emulatedRunMs(fullMs, full.trace);
          const capped = runMs < fullMs;
          const simulated = capped ? await runScenario(name, 'simulated', runMs) : full;
          const emulated = await runScenario(name, 'emulated', runMs).catch((err: unknown) => {
            // A step the emulated board cannot stage stops the run before it starts (exit 2 on the CLI): not comparable, and said so.
            if (err instanceof ScenarioError && /cannot perform/.test(err.message)) return err;
            throw err;
          });
          if (emulated instanceof ScenarioError) {
            console.warn(`differential ${name}: NOT COMPARED: ${emulated.message}`);
            return ctx.skip();
          }
          console.log(
            `differential ${name}: ${simulated.trace.length} events; emulated ${(emulated.cpuMs / 1000).toFixed(1)} s CPU, ` +
              `${(emulated.wallMs / 1000).toFixed(1)} s wall for ${(runMs / 60_000).toFixed(1)} virtual min; simulated ${(simulated.cpuMs / 1000).toFixed(1)} s CPU`,
          );
          // A cut-short run: an event in the last TOLERANCE_MS may fall on either side of the cut.
          const window = (trace: readonly TraceItem[]) => (capped ? trace.filter((i) => i.t < runMs - TOLERANCE_MS) : trace);
          const difference = firstDifference(window(simulated.trace), window(emulated.trace), TOLERANCE_MS);
          const known = KNOWN_DIFFERENCES[name];
          if (known) {
            console.warn(`differential ${name}: KNOWN DIFFERENCE: ${known.why}`);
            expect({ simulated: difference?.simulated?.what, emulated: difference?.emulated?.what }, 'the pinned difference changed').toEqual({
              simulated: known.simulated,
              emulated: known.emulated,
            });
            return;
          }
          expect(
            difference,
            `${name}: boards part at #${difference?.index} (${difference?.why})\nsimulated:\n  ${show(simulated.trace)}\nemulated:\n  ${show(emulated.trace)}`,
          ).toBeNull();
          expect(
            simulated.trace.some((i) => i.what.startsWith('breaker')),
            'the trace has the breaker in it',
          ).toBe(true);
          // Same trace, and the same verdict on each of the scenario's own checks (valve and pump at the end, commands).
          const verdicts = (r: typeof simulated) => r.expectations.map((e) => `${e.expect}: ${e.passed ? 'holds' : `fails (${e.actual})`}`);
          if (!capped) expect(verdicts(emulated)).toEqual(verdicts(simulated));
        },
        timeoutMs,
      );
    }
  });
}
