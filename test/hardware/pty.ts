/**
 * The emulated Uno behind a pseudo-terminal (socat + `aquastop emulate`), so
 * `aquastop run --port` and the serialport native binding talk to it like to a USB Arduino.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PtyUno {
  readonly path: string;
  readonly dir: string;
  stop(): Promise<void>;
}

/** `aquastop emulate`'s flags. */
export interface PtyUnoOptions {
  /** Firmware image. */
  readonly hex: string;
  readonly eeprom?: string;
  readonly float?: 'dry' | 'wet' | 'open';
}

/** Starts one; `at` puts it back at the path of an earlier one (a board plugged in again). */
export async function startPtyUno(options: PtyUnoOptions, at?: Pick<PtyUno, 'dir' | 'path'>): Promise<PtyUno> {
  const dir = at?.dir ?? mkdtempSync(join(tmpdir(), 'aquastop-pty-'));
  const path = at?.path ?? join(dir, 'uno');
  const child: ChildProcess = spawn(
    'socat',
    [`PTY,link=${path},raw,echo=0,wait-slave,ignoreeof`, `EXEC:${process.execPath} --import tsx src/cli.ts emulate ${emulateFlags(options)}`],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 10_000;
  while (!existsSync(path)) {
    if (child.exitCode !== null) throw new Error(`socat exited: ${stderr.trim()}`);
    if (Date.now() > deadline) throw new Error('socat made no pty within 10 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    path,
    dir,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3_000))]);
    },
  };
}

/** socat's EXEC splits its command at spaces: paths with one are refused rather than cut. */
function emulateFlags(options: PtyUnoOptions): string {
  const flags = ['--hex', options.hex];
  if (options.eeprom !== undefined) flags.push('--eeprom', options.eeprom);
  if (options.float !== undefined) flags.push('--float', options.float);
  for (const f of flags) if (/[\s,:!]/.test(f)) throw new Error(`startPtyUno: ${f} cannot pass through socat's EXEC`);
  return flags.join(' ');
}
