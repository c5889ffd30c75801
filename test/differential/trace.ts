/**
 * The differential test's view of a scenario run: what the controller made of it, as a sequence
 * of faults raised/cleared, breaker states and power events, each with its virtual time. Two
 * boards that behave alike give the same sequence, with times that differ by at most a
 * tolerance (see README in this folder).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simBoardFactory, type SimBoardKind } from '../../src/commands/sim-boards.js';
import { Simulation, type LogEntry } from '../../sim/engine.js';
import { evaluate, type ExpectationResult } from '../../sim/expectations.js';
import { loadBuiltinScenario } from '../../sim/scenarios/index.js';

export interface TraceItem {
  readonly t: number;
  /** `fault raised i30`, `fault cleared iC0`, `breaker latched`, `power cut`. */
  readonly what: string;
}

export interface RunResult {
  readonly trace: readonly TraceItem[];
  readonly log: readonly LogEntry[];
  readonly wallMs: number;
  /** CPU time of this process during the run (user + system), a load-independent cost. */
  readonly cpuMs: number;
  /** The scenario's own expectations, checked against this run. */
  readonly expectations: readonly ExpectationResult[];
}

/** The sequence the differential test compares, from a run's event log. */
export function traceOf(log: readonly LogEntry[]): TraceItem[] {
  const items: TraceItem[] = [];
  let breaker: unknown = null;
  for (const e of log) {
    if (e.type === 'fault') items.push({ t: e.t, what: `fault ${String(e.event)} ${String(e.code)}` });
    else if (e.type === 'power') {
      items.push({ t: e.t, what: `power ${String(e.event)}` });
      breaker = null; // a new boot announces its breaker again
    } else if (e.type === 'state' && e.breaker !== breaker) {
      breaker = e.breaker;
      items.push({ t: e.t, what: `breaker ${String(e.breaker)}` });
    }
  }
  return items;
}

/** Runs a built-in scenario in this process on one board, to its end or for `durationMs` of it. */
export async function runScenario(name: string, board: SimBoardKind, durationMs?: number): Promise<RunResult> {
  const scenario = loadBuiltinScenario(name);
  if (!scenario) throw new Error(`no built-in scenario ${name}`);
  const runMs = Math.min(durationMs ?? scenario.duration, scenario.duration);
  const scratch = mkdtempSync(join(tmpdir(), 'aquastop-diff-'));
  const started = performance.now();
  const cpu = process.cpuUsage();
  try {
    const createBoard = await simBoardFactory(board, { eepromPath: join(scratch, 'eeprom.bin') });
    const sim = new Simulation({ scenario, ...(createBoard ? { createBoard } : {}) });
    await sim.start();
    await sim.runFor(runMs);
    await sim.settle();
    const expectations = evaluate(scenario.expect, sim.log, { status: sim.runtime?.status() ?? null, programCompleted: sim.cyclesCompleted > 0 });
    await sim.stop();
    const used = process.cpuUsage(cpu);
    return { trace: traceOf(sim.log), log: sim.log, wallMs: performance.now() - started, cpuMs: (used.user + used.system) / 1000, expectations };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

export interface Difference {
  readonly index: number;
  readonly simulated?: TraceItem;
  readonly emulated?: TraceItem;
  readonly why: string;
}

/** The first place two traces part: another item, or the same item too far apart in time. */
export function firstDifference(a: readonly TraceItem[], b: readonly TraceItem[], toleranceMs: number): Difference | null {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (!x || !y || x.what !== y.what) return { index: i, ...(x ? { simulated: x } : {}), ...(y ? { emulated: y } : {}), why: 'another event' };
    if (Math.abs(x.t - y.t) > toleranceMs) return { index: i, simulated: x, emulated: y, why: `${Math.abs(x.t - y.t)} ms apart` };
  }
  return null;
}
