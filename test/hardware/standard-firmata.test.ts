/**
 * Compatibility with firmware nobody here wrote: the unmodified StandardFirmata image in the
 * emulator. The driver connects, works from analog and digital reads, and warns that the
 * protection then depends on the host alone.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pins } from '../../hardware/pins.js';
import { hasTools } from '../helpers/tools.js';
import { openRig, type TestRig } from './rig.js';
import { standardFirmataHex } from './standard-firmata.js';

const T = 60_000;

describe.skipIf(!hasTools('npm', 'tar'))('johnny-five driver against the unmodified StandardFirmata image', () => {
  let hexPath: string | null = null;
  let rig: TestRig | null = null;
  beforeAll(async () => {
    hexPath = await standardFirmataHex();
  }, 180_000);
  afterEach(async () => {
    await rig?.board.close();
    rig = null;
  });

  it(
    'connects and warns that protection depends on the host alone',
    async (ctx) => {
      if (!hexPath) return ctx.skip();
      rig = await openRig({ hexPath });
      expect(rig.driver.protection).toBe('host-only');
      expect(rig.driver.firmwareName).toMatch(/StandardFirmata/);
      const warning = rig.reports.find((r) => r.type === 'warning');
      expect(warning).toBeDefined();
      expect(warning && 'message' in warning ? warning.message : '').toMatch(/without the Aquastop safety extensions.*host alone/);
    },
    T,
  );

  it(
    'still reads the float and the level through analog reads, counts flow pulses, and drives the valve',
    async (ctx) => {
      if (!hexPath) return ctx.skip();
      rig = await openRig({ hexPath });
      expect(rig.board.read()).toMatchObject({ float: 'dry' });
      expect(rig.board.read().tubLevelL).toBeCloseTo(2, 1);
      rig.board.setValve(true);
      await rig.advance(300);
      expect(rig.uno.outputHigh(pins.pins.valve.pin)).toBe(true);
      expect(rig.plant.valve).toBe(true);
      // A realistic meter: a few pulses per 100 ms, each seen through D2's pull-up and the digital reports.
      for (let i = 0; i < 10; i++) {
        rig.plant.flowPulses += 2;
        await rig.advance(100);
      }
      await rig.advance(200);
      expect(rig.board.read().flowPulses).toBe(20);
      rig.plant.float = 'wet';
      rig.plant.tubLevelL = null;
      await rig.advance(300);
      expect(rig.board.read()).toMatchObject({ float: 'wet', tubLevelL: null });
      // No local interlock here: only the host can close the valve.
      rig.board.setValve(false);
      await rig.advance(200);
      expect(rig.plant.valve).toBe(false);
    },
    T,
  );
});
