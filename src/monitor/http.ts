/**
 * The monitor's HTTP side (GET only, JSON unless noted):
 * - `/metrics`: Prometheus text format (prom-client registry);
 * - `/api/devices`: array of {@link DeviceReport}, sorted by id;
 * - `/api/devices/:id`: one report (404 when unknown);
 * - `/api/devices/:id/history[?limit=N]`: the device's recorded events, oldest first (last N; default 500, max 5000);
 * - `/healthz`: `{"ok":true,"broker":"connected"}`, or 503 `{"ok":false,"broker":"disconnected","since","reason"}`
 *   while the monitor's own broker connection is down (it cannot tell whether devices are up).
 * With `fleet` (monitors that share a fleet, shared.ts) the /api/devices paths answer for the whole
 * fleet: the devices tracked here live, the others as their owners published them.
 * Anything else: 404 `{"error":...}`; other methods: 405.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { deviceIdSchema } from '../protocol/topics.js';
import type { TrackerView } from './tracker-view.js';
import type { DeviceReport, HistoryItem } from './types.js';

export interface HttpApiOptions {
  readonly host: string;
  readonly port: number;
  readonly tracker: TrackerView;
  /** Monitors that share a fleet (shared.ts): /api/devices answers for the whole fleet, not only the devices tracked here. */
  readonly fleet?: FleetView;
  readonly registry: Registry;
  /** What /healthz answers; without it, always ok. */
  readonly health?: () => Health;
}

export interface FleetView {
  fleetReports(): Promise<DeviceReport[]>;
  fleetReport(id: string): Promise<DeviceReport | null>;
  fleetHistory(id: string): Promise<HistoryItem[] | null>;
}

export type Health = { readonly ok: true; readonly broker: 'connected' } | { readonly ok: false; readonly broker: 'disconnected'; readonly since: string; readonly reason: string };

export interface HttpApi {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'access-control-allow-origin': '*' });
  res.end(text);
}

async function handle(req: IncomingMessage, res: ServerResponse, o: HttpApiOptions): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    sendJson(res, 405, { error: 'only GET is supported' });
    return;
  }
  const url = new URL(req.url ?? '/', 'http://monitor');
  const path = url.pathname.replace(/\/+$/, '') || '/';
  if (path === '/metrics') {
    const text = await o.registry.metrics();
    res.writeHead(200, { 'content-type': o.registry.contentType });
    res.end(text);
    return;
  }
  if (path === '/healthz') {
    const health = o.health?.() ?? { ok: true, broker: 'connected' };
    return sendJson(res, health.ok ? 200 : 503, health);
  }
  if (path === '/api/devices') return sendJson(res, 200, o.fleet ? await o.fleet.fleetReports() : o.tracker.reports());
  const m = /^\/api\/devices\/([^/]+)(\/history)?$/.exec(path);
  if (m) {
    const id = decodeURIComponent(m[1]!);
    if (!deviceIdSchema.safeParse(id).success) return sendJson(res, 400, { error: `invalid device id "${id}"` });
    if (m[2]) {
      const raw = url.searchParams.get('limit');
      const limit = raw === null ? 500 : Number(raw);
      if (!Number.isInteger(limit) || limit < 1 || limit > 5000) return sendJson(res, 400, { error: 'limit must be an integer 1-5000' });
      const items = o.fleet ? await o.fleet.fleetHistory(id) : o.tracker.history(id);
      if (!items) return sendJson(res, 404, { error: `no device "${id}"` });
      return sendJson(res, 200, { id, items: items.slice(-limit) });
    }
    const report = o.fleet ? await o.fleet.fleetReport(id) : o.tracker.report(id);
    return report ? sendJson(res, 200, report) : sendJson(res, 404, { error: `no device "${id}"` });
  }
  sendJson(res, 404, { error: `no such path ${path}; try /api/devices or /metrics` });
}

/** Listens on host:port (0 = any free port); rejects with the listen error (EADDRINUSE...). */
export async function startHttpApi(o: HttpApiOptions): Promise<HttpApi> {
  const server = createServer((req, res) => {
    handle(req, res, o).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: err instanceof Error ? err.message : String(err) });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
