/**
 * `aquastop firmware build [--out DIR]` compiles the Uno firmware into a .hex;
 * `aquastop firmware flash --port PATH [--hex FILE]` uploads it with avrdude (building it first
 * when no --hex is given). Every failure (missing compiler, avrdude, port, failed upload) is one
 * line on stderr and exit 2.
 */
import type { Command } from 'commander';
import { UsageError } from './errors.js';

const AVRDUDE_HINT = 'install avrdude (Debian package avrdude)';

async function build(outDir: string | undefined): Promise<{ hexPath: string; ms: number; flashBytes: number; cached: boolean }> {
  const { buildFirmware, isFirmwareBuildError } = await import('../../hardware/firmware/build.js');
  try {
    return await buildFirmware(outDir === undefined ? {} : { outDir });
  } catch (err) {
    if (isFirmwareBuildError(err)) throw new UsageError(`firmware build: ${err.message}`);
    throw err;
  }
}

/**
 * The line of avrdude's output that says what went wrong. avrdude ends with a generic "unable
 * to open programmer"; the cause (no answer, busy port, permissions) is earlier, so look for
 * known causes first, then fall back to the last error line.
 */
export function avrdudeReason(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^avrdude( done|:? *Thank you)/i.test(l));
  const causes = [
    [/permission denied/i, 'permission denied (add yourself to the dialout group)'],
    [/busy/i, 'the port is busy (another program has it open)'],
    [/programmer is not responding|not in sync/i, 'the board does not answer (is it an Uno with its bootloader, on this port?)'],
    [/verification error|mismatch/i, 'verification failed (flash contents differ from the image)'],
  ] as const;
  for (const [pattern, reason] of causes) if (lines.some((l) => pattern.test(l))) return reason;
  const errorLine = [...lines].reverse().find((l) => /error|can't|cannot|failed|timeout/i.test(l));
  return (errorLine ?? lines[lines.length - 1] ?? 'no output').replace(/^avrdude(\.exe)?( OS)?( error)?:?\s*/i, '').slice(0, 200);
}

export function register(program: Command): void {
  const firmware = program.command('firmware').description('build and flash the Arduino Uno firmware (hardware/firmware)');

  firmware
    .command('build')
    .description('compile the firmware with avr-gcc into a .hex (default build/firmware/aquastop.hex)')
    .option('--out <dir>', 'output directory')
    .action(async (opts: { out?: string }) => {
      const r = await build(opts.out);
      const { UNO_APP_FLASH_BYTES } = await import('../../hardware/firmware/build.js');
      process.stdout.write(`${r.hexPath}: ${r.flashBytes} of ${UNO_APP_FLASH_BYTES} bytes of flash, ${r.cached ? 'unchanged (cached)' : 'built'} in ${r.ms} ms\n`);
    });

  firmware
    .command('flash')
    .description('upload the firmware to an Uno with avrdude (-c arduino -p m328p -b 115200)')
    .requiredOption('--port <path>', 'serial port of the board, e.g. /dev/ttyACM0')
    .option('--hex <file>', 'image to upload (default: build it first)')
    .action(async (opts: { port: string; hex?: string }) => {
      const { existsSync } = await import('node:fs');
      const { findOnPath } = await import('../../hardware/firmware/build.js');
      const avrdude = findOnPath('avrdude');
      if (!avrdude) throw new UsageError(`avrdude not found: ${AVRDUDE_HINT}`);
      if (!existsSync(opts.port)) throw new UsageError(`port ${opts.port} does not exist (is the board plugged in? try "aquastop ports")`);
      let hex = opts.hex;
      if (hex === undefined) hex = (await build(undefined)).hexPath;
      else if (!existsSync(hex)) throw new UsageError(`hex file ${hex} does not exist (run "aquastop firmware build")`);
      if (/[:]/.test(hex)) throw new UsageError(`hex file path must not contain ':' (avrdude's -U separator): ${hex}`);

      const { execFile } = await import('node:child_process');
      const started = Date.now();
      await new Promise<void>((resolvePromise, reject) => {
        execFile(
          avrdude,
          ['-c', 'arduino', '-p', 'm328p', '-b', '115200', '-P', opts.port, '-U', `flash:w:${hex}:i`],
          { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
          (err, _stdout, stderr) => {
            if (err) reject(new UsageError(`upload to ${opts.port} failed: ${avrdudeReason(stderr || err.message)}`));
            else resolvePromise();
          },
        );
      });
      process.stdout.write(`flashed ${hex} to ${opts.port} in ${Date.now() - started} ms\n`);
    });
}
