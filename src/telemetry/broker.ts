/**
 * The embedded MQTT broker (aedes): MQTT over TCP, and MQTT over WebSocket for the dashboard.
 *
 * Contract:
 * - Binds `host` only. Anonymous clients are let in only when `host` is a loopback address
 *   (they get the `local` role); on any other address every client needs an account.
 * - Enforces the rules of access.ts on every publish, subscribe and delivery: a retained
 *   publish only on the topics the contract retains, a message reaches a client only when it
 *   may read it. A refused publish closes that client's connection (MQTT 3.1.1 has no
 *   negative PUBACK; aedes does so).
 * - Limits (as the shipped mosquitto.conf): payloads of at most MAX_PUBLISH_BYTES, and at most
 *   MAX_QUEUED_MESSAGES waiting for one client (broker-limits.ts); persistent sessions (clean
 *   session off) only with an account, at most 1,000 stored, ended after 1 h offline, client ids
 *   of at most 128 bytes and 64 subscriptions per client (session-limits.ts).
 * - Every connection passes login-gate.ts before aedes reads it: connection caps, a packet size
 *   checked at each header (a CONNECT of at most 16 KiB), passwords checked off the event loop
 *   with a bounded queue, and a back-off after failed logins per address and per user name.
 * - The process's own telemetry client logs in with a one-time `fleet` account made here
 *   (`internal`), so it needs no configuration and nobody else knows its password; watchers in
 *   the same process (the monitor of `aquastop start`) get a one-time `viewer` account
 *   (`watcher`), so they work on a non-loopback bind too.
 * - A port in use rejects with an error whose `code` is EADDRINUSE.
 * - With `tls` both listeners speak TLS only (mqtts://, wss://); there is no plain listener.
 */
import { randomBytes } from 'node:crypto';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { Server as HttpServer } from 'node:http';
import { Aedes, type Client } from 'aedes';
import { LoginGate, type LoginGateOptions } from './login-gate.js';
import { createWsListener } from './ws-listener.js';
import { boundOfflineQueues, isBacklogged } from './broker-limits.js';
import { SessionBook, type SessionLimitOptions } from './session-limits.js';
import { discoveryRefusal, mayPublish, mayRead, mayRetain, maySubscribe, type Account, type Namespaces, type Principal } from './access.js';

/** Largest payload the broker forwards; discovery configs, the largest of ours, are about 1 KiB (and bounded to 4 KiB, access.ts). */
export const MAX_PUBLISH_BYTES = 64 * 1024;

export interface EmbeddedBrokerOptions extends Namespaces {
  readonly host: string;
  /** TCP port; 0 picks a free one. */
  readonly port: number;
  /** WebSocket port, 0 for a free one, null for none. */
  readonly wsPort: number | null;
  /** PEM certificate (chain) and key: both listeners speak TLS only. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
  readonly accounts: readonly Account[];
  /** One line per refused login, publish or subscription. */
  readonly log?: (line: string) => void;
  /** Login and connection limits (login-gate.ts); the defaults suit a home or a small fleet. */
  readonly limits?: Pick<LoginGateOptions, 'passwords' | 'throttle' | 'connections' | 'now' | 'timers'> & { readonly sessions?: SessionLimitOptions };
}

export interface EmbeddedBroker {
  readonly url: string;
  readonly wsUrl: string | null;
  /** Credentials of the process's own fleet account. */
  readonly internal: { readonly username: string; readonly password: string };
  /** Credentials of a read-only account for watchers in the same process. */
  readonly watcher: { readonly username: string; readonly password: string };
  close(): Promise<void>;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function listen(server: NetServer | HttpServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : port);
    });
  });
}

