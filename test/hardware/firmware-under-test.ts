/**
 * The firmware the pin-level tests run: a test image (buildFirmware's `testImage`, which has the
 * test-only TEST_HANG command; the image boards are flashed with does not). By default built
 * from hardware/firmware/src into build/firmware-test;
 * with AQUASTOP_FIRMWARE_SRC set, a build of that source directory instead (the mutation runner,
 * test/firmware-mutants/run.ts, points it at an altered copy). Variants (a short debounce) are
 * built from the same sources into their own output directory.
 */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { buildFirmware } from '../../hardware/firmware/build.js';
import { parseIntelHex } from '../../hardware/firmware/intel-hex.js';
import type { PinMap } from '../../hardware/pins.js';

const altSrc = process.env.AQUASTOP_FIRMWARE_SRC?.trim() || undefined;

/** Where the tested firmware's sources are (undefined: the real tree). */
export const firmwareSrcDir: string | undefined = altSrc ? resolve(altSrc) : undefined;

export interface FirmwareUnderTest {
  readonly program: Uint16Array;
  readonly hexPath: string;
  /** The ELF beside the .hex (symbols for tests that corrupt a known address). */
  readonly elfPath: string;
  /** Bytes of the image (without the CRC the build appends after it). */
  readonly image: Uint8Array;
}

function outDirFor(variant: string | undefined): string | undefined {
  if (firmwareSrcDir) return join(dirname(firmwareSrcDir), `build-${variant ?? 'default'}`);
  if (!variant) return undefined; // the default test-image directory, shared with the other tests
  return join(tmpdir(), `aquastop-fw-${variant}`);
}

/** Builds (cached) and loads the firmware; `variant` names a build with another pin map. */
export async function firmwareUnderTest(variant?: { name: string; pins: PinMap }): Promise<FirmwareUnderTest> {
  const outDir = outDirFor(variant?.name);
  const { hexPath } = await buildFirmware({
    testImage: true,
    ...(outDir ? { outDir } : {}),
    ...(firmwareSrcDir ? { srcDir: firmwareSrcDir } : {}),
    ...(variant ? { pins: variant.pins } : {}),
  });
  const image = parseIntelHex(readFileSync(hexPath, 'utf8')).data;
  const program = new Uint16Array(0x4000);
  new Uint8Array(program.buffer).set(image);
  return { program, hexPath, elfPath: hexPath.replace(/\.hex$/, '.elf'), image: image.subarray(0, image.length - 2) };
}
