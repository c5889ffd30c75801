import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { startDashboard, type DashboardServer } from '../../src/dashboard/server.js';

describe('the dashboard server', () => {
  let monitor: Server;
  let monitorUrl: string;
  let dash: DashboardServer;
  let bare: DashboardServer;

  beforeAll(async () => {
    monitor = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ path: req.url }));
    });
    await new Promise<void>((r) => monitor.listen(0, '127.0.0.1', () => r()));
    const a = monitor.address();
    monitorUrl = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
    dash = await startDashboard({ port: 0, wsUrl: 'ws://127.0.0.1:9001', monitorUrl });
    bare = await startDashboard({ port: 0, wsUrl: 'wss://broker.example:8884/mqtt', baseTopic: 'home/aquastop' });
  });
  afterAll(async () => {
    await dash?.close();
    await bare?.close();
    await new Promise((r) => monitor.close(r));
  });

  const get = (server: DashboardServer, path: string) => fetch(new URL(path, server.url));

  it('serves the page, its modules and mqtt.js from node_modules', async () => {
    const page = await get(dash, '/');
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('src="/app.js"');
    expect((await get(dash, '/app.js')).headers.get('content-type')).toMatch(/javascript/);
    const bundle = await get(dash, '/vendor/mqtt.esm.js');
    expect(bundle.status).toBe(200);
    expect(await bundle.text()).toMatch(/export default/);
  });

  it('gives the page its broker websocket URL, base topic, monitor API and the fault catalogue', async () => {
    const config = await (await get(bare, '/config.json')).json();
    expect(config).toMatchObject({ wsUrl: 'wss://broker.example:8884/mqtt', baseTopic: 'home/aquastop', monitorApi: null });
    expect(config.faults.i30).toMatchObject({ display: ',30', reset: 'manual', severity: 'critical' });
    // The page orders faulted devices by these, most severe first; every fault's severity is one of them.
    expect(config.severities).toEqual(['critical', 'error', 'warning']);
    for (const f of Object.values<{ severity: string }>(config.faults)) expect(config.severities).toContain(f.severity);
    expect((await (await get(dash, '/config.json')).json()).monitorApi).toBe('/api');
  });

  it('forwards /api/* to the monitor, and says so when there is none', async () => {
    expect(await (await get(dash, '/api/devices?x=1')).json()).toEqual({ path: '/api/devices?x=1' });
    const none = await get(bare, '/api/devices');
    expect(none.status).toBe(404);
    expect((await none.json()).error).toMatch(/no monitor configured/);
  });

  it('answers 502 with the reason when the monitor is down', async () => {
    const down = await startDashboard({ port: 0, wsUrl: 'ws://127.0.0.1:9001', monitorUrl: 'http://127.0.0.1:1' });
    try {
      const r = await get(down, '/api/devices');
      expect(r.status).toBe(502);
      expect((await r.json()).error).toMatch(/monitor unreachable/);
    } finally {
      await down.close();
    }
  });

  it('serves its icon, and sends /favicon.ico to it', async () => {
    const icon = await get(dash, '/favicon.svg');
    expect(icon.status).toBe(200);
    expect(icon.headers.get('content-type')).toBe('image/svg+xml');
    expect(await icon.text()).toMatch(/^<svg /);
    const ico = await fetch(new URL('/favicon.ico', dash.url), { redirect: 'manual' });
    expect(ico.status).toBe(301);
    expect(ico.headers.get('location')).toBe('/favicon.svg');
    expect(await (await get(dash, '/')).text()).toContain('<link rel="icon" href="/favicon.svg" type="image/svg+xml">');
  });

  it('does not serve files outside its public directory', async () => {
    for (const path of ['/../server.ts', '/%2e%2e/server.ts', '/..%2f..%2fpackage.json']) {
      expect((await get(dash, path)).status, path).toBe(404);
    }
  });

  it('refuses a broker URL that is not ws:// or wss://', async () => {
    await expect(startDashboard({ port: 0, wsUrl: 'mqtt://127.0.0.1:1883' })).rejects.toThrow(/ws:\/\/ or wss:\/\//);
  });
});
