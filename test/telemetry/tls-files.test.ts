/**
 * The certificate flags read at the edge (src/telemetry/tls.ts): which file wins, and the one
 * line for each way a file can be wrong, on files made by the real openssl.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeTlsError, loadClientTls, loadServerTls, tlsFilesFrom, TlsConfigError } from '../../src/telemetry/tls.js';
import { isUsageError } from '../../src/commands/errors.js';
import { hasTools } from '../helpers/tools.js';
import { makePki, type Pki } from '../helpers/pki.js';

const URL = 'mqtts://127.0.0.1:8883';

function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TlsConfigError);
    expect(err instanceof TlsConfigError && isUsageError(err) && err.exitCode).toBe(2);
    return (err as Error).message;
  }
  throw new Error('expected a TlsConfigError');
}

describe.skipIf(!hasTools('openssl'))('certificate flags', () => {
  let pki: Pki;
  beforeAll(() => {
    pki = makePki();
  });
  afterAll(() => pki?.remove());

  it('a flag wins over its environment variable, and an error names the one used', () => {
    const dev = pki.client('dev');
    const files = tlsFilesFrom({ cafile: pki.ca }, { AQUASTOP_MQTT_CAFILE: '/nope', AQUASTOP_MQTT_CERT: dev.cert, AQUASTOP_MQTT_KEY: dev.key }, ['cafile', 'cert', 'key']);
    expect(files).toEqual({
      cafile: { path: pki.ca, label: '--cafile' },
      cert: { path: dev.cert, label: 'AQUASTOP_MQTT_CERT' },
      key: { path: dev.key, label: 'AQUASTOP_MQTT_KEY' },
    });
    const tls = loadClientTls(files, URL)!;
    expect(tls.ca!.toString()).toContain('BEGIN CERTIFICATE');
    expect(tls.key!.toString()).toContain('PRIVATE KEY');
  });

  it('no file named: no TLS material, whatever the URL', () => {
    expect(loadClientTls({}, URL)).toBeUndefined();
    expect(loadClientTls({}, 'mqtt://127.0.0.1:1883')).toBeUndefined();
  });

  it('variables exported for an external broker are ignored by the embedded one; flags are refused', () => {
    expect(loadClientTls(tlsFilesFrom({}, { AQUASTOP_MQTT_CAFILE: pki.ca }, ['cafile']), undefined)).toBeUndefined();
    expect(failure(() => loadClientTls(tlsFilesFrom({ cafile: pki.ca }, {}, ['cafile']), undefined))).toBe(
      '--cafile: only for an external broker (--broker mqtts://HOST:8883 or wss://HOST:PORT)',
    );
  });

  it('refuses each bad file with one line', () => {
    const dev = pki.client('dev');
    const other = pki.client('other');
    const notPem = join(pki.dir, 'not.pem');
    writeFileSync(notPem, 'hello\n');
    const encrypted = join(pki.dir, 'encrypted.key');
    execFileSync('openssl', ['pkey', '-in', dev.key, '-aes256', '-passout', 'pass:secret', '-out', encrypted]);
    const f = (path: string, label: string) => ({ path, label });
    expect(failure(() => loadClientTls({ cafile: f(notPem, '--cafile') }, URL))).toBe(`--cafile ${notPem}: not a PEM certificate (expected "-----BEGIN CERTIFICATE-----")`);
    expect(failure(() => loadClientTls({ cafile: f(pki.dir, '--cafile') }, URL))).toBe(`--cafile ${pki.dir}: is a directory`);
    expect(failure(() => loadClientTls({ cert: f(dev.cert, '--cert'), key: f(encrypted, '--key') }, URL))).toBe(
      `--key ${encrypted}: an encrypted private key (give it unencrypted: openssl pkey -in KEY -out KEY.plain)`,
    );
    expect(failure(() => loadClientTls({ cert: f(dev.cert, '--cert'), key: f(dev.cert, '--key') }, URL))).toBe(`--key ${dev.cert}: not a PEM private key`);
    expect(failure(() => loadClientTls({ cert: f(dev.cert, '--cert'), key: f(other.key, '--key') }, URL))).toBe(`--key ${other.key} is not the key of --cert ${dev.cert}`);
    expect(failure(() => loadClientTls({ key: f(dev.key, '--key') }, URL))).toBe('--key needs --cert (or AQUASTOP_CERT)');
    expect(failure(() => loadClientTls({ cafile: f(pki.ca, '--cafile') }, 'ws://127.0.0.1:9001'))).toBe(
      '--cafile: the broker URL must be mqtts:// or wss:// to use TLS (got ws://127.0.0.1:9001)',
    );
    expect(failure(() => tlsFilesFrom({ cafile: ' ' }, {}, ['cafile']))).toBe('--cafile needs a file name');
  });

  it('refuses a client certificate that has expired (the test CA signs for two days)', () => {
    const dev = pki.client('dev');
    const files = { cert: { path: dev.cert, label: '--cert' }, key: { path: dev.key, label: '--key' } };
    expect(loadClientTls(files, URL)).toBeDefined();
    expect(failure(() => loadClientTls(files, URL, Date.now() + 3 * 86_400_000))).toMatch(new RegExp(`^--cert ${dev.cert}: the certificate expired on \\d{4}-\\d\\d-\\d\\dT`));
  });

  it('the embedded broker: a certificate needs its key; its own clients trust --cafile, else the certificate itself', () => {
    const server = { tlsCert: { path: pki.serverCert, label: '--tls-cert' }, tlsKey: { path: pki.serverKey, label: '--tls-key' } };
    expect(loadServerTls({})).toBeUndefined();
    expect(loadServerTls(server)!.trust.toString()).toBe(loadServerTls(server)!.server.cert.toString());
    expect(loadServerTls({ ...server, cafile: { path: pki.ca, label: '--cafile' } })!.trust.toString()).toContain('BEGIN CERTIFICATE');
    expect(failure(() => loadServerTls({ tlsCert: server.tlsCert }))).toBe('--tls-cert needs --tls-key (or AQUASTOP_TLS_KEY)');
    expect(failure(() => loadServerTls({ cafile: { path: pki.ca, label: '--cafile' } }))).toBe('--cafile: only with --tls-cert and --tls-key');
    expect(loadServerTls({ cafile: { path: pki.ca, label: 'AQUASTOP_MQTT_CAFILE' } })).toBeUndefined();
  });

  it('says in one line why a TLS connection failed, and nothing for other errors', () => {
    const err = (code: string, message: string) => Object.assign(new Error(message), { code });
    expect(describeTlsError(err('ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames"))).toBe(
      "the broker's certificate is not trusted: Hostname/IP does not match certificate's altnames (check --cafile)",
    );
    expect(describeTlsError(err('ERR_SSL_WRONG_VERSION_NUMBER', '...ssl3_get_record:wrong version number...'))).toBe(
      'TLS failed (wrong version number): is this port a TLS listener?',
    );
    expect(describeTlsError(err('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:8883'))).toBeNull();
    // A refused login in mqtt.js carries the CONNACK's return code, a number.
    expect(describeTlsError(Object.assign(new Error('Connection refused: Not authorized'), { code: 5 }))).toBeNull();
    expect(describeTlsError(null)).toBeNull();
  });
});
