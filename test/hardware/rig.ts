/**
 * Test harness around the emulated board: a VirtualClock, a hand-set plant, and helpers that
 * move emulated time while yielding to johnny-five's I/O, the way the simulator does.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BoardReport } from '../../src/board/board.js';
import { startEmulatedRig, type EmulatedRig, type EmulatedRigOptions } from '../../hardware/boards/emulated-board.js';
import { VirtualClock } from '../../src/clock/virtual-clock.js';
import type { BoardUnderTest } from '../board/contract.js';
import { PlantDouble } from './plant-double.js';

export interface TestRig extends EmulatedRig {
  readonly clock: VirtualClock;
  readonly plant: PlantDouble;
  readonly reports: BoardReport[];
  readonly eepromPath: string;
  /** Host keeps calling keepalive() every tick (like the runtime) while true. */
  hostAlive: boolean;
  /** Advances `ms` of clock time in `tickMs` ticks, yielding to I/O after each. */
  advance(ms: number, tickMs?: number): Promise<void>;
  /** Advances until `pred()` holds; throws after `maxMs` of emulated time. Returns the ms it took. */
  until(pred: () => boolean, maxMs: number, what: string, tickMs?: number): Promise<number>;
}

export function tempEepromPath(): string {
  return join(mkdtempSync(join(tmpdir(), 'aquastop-eeprom-')), 'eeprom.bin');
}

export async function openRig(options: Partial<EmulatedRigOptions> & { plant?: PlantDouble; eepromPath?: string } = {}): Promise<TestRig> {
  const clock = new VirtualClock();
  const plant = options.plant ?? new PlantDouble();
  const eepromPath = options.eepromPath ?? tempEepromPath();
  const rig = await startEmulatedRig({ ...options, plant, clock, eepromPath });
  const reports: BoardReport[] = [];
  rig.board.onReport((r) => reports.push(r));
  await rig.board.open();
  const t: TestRig = {
    ...rig,
    clock,
    plant,
    reports,
    eepromPath,
    hostAlive: true,
    async advance(ms, tickMs = 100) {
      for (let done = 0; done < ms; done += tickMs) {
        clock.advance(Math.min(tickMs, ms - done));
        if (t.hostAlive) rig.board.keepalive();
        await new Promise<void>((r) => setImmediate(r));
      }
    },
    async until(pred, maxMs, what, tickMs = 10) {
      const start = clock.now();
      while (!pred()) {
        if (clock.now() - start >= maxMs) throw new Error(`${what}: not reached within ${maxMs} ms of emulated time`);
        await t.advance(tickMs, tickMs);
      }
      return clock.now() - start;
    },
  };
  return t;
}

/** The emulated board as a contract-suite subject. */
export async function emulatedSubject(options: Partial<EmulatedRigOptions> = {}): Promise<BoardUnderTest> {
  const clock = new VirtualClock();
  const plant = new PlantDouble();
  const rig = await startEmulatedRig({ ...options, plant, clock, eepromPath: tempEepromPath() });
  return {
    board: rig.board,
    async advance(ms) {
      for (let done = 0; done < ms; done += 100) {
        clock.advance(100);
        rig.board.keepalive();
        await new Promise<void>((r) => setImmediate(r));
      }
    },
    plant: {
      valve: () => plant.valve,
      pump: () => plant.pump,
      setFloat: (f) => {
        plant.float = f;
        return true;
      },
      addPulses: (n) => {
        plant.flowPulses += n;
      },
    },
    dispose: () => rig.board.close(),
  };
}
