/**
 * A failed firmware self-test reaches the controller: the johnny-five driver turns the STATUS trip
 * reason into the BoardReport `selfTestFailed` (src/board/board.ts), once, and not as a local trip.
 * The emulated board runs an image with one flipped flash byte, so the boot CRC fails.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { appendFlashCrc } from '../../hardware/firmware/flash-crc.js';
import { defaultFirmwareHex } from '../../hardware/boards/emulated-board.js';
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
    const frame = (reason: number) => [0x04, 0, reason, ...Array<number>(12).fill(0)]; // latched, float dry
    const names = [4, 5, 6, 7, 8, 9].map((r) => decodeStatus(frame(r))?.selfTest);
    expect(names).toEqual(['flash', 'ram', 'watchdog', 'stack', 'adc', 'clock']);
    expect(decodeStatus(frame(1))?.selfTest).toBeNull();
    expect(decodeStatus(frame(10))).toBeNull(); // beyond the last reason: not a reading
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
