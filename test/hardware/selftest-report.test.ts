/**
 * A failed firmware self-test reaches the controller: the johnny-five driver turns the STATUS trip
 * reason into the BoardReport `selfTestFailed` (src/board/board.ts), once, and not as a local trip.
 * The emulated board runs an image with one flipped flash byte, so the boot CRC fails; and it
 * stages each periodic self-test failure (the simulator's `selfTestFail` step) by breaking what the
 * firmware checks in the chip, which the firmware then finds, latches and reports by its name.
 */
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { appendFlashCrc } from '../../hardware/firmware/flash-crc.js';
import { defaultFirmwareHex } from '../../hardware/boards/emulated-board.js';
import { bootStageableSelfTests, breakForBoot, firmwareLayout, stageableSelfTests } from '../../hardware/boards/avr/self-test-faults.js';
import { EmulatedUno, loadHexProgram } from '../../hardware/boards/avr/uno.js';
import { selfTestStage, type SelfTestName } from '../../src/board/self-tests.js';
import { decodeStatus, RESULT_CODES } from '../../hardware/boards/safety-sysex.js';
import { hasTools } from '../helpers/tools.js';
import { openRig, type TestRig } from './rig.js';

/** The same image with its stored CRC off by one: a flash the firmware must not trust. */
function corruptedHex(hexPath: string): string {
  const lines = readFileSync(hexPath, 'utf8').split('\n').filter(Boolean);
  const eof = lines.pop()!;
  lines.pop(); // the CRC record the build appended
  const { hex, crcAddress, crc } = appendFlashCrc([...lines, eof, ''].join('\n'));
  const wrong = (crc ^ 0x0100) & 0xffff;
  const bytes = [2, crcAddress >> 8, crcAddress & 0xff, 0, wrong & 0xff, wrong >> 8];
  const sum = (0x100 - (bytes.reduce((a, b) => a + b, 0) & 0xff)) & 0xff;
  const record = `:${[...bytes, sum].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join('')}`;
  const out = hex.split('\n').filter(Boolean);
  out.splice(out.length - 2, 1, record);
  const path = join(mkdtempSync(join(tmpdir(), 'aquastop-bad-crc-')), 'aquastop.hex');
  writeFileSync(path, `${out.join('\n')}\n`);
  return path;
}

describe('self-test results on the host side', () => {
  it('decodes the self-test trip reasons 4-9 and names the test', () => {
    const frame = (reason: number) => [0x04, 0, reason, ...Array<number>(13).fill(0)]; // latched, float dry
    const names = [4, 5, 6, 7, 8, 9].map((r) => decodeStatus(frame(r))?.selfTest);
    expect(names).toEqual(['flash', 'ram', 'watchdog', 'stack', 'adc', 'clock']);
    expect(decodeStatus(frame(1))?.selfTest).toBeNull();
    expect(decodeStatus(frame(3))?.selfTest).toBeNull();
    expect(decodeStatus(frame(10))).toMatchObject({ selfTest: null, tripReason: 'hose safety valve blown', hoseFuseBlown: true });
    expect(decodeStatus(frame(11))).toBeNull(); // beyond the last reason: not a reading
    expect(RESULT_CODES[4]).toMatch(/self-test/);
  });
});

describe.skipIf(!hasTools('avr-gcc', 'avr-g++', 'avr-objcopy', 'avr-ar'))('a failed flash CRC on the emulated board', () => {
  let rig: TestRig | null = null;
  afterEach(async () => {
    await rig?.board.close();
    rig = null;
  });

  it('reports selfTestFailed flash once, not a local trip, and keeps the valve closed', async () => {
    rig = await openRig({ hexPath: corruptedHex(await defaultFirmwareHex()) });
    const r = rig;
    await r.until(() => r.reports.some((x) => x.type === 'selfTestFailed'), 1_000, 'selfTestFailed report');
    r.board.setValve(true);
    await r.advance(500);
    expect(r.plant.valve).toBe(false);
    expect(r.reports.filter((x) => x.type === 'selfTestFailed')).toEqual([{ type: 'selfTestFailed', test: 'flash' }]);
    expect(r.reports.some((x) => x.type === 'localTrip')).toBe(false);
    expect(r.driver.lastStatus).toMatchObject({ latched: true, selfTest: 'flash', tripReason: 'self-test failed: flash' });
  }, 60_000);
});