function close(server: NetServer | HttpServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export async function startEmbeddedBroker(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const oneTime = (what: string) => ({ username: `aquastop-${what}-${randomBytes(4).toString('hex')}`, password: randomBytes(24).toString('hex') });
  const internal = oneTime('internal');
  const watcher = oneTime('watcher');
  const log = options.log ?? (() => undefined);
  const gate = await LoginGate.create({
    ...options.limits,
    accounts: options.accounts,
    inProcess: [
      { ...internal, role: 'fleet' },
      { ...watcher, role: 'viewer' },
    ],
    log,
  });
  const anonymousAllowed = isLoopback(options.host);
  const principals = new WeakMap<Client, Principal>();
  const ns: Namespaces = { base: options.base, haPrefix: options.haPrefix };
  const name = (client: Client, who?: Principal) => (who?.username ? `"${who.username}"` : `anonymous client ${client.id}`);

  const broker = await Aedes.createBroker({
    authenticate: (client, username, password, done) => {
      const refused = sessions.check(client.id, client.clean, username === undefined || username === '');
      if (refused) {
        log(`refused client ${client.id.slice(0, 64)}${client.id.length > 64 ? '...' : ''}: ${refused.why}`);
        return done(Object.assign(new Error(refused.why), { returnCode: refused.returnCode }), false);
      }
      if (username === undefined || username === '') {
        if (!anonymousAllowed) {
          log(`refused anonymous client ${client.id}: this broker listens on ${options.host}, so every client needs an account`);
          return done(Object.assign(new Error('credentials required'), { returnCode: 4 as const }), false);
        }
        principals.set(client, { role: 'local' });
        gate.admit(client.conn);
        return done(null, true);
      }
      // Checked on the thread pool: the controllers' event loop never waits for a hash.
      void gate
        .login(client.conn, client.id, username, password, () => client.closed)
        .then((r) => {
          if (!r.ok)
            return done(
              Object.assign(new Error(r.returnCode === 4 ? 'Bad username or password' : r.returnCode === 3 ? 'Server unavailable' : 'Not authorized'), {
                returnCode: r.returnCode,
              }),
              false,
            );
          const full = sessions.accepted(client.id, client.clean);
          if (full) {
            log(`refused client ${client.id}: ${full.why}`);
            return done(Object.assign(new Error(full.why), { returnCode: full.returnCode }), false);
          }
          principals.set(client, { role: r.role, username });
          done(null, true);
        });
    },
    authorizePublish: (client, packet, done) => {
      // A null client is aedes publishing a stored will of a client that is long gone.
      if (client === null) return done(null);
      const who = principals.get(client);
      if (packet.payload.length > MAX_PUBLISH_BYTES) {
        // Nothing of ours is this large; forwarding it would load every subscriber, dashboards included.
        log(`refused publish by ${name(client, who)} on ${packet.topic}: ${packet.payload.length} bytes (at most ${MAX_PUBLISH_BYTES}); disconnected it`);
        return done(new Error('payload too large'));
      }
      if (who && packet.retain && mayPublish(who, packet.topic, ns) && !mayRetain(packet.topic, ns)) {
        // A retained heartbeat would say "alive" forever; a retained command would run again on every reconnect.
        log(`refused retained publish by ${name(client, who)} on ${packet.topic}: the contract does not retain this topic; disconnected it`);
        return done(new Error(`not a retained topic: ${packet.topic}`));
      }
      const refusal = who && mayPublish(who, packet.topic, ns) ? discoveryRefusal(who, packet.topic, packet.payload, ns) : null;
      if (refusal) {
        // A device's discovery config may only name its own topics (else Home Assistant would command another device), and is small.
        log(`refused publish by ${name(client, who)} on ${packet.topic}: ${refusal}; disconnected it`);
        return done(new Error(refusal));
      }
      if (who && mayPublish(who, packet.topic, ns)) return done(null);
      log(`refused publish by ${name(client, who)} (${who?.role ?? 'no role'}) on ${packet.topic}; disconnected it`);
      done(new Error(`not authorised to publish on ${packet.topic}`));
    },
    authorizeSubscribe: (client, sub, done) => {
      const who = principals.get(client);
      const held = Object.keys((client as unknown as { subscriptions: object }).subscriptions).length;
      const cap = sessions.maxSubscriptionsFor(who?.role);
      if (held >= cap && !(sub.topic in (client as unknown as { subscriptions: object }).subscriptions)) {
        log(`refused subscription by ${name(client, who)} to ${sub.topic}: it holds ${held} (at most ${cap})`);
        return done(null, null);
      }
      if (who && maySubscribe(who, sub.topic, ns)) return done(null, sub);
      log(`refused subscription by ${name(client, who)} to ${sub.topic}`);
      // A null subscription is a refusal in the SUBACK (0x80); the client stays connected.
      done(null, null);
    },
    // Every delivery, retained ones included: only what the client may read (a device subscribed
    // to <base>/# gets its own commands), and nothing while its send buffer is full.
    authorizeForward: (client, packet) => {
      const who = principals.get(client);
      if (!who || !mayRead(who, packet.topic, ns) || isBacklogged(client, log)) return null;
      return packet;
    },
  });
  const queues = boundOfflineQueues(broker, log);
  const sessions = new SessionBook(options.limits?.sessions ?? {}, options.limits?.now ?? Date.now, queues.endSession, log);
  broker.on('client', (client: Client) => sessions.connected(client.id, client.clean));
  // A client taken over by a newer one with its id leaves after the newer one came in: not offline.
  broker.on('clientDisconnect', (client: Client) => {
    const current = (broker as unknown as { clients: Record<string, Client | undefined> }).clients[client.id];
    if ((current ?? client) === client) sessions.disconnected(client.id, client.clean);
  });
  // Every listener (TCP, TLS, WebSocket) hands its connections to `handle`: limits and the packet guard go first.
  broker.handle = gate.wrap(broker.handle.bind(broker)) as typeof broker.handle;
  const servers: (NetServer | HttpServer)[] = [];
  try {
    const tls = options.tls;
    // A handshake that fails (an untrusted or plain-text client) only ends that connection.
    const tcp = tls
      ? createTlsServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' }, broker.handle).on('tlsClientError', () => undefined)
      : createNetServer(broker.handle);
    servers.push(tcp);
    const port = await listen(tcp, options.port, options.host);
    let wsUrl: string | null = null;
    if (options.wsPort !== null) {
      const ws = createWsListener(broker.handle, { maxPayload: gate.maxPacketBytes + 8, ...(tls ? { tls } : {}) });
      servers.push(ws);
      const wsPort = await listen(ws, options.wsPort, options.host);
      wsUrl = `${tls ? 'wss' : 'ws'}://${hostForUrl(options.host)}:${wsPort}`;
    }
    return {
      url: `${tls ? 'mqtts' : 'mqtt'}://${hostForUrl(options.host)}:${port}`,
      wsUrl,
      internal,
      watcher,
      close: async () => {
        await new Promise<void>((resolve) => broker.close(() => resolve()));
        await gate.close();
        for (const s of servers) (s as HttpServer).closeAllConnections?.();
        await Promise.all(servers.map(close));
      },
    };
  } catch (err) {
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    await gate.close();
    await Promise.all(servers.filter((s) => s.listening).map(close));
    throw err;
  }
}
