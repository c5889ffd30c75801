/**
 * Debian's Prometheus and Alertmanager as child processes for the ops tests: on a free loopback
 * port, in a scratch directory, waited for with a bounded poll of their /-/ready, and killed by
 * pid on stop. Their log is kept for the failure message.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../e2e/start-process.js';

export interface Daemon {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** Its scratch directory (config, storage). */
  readonly dir: string;
  log(): string;
  stop(): Promise<void>;
}

/**
 * Starts `binary` with `args(dir, listen)` (listen = 127.0.0.1:PORT) and waits up to `readyMs`
 * for GET /-/ready to answer 200.
 */
export async function startDaemon(binary: string, args: (dir: string, listen: string) => string[], readyMs = 15_000): Promise<Daemon> {
  const dir = mkdtempSync(join(tmpdir(), 'aquastop-daemon-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(binary, args(dir, `127.0.0.1:${port}`), { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (b: Buffer) => {
    output += b.toString();
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`${binary} exited ${child.exitCode}: ${output.trim().split('\n').slice(-5).join('\n')}`);
    }
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() - started > readyMs) {
      await stop();
      throw new Error(`${binary} was not ready within ${readyMs} ms: ${output.trim().split('\n').slice(-5).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url, dir, log: () => output, stop };
}
