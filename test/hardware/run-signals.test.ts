/**
 * `aquastop run` as a process a service manager can stop: a port that opens but never answers
 * the handshake (a pty whose other end is silent, as a board without our firmware would be)
 * ends in exit 1 with one line and leaves nothing running; SIGINT and SIGTERM stop it at once
 * while it connects, and the first one is never swallowed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hasTools } from '../helpers/tools.js';

interface Silent {
  readonly path: string;
  readonly dir: string;
  stop(): void;
}

/** A pty whose far end reads nothing and says nothing. */
async function silentPort(): Promise<Silent> {
  const dir = mkdtempSync(join(tmpdir(), 'aquastop-silent-'));
  const path = join(dir, 'port');
  const socat = spawn('socat', [`PTY,link=${path},raw,echo=0`, 'EXEC:sleep 600'], { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  while (!existsSync(path)) {
    if (Date.now() > deadline) throw new Error('socat made no pty within 10 s');
    await new Promise((r) => setTimeout(r, 25));
  }
  return { path, dir, stop: () => socat.kill('SIGKILL') };
}

interface Run {
  readonly child: ChildProcess;
  stderr(): string;
  /** Exit code (or signal name), or 'running' after `ms`. */
  exit(ms: number): Promise<number | string>;
  /** Waits until stderr matches (bounded). */
  waitFor(pattern: RegExp, ms: number): Promise<void>;
}

function aquastopRun(args: string[]): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'run', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.resume();
  const exited = new Promise<number | string>((r) => child.once('exit', (code, sig) => r(code ?? sig ?? 'unknown')));
  return {
    child,
    stderr: () => stderr,
    exit: (ms) => Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('running'), ms))]),
    async waitFor(pattern, ms) {
      const deadline = Date.now() + ms;
      while (!pattern.test(stderr)) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`no ${pattern} on stderr within ${ms} ms: ${stderr}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
}

describe.skipIf(!hasTools('socat'))('aquastop run: a board that does not answer, and stop signals', () => {
  const cleanup: Array<() => void> = [];
  afterEach(() => {
    for (const f of cleanup.splice(0)) f();
  });

  it('exits 1 with one line once the handshake times out, right away, creating no data', async () => {
    const port = await silentPort();
    cleanup.push(port.stop);
    const dataDir = join(port.dir, 'data');
    const run = aquastopRun(['--port', port.path, '--no-mqtt', '--handshake-timeout', '1s', '--data-dir', dataDir]);
    cleanup.push(() => run.child.kill('SIGKILL'));
    await run.waitFor(/no Firmata handshake/, 30_000);
    // Nothing may keep it alive after its message (johnny-five's own connect timer did, for an hour).
    expect(await run.exit(3_000)).toBe(1);
    expect(run.stderr()).toMatch(new RegExp(`^aquastop: board on ${port.path}: no Firmata handshake from the board within 1000 ms \\(is the firmware flashed\\?\\)$`, 'm'));
    expect(
      run
        .stderr()
        .split('\n')
        .filter((l) => l.startsWith('aquastop:')),
    ).toHaveLength(1);
    expect(existsSync(dataDir)).toBe(false);
  }, 60_000);

  it.each(['SIGINT', 'SIGTERM'] as const)(
    '%s while it waits for the handshake stops it at once, exit 0',
    async (signal) => {
      const port = await silentPort();
      cleanup.push(port.stop);
      const run = aquastopRun(['--port', port.path, '--no-mqtt', '--handshake-timeout', '2m', '--data-dir', join(port.dir, 'data')]);
      cleanup.push(() => run.child.kill('SIGKILL'));
      await run.waitFor(/connecting to the board/, 30_000);
      run.child.kill(signal);
      // Well before the 2-minute handshake timeout: the first signal counts. (A swallowed signal
      // leaves it running until then; 30 s rather than a few leaves room for a busy CI machine.)
      expect(await run.exit(30_000)).toBe(0);
      expect(run.stderr()).toContain(`stopped by ${signal} while connecting to the board`);
    },
    60_000,
  );

  it('refuses a handshake timeout out of range, naming the flag', async () => {
    const run = aquastopRun(['--port', '/dev/null', '--handshake-timeout', '10m']);
    expect(await run.exit(30_000)).toBe(2);
    expect(run.stderr()).toBe('aquastop: --handshake-timeout must be a duration from 1s to 2m, like 10s (got "10m")\n');
  }, 60_000);
});
