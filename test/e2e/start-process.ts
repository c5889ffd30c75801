/**
 * Runs `aquastop start` as a child process on free loopback ports, the way `npm start` does,
 * and waits (bounded) for its banner.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface StartedDemo {
  readonly child: ChildProcess;
  readonly ports: { mqtt: number; ws: number; http: number; monitor: number };
  readonly dashboardUrl: string;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Sends SIGINT and resolves with the exit code (null on a signal death), within `ms`. */
  interrupt(ms?: number): Promise<number | null>;
  cleanup(): Promise<void>;
}

export async function startDemoProcess(extra: string[] = [], readyMs = 20_000): Promise<StartedDemo & { readyAfterMs: number }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'aquastop-start-'));
  const ports = { mqtt: await freePort(), ws: await freePort(), http: await freePort(), monitor: await freePort() };
  const t0 = Date.now();
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/cli.ts',
      'start',
      '--mqtt-port',
      String(ports.mqtt),
      '--ws-port',
      String(ports.ws),
      '--http-port',
      String(ports.http),
      '--monitor-port',
      String(ports.monitor),
      '--data-dir',
      dataDir,
      ...extra,
    ],
    { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const cleanup = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    await rm(dataDir, { recursive: true, force: true });
  };
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no dashboard URL within ${readyMs} ms; stdout: ${out} stderr: ${err}`)), readyMs);
    const check = () => {
      const m = /Open (http:\/\/\S+) in a browser/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`aquastop start exited with ${code} before it was ready; stderr: ${err}`));
    });
  }).catch(async (e: unknown) => {
    await cleanup();
    throw e;
  });
  return {
    child,
    ports,
    dashboardUrl: url,
    readyAfterMs: Date.now() - t0,
    stdout: () => out,
    stderr: () => err,
    interrupt: async (ms = 15_000) => {
      child.kill('SIGINT');
      const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms).unref());
      const r = await Promise.race([exited, timeout]);
      if (r === 'timeout') throw new Error(`aquastop start did not exit within ${ms} ms of SIGINT; stderr: ${err}`);
      return r;
    },
    cleanup,
  };
}
