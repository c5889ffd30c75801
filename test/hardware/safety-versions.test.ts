/**
 * A maker updates the npm package but not the board: the new driver meets a board still running
 * the previous firmware (safety protocol 1.0, a 15-byte STATUS without the hose-fuse input). The
 * driver reads it with the layout of its day (no hose input: never blown), says once, on one
 * line, what the board lacks and how to re-flash it, and counts none of its frames as garbage; a
 * board newer than the driver, or of another major, is refused with one line (PROTOCOL.md §2
 * "Versions"). The emulated case runs the real 1.0 image (test/hardware/fixtures/README.md).
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeStatus, HOSE_FUSE_MINOR, safetyCompatibility, SAFETY_MAJOR, SAFETY_MINOR, statusBytes } from '../../hardware/boards/safety-sysex.js';
import { hasTools } from '../helpers/tools.js';
import { openRig, type TestRig } from './rig.js';

const OLD_HEX = fileURLToPath(new URL('./fixtures/aquastop-safety-1.0.hex', import.meta.url));

/** A STATUS of a minor 0 board as it is on the wire: armed, valve open, float dry, 133 pulses, seq 7. */
const minor0 = [0x11, 0x00, 0x00, 0x05, 0x01, 0, 0, 0, 0x66, 0x02, 0x00, 0x04, 0x01, 0x07, 0x00];

describe('STATUS of an older board (safety 1.0)', () => {
  it('decodes the 15-byte layout of minor 0, with no hose-fuse input: never blown', () => {
    expect(statusBytes(0)).toBe(15);
    expect(statusBytes(HOSE_FUSE_MINOR)).toBe(16);
    expect(decodeStatus(minor0, undefined, 0)).toMatchObject({ valveOutput: true, armed: true, float: 'dry', pulses: 133, seq: 7, hoseFuseBlown: false });
  });

  it('refuses a frame whose length or trip reason does not belong to the minor it claims', () => {
    expect(decodeStatus(minor0)).toBeNull(); // 15 bytes read as this driver's own minor
    expect(decodeStatus([...minor0, 0x01], undefined, 0)).toBeNull(); // 16 bytes from a minor 0 board
    expect(
      decodeStatus(
        minor0.map((b, i) => (i === 2 ? 10 : b)),
        undefined,
        0,
      ),
    ).toBeNull(); // the hose reason did not exist yet
    expect(
      decodeStatus(
        minor0.map((b, i) => (i === 2 ? 9 : b)),
        undefined,
        0,
      ),
    ).toMatchObject({ selfTest: 'clock', hoseFuseBlown: false });
  });

  it('runs an older minor with one warning line naming what it lacks and the re-flash command', () => {
    const { refused, warning } = safetyCompatibility({ major: SAFETY_MAJOR, minor: 0 }, '/dev/ttyACM0');
    expect(refused).toBeNull();
    expect(warning).toMatch(/older.*1\.0.*hose-fuse.*iH0.*aquastop firmware flash --port \/dev\/ttyACM0$/);
    expect(warning).not.toContain('\n');
    expect(safetyCompatibility({ major: SAFETY_MAJOR, minor: SAFETY_MINOR }, 'p')).toEqual({ refused: null, warning: null });
  });

  it('refuses a newer minor or another major with one line', () => {
    for (const v of [
      { major: SAFETY_MAJOR, minor: SAFETY_MINOR + 1 },
      { major: SAFETY_MAJOR + 1, minor: 0 },
      { major: 0, minor: 3 },
    ]) {
      const { refused, warning } = safetyCompatibility(v, '/dev/ttyACM0');
      expect(warning).toBeNull();
      expect(refused, `${v.major}.${v.minor}`).toMatch(new RegExp(`safety protocol ${v.major}\\.${v.minor}, which this aquastop .* cannot read; .*aquastop firmware flash`));
      expect(refused).not.toContain('\n');
    }
  });
});

describe.skipIf(!hasTools('avr-gcc', 'avr-g++', 'avr-objcopy', 'avr-ar'))('the previous firmware (safety 1.0) in the emulator, driven by this driver', () => {
  let rig: TestRig | null = null;
  afterEach(async () => {
    await rig?.board.close();
    rig = null;
  });

  it('runs it: one re-flash warning, no garbage, inputs read, the valve obeys, and a blown hose is not sensed', async () => {
    rig = await openRig({ hexPath: OLD_HEX });
    const r = rig;
    expect(r.driver.safetyVersion).toMatchObject({ major: 1, minor: 0 });
    expect(r.driver.protection).toBe('firmware');
    r.plant.flowPulses = 40;
    r.board.setValve(true);
    await r.advance(1_500);
    expect(r.plant.valve).toBe(true);
    expect(r.board.read()).toMatchObject({ float: 'dry', flowPulses: 40 });
    expect(r.board.read()).not.toHaveProperty('hoseFuseBlown');
    r.plant.hoseFuseBlown = true; // the old firmware does not read D4
    await r.advance(1_000);
    expect(r.board.read()).not.toHaveProperty('hoseFuseBlown');
    expect(r.plant.valve).toBe(true);
    expect(r.driver.garbageFrames).toBe(0);
    const warnings = r.reports.filter((x) => x.type === 'warning');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ message: expect.stringMatching(/safety protocol 1\.0.*re-flash it: aquastop firmware flash --port/) });
    // Its own interlock still works: a wet float latches it.
    r.plant.float = 'wet';
    await r.until(() => !r.plant.valve, 11_000, 'the old firmware closes the valve on a wet float', 100);
    expect(r.reports.some((x) => x.type === 'localTrip')).toBe(true);
  }, 120_000);
});
