/**
 * The link chaos steps on every board the simulator can drive: `linkLost` (the serial line cut
 * both ways) and `usbUnplug` (the port vanishes), each injected while the valve is open for a
 * fill and cleared 10 s later. Checked where it matters: what the board's valve output does (on
 * the emulated board, the firmware's pin), not only what the controller believes.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../../src/clock/clock.js';
import type { LinkFault } from '../../src/board/link-faults.js';
import type { Plant } from '../../src/board/plant.js';
import { simBoardFactory, type SimBoardKind } from '../../src/commands/sim-boards.js';
import type { Board } from '../../src/board/board.js';
import { Simulation, simulatedBoard, type LogEntry } from '../../sim/engine.js';
import { parseScenario, ScenarioError } from '../../sim/scenario.js';
import { hasTools } from '../helpers/tools.js';

const CUT_AT = 5_000;
const CLEAR_AT = 15_000;

interface ValveEdge {
  readonly t: number;
  readonly open: boolean;
}

/** The plant, with every valve command the board gives it timestamped (on the emulated board: the D7 pin). */
function recordingValve(plant: Plant, clock: Clock, edges: ValveEdge[]): Plant {
  return new Proxy(plant, {
    get(target, prop) {
      if (prop === 'setValve') {
        return (open: boolean) => {
          if (edges.at(-1)?.open !== open) edges.push({ t: clock.now(), open });
          target.setValve(open);
        };
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

async function runWithFault(board: SimBoardKind, fault: LinkFault, alsoTimeline: unknown[] = []) {
  const scenario = parseScenario(
    {
      name: `${fault.toLowerCase()}-on-${board}`,
      description: 'the link fails during a fill and comes back',
      duration: '30s',
      timeline: [{ at: CUT_AT, inject: fault }, ...alsoTimeline, { at: CLEAR_AT, clear: fault }],
    },
    'test',
  );
  const edges: ValveEdge[] = [];
  const inner =
    (await simBoardFactory(board, { eepromPath: join(mkdtempSync(join(tmpdir(), 'aquastop-link-')), 'eeprom.bin') })) ?? simulatedBoard(scenario.controller.link.watchdogMs);
  const sim = new Simulation({ scenario, createBoard: (plant, clock) => inner(recordingValve(plant, clock, edges), clock) });
  await sim.start();
  await sim.runFor(scenario.duration);
  await sim.settle();
  const breakerAtEnd = sim.runtime?.status().breaker;
  await sim.stop();
  return { log: sim.log, edges, breakerAtEnd };
}

const valveAt = (edges: readonly ValveEdge[], t: number) => edges.filter((e) => e.t <= t).at(-1)?.open ?? false;
const faultAt = (log: readonly LogEntry[], event: string) => log.find((e) => e.type === 'fault' && e.code === 'iC0' && e.event === event)?.t;

const boards: SimBoardKind[] = ['simulated', ...(hasTools('avr-gcc', 'avr-g++', 'avr-objcopy') ? (['emulated'] as const) : [])];

describe.each(boards)('link chaos on the %s board', (board) => {
  it('linkLost: the board closes the valve within its 2 s watchdog, the host raises iC0, and mending the line re-arms', async () => {
    const { log, edges, breakerAtEnd } = await runWithFault(board, 'linkLost');
    expect(valveAt(edges, CUT_AT - 1), 'the fill had the valve open before the cut').toBe(true);
    const closedAt = edges.find((e) => e.t >= CUT_AT && !e.open)?.t ?? Infinity;
    // 2 s of silence plus the watchdog's granularity (the simulated board checks every 500 ms).
    expect(closedAt - CUT_AT).toBeLessThanOrEqual(2_500);
    expect(
      edges.some((e) => e.t > closedAt && e.t < CLEAR_AT && e.open),
      'the valve opened while the line was cut',
    ).toBe(false);
    const raised = faultAt(log, 'raised');
    expect(raised! - CUT_AT).toBeGreaterThanOrEqual(1_500);
    expect(raised! - CUT_AT).toBeLessThanOrEqual(2_600);
    const cleared = faultAt(log, 'cleared');
    expect(cleared! - CLEAR_AT).toBeGreaterThanOrEqual(0);
    expect(cleared! - CLEAR_AT).toBeLessThanOrEqual(1_000);
    expect(
      edges.some((e) => e.t >= CLEAR_AT && e.open),
      'the valve opens again once re-armed',
    ).toBe(true);
    expect(breakerAtEnd).toBe('armed');
  }, 120_000);

  it('usbUnplug: the host raises iC0 at once, the valve closes, nothing opens it while unplugged, and the port coming back re-arms', async () => {
    const { log, edges, breakerAtEnd } = await runWithFault(board, 'usbUnplug');
    expect(valveAt(edges, CUT_AT - 1)).toBe(true);
    const raised = faultAt(log, 'raised');
    expect(raised! - CUT_AT).toBeLessThanOrEqual(200);
    const closedAt = edges.find((e) => e.t >= CUT_AT && !e.open)?.t ?? Infinity;
    expect(closedAt - CUT_AT).toBeLessThanOrEqual(2_500);
    expect(
      edges.some((e) => e.t > closedAt && e.t < CLEAR_AT && e.open),
      'the valve opened while unplugged',
    ).toBe(false);
    const cleared = faultAt(log, 'cleared');
    expect(cleared! - CLEAR_AT).toBeGreaterThanOrEqual(0);
    // The host's next retry (at most 2 s apart) and the handshake.
    expect(cleared! - CLEAR_AT).toBeLessThanOrEqual(3_000);
    expect(edges.some((e) => e.t >= CLEAR_AT && e.open)).toBe(true);
    expect(breakerAtEnd).toBe('armed');
  }, 120_000);
});

describe.each(boards)('a link fault across a power cycle on the %s board', (board) => {
  it('is still in force after a power restore: the board comes up, then its watchdog trips again (iC0), until the line is mended', async () => {
    const { log, edges } = await runWithFault(board, 'linkLost', [
      { at: 8_000, power: 'cut' },
      { at: 10_000, power: 'restore' },
    ]);
    const raised = log.filter((e) => e.type === 'fault' && e.code === 'iC0' && e.event === 'raised').map((e) => e.t);
    expect(raised).toHaveLength(2);
    expect(raised[1]! - 10_000).toBeGreaterThanOrEqual(1_500);
    expect(raised[1]! - 10_000).toBeLessThanOrEqual(3_000);
    expect(
      edges.some((e) => e.t >= 8_000 && e.t < CLEAR_AT && e.open),
      'no water while the line is cut',
    ).toBe(false);
    expect(log.some((e) => e.type === 'fault' && e.code === 'iC0' && e.event === 'cleared' && e.t >= CLEAR_AT)).toBe(true);
  }, 120_000);
});

describe('a link fault the board cannot stage', () => {
  /** A board with every Board method and no link-fault stage, as a real Arduino on USB. */
  function plainBoard(inner: Board): Board {
    return {
      kind: 'usb',
      pulsesPerLitre: inner.pulsesPerLitre,
      open: () => inner.open(),
      read: () => inner.read(),
      setValve: (o) => inner.setValve(o),
      setDrainPump: (o) => inner.setDrainPump(o),
      keepalive: () => inner.keepalive(),
      onReport: (l) => inner.onReport(l),
      close: () => inner.close(),
    };
  }

  it.each(['linkLost', 'usbUnplug'] as const)('stops the scenario before it runs with one line naming the step (%s) and the board, exit 2', async (fault) => {
    const scenario = parseScenario(
      {
        name: 'unsupported',
        description: 'x',
        duration: '60s',
        timeline: [
          { at: '5s', press: 'resume' },
          { at: '10s', clear: fault },
        ],
      },
      'test',
    );
    const sim = new Simulation({ scenario, createBoard: async (plant, clock) => plainBoard(await simulatedBoard(2_000)(plant, clock)) });
    const error = await sim.start().then(
      () => null,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(ScenarioError);
    expect((error as ScenarioError).exitCode).toBe(2);
    expect((error as Error).message).toBe(`timeline.1: the usb board cannot perform "clear: ${fault}"`);
    expect(sim.runtime, 'the device was stopped again').toBeNull();
  });
});
