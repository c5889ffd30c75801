/**
 * `aquastop emulate [--hex FILE] [--eeprom FILE] [--float dry|wet|open]`: the emulated Uno (our
 * firmware in avr8js) as a serial line on stdin/stdout, at wall-clock pace against a still
 * plant. Put it behind a pty and every serial tool, `aquastop run` included, sees an Arduino:
 *
 *   socat PTY,link=/tmp/uno,raw,echo=0,wait-slave EXEC:"npx aquastop emulate"
 *
 * Each flag also comes from its environment variable (AQUASTOP_HEX, AQUASTOP_EEPROM,
 * AQUASTOP_FLOAT). Ends when stdin closes. A bad flag or a firmware that cannot be built is one
 * line and exit 2.
 */
import { Option, type Command } from 'commander';
import { z } from 'zod';
import { issueLines, UsageError } from './errors.js';

const optionsSchema = z.object({
  hex: z.string().min(1, '--hex needs a .hex file').optional(),
  eeprom: z.string().min(1, '--eeprom needs a file name').optional(),
  float: z.enum(['dry', 'wet', 'open'], { error: (issue) => `--float must be dry, wet or open, not ${String(issue.input)}` }),
});

export type EmulateOptions = z.infer<typeof optionsSchema>;

export function parseEmulateOptions(raw: unknown): EmulateOptions {
  const parsed = optionsSchema.safeParse(raw);
  if (!parsed.success) throw new UsageError(issueLines(parsed.error.issues));
  return parsed.data;
}

async function emulate(options: EmulateOptions): Promise<void> {
  const { existsSync } = await import('node:fs');
  if (options.hex !== undefined && !existsSync(options.hex)) throw new UsageError(`--hex ${options.hex} does not exist (run "aquastop firmware build")`);
  const { buildFirmware, isFirmwareBuildError } = await import('../../hardware/firmware/build.js');
  let hexPath = options.hex;
  if (hexPath === undefined) {
    try {
      hexPath = (await buildFirmware()).hexPath;
    } catch (err) {
      if (isFirmwareBuildError(err)) throw new UsageError(`firmware build: ${err.message}`);
      throw err;
    }
  }
  const { serveUnoOnStreams } = await import('../../hardware/boards/avr/serial-stdio.js');
  const uno = serveUnoOnStreams({ hexPath, eepromPath: options.eeprom, float: options.float, input: process.stdin, output: process.stdout });
  await uno.ended;
}

export function register(program: Command): void {
  program
    .command('emulate')
    .description('run the emulated Uno (the firmware in avr8js) as a serial line on stdin/stdout; put it behind a pty with socat')
    .addOption(new Option('--hex <file>', 'firmware image (default: build it, as "aquastop firmware build")').env('AQUASTOP_HEX'))
    .addOption(new Option('--eeprom <file>', 'keep the EEPROM in this file (the latch survives a restart)').env('AQUASTOP_EEPROM'))
    .addOption(new Option('--float <state>', 'the float switch: dry, wet or open (a broken wire)').env('AQUASTOP_FLOAT').default('dry'))
    .action(async (raw: unknown) => {
      await emulate(parseEmulateOptions(raw));
    });
}
