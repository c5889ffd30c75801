/**
 * The Board contract suite (the rules in src/board/board.ts), one function run against every
 * board: the simulated appliance, the emulated Arduino, and a real Arduino when
 * AQUASTOP_TEST_PORT names one. Like node-serialport's binding tests: same suite, many targets.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Board, BoardReport } from '../../src/board/board.js';
import type { FloatReading } from '../../src/machine/events.js';

/** The appliance side of a board, where a test can see and set it (not on a real port). */
export interface PlantAccess {
  valve(): boolean;
  pump(): boolean;
  /** Sets the float's signal; false when this plant cannot produce that reading (e.g. no wire model). */
  setFloat(reading: FloatReading): boolean;
  /** Adds exactly `n` flow-meter pulses; absent where pulses only come from real flow. */
  addPulses?(n: number): void;
}

export interface BoardUnderTest {
  readonly board: Board;
  /** Moves time on by `ms` (drives the clock, yields to I/O), calling keepalive like a runtime would. */
  advance(ms: number): Promise<void>;
  readonly plant?: PlantAccess;
  dispose(): Promise<void>;
}

export function boardContract(name: string, create: () => Promise<BoardUnderTest>, timeoutMs = 20_000): void {
  describe(`Board contract: ${name}`, () => {
    let t: BoardUnderTest;
    beforeEach(async () => {
      t = await create();
    }, timeoutMs);
    afterEach(async () => {
      await t.dispose();
    }, timeoutMs);

    it(
      'opens with the valve closed and the drain pump off',
      async () => {
        await t.board.open();
        await t.advance(200);
        if (t.plant) {
          expect(t.plant.valve()).toBe(false);
          expect(t.plant.pump()).toBe(false);
        }
        expect(['dry', 'wet', 'open']).toContain(t.board.read().float);
      },
      timeoutMs,
    );

    it(
      'reads synchronously: a float state, a pulse count and a level or null',
      async () => {
        await t.board.open();
        const inputs = t.board.read();
        expect(inputs).not.toBeInstanceOf(Promise);
        expect(['dry', 'wet', 'open']).toContain(inputs.float);
        expect(Number.isInteger(inputs.flowPulses) && inputs.flowPulses >= 0).toBe(true);
        expect(inputs.tubLevelL === null || Number.isFinite(inputs.tubLevelL)).toBe(true);
        expect(t.board.pulsesPerLitre).toBeGreaterThan(0);
      },
      timeoutMs,
    );

    it(
      'opens and closes the valve and switches the pump on command',
      async () => {
        await t.board.open();
        t.board.setValve(true);
        t.board.setDrainPump(true);
        await t.advance(300);
        if (t.plant) {
          expect(t.plant.valve()).toBe(true);
          expect(t.plant.pump()).toBe(true);
        }
        t.board.setValve(false);
        t.board.setDrainPump(false);
        await t.advance(300);
        if (t.plant) {
          expect(t.plant.valve()).toBe(false);
          expect(t.plant.pump()).toBe(false);
        }
      },
      timeoutMs,
    );

    it(
      'counts flow pulses monotonically',
      async () => {
        await t.board.open();
        const exact = t.plant?.addPulses !== undefined;
        // Where pulses only come from real flow, let water run.
        if (t.plant && !exact) t.board.setValve(true);
        const before = t.board.read().flowPulses;
        const seen: number[] = [];
        for (let i = 0; i < 8; i++) {
          t.plant?.addPulses?.(4);
          await t.advance(100);
          seen.push(t.board.read().flowPulses);
        }
        t.board.setValve(false);
        await t.advance(400);
        seen.push(t.board.read().flowPulses);
        for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThanOrEqual(seen[i - 1]!);
        if (t.plant && exact) expect(seen[seen.length - 1]! - before).toBe(32);
        else if (t.plant) expect(seen[seen.length - 1]!).toBeGreaterThan(before);
      },
      timeoutMs,
    );

    it(
      'reads a wet float as wet and a broken float wire as open, never dry',
      async () => {
        if (!t.plant) return;
        await t.board.open();
        expect(t.plant.setFloat('wet')).toBe(true);
        await t.advance(500);
        expect(t.board.read().float).toBe('wet');
        if (t.plant.setFloat('open')) {
          await t.advance(500);
          expect(t.board.read().float).toBe('open');
        }
        t.plant.setFloat('dry');
        await t.advance(500);
        expect(t.board.read().float).toBe('dry');
      },
      timeoutMs,
    );

    it(
      'hands out an unsubscribe function for reports and delivers nothing after it is called',
      async () => {
        await t.board.open();
        const got: BoardReport[] = [];
        const off = t.board.onReport((r) => got.push(r));
        expect(typeof off).toBe('function');
        off();
        t.board.keepalive();
        await t.advance(100);
        expect(got.filter((r) => r.type === 'error')).toEqual([]);
      },
      timeoutMs,
    );

    it(
      'closes the valve on close() and ignores calls afterwards',
      async () => {
        await t.board.open();
        t.board.setValve(true);
        await t.advance(300);
        await t.board.close();
        expect(() => {
          t.board.setValve(true);
          t.board.setDrainPump(true);
          t.board.keepalive();
        }).not.toThrow();
        await t.advance(300);
        if (t.plant) expect(t.plant.valve()).toBe(false);
        await t.board.close();
      },
      timeoutMs,
    );
  });
}
