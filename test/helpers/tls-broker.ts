/** The embedded broker listening with TLS only, on a throw-away PKI's server certificate (pki.ts). */
import { readFileSync } from 'node:fs';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../src/telemetry/broker.js';
import type { Pki } from './pki.js';

/** On mqtts:// at a free port, and on wss:// too when `wsPort` is 0; no accounts. */
export function startTlsBroker(pki: Pki, wsPort: 0 | null): Promise<EmbeddedBroker> {
  return startEmbeddedBroker({
    host: '127.0.0.1',
    port: 0,
    wsPort,
    accounts: [],
    base: 'aquastop',
    haPrefix: 'homeassistant',
    tls: { cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) },
  });
}
