/**
 * TLS for MQTT: the certificate files a client (`--cafile`, `--cert`, `--key`) or the embedded
 * broker (`--tls-cert`, `--tls-key`) is given, read and checked once at the edge, and the one
 * line that says why a TLS connection failed.
 *
 * Contract:
 * - A flag wins over its environment variable ({@link TLS_ENV}); an error names the one used.
 * - Every problem with the files (missing, unreadable, not PEM, a key that does not belong to
 *   its certificate, an expired certificate, client files for a plain mqtt:// or ws:// URL)
 *   throws {@link TlsConfigError}: one line, exit 2, before anything connects.
 * - `ca` replaces the system's trusted roots for that connection (as mosquitto_sub --cafile).
 * Kept free of MQTT imports, so reading flags does not load the client.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { UsageError } from '../errors/usage-error.js';

/**
 * Environment variables for the client flags of `run`, `sim` and `monitor`, and the broker flags
 * of `start`: the commands' one rule (AQUASTOP_ and the flag name), then the older names.
 */
export const TLS_ENV = {
  cafile: 'AQUASTOP_CAFILE',
  cert: 'AQUASTOP_CERT',
  key: 'AQUASTOP_KEY',
  tlsCert: 'AQUASTOP_TLS_CERT',
  tlsKey: 'AQUASTOP_TLS_KEY',
} as const;

const TLS_ENV_OLDER: Record<keyof typeof TLS_ENV, string> = {
  cafile: 'AQUASTOP_MQTT_CAFILE',
  cert: 'AQUASTOP_MQTT_CERT',
  key: 'AQUASTOP_MQTT_KEY',
  tlsCert: 'AQUASTOP_BROKER_TLS_CERT',
  tlsKey: 'AQUASTOP_BROKER_TLS_KEY',
};

const FLAG: Record<keyof typeof TLS_ENV, string> = { cafile: '--cafile', cert: '--cert', key: '--key', tlsCert: '--tls-cert', tlsKey: '--tls-key' };

/** A file named by a flag or its environment variable; `label` is what an error calls it. */
export interface TlsFile {
  readonly path: string;
  readonly label: string;
}

export type TlsFiles = Partial<Record<keyof typeof TLS_ENV, TlsFile>>;

