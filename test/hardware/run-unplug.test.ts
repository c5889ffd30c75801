/**
 * `aquastop run` when the USB cable is pulled and plugged back: the emulated Uno behind a pty
 * goes away (the pty disappears, the host's serial port closes), then comes back at the same
 * path. The host must report the link lost (iC0) instead of failing for ever, retry the port
 * in the background, and re-arm the board when it is back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { defaultFirmwareHex } from '../../hardware/boards/emulated-board.js';
import { followJsonLines, type CliLine } from '../helpers/cli.js';
import { hasTools } from '../helpers/tools.js';
import { startPtyUno, type PtyUno } from './pty.js';

type Line = CliLine;

/** `aquastop run --json`, its lines parsed as they come. */
function startRun(port: string, dataDir: string) {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'run', '--port', port, '--no-mqtt', '--json', '--data-dir', dataDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { lines, stderr: readStderr } = followJsonLines(child);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    lines,
    stderr: readStderr,
    /** Waits (polling the output, wall clock) until `pred` holds for some line seen after index `from`. */
    async waitFor(what: string, pred: (l: Line) => boolean, maxMs: number, from = 0): Promise<number> {
      const deadline = Date.now() + maxMs;
      for (;;) {
        const i = lines.findIndex((l, n) => n >= from && pred(l));
        if (i >= 0) return i;
        if (child.exitCode !== null) throw new Error(`aquastop run exited (${child.exitCode}) before ${what}; stderr: ${readStderr().trim()}`);
        if (Date.now() > deadline) throw new Error(`${what}: not within ${maxMs} ms; lines: ${JSON.stringify(lines.slice(from)).slice(0, 800)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop(): Promise<number | null> {
      if (child.exitCode === null) child.kill('SIGINT');
      return Promise.race([exited, new Promise<number | null>((r) => setTimeout(() => r(-1), 10_000))]);
    },
    kill: () => child.exitCode === null && child.kill('SIGKILL'),
  };
}

const fault = (code: string, event: string) => (l: Line) =>
  l.type === 'fault' && (l.fault as { code?: string; event?: string } | undefined)?.code === code && (l.fault as { event?: string }).event === event;
const boardReport = (type: string) => (l: Line) => l.type === 'board' && (l.report as { type?: string } | undefined)?.type === type;

describe.skipIf(!hasTools('socat', 'avr-gcc', 'avr-g++', 'avr-objcopy'))('aquastop run when the USB cable is pulled', () => {
  let hex: string;
  const unos: PtyUno[] = [];
  let run: ReturnType<typeof startRun> | null = null;
  beforeAll(async () => {
    hex = await defaultFirmwareHex();
  }, 120_000);
  afterEach(async () => {
    run?.kill();
    run = null;
    for (const u of unos.splice(0)) await u.stop();
  });

  it('raises iC0 when the port goes away, keeps running, and re-arms the board when the port comes back', async () => {
    const first = await startPtyUno({ hex });
    unos.push(first);
    run = startRun(first.path, `${first.dir}/data`);
    await run.waitFor('started', (l) => l.type === 'started', 30_000);
    await run.waitFor('first status', (l) => l.type === 'status', 10_000);

    await first.stop(); // the pty disappears: the cable is out
    const lostAt = await run.waitFor('iC0 raised', fault('iC0', 'raised'), 10_000);
    expect(run.lines.slice(0, lostAt).some(boardReport('linkLost')), 'reported as the link lost').toBe(true);
    expect(
      run.lines.some((l) => l.type === 'error'),
      'no runtime failure: that would hold the valve closed for ever',
    ).toBe(false);

    const again = await startPtyUno({ hex }, first); // plugged back in, same path
    unos.push(again);
    const restoredAt = await run.waitFor('link restored', boardReport('linkRestored'), 20_000, lostAt);
    await run.waitFor('iC0 cleared', fault('iC0', 'cleared'), 5_000, restoredAt);
    expect(run.lines.some((l) => l.type === 'error')).toBe(false);
    expect(await run.stop()).toBe(0);
  }, 90_000);
});
