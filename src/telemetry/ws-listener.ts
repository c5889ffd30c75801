/**
 * The embedded broker's MQTT-over-WebSocket listener (for the dashboard): HTTP or HTTPS with
 * the `ws` library, each WebSocket handed to the broker as a stream.
 *
 * Contract: a WebSocket message above `maxPayload` bytes is refused by `ws` at its frame header
 * (close code 1009) before its body is buffered; aedes-server-factory's listener, used before,
 * buffered frames of up to 100 MiB. Everything else (connection caps, the packet guard, logins)
 * is the broker's `handle`.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { createWebSocketStream, WebSocketServer } from 'ws';

export interface WsListenerOptions {
  readonly maxPayload: number;
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
}

export function createWsListener(handle: (stream: Duplex, req: IncomingMessage) => unknown, options: WsListenerOptions): HttpServer {
  const tls = options.tls;
  const server: HttpServer = tls ? createHttpsServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' }) : createHttpServer();
  const wss = new WebSocketServer({ server, maxPayload: options.maxPayload });
  // A failed upgrade or a bad frame ends that one connection; the listener goes on.
  wss.on('error', () => undefined);
  wss.on('connection', (socket, req) => {
    socket.on('error', () => undefined);
    const stream = createWebSocketStream(socket);
    stream.on('error', () => undefined);
    handle(stream, req);
  });
  server.on('close', () => wss.close());
  return server;
}
