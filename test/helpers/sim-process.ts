/**
 * `aquastop sim --scenario normal-cycle --speed 1` in a child process, as a user starts it: its
 * stderr collected, its exit awaited from the start (so a kill is never missed), and a way to
 * wait for its `mqtt:` line.
 */
import type { ChildProcess } from 'node:child_process';
import { expect } from 'vitest';
import { spawnAquastop } from './cli.js';
import { account } from './mosquitto.js';

export interface SimProcess {
  readonly child: ChildProcess;
  /** What it wrote to stderr so far. */
  stderr(): string;
  /** Its exit: [code, signal]. */
  readonly exited: Promise<[number | null, NodeJS.Signals | null]>;
  /** Waits until stderr matches `line` (by default its first `mqtt:` line). */
  logged(line?: RegExp, timeoutMs?: number): Promise<void>;
  /** SIGKILL, unless it has exited already. */
  kill(): void;
}

/** `aquastop sim --scenario normal-cycle --speed 1 ...flags`; stdout is dropped. */
export function spawnSim(flags: readonly string[]): SimProcess {
  const child = spawnAquastop(['sim', '--scenario', 'normal-cycle', '--speed', '1', ...flags]);
  child.stdout.resume();
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (code, signal) => resolve([code, signal])));
  return {
    child,
    stderr: () => stderr,
    exited,
    logged: async (line = /mqtt:/, timeoutMs = 20_000) => {
      await expect.poll(() => stderr, { timeout: timeoutMs }).toMatch(line);
    },
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** The flags that publish appliance `id` on `brokerUrl` with its own device account (mosquitto.ts). */
export function asDevice(brokerUrl: string, id: string): string[] {
  const login = account(id);
  return ['--id', id, '--broker', brokerUrl, '--username', login.username, '--password', login.password];
}
