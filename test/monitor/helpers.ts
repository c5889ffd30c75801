/**
 * Monitor test helpers: an in-process aedes broker on a free loopback port, the fixture
 * device as a child process, a webhook receiver, a silent logger, and bounded polling.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Aedes } from 'aedes';
import { pino } from 'pino';
import type { Alert } from '../../src/monitor/types.js';

export interface TestBroker {
  readonly url: string;
  readonly aedes: Aedes;
  /** Closes the broker's side of a client's connection, as a broker that drops it does (its will is sent). */
  drop(clientId: string): void;
  close(): Promise<void>;
}

/** An aedes broker on a free loopback port; `options` its hooks (a test that refuses or delays on cue). */
export async function startBroker(options?: Parameters<typeof Aedes.createBroker>[0]): Promise<TestBroker> {
  const aedes = await Aedes.createBroker(options);
  const server: Server = createServer(aedes.handle);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    aedes,
    drop(clientId) {
      // aedes's typings leave out its clients by id.
      for (const client of Object.values((aedes as unknown as { clients: Record<string, { id: string; close(): void }> }).clients)) if (client.id === clientId) client.close();
    },
    close: async () => {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export const silentLogger = () => pino({ level: 'silent' });

export interface WebhookReceiver {
  readonly url: string;
  /** Every alert POSTed, in arrival order. */
  readonly received: Alert[];
  close(): Promise<void>;
}

/** An HTTP endpoint on a free loopback port that records the alerts the monitor POSTs. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: Alert[] = [];
  const hook: HttpServer = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push(JSON.parse(body) as Alert);
      res.end('ok');
    });
  });
  hook.listen(0, '127.0.0.1');
  await once(hook, 'listening');
  return {
    url: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`,
    received,
    close: () => new Promise<void>((resolve) => hook.close(() => resolve())),
  };
}

export interface FixtureDevice {
  readonly child: ChildProcessWithoutNullStreams;
  /** Sends a stdin command and waits for its "ok". */
  command(line: string): Promise<void>;
}

const fixturePath = fileURLToPath(new URL('./fixtures/device.ts', import.meta.url));

/** Spawns `node --import tsx fixtures/device.ts` and waits for its first heartbeat ("ready"). */
export async function spawnDevice(env: Record<string, string>, timeoutMs = 20_000): Promise<FixtureDevice> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixturePath], { env: { ...process.env, ...env }, stdio: 'pipe' });
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`fixture device exited ${child.exitCode}: ${err}`);
      return out.includes('ready\n');
    },
    timeoutMs,
    'fixture device ready',
  );
  return {
    child,
    async command(line) {
      const before = out.split('ok\n').length;
      child.stdin.write(`${line}\n`);
      await waitFor(() => out.split('ok\n').length > before, 5000, `fixture answered "${line}"`);
    },
  };
}

export function killDevice(d: FixtureDevice, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (d.child.exitCode !== null || d.child.signalCode !== null) return Promise.resolve();
  const done = once(d.child, 'exit').then(() => undefined);
  d.child.kill(signal);
  return done;
}

/** Polls `predicate` every 20 ms; throws `what` after `timeoutMs`. */
export async function waitFor(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
