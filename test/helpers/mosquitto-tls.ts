/**
 * A real mosquitto 2.x speaking TLS only, on free loopback ports, with certificates from
 * pki.ts: an MQTT-over-TLS listener (mqtts://) and a websockets-over-TLS listener (wss://, on
 * the `lo` interface: a websockets listener given 127.0.0.1 binds every interface). Both
 * require a client certificate signed by the CA and take its common name as the user name
 * (`use_identity_as_username`): client-certificate authentication, no password.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chownSync, readdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../e2e/start-process.js';
import { MOSQUITTO } from './mosquitto.js';
import type { Pki } from './pki.js';

export interface TlsMosquitto {
  readonly url: string;
  readonly wsUrl: string;
  log(): string;
  close(): Promise<void>;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1');
    c.once('connect', () => (c.destroy(), resolve(true)));
    c.once('error', () => resolve(false));
  });
}

export async function startTlsMosquitto(pki: Pki): Promise<TlsMosquitto> {
  const port = await freePort();
  const wsPort = await freePort();
  const tls = [`cafile ${pki.ca}`, `certfile ${pki.serverCert}`, `keyfile ${pki.serverKey}`, 'require_certificate true', 'use_identity_as_username true', 'tls_version tlsv1.2'];
  const conf = join(pki.dir, `mosquitto-${port}.conf`);
  writeFileSync(
    conf,
    [
      'per_listener_settings false',
      'allow_anonymous false',
      'persistence false',
      `listener ${port} 127.0.0.1`,
      ...tls,
      `listener ${wsPort} lo`,
      'protocol websockets',
      ...tls,
      '',
    ].join('\n'),
  );
  // Started as root, mosquitto drops to the mosquitto user, which must be able to read the files.
  if (userInfo().uid === 0) {
    const [uid, gid] = ['-u', '-g'].map((f) => Number(execFileSync('id', [f, 'mosquitto'], { encoding: 'utf8' }).trim()));
    for (const p of [pki.dir, ...readdirSync(pki.dir).map((f) => join(pki.dir, f))]) chownSync(p, uid!, gid!);
  }
  const child: ChildProcess = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const close = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  };
  // Bounded wait for an outside process to listen.
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited ${child.exitCode}: ${output.trim()}`);
    if ((await accepts(port)) && (await accepts(wsPort))) break;
    if (i >= 200) {
      await close();
      throw new Error(`mosquitto did not listen on ${port}/${wsPort} within 10 s: ${output.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `mqtts://127.0.0.1:${port}`, wsUrl: `wss://127.0.0.1:${wsPort}`, log: () => output, close };
}
