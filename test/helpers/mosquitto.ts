/**
 * A real mosquitto 2.x for tests, on free loopback ports (MQTT, and MQTT over WebSocket on the
 * `lo` interface: MACHINE-NOTES, a websockets listener given 127.0.0.1 binds every interface).
 *
 * - `config: 'shipped'` (default) runs the configuration we ship (src/telemetry/mosquitto:
 *   mosquitto.conf, passwd, aclfile, and the aquastop_retain plugin built from its C source
 *   with gcc) with only the ports and file paths changed: anonymous clients may read,
 *   accounts (ACCOUNTS) do the rest.
 * - `config: 'open'` lets anonymous clients do anything, for tests of watchers that are not
 *   about accounts.
 * - `persistence: true` keeps sessions and retained messages across `stop()` / `start()`;
 *   `autosaveS` also saves them every so many seconds, so some survive `kill()` (SIGKILL), which
 *   gives mosquitto no chance to save.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chownSync, copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../e2e/start-process.js';
import { loadAccountsFile } from '../../src/telemetry/access.js';
import { findTool } from './tools.js';

/** The mosquitto binary (Debian puts it in /usr/sbin, which is not always on PATH). */
export const MOSQUITTO = findTool('mosquitto') ?? '/usr/sbin/mosquitto';

export const SHIPPED = join(process.cwd(), 'src', 'telemetry', 'mosquitto');

/** The example accounts (accounts.example.json, read as `--accounts` reads it): the same users as the shipped passwd file. */
export const ACCOUNTS = loadAccountsFile(join(SHIPPED, 'accounts.example.json'));

export function account(username: string): { username: string; password: string } {
  const a = ACCOUNTS.find((x) => x.username === username);
  if (!a) throw new Error(`no example account ${username}`);
  return { username: a.username, password: a.password };
}

export interface MosquittoOptions {
  readonly config?: 'shipped' | 'open';
  readonly persistence?: boolean;
  /** With `persistence`: save every this many seconds (mosquitto's default is 1800). */
  readonly autosaveS?: number;
  /** `config: 'open'`: more configuration lines (a test of 10,000 retained states lifts `max_queued_messages`). */
  readonly extra?: readonly string[];
}

export interface Mosquitto {
  readonly url: string;
  readonly wsUrl: string;
  readonly port: number;
  /** SIGTERM (mosquitto saves what it persists), then wait for the exit. */
  stop(): Promise<void>;
  /** SIGKILL (no save, no last wills sent), then wait for the exit. */
  kill(): Promise<void>;
  /** Starts it again on the same ports. */
  start(): Promise<void>;
  /** Stops it and removes its files. */
  close(): Promise<void>;
  log(): string;
  /** The running mosquitto's pid (null when stopped), for a last-resort kill on exit. */
  pid(): number | null;
}

function configFor(options: MosquittoOptions, dir: string, port: number, wsPort: number): string {
  const autosave = options.autosaveS === undefined ? '' : `autosave_interval ${options.autosaveS}\n`;
  const persist = options.persistence ? `persistence true\npersistence_location ${dir}/\n${autosave}` : 'persistence false\n';
  if (options.config === 'open') {
    return [
      'per_listener_settings false',
      'allow_anonymous true',
      ...(options.extra ?? []),
      `listener ${port} 127.0.0.1`,
      `listener ${wsPort} lo`,
      'protocol websockets',
      persist,
    ].join('\n');
  }
  for (const f of ['passwd', 'aclfile']) copyFileSync(join(SHIPPED, f), join(dir, f));
  buildRetainPlugin(join(dir, 'aquastop_retain.so'));
  const shipped = readFileSync(join(SHIPPED, 'mosquitto.conf'), 'utf8')
    .replace(/^listener 1883 /m, `listener ${port} `)
    .replace(/^listener 9001 /m, `listener ${wsPort} `)
    .replaceAll('/etc/mosquitto/aquastop/', `${dir}/`);
  return `${shipped}\n${persist}`;
}

/** Builds the shipped aquastop_retain plugin (about 0.2 s); one clear line when the compiler or headers are missing. */
export function buildRetainPlugin(out: string): void {
  try {
    execFileSync('gcc', ['-shared', '-fPIC', '-O2', '-Wall', '-Werror', '-o', out, join(SHIPPED, 'aquastop_retain.c')], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const stderr = String((err as { stderr?: Buffer }).stderr ?? err)
      .trim()
      .split('\n')[0];
    throw new Error(`cannot build the aquastop_retain mosquitto plugin (needs gcc, mosquitto-dev and libmosquitto-dev; run .ci/install-system-packages.sh): ${stderr}`, {
      cause: err,
    });
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1');
    c.once('connect', () => (c.destroy(), resolve(true)));
    c.once('error', () => resolve(false));
  });
}

async function launch(options: MosquittoOptions): Promise<Mosquitto> {
  const dir = mkdtempSync(join(tmpdir(), 'aquastop-mosquitto-'));
  const port = await freePort();
  const wsPort = await freePort();
  writeFileSync(join(dir, 'mosquitto.conf'), configFor(options, dir, port, wsPort));
  // Started as root, mosquitto drops to the mosquitto user, which must be able to read the files.
  if (userInfo().uid === 0) {
    const [uid, gid] = ['-u', '-g'].map((f) => Number(execFileSync('id', [f, 'mosquitto'], { encoding: 'utf8' }).trim()));
    for (const p of [dir, ...readdirSync(dir).map((f) => join(dir, f))]) chownSync(p, uid!, gid!);
  }
  let child: ChildProcess | null = null;
  let output = '';
  const start = async () => {
    const c = spawn(MOSQUITTO, ['-c', join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    c.stdout.on('data', (d: Buffer) => (output += d.toString()));
    c.stderr.on('data', (d: Buffer) => (output += d.toString()));
    // Bounded wait for an outside process to listen (also used by the benchmarks, outside vitest).
    for (let i = 0; ; i++) {
      if (c.exitCode !== null) throw new Error(`mosquitto exited ${c.exitCode}: ${output.trim()}`);
      if ((await accepts(port)) && (await accepts(wsPort))) return;
      if (i >= 200) throw new Error(`mosquitto did not listen on ${port}/${wsPort} within 10 s: ${output.trim()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = once(c, 'exit');
    c.kill(signal);
    await exited;
  };
  try {
    await start();
  } catch (err) {
    await stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: `mqtt://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${wsPort}`,
    port,
    start,
    stop: () => stop(),
    kill: () => stop('SIGKILL'),
    close: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
    log: () => output,
    pid: () => child?.pid ?? null,
  };
}

export async function startMosquitto(options: MosquittoOptions = {}): Promise<Mosquitto> {
  let last: unknown;
  // A port free a moment ago can be taken before mosquitto binds it: try again on new ports.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await launch(options);
    } catch (err) {
      last = err;
    }
  }
  throw last;
}