describe.skipIf(!hasTools('avr-gcc', 'avr-g++', 'avr-objcopy', 'avr-ar'))('periodic self-test failures staged on the emulated chip', () => {
  let rig: TestRig | null = null;
  afterEach(async () => {
    await rig?.board.close();
    rig = null;
  });

  /** Emulated ms within which the firmware must find each: its check period, or two where it wants two bad checks in a row (the broken watchdog oscillator's own periods are 256 ms). */
  const within: Record<'stack' | 'adc' | 'clock', number> = { stack: 150, adc: 2_100, clock: 700 };

  it.each(['stack', 'adc', 'clock'] as const)(
    '%s: the firmware finds it, closes the valve, latches it in EEPROM and reports it by name',
    async (test) => {
      rig = await openRig();
      const r = rig;
      const stage = selfTestStage(r.board);
      expect(stage?.stageableSelfTests).toEqual(['stack', 'adc', 'clock']);
      r.board.setValve(true);
      await r.advance(1_200); // every periodic check has passed at least once
      expect(r.plant.valve).toBe(true);
      expect(r.reports.some((x) => x.type === 'selfTestFailed')).toBe(false);
      stage!.failSelfTest(test);
      const ms = await r.until(() => r.reports.some((x) => x.type === 'selfTestFailed'), 3_000, `${test} reported`);
      expect(ms).toBeLessThanOrEqual(within[test]);
      expect(r.plant.valve).toBe(false);
      expect(r.reports.filter((x) => x.type === 'selfTestFailed')).toEqual([{ type: 'selfTestFailed', test }]);
      expect(r.driver.lastStatus).toMatchObject({ latched: true, selfTest: test });
      r.board.setValve(true);
      await r.advance(300);
      expect(r.plant.valve).toBe(false);
    },
    60_000,
  );

  it('cannot stage a start-up test on a running chip, nor the stack canary without the ELF that says where it is', async () => {
    const hex = await defaultFirmwareHex();
    expect(stageableSelfTests(firmwareLayout(hex))).toEqual(['stack', 'adc', 'clock']);
    const alone = join(mkdtempSync(join(tmpdir(), 'aquastop-no-elf-')), 'aquastop.hex');
    copyFileSync(hex, alone);
    expect(stageableSelfTests(firmwareLayout(alone))).toEqual(['adc', 'clock']);
    rig = await openRig();
    for (const test of ['flash', 'ram', 'watchdog'] as SelfTestName[]) expect(() => rig!.board.failSelfTest(test)).toThrow(/cannot fail/);
    // Those fail at a boot (test/sim/self-test-steps.test.ts), staged before open(); this chip has booted.
    expect(rig.board.bootStageableSelfTests).toEqual(['ram', 'watchdog', 'flash']);
    expect(() => rig!.board.failSelfTestAtBoot('ram')).toThrow(/has booted/);
  }, 60_000);

  it('stages the start-up tests for the boot: flash only where it finds a vector the firmware never enables, never a periodic test', async () => {
    const hex = await defaultFirmwareHex();
    const program = loadHexProgram(hex);
    const layout = firmwareLayout(hex, program);
    expect(layout.unusedVectorAt).not.toBeNull();
    expect(bootStageableSelfTests(layout)).toEqual(['ram', 'watchdog', 'flash']);
    expect(bootStageableSelfTests(firmwareLayout(hex))).toEqual(['ram', 'watchdog']); // no image given
    const uno = new EmulatedUno({ program });
    expect(() => breakForBoot(uno, 'stack', layout)).toThrow(/cannot fail the "stack" self-test at its boot/);
    const before = program.slice();
    breakForBoot(uno, 'flash', layout);
    const changed = [...new Uint8Array(program.buffer)].flatMap((b, i) => (b !== new Uint8Array(before.buffer)[i] ? [i] : []));
    expect(changed).toEqual([layout.unusedVectorAt]); // one byte, inside the vector table
    expect(layout.unusedVectorAt!).toBeLessThan(26 * 4);
  });
});
