/**
 * 1,000 appliances on one page: every device's state, availability and heartbeats published
 * through the broker while a requestAnimationFrame probe and a long-task observer watch the page.
 * Prints the figures as JSON; asserts only what the page shows, never timings.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMonitor, type Monitor } from '../../src/monitor/index.js';
import { hasTools } from '../helpers/tools.js';
import { startDashboard, type DashboardServer } from '../../src/dashboard/server.js';
import { startTestBroker, type TestBroker } from './test-broker.js';
import { startFakeFleet, baseState, type FakeFleet } from './fake-fleet.js';
import { CHROMIUM, launchBrowser, screenshot, type TestBrowser } from './browser.js';

const N = 1000;
const ids = Array.from({ length: N }, (_, i) => `dev-${String(i).padStart(4, '0')}`);
const leaking = (i: number) => i % 100 === 7;

const PROBE = `
  window.__probe = { frames: 0, maxFrameGapMs: 0, longTasks: 0, longTaskMs: 0, maxLongTaskMs: 0 };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      __probe.longTasks++; __probe.longTaskMs += e.duration; __probe.maxLongTaskMs = Math.max(__probe.maxLongTaskMs, e.duration);
    }
  }).observe({ type: 'longtask', buffered: true });
  let last = performance.now();
  const loop = (t) => { __probe.frames++; __probe.maxFrameGapMs = Math.max(__probe.maxFrameGapMs, t - last); last = t; requestAnimationFrame(loop); };
  requestAnimationFrame(loop);
`;

describe.skipIf(!hasTools(CHROMIUM))('the dashboard with 1,000 appliances', () => {
  let broker: TestBroker;
  let fleet: FakeFleet;
  let dashboard: DashboardServer;
  let browser: TestBrowser;
  let monitor: Monitor;
  let dataDir: string;

  // With a monitor, as `npm start` runs it: the page also polls /api/devices for 1,000 devices.
  beforeAll(async () => {
    broker = await startTestBroker();
    fleet = await startFakeFleet(broker.mqttUrl);
    dataDir = mkdtempSync(join(tmpdir(), 'aquastop-scale-monitor-'));
    monitor = await startMonitor({ brokerUrl: broker.mqttUrl, port: 0, dataDir, logger: pino({ level: 'silent' }) });
    dashboard = await startDashboard({ port: 0, wsUrl: broker.wsUrl, monitorUrl: monitor.url });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await dashboard?.close();
    await fleet?.stop();
    await monitor?.stop();
    await broker?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('renders every tile and stays responsive while 1,000 devices report', async () => {
    const page = await browser.newPage();
    await page.addInitScript(PROBE);
    await page.goto(dashboard.url);
    await expect.poll(() => page.locator('#conn').getAttribute('data-state'), { timeout: 15_000 }).toBe('connected');
    const resetProbe = () =>
      page.evaluate(() => {
        const w = window as any;
        Object.assign(w.__probe, { frames: 0, maxFrameGapMs: 0, longTasks: 0, longTaskMs: 0, maxLongTaskMs: 0 });
        Object.assign(w.aquastopStats, { messages: 0, flushes: 0, renderedTiles: 0, maxFlushMs: 0 });
      });
    const readProbe = () => page.evaluate(() => ({ probe: { ...(window as any).__probe }, stats: { ...(window as any).aquastopStats } }));

    // Burst: state + availability + heartbeat for every device, as fast as the broker takes them.
    await resetProbe();
    const t0 = Date.now();
    await Promise.all(
      ids.map(async (id, i) => {
        await fleet.publish('availability', id, { state: 'online' });
        await fleet.setState(id, leaking(i) ? { ...baseState(), fault: 'i30', breaker: 'latched', state: 'latched', leak: true, drainPump: 'on' } : {});
        await fleet.heartbeat(id);
      }),
    );
    const publishedMs = Date.now() - t0;
    await expect.poll(() => page.locator('.tile').count(), { timeout: 30_000, interval: 200 }).toBe(N);
    await expect.poll(() => page.locator('.tile[data-fault="i30"] .display').allTextContents(), { timeout: 10_000 }).toEqual(Array(ids.filter((_, i) => leaking(i)).length).fill(',30'));
    const allTilesMs = Date.now() - t0;
    const burst = await readProbe();

    // Steady: three rounds of 1,000 heartbeats, one round a second (a 1 s heartbeat interval fleet).
    await resetProbe();
    for (let round = 0; round < 3; round++) {
      const start = Date.now();
      await Promise.all(ids.map((id) => fleet.heartbeat(id)));
      await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - start))));
    }
    // every heartbeat reaches the page (the last round may still be on its way)
    await expect.poll(() => page.evaluate(() => (window as any).aquastopStats.messages), { timeout: 15_000 }).toBe(N * 3);
    const steady = await readProbe();
    // The page still answers: a click opens a device view with its facts.
    await page.click('.tile[data-device-id="dev-0507"]');
    await expect.poll(() => page.locator('.dv-facts dd[data-key="breaker"]').textContent()).toBe('latched');
    // the monitor's figures reach every tile (its first poll after the burst)
    await expect.poll(() => page.locator('.tile .availability', { hasText: '100 % · 24 h' }).count(), { timeout: 15_000, interval: 500 }).toBe(N);
    await screenshot(page, 'dashboard-1000-devices.png');

    type Read = Awaited<ReturnType<typeof readProbe>>;
    const pick = ({ probe: p, stats: s }: Read) => ({
      frames: p.frames, maxFrameGapMs: Math.round(p.maxFrameGapMs), longTasks: p.longTasks, longTaskMs: Math.round(p.longTaskMs), maxLongTaskMs: Math.round(p.maxLongTaskMs),
      pageMessages: s.messages, renderFlushes: s.flushes, tileRenders: s.renderedTiles, maxFlushMs: Math.round(s.maxFlushMs * 10) / 10,
    });
    console.log(
      JSON.stringify({
        bench: 'dashboard-1000-devices',
        devices: N,
        burst: { messages: N * 3, publishedMs, allTilesRenderedMs: allTilesMs, ...pick(burst) },
        steady: { heartbeatsPerSecond: N, seconds: 3, ...pick(steady) },
      }),
    );
    // Every heartbeat reached the page, and tiles were rendered in batches, not once per message.
    expect(steady.stats.messages).toBe(N * 3);
    expect(steady.stats.flushes).toBeLessThan(steady.stats.messages);
  });
});
