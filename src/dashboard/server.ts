/**
 * The dashboard's HTTP server: serves the static page (src/dashboard/public), mqtt.js's own
 * browser bundle from node_modules, `/config.json` and a proxy to the monitor's HTTP API.
 *
 * Contract:
 * - The page itself talks to the broker over MQTT-over-WebSocket; this server never touches MQTT,
 *   so the page works with any broker that has a websocket listener (`wsUrl`).
 * - `/config.json` = {@link DashboardConfig}; the page's query string (`?ws=...&base=...`) overrides it.
 * - `/favicon.svg` is the icon; `/favicon.ico` redirects to it.
 * - `/api/*` is forwarded to `monitorUrl` (GET only) when one is given, else answers 404 with a JSON error.
 * - Binds to `host` (default 127.0.0.1); `port` 0 picks a free port, read it back from `port`/`url`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { baseTopicRule, DEFAULT_BASE_TOPIC, ID_PATTERN } from '../protocol/names.js';
import { TOPICS, type TopicName } from '../protocol/topics.js';
import { FAULTS, SEVERITIES } from '../machine/catalogue.js';

export const dashboardOptionsSchema = z
  .object({
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535),
    /** ws:// or wss:// URL of the broker's websocket listener, as the browser must reach it. */
    wsUrl: z.string().regex(/^wss?:\/\/[^\s]+$/, 'broker websocket URL must start with ws:// or wss://'),
    baseTopic: baseTopicRule().default(DEFAULT_BASE_TOPIC),
    /** http:// URL of the monitor's API (startMonitor); null or absent hides monitor figures. */
    monitorUrl: z
      .string()
      .regex(/^https?:\/\/[^\s]+$/, 'monitor URL must start with http:// or https://')
      .nullable()
      .default(null),
    /**
     * The simulator's injection buttons (name = the `inject` command, label), in their order; the
     * commands that serve simulated appliances give sim/injections.ts's. None: no buttons.
     */
    injections: z
      .array(z.object({ name: z.string().regex(/^[A-Za-z]{1,40}$/, 'an injection name is 1 to 40 letters'), label: z.string().min(1).max(80) }).strict())
      .max(50)
      .default([]),
  })
  .strict();

export type DashboardOptions = z.input<typeof dashboardOptionsSchema>;

/** What the page reads from `/config.json`. */
export interface DashboardConfig {
  readonly wsUrl: string;
  readonly baseTopic: string;
  /** Same-origin path of the monitor API proxy, or null when no monitor is configured. */
  readonly monitorApi: string | null;
  /** Direct URL of the monitor (for links such as /metrics), or null. */
  readonly monitorUrl: string | null;
  /** The fault catalogue: display (",30") and text per code, so the page shows what the appliance shows. */
  readonly faults: Readonly<Record<string, { display: string; text: string; severity: string; reset: string }>>;
  /** The catalogue's severities, most severe first: the page lists faulted devices in this order. */
  readonly severities: readonly string[];
  /** The simulator's injection buttons of a simulated appliance's view, in their order. */
  readonly injections: readonly { readonly name: string; readonly label: string }[];
  /**
   * The MQTT contract's topics (src/protocol/topics.ts), so the page builds and reads every topic
   * from them and spells none itself: each topic's template by name (`{base}/{id}/heartbeat`), and
   * the pattern of an `{id}` or `{bridge}` level.
   */
  readonly topics: { readonly templates: Readonly<Record<TopicName, string>>; readonly idPattern: string };
}

export interface DashboardServer {
  /** http://host:port/ of the page. */
  readonly url: string;
  readonly port: number;
  readonly config: DashboardConfig;
  close(): Promise<void>;
}

const PUBLIC_DIR = join(dirname(fileURLToPath(import.meta.url)), 'public');
const MQTT_BUNDLE = createRequire(import.meta.url).resolve('mqtt/dist/mqtt.esm');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json; charset=utf-8',
};

function contentType(path: string): string {
  const dot = path.lastIndexOf('.');
  return CONTENT_TYPES[dot >= 0 ? path.slice(dot) : ''] ?? 'application/octet-stream';
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, CONTENT_TYPES['.json']!, JSON.stringify(value));
}

async function proxy(monitorUrl: string, path: string, res: ServerResponse): Promise<void> {
  try {
    const upstream = await fetch(new URL(path, monitorUrl), { signal: AbortSignal.timeout(5000) });
    const body = Buffer.from(await upstream.arrayBuffer());
    send(res, upstream.status, upstream.headers.get('content-type') ?? 'application/octet-stream', body);
  } catch (err) {
    sendJson(res, 502, { error: `monitor unreachable at ${monitorUrl}: ${err instanceof Error ? err.message : String(err)}` });
  }
}

async function serveStatic(urlPath: string, res: ServerResponse): Promise<void> {
  const rel = urlPath === '/' ? 'index.html' : decodeURIComponent(urlPath.slice(1));
  const full = normalize(join(PUBLIC_DIR, rel));
  if (!full.startsWith(PUBLIC_DIR + sep)) return sendJson(res, 404, { error: 'not found' });
  try {
    send(res, 200, contentType(full), await readFile(full));
  } catch {
    sendJson(res, 404, { error: 'not found' });
  }
}

export function dashboardConfig(options: z.output<typeof dashboardOptionsSchema>): DashboardConfig {
  const faults: Record<string, { display: string; text: string; severity: string; reset: string }> = {};
  for (const f of Object.values(FAULTS)) faults[f.code] = { display: f.display, text: f.text, severity: f.severity, reset: f.reset };
  return {
    wsUrl: options.wsUrl,
    baseTopic: options.baseTopic,
    monitorApi: options.monitorUrl ? '/api' : null,
    monitorUrl: options.monitorUrl,
    faults,
    severities: SEVERITIES,
    injections: options.injections,
    topics: { templates: topicTemplates(), idPattern: ID_PATTERN.source },
  };
}

function topicTemplates(): Record<TopicName, string> {
  return Object.fromEntries(Object.entries(TOPICS).map(([name, spec]) => [name, spec.template])) as Record<TopicName, string>;
}

/** Starts the dashboard server; rejects with a one-line message when the options are bad or the port is taken. */
export async function startDashboard(input: DashboardOptions): Promise<DashboardServer> {
  const options = dashboardOptionsSchema.parse(input);
  const config = dashboardConfig(options);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://dashboard');
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'method not allowed' });
    if (url.pathname === '/config.json') return sendJson(res, 200, config);
    if (url.pathname === '/vendor/mqtt.esm.js') {
      return send(res, 200, CONTENT_TYPES['.js']!, await readFile(MQTT_BUNDLE));
    }
    if (url.pathname === '/api' || url.pathname.startsWith('/api/')) {
      if (!options.monitorUrl) return sendJson(res, 404, { error: 'no monitor configured (start the dashboard with --monitor URL)' });
      return proxy(options.monitorUrl, url.pathname + url.search, res);
    }
    if (url.pathname === '/healthz') return sendJson(res, 200, { ok: true });
    // Browsers and tools that ask for /favicon.ico without reading the page's <link rel="icon">.
    if (url.pathname === '/favicon.ico') {
      res.writeHead(301, { location: '/favicon.svg', 'cache-control': 'max-age=86400' });
      return void res.end();
    }
    return serveStatic(url.pathname, res);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => sendJson(res, 500, { error: err instanceof Error ? err.message : String(err) }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const hostForUrl = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${hostForUrl}:${port}/`,
    port,
    config,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
