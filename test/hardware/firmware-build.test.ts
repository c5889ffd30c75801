import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildFirmware, isFirmwareBuildError, UNO_APP_FLASH_BYTES } from '../../hardware/firmware/build.js';
import { parseIntelHex } from '../../hardware/firmware/intel-hex.js';
import { generatePinsHeader } from '../../hardware/firmware/pins-header.js';
import { floatStateFromAdc, floatVolts, levelLitresFromAdc, levelVolts, pinRows, pins } from '../../hardware/pins.js';
import { avrdudeReason } from '../../src/commands/firmware.js';
import { mainInProcess } from '../helpers/main-in-process.js';
import { hasTools } from '../helpers/tools.js';

const dirs: string[] = [];
function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'aquastop-fw-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the build to fail, it succeeded');
}

describe.skipIf(!hasTools('avr-gcc', 'avr-g++', 'avr-objcopy', 'avr-ar'))('firmware build', () => {
  it('builds a valid Intel HEX image that fits the Uno beside its bootloader', async () => {
    const r = await buildFirmware({ outDir: scratch() });
    const image = parseIntelHex(readFileSync(r.hexPath, 'utf8'));
    expect(image.bytesWritten).toBe(r.flashBytes);
    expect(r.flashBytes).toBeGreaterThan(2000);
    expect(r.flashBytes).toBeLessThanOrEqual(UNO_APP_FLASH_BYTES);
    // The reset vector is a JMP (0x940C) into the C runtime start-up.
    expect([image.data[0], image.data[1]]).toEqual([0x0c, 0x94]);
    console.log(JSON.stringify({ firmwareBuildMs: r.ms, hexFlashBytes: r.flashBytes }));
  });

  it('gives identical bytes when built twice from scratch', async () => {
    const a = await buildFirmware({ outDir: scratch(), force: true });
    const b = await buildFirmware({ outDir: scratch(), force: true });
    expect(a.cached).toBe(false);
    expect(b.cached).toBe(false);
    expect(readFileSync(b.hexPath)).toEqual(readFileSync(a.hexPath));
  });

  it('returns the cached image when nothing changed', async () => {
    const outDir = scratch();
    const first = await buildFirmware({ outDir });
    const again = await buildFirmware({ outDir });
    expect(again.cached).toBe(true);
    expect(again.hexPath).toBe(first.hexPath);
  });

  it('reports a bad compiler flag as one line naming the flag', async () => {
    const err = await rejection(buildFirmware({ outDir: scratch(), extraFlags: ['--no-such-flag'] }));
    expect(isFirmwareBuildError(err)).toBe(true);
    expect(err.message).not.toContain('\n');
    expect(err.message).toContain('--no-such-flag');
  });

  it('refuses an invalid pin map with one line naming the field', async () => {
    const bad = { ...pins, safety: { ...pins.safety, linkTimeoutMs: 5 } };
    const err = await rejection(buildFirmware({ outDir: scratch(), pins: bad }));
    expect(isFirmwareBuildError(err)).toBe(true);
    expect(err.message).toMatch(/^pin map is invalid: safety\.linkTimeoutMs: /);
    expect(err.message).not.toContain('\n');
  });

  it('reports a missing compiler as one line saying what to install', async () => {
    const err = await rejection(buildFirmware({ outDir: scratch(), tools: { gxx: 'avr-g++-not-installed' } }));
    expect(isFirmwareBuildError(err)).toBe(true);
    expect(err.message).not.toContain('\n');
    expect(err.message).toMatch(/avr-g\+\+-not-installed not found: install gcc-avr/);
  });
});

describe('firmware command', () => {
  it('says in one line, exit 2, that the compiler is missing when avr-gcc is not on PATH', async () => {
    const path = process.env.PATH;
    process.env.PATH = scratch(); // an empty directory
    try {
      const r = await mainInProcess(['firmware', 'build', '--out', scratch()]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^aquastop: firmware build: avr-gcc not found: install gcc-avr/);
    } finally {
      process.env.PATH = path;
    }
  });

  it('says in one line, exit 2, that avrdude is missing when it is not on PATH', async () => {
    const path = process.env.PATH;
    process.env.PATH = scratch();
    try {
      const r = await mainInProcess(['firmware', 'flash', '--port', '/dev/null']);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe('aquastop: avrdude not found: install avrdude (Debian package avrdude)\n');
    } finally {
      process.env.PATH = path;
    }
  });

  it.skipIf(!hasTools('avrdude'))('refuses a port that does not exist with one line and exit 2', async () => {
    const r = await mainInProcess(['firmware', 'flash', '--port', '/dev/aquastop-no-such-port', '--hex', 'x.hex']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/port \/dev\/aquastop-no-such-port does not exist/);
  });

  it.skipIf(!hasTools('avrdude'))('turns a failed upload into one line and exit 2', async () => {
    const outDir = scratch();
    const hex = join(outDir, 'tiny.hex');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(hex, ':00000001FF\n');
    // /dev/null exists but is no programmer: avrdude fails at once.
    const r = await mainInProcess(['firmware', 'flash', '--port', '/dev/null', '--hex', hex]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/upload to \/dev\/null failed: /);
  });
});

describe('avrdude failure reasons', () => {
  it("names the cause, not avrdude's generic last line, when the board does not answer", () => {
    const out = [
      'avrdude error: programmer is not responding',
      'avrdude warning: attempt 10 of 10: not in sync: resp=0x00',
      'avrdude error: unable to open programmer arduino on port /dev/ttyACM0',
      '',
      'avrdude done.  Thank you.',
    ].join('\n');
    expect(avrdudeReason(out)).toMatch(/^the board does not answer/);
  });

  it('falls back to the last error line', () => {
    expect(avrdudeReason('avrdude error: something odd\navrdude done.  Thank you.\n')).toBe('something odd');
  });
});

describe('pin map', () => {
  it('generates the firmware header from pins.json', () => {
    const h = generatePinsHeader(pins);
    expect(h).toContain(`#define AQ_PIN_VALVE ${pins.pins.valve.pin}\n`);
    expect(h).toContain(`#define AQ_WET_DEBOUNCE_MS ${pins.safety.wetDebounceMs}UL\n`);
    expect(h).not.toMatch(/__DATE__|__TIME__|20\d\d-/);
  });

  it('agrees with the pin table in WIRING.md', () => {
    const wiring = readFileSync(new URL('../../hardware/WIRING.md', import.meta.url), 'utf8');
    const table = wiring.split('<!-- pins:begin')[1]?.split('<!-- pins:end -->')[0] ?? '';
    const rows = table
      .split('\n')
      .filter((l) => /^\| [DA]\d+ \|/.test(l))
      .map((l) => {
        const cells = l.split('|').map((c) => c.trim());
        return { name: cells[1], role: cells[2] };
      });
    expect(rows).toEqual(pinRows());
  });

  it('maps each float state to a voltage the firmware reads back as that state', () => {
    for (const state of ['dry', 'wet', 'open'] as const) {
      const adc = Math.round((floatVolts(state) / 5) * 1023);
      expect(floatStateFromAdc(adc)).toBe(state);
    }
    expect(floatStateFromAdc(0)).toBe('open'); // shorted cable is a wire fault, never dry
  });

  it('maps tub litres to sensor volts and back, and a broken wire to null', () => {
    const adc = Math.round((levelVolts(4) / 5) * 1023);
    expect(levelLitresFromAdc(adc)).toBeCloseTo(4, 1);
    expect(levelLitresFromAdc(Math.round((levelVolts(null) / 5) * 1023))).toBeNull();
  });
});
