/**
 * A throw-away public key infrastructure made with the real `openssl` command: a CA, a server
 * certificate for the loopback address, client certificates (the common name is the MQTT user
 * name a broker takes with `use_identity_as_username`), and a second, unrelated CA to play the
 * wrong one. EC P-256 keys: made in milliseconds, and every TLS stack here speaks them.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pki {
  readonly dir: string;
  /** The CA that signed the server and client certificates. */
  readonly ca: string;
  /** A CA that signed nothing here: trusting it must fail. */
  readonly wrongCa: string;
  readonly serverCert: string;
  readonly serverKey: string;
  /** A client certificate and key for `cn` (made on first use). */
  client(cn: string): { cert: string; key: string };
  /** A self-signed server certificate for the loopback address (no CA). */
  readonly selfSigned: { cert: string; key: string };
  remove(): void;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A self-signed certificate `<name>.pem` with its key `<name>.key`, for `/CN=<cn>`, with these `-addext` extensions. */
function selfSigned(dir: string, name: string, cn: string, extensions: readonly string[]): { cert: string; key: string } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.pem`);
  const addext = extensions.flatMap((e) => ['-addext', e]);
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${cn}`, ...addext]);
  return { cert, key };
}

function makeCa(dir: string, name: string): { cert: string; key: string } {
  return selfSigned(dir, name, `aquastop test ${name}`, ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign']);
}

function sign(dir: string, ca: { cert: string; key: string }, name: string, cn: string, ext: string): { cert: string; key: string } {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.pem`);
  const extFile = join(dir, `${name}.ext`);
  writeFileSync(extFile, ext);
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${cn}`]);
  openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', extFile]);
  return { cert, key };
}

const SERVER_EXT = 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n';
const CLIENT_EXT = 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n';

export function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'aquastop-pki-'));
  const ca = makeCa(dir, 'ca');
  const wrong = makeCa(dir, 'wrong-ca');
  const server = sign(dir, ca, 'server', 'localhost', SERVER_EXT);
  const self = selfSigned(dir, 'self', 'localhost', ['subjectAltName=IP:127.0.0.1,DNS:localhost']);
  const clients = new Map<string, { cert: string; key: string }>();
  return {
    dir,
    ca: ca.cert,
    wrongCa: wrong.cert,
    serverCert: server.cert,
    serverKey: server.key,
    selfSigned: self,
    client(cn) {
      let c = clients.get(cn);
      if (!c) {
        c = sign(dir, ca, `client-${cn.replace(/[^A-Za-z0-9_-]/g, '_')}`, cn, CLIENT_EXT);
        clients.set(cn, c);
      }
      return c;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
