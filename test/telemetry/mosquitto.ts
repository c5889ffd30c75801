/**
 * A real mosquitto 2.x for tests, run with the shipped configuration
 * (src/telemetry/mosquitto: mosquitto.conf, passwd, aclfile) on free loopback ports. Only the
 * ports, the two file paths and a persistence directory (so a restart keeps sessions) change.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import mqtt from 'mqtt';
import { freePort } from '../e2e/start-process.js';

export const SHIPPED = join(process.cwd(), 'src', 'telemetry', 'mosquitto');

/** The example accounts (accounts.example.json), the same users as the shipped passwd file. */
export const ACCOUNTS = JSON.parse(readFileSync(join(SHIPPED, 'accounts.example.json'), 'utf8')).accounts as {
  username: string;
  password: string;
  role: 'operator' | 'viewer' | 'fleet' | 'device';
}[];

export function account(username: string): { username: string; password: string } {
  const a = ACCOUNTS.find((x) => x.username === username);
  if (!a) throw new Error(`no example account ${username}`);
  return { username: a.username, password: a.password };
}

export interface Mosquitto {
  readonly url: string;
  readonly wsUrl: string;
  readonly port: number;
  /** Stops the broker (SIGTERM: it saves sessions and retained messages). */
  stop(): Promise<void>;
  /** Starts it again on the same ports with the same persistence. */
  start(): Promise<void>;
  kill(): Promise<void>;
  log(): string;
}

export async function startMosquitto(): Promise<Mosquitto> {
  const dir = mkdtempSync(join(tmpdir(), 'aquastop-mosquitto-'));
  for (const f of ['passwd', 'aclfile']) copyFileSync(join(SHIPPED, f), join(dir, f));
  const port = await freePort();
  const wsPort = await freePort();
  const conf = readFileSync(join(SHIPPED, 'mosquitto.conf'), 'utf8')
    .replace(/^listener 1883 /m, `listener ${port} `)
    .replace(/^listener 9001 /m, `listener ${wsPort} `)
    .replaceAll('/etc/mosquitto/aquastop/', `${dir}/`);
  writeFileSync(join(dir, 'mosquitto.conf'), `${conf}\npersistence true\npersistence_location ${dir}/\n`);
  // mosquitto started as root drops to the mosquitto user, which must be able to read the files.
  if (userInfo().uid === 0) {
    const id = execFileSync('id', ['-u', 'mosquitto'], { encoding: 'utf8' }).trim();
    const gid = execFileSync('id', ['-g', 'mosquitto'], { encoding: 'utf8' }).trim();
    for (const p of [dir, ...readdirSync(dir).map((f) => join(dir, f))]) chownSync(p, Number(id), Number(gid));
  }
  let child: ChildProcess | null = null;
  let output = '';
  const url = `mqtt://127.0.0.1:${port}`;

  const start = async () => {
    child = spawn('mosquitto', ['-c', join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    // Ready when it accepts a connection (bounded).
    for (let i = 0; i < 100; i++) {
      if (child.exitCode !== null) throw new Error(`mosquitto exited: ${output}`);
      const ok = await mqtt
        .connectAsync(url, { reconnectPeriod: 0, connectTimeout: 500 }, false)
        .then(async (c) => {
          await c.endAsync();
          return true;
        })
        .catch(() => false);
      if (ok) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`mosquitto did not start: ${output}`);
  };
  const stopWith = async (signal: NodeJS.Signals) => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill(signal);
    });
    child = null;
  };
  await start();
  return {
    url,
    wsUrl: `ws://127.0.0.1:${wsPort}`,
    port,
    start,
    stop: () => stopWith('SIGTERM'),
    kill: async () => {
      await stopWith('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
    log: () => output,
  };
}
