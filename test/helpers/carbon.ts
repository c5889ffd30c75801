/**
 * A real Graphite carbon-cache (Debian graphite-carbon) for tests: its own carbon.conf and
 * storage-schemas.conf in a temporary directory, the plaintext line receiver on a free loopback
 * port, the pickle receiver off, whisper files at one point per second for an hour. Its points
 * are read back with whisper-fetch (python3-whisper), as an operator would.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../e2e/start-process.js';

export const CARBON_CACHE = 'carbon-cache';
export const WHISPER_FETCH = 'whisper-fetch';

export interface Carbon {
  /** tcp://127.0.0.1:<port>, the line receiver. */
  readonly url: string;
  readonly port: number;
  readonly whisperDir: string;
  /** Starts carbon-cache again on the same port and storage (after `stop()`). */
  start(): Promise<void>;
  /** SIGTERM, then waits for the exit (SIGKILL after 10 s). */
  stop(): Promise<void>;
  /** Stops and removes its directory. */
  close(): Promise<void>;
  /** The non-empty points of one metric path at or after `fromS` (Unix seconds), oldest first; none before its file exists. */
  points(path: string, fromS: number): Promise<Array<[number, number]>>;
  /** What carbon-cache printed, for failure messages. */
  output(): string;
}

export interface CarbonOptions {
  /** METRIC_CLIENT_IDLE_TIMEOUT: carbon closes a connection that sent nothing for this long. */
  readonly idleTimeoutS?: number;
  readonly startTimeoutMs?: number;
}

export async function startCarbon(options: CarbonOptions = {}): Promise<Carbon> {
  const { idleTimeoutS, startTimeoutMs = 15_000 } = options;
  const dir = mkdtempSync(join(tmpdir(), 'aquastop-carbon-'));
  const whisperDir = join(dir, 'storage', 'whisper');
  for (const sub of [whisperDir, join(dir, 'log'), join(dir, 'pid')]) mkdirSync(sub, { recursive: true });
  const port = await freePort();
  const conf = join(dir, 'carbon.conf');
  writeFileSync(
    conf,
    [
      '[cache]',
      `STORAGE_DIR = ${join(dir, 'storage')}/`,
      `LOCAL_DATA_DIR = ${whisperDir}/`,
      `WHISPER_DIR = ${whisperDir}/`,
      `CONF_DIR = ${dir}/`,
      `LOG_DIR = ${join(dir, 'log')}/`,
      `PID_DIR = ${join(dir, 'pid')}/`,
      'DATABASE = whisper',
      'USER =',
      'MAX_CACHE_SIZE = inf',
      'MAX_UPDATES_PER_SECOND = 100000',
      'MAX_CREATES_PER_MINUTE = 100000',
      'LINE_RECEIVER_INTERFACE = 127.0.0.1',
      `LINE_RECEIVER_PORT = ${port}`,
      'PICKLE_RECEIVER_PORT = 0',
      'ENABLE_UDP_LISTENER = False',
      'CACHE_QUERY_INTERFACE = 127.0.0.1',
      'CACHE_QUERY_PORT = 0',
      'WHISPER_AUTOFLUSH = True',
      'WHISPER_FALLOCATE_CREATE = False',
      ...(idleTimeoutS === undefined ? [] : [`METRIC_CLIENT_IDLE_TIMEOUT = ${idleTimeoutS}`]),
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'storage-schemas.conf'), '[all]\npattern = .*\nretentions = 1s:1h\n');

  let child: ChildProcess | null = null;
  let out = '';
  const start = async () => {
    // A pid file left by a killed carbon would make it refuse to start ("already running").
    rmSync(join(dir, 'pid', 'carbon-cache-a.pid'), { force: true });
    const c = spawn(CARBON_CACHE, [`--config=${conf}`, '--nodaemon', 'start'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    const started = out.length;
    let exited = false;
    c.once('exit', () => (exited = true));
    c.stdout.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-200_000)));
    c.stderr.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-200_000)));
    const deadline = Date.now() + startTimeoutMs;
    while (!out.slice(started).includes(`CarbonReceiverFactory starting on ${port}`)) {
      if (exited) throw new Error(`carbon-cache exited at start:\n${out.slice(started)}`);
      if (Date.now() > deadline) throw new Error(`carbon-cache did not listen on ${port} within ${startTimeoutMs} ms:\n${out.slice(started)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const stop = async () => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = once(c, 'exit');
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  await start();
  return {
    url: `tcp://127.0.0.1:${port}`,
    port,
    whisperDir,
    start,
    stop,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
    async points(path, fromS) {
      const file = join(whisperDir, ...path.split('.')) + '.wsp';
      if (!existsSync(file)) return [];
      const json = await new Promise<string>((resolve, reject) =>
        execFile(WHISPER_FETCH, ['--json', `--from=${Math.floor(fromS) - 1}`, file], { timeout: 10_000 }, (err, stdout, stderr) =>
          err ? reject(new Error(`whisper-fetch ${file}: ${stderr || err.message}`)) : resolve(stdout),
        ),
      );
      const { start: first, step, values } = JSON.parse(json) as { start: number; step: number; values: Array<number | null> };
      const points: Array<[number, number]> = [];
      values.forEach((v, i) => {
        const t = first + i * step;
        if (v !== null && t >= fromS) points.push([t, v]);
      });
      return points;
    },
    output: () => out,
  };
}
