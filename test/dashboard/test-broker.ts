/**
 * An in-process aedes broker for dashboard tests: MQTT over TCP and over WebSocket, both on
 * free loopback ports. Anyone may connect and read; only the operator (username/password
 * given here) may publish commands on `<base>/<id>/set`.
 */
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import { Aedes } from 'aedes';
import { createServer as createWsServer } from 'aedes-server-factory';

export interface TestBroker {
  readonly mqttUrl: string;
  readonly wsUrl: string;
  close(): Promise<void>;
}

export const OPERATOR = { username: 'operator', password: 'hunter2' } as const;

function listen(server: NetServer | HttpServer): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : 0);
    });
  });
}

export async function startTestBroker(): Promise<TestBroker> {
  const operators = new Set<string>();
  const broker = await Aedes.createBroker({
    authenticate: (client, username, password, done) => {
      if (username === undefined) return done(null, true);
      const ok = username === OPERATOR.username && password?.toString() === OPERATOR.password;
      if (ok) operators.add(client.id);
      if (ok || username === 'device') return done(null, true);
      const err = Object.assign(new Error('Bad username or password'), { returnCode: 4 as const });
      return done(err, false);
    },
    authorizePublish: (client, packet, done) => {
      if (client && packet.topic.endsWith('/set') && !operators.has(client.id)) return done(new Error('operators only'));
      done(null);
    },
  });
  const tcp = createNetServer(broker.handle);
  const ws = createWsServer(broker, { ws: true }) as HttpServer;
  const tcpPort = await listen(tcp);
  const wsPort = await listen(ws);
  return {
    mqttUrl: `mqtt://127.0.0.1:${tcpPort}`,
    wsUrl: `ws://127.0.0.1:${wsPort}`,
    close: async () => {
      await new Promise<void>((r) => broker.close(() => r()));
      ws.closeAllConnections?.();
      await Promise.all([new Promise((r) => tcp.close(r)), new Promise((r) => ws.close(r))]);
    },
  };
}
