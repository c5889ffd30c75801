/**
 * A real mosquitto 2.x for tests: started by the test on free loopback ports (MQTT over TCP
 * and, when asked, over WebSocket), anonymous access, no persistence, stopped on close.
 * MACHINE-NOTES.md: a websockets listener given 127.0.0.1 binds every interface, so the
 * websocket listener names the loopback interface (`lo`) instead.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findTool } from '../helpers/tools.js';
import { waitFor } from './helpers.js';

/** The mosquitto binary (Debian puts it in /usr/sbin, which is not always on PATH). */
export const MOSQUITTO = findTool('mosquitto') ?? '/usr/sbin/mosquitto';

export interface Mosquitto {
  /** mqtt://127.0.0.1:port */
  readonly url: string;
  /** ws://127.0.0.1:port, or null without a websocket listener. */
  readonly wsUrl: string | null;
  close(): Promise<void>;
}

/** A port that was free a moment ago (mosquitto takes it by number; a lost race is retried). */
async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1');
    c.once('connect', () => (c.destroy(), resolve(true)));
    c.once('error', () => resolve(false));
  });
}

async function tryStart(websockets: boolean): Promise<Mosquitto> {
  const exe = MOSQUITTO;
  const dir = mkdtempSync(join(tmpdir(), 'aquastop-mosquitto-'));
  const port = await freePort();
  const wsPort = websockets ? await freePort() : null;
  const conf = [
    'per_listener_settings false',
    'allow_anonymous true',
    'persistence false',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    // Started as root it would drop to user "mosquitto", which cannot read our temp dir.
    'user root',
    `listener ${port} 127.0.0.1`,
    ...(wsPort !== null ? [`listener ${wsPort} lo`, 'protocol websockets'] : []),
    '',
  ].join('\n');
  writeFileSync(join(dir, 'mosquitto.conf'), conf);
  const child: ChildProcess = spawn(exe, ['-c', join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  try {
    let up = false;
    await waitFor(() => {
      if (child.exitCode !== null) throw new Error(`mosquitto exited ${child.exitCode}: ${err.trim()}`);
      void Promise.all([accepts(port), wsPort === null ? true : accepts(wsPort)]).then((r) => (up = r.every(Boolean)));
      return up;
    }, 10_000, 'mosquitto listening');
  } catch (e) {
    child.kill('SIGKILL');
    cleanup();
    throw e;
  }
  return {
    url: `mqtt://127.0.0.1:${port}`,
    wsUrl: wsPort === null ? null : `ws://127.0.0.1:${wsPort}`,
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        await exited;
      }
      cleanup();
    },
  };
}

export async function startMosquitto(options: { websockets?: boolean } = {}): Promise<Mosquitto> {
  let last: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await tryStart(options.websockets ?? false);
    } catch (e) {
      last = e; // most likely the port was taken between freePort() and mosquitto's bind
    }
  }
  throw last;
}
