/**
 * One MQTT login over TCP on loopback, from a chosen local address (Linux routes all of
 * 127.0.0.0/8 to `lo`, so 127.0.0.2, 127.0.0.3, ... act as different clients), with the
 * broker's answer: accepted, a CONNACK return code, or the connection closed without one.
 */
import { connect as netConnect } from 'node:net';
import { MqttClient } from 'mqtt';

export type LoginOutcome = { readonly ok: true } | { readonly ok: false; readonly code: number | 'closed' | 'timeout' };

export interface LoginAttempt {
  readonly port: number;
  readonly username?: string;
  readonly password?: string;
  /** Source address, e.g. 127.0.0.7; default 127.0.0.1. */
  readonly localAddress?: string;
  /** Give up after this long (default 30 s). */
  readonly timeoutMs?: number;
  /** Stay connected instead of disconnecting at once (the caller ends the client). */
  readonly keep?: (client: MqttClient) => void;
}

export function tryLogin(a: LoginAttempt): Promise<LoginOutcome> {
  return new Promise((resolve) => {
    const client = new MqttClient(() => netConnect({ host: '127.0.0.1', port: a.port, localAddress: a.localAddress ?? '127.0.0.1' }), {
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: a.timeoutMs ?? 30_000,
      clean: true,
      ...(a.username !== undefined ? { username: a.username } : {}),
      ...(a.password !== undefined ? { password: a.password } : {}),
    });
    let settled = false;
    const settle = (outcome: LoginOutcome) => {
      if (settled) return;
      settled = true;
      if (outcome.ok && a.keep) a.keep(client);
      else client.end(true);
      resolve(outcome);
    };
    client.on('connect', () => settle({ ok: true }));
    client.on('error', (err: Error & { code?: unknown }) => settle({ ok: false, code: typeof err.code === 'number' ? err.code : 'closed' }));
    client.on('close', () => settle({ ok: false, code: 'closed' }));
    const timer = setTimeout(() => settle({ ok: false, code: 'timeout' }), a.timeoutMs ?? 30_000);
    timer.unref();
  });
}
