/**
 * The firmware's test-only command (TEST_HANG, PROTOCOL.md section 2) is compiled only into test
 * images (buildFirmware's `testImage`, `-DAQ_TEST_IMAGE`). The image `aquastop firmware build`
 * makes, which `aquastop firmware flash` uploads and the emulated board runs, ignores it: sent
 * with its key, the chip keeps running and reporting, and the watchdog never resets it. The
 * test image hangs and is reset, so the same bytes tell the two apart.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildFirmware, DEFAULT_OUT_DIR, isFirmwareBuildError } from '../../hardware/firmware/build.js';
import { parseIntelHex } from '../../hardware/firmware/intel-hex.js';
import { pins } from '../../hardware/pins.js';
import { defaultFirmwareHex } from '../../hardware/boards/emulated-board.js';
import { hasTools } from '../helpers/tools.js';
import { EmulatedUno, VALVE } from './firmware-avr-harness.js';
import { firmwareUnderTest } from './firmware-under-test.js';

const T = 120_000;
const TEST_HANG = [0xf0, 0x0f, 0x48, 0x47, 0xf7]; // with its key, "HG"

function programOf(hexPath: string): Uint16Array {
  const program = new Uint16Array(0x4000);
  new Uint8Array(program.buffer).set(parseIntelHex(readFileSync(hexPath, 'utf8')).data);
  return program;
}

/** Started, armed, valve open; then TEST_HANG and watchdogMs + 500 ms with the host alive. */
function sendHang(program: Uint16Array): EmulatedUno {
  const uno = new EmulatedUno(program, { modelSleep: true });
  uno.start();
  uno.arm();
  uno.send(0xf4, VALVE, 0x01);
  uno.requestValve(true);
  uno.run(20);
  uno.send(...TEST_HANG);
  uno.run(pins.safety.watchdogMs + 500, { ms: 300, action: () => (uno.keepalive(), uno.requestValve(true)) });
  return uno;
}

describe.skipIf(!hasTools('avr-gcc', 'avr-g++', 'avr-objcopy', 'avr-ar'))('TEST_HANG only in test images', () => {
  let shipped: Uint16Array;
  let test: Uint16Array;
  beforeAll(async () => {
    // The image users flash: what `aquastop firmware build` builds (no options) and the emulated board loads.
    const { hexPath } = await buildFirmware();
    expect(await defaultFirmwareHex()).toBe(hexPath);
    shipped = programOf(hexPath);
    test = (await firmwareUnderTest()).program;
  }, T);

  it('the shipped image ignores TEST_HANG: no watchdog reset, still reporting, valve still open', () => {
    const uno = sendHang(shipped);
    expect(uno.resetsSinceStart).toBe(0);
    const before = uno.statuses.length;
    uno.run(500);
    expect(uno.statuses.length).toBeGreaterThan(before);
    expect(uno.lastStatus).toMatchObject({ resetCause: 0x01, armed: true, latched: false });
    expect(uno.valveOpen).toBe(true);
  });

  it('the test image hangs on TEST_HANG and the watchdog resets it', () => {
    const uno = sendHang(test);
    expect(uno.resetsSinceStart).toBe(1);
    expect(uno.lastStatus.resetCause).toBe(0x08);
    expect(uno.valveOpen).toBe(false);
  });

  it('refuses to build a test image where the shipped image goes', async () => {
    const err = await buildFirmware({ testImage: true, outDir: DEFAULT_OUT_DIR }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isFirmwareBuildError(err)).toBe(true);
    expect((err as Error).message).toMatch(/never built into/);
  });
});
