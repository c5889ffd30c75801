/**
 * `aquastop run --port` end to end: the CLI, serialport's native binding and johnny-five talk to
 * the emulated Uno through a pty at wall-clock pace, exactly as to a USB Arduino.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { defaultFirmwareHex } from '../../hardware/boards/emulated-board.js';
import { followJsonLines, type CliLine } from '../helpers/cli.js';
import { hasTools } from '../helpers/tools.js';
import { startPtyUno, type PtyUno } from './pty.js';
import { standardFirmataHex } from './standard-firmata.js';

type Line = CliLine;

/** pino's JSON records on stderr. */
function logRecords(stderr: string): Array<{ level: number; msg: string; device?: string }> {
  return stderr
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { level: number; msg: string; device?: string });
}

async function runCli(args: string[], until: (lines: Line[]) => boolean, maxMs: number): Promise<{ lines: Line[]; code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const { lines, stderr: readStderr } = followJsonLines(child);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const deadline = Date.now() + maxMs;
  while (!until(lines) && child.exitCode === null) {
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`aquastop run: condition not met within ${maxMs} ms; stderr: ${readStderr().trim()}; lines: ${JSON.stringify(lines).slice(0, 500)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  if (child.exitCode === null) child.kill('SIGINT');
  const code = await Promise.race([exited, new Promise<number | null>((r) => setTimeout(() => r(-1), 10_000))]);
  return { lines, code, stderr: readStderr() };
}

describe.skipIf(!hasTools('socat', 'avr-gcc', 'avr-g++', 'avr-objcopy'))('aquastop run on a pty-attached emulated Uno', () => {
  let hex: string;
  let uno: PtyUno | null = null;
  beforeAll(async () => {
    hex = await defaultFirmwareHex();
  }, 60_000);
  afterEach(async () => {
    await uno?.stop();
    uno = null;
  });

  it('connects with the firmware interlock, reports the valve closed, and stops cleanly on SIGINT', async () => {
    uno = await startPtyUno({ hex });
    const { lines, code, stderr } = await runCli(
      ['run', '--port', uno.path, '--no-mqtt', '--json', '--data-dir', `${uno.dir}/data`],
      (ls) => ls.some((l) => l.type === 'started') && ls.some((l) => l.type === 'status'),
      30_000,
    );
    // Its log (JSON, stderr is not a terminal): every record about the device, no warning, no error.
    const records = logRecords(stderr);
    expect(records.map((r) => r.msg)).toContain(`connecting to the board on ${uno.path} (handshake within 10 s)`);
    expect(records.every((r) => r.device === 'uno-1')).toBe(true);
    expect(records.filter((r) => r.level >= 40)).toEqual([]);
    expect(lines.find((l) => l.type === 'started')).toMatchObject({ firmware: 'AquastopFirmata', protection: 'firmware' });
    const status = lines.find((l) => l.type === 'status') as { status: { valve: string } } | undefined;
    expect(status?.status.valve).toBe('closed');
    expect(code).toBe(0);
  }, 60_000);

  it('runs a board not re-flashed since the update (safety 1.0) with one warning naming the re-flash command', async () => {
    uno = await startPtyUno({ hex: fileURLToPath(new URL('./fixtures/aquastop-safety-1.0.hex', import.meta.url)) });
    const { lines, code, stderr } = await runCli(
      ['run', '--port', uno.path, '--no-mqtt', '--json', '--data-dir', `${uno.dir}/data`],
      (ls) => ls.some((l) => l.type === 'started') && ls.some((l) => l.type === 'status'),
      30_000,
    );
    // One warning in its log, the same, about the device.
    expect(logRecords(stderr).filter((r) => r.level >= 40)).toEqual([
      expect.objectContaining({ level: 40, device: 'uno-1', msg: expect.stringMatching(/safety protocol 1\.0.*re-flash it/) }),
    ]);
    const started = lines.find((l) => l.type === 'started') as { protection: string; warnings: string[] } | undefined;
    expect(started?.protection).toBe('firmware');
    expect(started?.warnings).toEqual([expect.stringMatching(new RegExp(`safety protocol 1\\.0.*hose-fuse.*re-flash it: aquastop firmware flash --port ${uno.path}$`))]);
    expect(code).toBe(0);
  }, 60_000);

  it('warns that protection depends on the host alone when the board runs plain StandardFirmata', async (ctx) => {
    const sf = await standardFirmataHex();
    if (!sf) return ctx.skip();
    uno = await startPtyUno({ hex: sf });
    const { lines, code } = await runCli(['run', '--port', uno.path, '--no-mqtt', '--json', '--data-dir', `${uno.dir}/data`], (ls) => ls.some((l) => l.type === 'status'), 40_000);
    const started = lines.find((l) => l.type === 'started') as { protection: string; warnings: string[] } | undefined;
    expect(started?.protection).toBe('host-only');
    expect(started?.warnings.join('\n')).toMatch(/protection depends on the host alone/);
    expect(code).toBe(0);
  }, 60_000);
});
