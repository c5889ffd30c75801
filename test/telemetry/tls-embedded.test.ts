/**
 * The embedded broker (aedes) speaking TLS only: real MQTT clients over mqtts:// and wss://,
 * certificates made by openssl; and `aquastop start --tls-cert --tls-key` as a user runs it,
 * its own monitor reaching the broker over TLS.
 */
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddedBroker } from '../../src/telemetry/broker.js';
import { hasTools } from '../helpers/tools.js';
import { makePki, type Pki } from '../helpers/pki.js';
import { startTlsBroker } from '../helpers/tls-broker.js';
import { startDemoProcess } from '../e2e/start-process.js';

/** Connects once (no retry): resolves "connected" or the error's code. */
async function tryConnect(url: string, options: IClientOptions): Promise<string> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5_000, ...options });
  try {
    return await new Promise<string>((resolve) => {
      client.once('connect', () => resolve('connected'));
      client.once('error', (err: Error & { code?: string | number }) => resolve(String(err.code ?? err.message)));
      client.once('close', () => resolve('closed'));
    });
  } finally {
    client.end(true);
  }
}

describe.skipIf(!hasTools('openssl'))('the embedded broker over TLS', () => {
  let pki: Pki;
  let broker: EmbeddedBroker;
  beforeAll(async () => {
    pki = makePki();
    broker = await startTlsBroker(pki, 0);
  });
  afterAll(async () => {
    await broker?.close();
    pki?.remove();
  });

  it('listens on mqtts:// and wss:// only', () => {
    expect(broker.url).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
    expect(broker.wsUrl).toMatch(/^wss:\/\/127\.0\.0\.1:\d+$/);
  });

  it('carries messages between clients that trust its CA, over mqtts:// and wss://', async () => {
    const ca = readFileSync(pki.ca);
    const reader = await mqtt.connectAsync(broker.wsUrl!, { ca, ...broker.watcher, reconnectPeriod: 0 });
    const writer = await mqtt.connectAsync(broker.url, { ca, ...broker.internal, reconnectPeriod: 0 });
    try {
      await reader.subscribeAsync('aquastop/+/heartbeat', { qos: 0 });
      const got = new Promise<string>((resolve) => reader.once('message', (topic, payload) => resolve(`${topic} ${payload.toString()}`)));
      await writer.publishAsync('aquastop/dw-1/heartbeat', '{"seq":1}');
      expect(await got).toBe('aquastop/dw-1/heartbeat {"seq":1}');
    } finally {
      await Promise.all([reader.endAsync(), writer.endAsync()]);
    }
  });

  it('a client that trusts another CA, or speaks plain MQTT to the TLS port, does not get in', async () => {
    // The broker sends its own certificate only (mosquitto adds the CA: SELF_SIGNED_CERT_IN_CHAIN there).
    expect(await tryConnect(broker.url, { ca: readFileSync(pki.wrongCa) })).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    expect(await tryConnect(broker.wsUrl!, { ca: readFileSync(pki.wrongCa) })).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    expect(await tryConnect(broker.url.replace('mqtts:', 'mqtt:'), {})).not.toBe('connected');
  });

  it('aquastop start --tls-cert/--tls-key (self-signed): the banner shows mqtts:// and wss://, and its own monitor sees the fleet over TLS', async () => {
    const demo = await startDemoProcess(['--tls-cert', pki.selfSigned.cert, '--tls-key', pki.selfSigned.key], 60_000);
    try {
      expect(demo.stdout()).toMatch(new RegExp(`^broker {5}mqtts://127\\.0\\.0\\.1:${demo.ports.mqtt} {2}websocket wss://127\\.0\\.0\\.1:${demo.ports.ws} `, 'm'));
      await expect
        .poll(async () => ((await (await fetch(`http://127.0.0.1:${demo.ports.monitor}/api/devices`)).json()) as { id: string }[]).map((d) => d.id).sort(), {
          timeout: 30_000,
          interval: 250,
        })
        .toEqual(['dishwasher-kitchen', 'dishwasher-leaky', 'dishwasher-office']);
      // A client outside the process, trusting the same certificate, reads the fleet too.
      const outside = await mqtt.connectAsync(`mqtts://127.0.0.1:${demo.ports.mqtt}`, { ca: readFileSync(pki.selfSigned.cert), reconnectPeriod: 0 });
      try {
        const state = new Promise<string>((resolve) => outside.once('message', (_t, payload) => resolve(payload.toString())));
        await outside.subscribeAsync('aquastop/dishwasher-kitchen');
        expect(JSON.parse(await state)).toMatchObject({ board: 'simulated', fw: 'sim-demo' });
      } finally {
        await outside.endAsync();
      }
      expect(await demo.interrupt()).toBe(0);
    } finally {
      await demo.cleanup();
    }
  });

  it('aquastop start with a certificate but no key, or a key that is not its own: one line, exit 2', async () => {
    const { aquastop } = await import('../helpers/cli.js');
    const [noKey, wrongKey] = await Promise.all([
      aquastop(['start', '--tls-cert', pki.serverCert, '--mqtt-port', '0']),
      aquastop(['start', '--mqtt-port', '0'], { env: { AQUASTOP_BROKER_TLS_CERT: pki.serverCert, AQUASTOP_BROKER_TLS_KEY: pki.selfSigned.key } }),
    ]);
    expect([noKey.code, noKey.stderr]).toEqual([2, 'aquastop: --tls-cert needs --tls-key (or AQUASTOP_TLS_KEY)\n']);
    expect([wrongKey.code, wrongKey.stderr]).toEqual([2, `aquastop: AQUASTOP_BROKER_TLS_KEY ${pki.selfSigned.key} is not the key of AQUASTOP_BROKER_TLS_CERT ${pki.serverCert}\n`]);
  });
});