/** What a TLS connection or listener is given (PEM bytes). */
export interface TlsMaterial {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

/** A bad certificate flag or file: one line, exit 2. */
export class TlsConfigError extends UsageError {}

/**
 * The files named by the options in `raw` (commander's camelCase keys), else by the environment.
 * `labelOf` names an option's value in errors when it did not come from the flag (a variable or
 * a config file key: src/commands/service).
 */
export function tlsFilesFrom(
  raw: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  which: readonly (keyof typeof TLS_ENV)[],
  labelOf: (flag: string) => string = (flag) => flag,
): TlsFiles {
  const files: TlsFiles = {};
  for (const name of which) {
    const flag = raw[name];
    const envName = [TLS_ENV[name], TLS_ENV_OLDER[name]].find((n) => env[n] !== undefined && env[n] !== '');
    if (typeof flag === 'string') files[name] = { path: flag, label: labelOf(FLAG[name]) };
    else if (envName !== undefined) files[name] = { path: env[envName]!, label: envName };
  }
  for (const f of Object.values(files)) if (f.path.trim() === '') throw new TlsConfigError(`${f.label} needs a file name`);
  return files;
}

function read(file: TlsFile): Buffer {
  try {
    return readFileSync(file.path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (code ?? String(err));
    throw new TlsConfigError(`${file.label} ${file.path}: ${why}`);
  }
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function certificates(file: TlsFile, pem: Buffer): X509Certificate[] {
  const blocks = pem.toString('latin1').match(PEM_CERT) ?? [];
  if (blocks.length === 0) throw new TlsConfigError(`${file.label} ${file.path}: not a PEM certificate (expected "-----BEGIN CERTIFICATE-----")`);
  return blocks.map((block) => {
    try {
      return new X509Certificate(block);
    } catch {
      throw new TlsConfigError(`${file.label} ${file.path}: a certificate in it cannot be read`);
    }
  });
}

function privateKey(file: TlsFile, pem: Buffer): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (err) {
    const encrypted = /passphrase|encrypted/i.test((err as Error).message) || pem.includes('ENCRYPTED');
    throw new TlsConfigError(
      `${file.label} ${file.path}: ${encrypted ? 'an encrypted private key (give it unencrypted: openssl pkey -in KEY -out KEY.plain)' : 'not a PEM private key'}`,
    );
  }
}

function checkPair(certFile: TlsFile, certPem: Buffer, keyFile: TlsFile, keyPem: Buffer, now: number): void {
  const leaf = certificates(certFile, certPem)[0]!;
  const key = privateKey(keyFile, keyPem);
  if (!leaf.checkPrivateKey(key)) throw new TlsConfigError(`${keyFile.label} ${keyFile.path} is not the key of ${certFile.label} ${certFile.path}`);
  if (Date.parse(leaf.validTo) < now) throw new TlsConfigError(`${certFile.label} ${certFile.path}: the certificate expired on ${new Date(leaf.validTo).toISOString()}`);
  if (Date.parse(leaf.validFrom) > now)
    throw new TlsConfigError(`${certFile.label} ${certFile.path}: the certificate is not valid before ${new Date(leaf.validFrom).toISOString()}`);
}

function isTlsUrl(url: string): boolean {
  return /^(mqtts|wss):/i.test(url);
}

/**
 * The client side: `--cafile` (whom to trust) and `--cert` with `--key` (who we are, for a
 * broker that authenticates clients by certificate). Undefined when no file was named.
 * `url` is the external broker, or undefined when the embedded one is used.
 */
export function loadClientTls(files: TlsFiles, url: string | undefined, now = Date.now()): TlsMaterial | undefined {
  const { cafile, cert, key } = files;
  const given = [cafile, cert, key].filter((f): f is TlsFile => f !== undefined);
  if (given.length === 0) return undefined;
  const labels = given.map((f) => f.label).join(', ');
  if (url === undefined) {
    // Variables exported for another command are no reason to refuse the embedded broker; flags are.
    const flags = given.filter((f) => f.label.startsWith('--'));
    if (flags.length > 0) throw new TlsConfigError(`${flags.map((f) => f.label).join(', ')}: only for an external broker (--broker mqtts://HOST:8883 or wss://HOST:PORT)`);
    return undefined;
  }
  if (!isTlsUrl(url)) throw new TlsConfigError(`${labels}: the broker URL must be mqtts:// or wss:// to use TLS (got ${url})`);
  if ((cert === undefined) !== (key === undefined))
    throw new TlsConfigError(cert ? `${cert.label} needs --key (or ${TLS_ENV.key})` : `${key!.label} needs --cert (or ${TLS_ENV.cert})`);
  const material: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {};
  if (cafile) {
    material.ca = read(cafile);
    certificates(cafile, material.ca);
  }
  if (cert && key) {
    material.cert = read(cert);
    material.key = read(key);
    checkPair(cert, material.cert, key, material.key, now);
  }
  return material;
}

/**
 * The embedded broker's side: its certificate and key, and what its own clients in this
 * process trust to reach it (`--cafile`, else the certificate itself, which must then be
 * self-signed). Undefined when neither file was named.
 */
export function loadServerTls(files: TlsFiles, now = Date.now()): { readonly server: Required<Pick<TlsMaterial, 'cert' | 'key'>>; readonly trust: Buffer } | undefined {
  const { tlsCert, tlsKey, cafile } = files;
  if (tlsCert === undefined && tlsKey === undefined) {
    // A variable exported for the client commands is no reason to refuse a plain broker; a flag is.
    if (cafile?.label.startsWith('--')) throw new TlsConfigError(`${cafile.label}: only with --tls-cert and --tls-key`);
    return undefined;
  }
  if (tlsCert === undefined || tlsKey === undefined)
    throw new TlsConfigError(tlsCert ? `${tlsCert.label} needs --tls-key (or ${TLS_ENV.tlsKey})` : `${tlsKey!.label} needs --tls-cert (or ${TLS_ENV.tlsCert})`);
  const cert = read(tlsCert);
  const key = read(tlsKey);
  checkPair(tlsCert, cert, tlsKey, key, now);
  let trust = cert;
  if (cafile) {
    trust = read(cafile);
    certificates(cafile, trust);
  }
  return { server: { cert, key }, trust };
}

/** Certificate checks that fail on our side: the broker is not who the CA vouches for. */
const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_REJECTED',
  'INVALID_CA',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * One line for a TLS failure, or null when `err` is not one. These come from configuration
 * (a wrong CA, a missing or refused client certificate, a plain port), so retrying cannot help.
 */
export function describeTlsError(err: unknown): string | null {
  // mqtt.js errors carry a numeric code (the CONNACK's return code): not ours to describe.
  const raw = (err as { code?: unknown } | null)?.code;
  const code = typeof raw === 'string' ? raw : undefined;
  const message = err instanceof Error ? err.message : String(err);
  if (code && UNTRUSTED.has(code)) return `the broker's certificate is not trusted: ${message} (check --cafile)`;
  if (code?.startsWith('ERR_SSL_')) {
    // OpenSSL's own text carries file names and line numbers of its source; the code says it all.
    const what = code.slice('ERR_SSL_'.length).toLowerCase().replaceAll('_', ' ');
    if (/alert/.test(what)) return `the broker refused the TLS connection (${what}): check --cert and --key`;
    if (/wrong version number|packet length too long|record layer failure/.test(what)) return `TLS failed (${what}): is this port a TLS listener?`;
    return `TLS failed (${what})`;
  }
  return null;
}
