/**
 * The unmodified StandardFirmata image for the Uno, from the avrgirl-arduino 5.0.1 tarball on
 * the npm registry (`npm pack`, never installed, never committed), cached under the OS temp dir.
 * Returns null when it cannot be fetched (offline); under CI=true that throws instead.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const PACKAGE = 'avrgirl-arduino@5.0.1';
const TARBALL = 'avrgirl-arduino-5.0.1.tgz';
const MEMBER = 'package/junk/hex/uno/StandardFirmata.cpp.hex';

export async function standardFirmataHex(cacheDir = join(tmpdir(), 'aquastop-standard-firmata')): Promise<string | null> {
  const hex = join(cacheDir, MEMBER);
  if (existsSync(hex)) return hex;
  try {
    mkdirSync(cacheDir, { recursive: true });
    if (!existsSync(join(cacheDir, TARBALL))) {
      await run('npm', ['pack', PACKAGE, '--pack-destination', cacheDir, '--silent'], { cwd: cacheDir, timeout: 120_000 });
    }
    await run('tar', ['-xzf', TARBALL, MEMBER], { cwd: cacheDir, timeout: 60_000 });
    return hex;
  } catch (err) {
    const message = `cannot fetch StandardFirmata (npm pack ${PACKAGE}): ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
    if (process.env.CI === 'true') throw new Error(message, { cause: err });
    console.warn(`SKIP: ${message}`);
    return null;
  }
}
