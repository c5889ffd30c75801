/**
 * Transport security end to end: a simulated device and the monitor, each an `aquastop`
 * child process, reach a real mosquitto over TLS (mqtts:// and wss://) with certificates made
 * by the real openssl; mosquitto knows them only by their client certificates. A wrong CA, a
 * missing certificate or a bad file is one line and exit 2.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aquastop, ROOT } from '../helpers/cli.js';
import { hasTools } from '../helpers/tools.js';
import { makePki, type Pki } from '../helpers/pki.js';
import { startTlsMosquitto, type TlsMosquitto } from '../helpers/mosquitto-tls.js';

function child(args: string[], env: NodeJS.ProcessEnv = {}): { p: ChildProcess; out: () => string; err: () => string } {
  const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return { p, out: () => out, err: () => err };
}

async function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = once(p, 'exit');
  p.kill('SIGTERM');
  await exited;
}

/** The one line an `aquastop` run that failed printed on stderr. */
function oneLine(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.trim() !== '');
  expect(lines, stderr).toHaveLength(1);
  return lines[0]!;
}

describe.skipIf(!hasTools('openssl', 'mosquitto'))('MQTT over TLS with mosquitto', () => {
  let pki: Pki;
  let broker: TlsMosquitto;
  const dataDir = mkdtempSync(join(tmpdir(), 'aquastop-tls-'));
  beforeAll(async () => {
    pki = makePki();
    pki.client('dishwasher-1');
    pki.client('monitor');
    broker = await startTlsMosquitto(pki);
  });
  afterAll(async () => {
    await broker?.close();
    pki?.remove();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('a device over mqtts:// (certificates from the environment) and the monitor over wss:// (from flags) see each other; mosquitto knows each by its certificate', async () => {
    const dev = pki.client('dishwasher-1');
    const mon = pki.client('monitor');
    const sim = child(['sim', '--scenario', 'normal-cycle', '--speed', '1', '--id', 'dishwasher-1', '--broker', broker.url, '--data-dir', dataDir], {
      AQUASTOP_MQTT_CAFILE: pki.ca,
      AQUASTOP_MQTT_CERT: dev.cert,
      AQUASTOP_MQTT_KEY: dev.key,
    });
    const monitor = child(['monitor', '--broker', broker.wsUrl, '--cafile', pki.ca, '--cert', mon.cert, '--key', mon.key, '--port', '0', '--data-dir', join(dataDir, 'monitor')]);
    try {
      await expect.poll(() => sim.err(), { timeout: 30_000 }).toMatch(/connected to mqtts:\/\/127\.0\.0\.1/);
      await expect.poll(() => monitor.out(), { timeout: 30_000 }).toMatch(/monitor: http:\/\/\S+\/api\/devices/);
      const api = /monitor: (http:\/\/\S+)\/api\/devices/.exec(monitor.out())![1]!;
      await expect
        .poll(async () => ((await (await fetch(`${api}/api/devices/dishwasher-1`)).json().catch(() => ({}))) as { up?: boolean }).up, { timeout: 30_000, interval: 200 })
        .toBe(true);
      // No user name was given: mosquitto took each identity from the client certificate.
      expect(broker.log()).toMatch(/New client connected from 127\.0\.0\.1:\d+ as aquastop-\S+ \(p2, c1, k\d+, u'dishwasher-1'\)/);
      expect(broker.log()).toMatch(/New client connected from \S+ as aquastop-monitor-\S+ \(p2, c1, k\d+, u'monitor'\)/);
    } finally {
      await Promise.all([stop(sim.p), stop(monitor.p)]);
    }
  });

  it('a broker whose certificate the CA did not sign: one line, exit 2, for a device and for the monitor', async () => {
    const dev = pki.client('dishwasher-1');
    const [sim, monitor] = await Promise.all([
      aquastop(['sim', '--scenario', 'normal-cycle', '--broker', broker.url, '--cafile', pki.wrongCa, '--cert', dev.cert, '--key', dev.key, '--data-dir', dataDir]),
      aquastop(['monitor', '--broker', broker.wsUrl, '--cafile', pki.wrongCa, '--cert', dev.cert, '--key', dev.key, '--port', '0', '--data-dir', join(dataDir, 'monitor-wrong')]),
    ]);
    expect(sim.code).toBe(2);
    expect(oneLine(sim.stderr)).toBe(`aquastop: broker ${broker.url}: the broker's certificate is not trusted: self-signed certificate in certificate chain (check --cafile)`);
    expect(monitor.code).toBe(2);
    expect(oneLine(monitor.stderr)).toBe(
      `aquastop: cannot connect to the broker at ${broker.wsUrl}: the broker's certificate is not trusted: self-signed certificate in certificate chain (check --cafile)`,
    );
  });

  it('a device without a client certificate is refused by the broker that requires one: one line, exit 2', async () => {
    const r = await aquastop(['sim', '--scenario', 'normal-cycle', '--broker', broker.url, '--cafile', pki.ca, '--data-dir', dataDir]);
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).toBe(`aquastop: broker ${broker.url}: the broker refused the TLS connection (tlsv13 alert certificate required): check --cert and --key`);
  });

  it('a missing or mismatched file, or certificates for a plain URL: one line, exit 2, before anything connects', async () => {
    const dev = pki.client('dishwasher-1');
    const mon = pki.client('monitor');
    const missing = join(pki.dir, 'nope.pem');
    const results = await Promise.all([
      aquastop(['sim', '--scenario', 'normal-cycle', '--broker', broker.url, '--cafile', missing, '--data-dir', dataDir]),
      aquastop(['monitor', '--broker', broker.url, '--cafile', pki.ca, '--port', '0', '--data-dir', join(dataDir, 'm2')], {
        env: { AQUASTOP_MQTT_CERT: dev.cert, AQUASTOP_MQTT_KEY: mon.key },
      }),
      aquastop(['run', '--port', '/dev/aquastop-no-such-port', '--broker', 'mqtt://127.0.0.1:1883', '--cafile', pki.ca, '--data-dir', dataDir]),
      aquastop(['run', '--port', '/dev/aquastop-no-such-port', '--broker', broker.url, '--cert', dev.cert, '--data-dir', dataDir]),
    ]);
    expect(results.map((r) => r.code)).toEqual([2, 2, 2, 2]);
    expect(results.map((r) => oneLine(r.stderr))).toEqual([
      `aquastop: --cafile ${missing}: no such file`,
      `aquastop: AQUASTOP_MQTT_KEY ${mon.key} is not the key of AQUASTOP_MQTT_CERT ${dev.cert}`,
      'aquastop: --cafile: the broker URL must be mqtts:// or wss:// to use TLS (got mqtt://127.0.0.1:1883)',
      'aquastop: --cert needs --key (or AQUASTOP_KEY)',
    ]);
  });
});
