import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { pino } from 'pino';
import { hasTools } from '../helpers/tools.js';
import { startDashboard, type DashboardServer } from '../../src/dashboard/server.js';
import { dashboardButtons } from '../../sim/injections.js';
import { startMonitor, type Monitor } from '../../src/monitor/index.js';
import { waitFor } from '../monitor/helpers.js';
import { startTestBroker, OPERATOR, type TestBroker } from './test-broker.js';
import { startFakeFleet, type FakeFleet } from './fake-fleet.js';
import { CHROMIUM, launchBrowser, screenshot, type TestBrowser } from './browser.js';

const DEVICES = ['dishwasher-kitchen', 'washer-cellar', 'dishwasher-leaky'];

describe.skipIf(!hasTools(CHROMIUM))('the dashboard page in Chromium (in-process broker, stand-in devices, real monitor)', () => {
  let broker: TestBroker;
  let monitor: Monitor;
  let dataDir: string;
  let fleet: FakeFleet;
  let dashboard: DashboardServer;
  let browser: TestBrowser;
  let page: Page;
  let beat: NodeJS.Timeout;
  /** Every HTTP answer the first page got: nothing it asks for may be missing (favicon included). */
  const answers: { url: string; status: number }[] = [];

  beforeAll(async () => {
    broker = await startTestBroker();
    dataDir = mkdtempSync(join(tmpdir(), 'aquastop-dash-monitor-'));
    monitor = await startMonitor({ brokerUrl: broker.mqttUrl, port: 0, dataDir, logger: pino({ level: 'silent' }) });
    fleet = await startFakeFleet(broker.mqttUrl);
    for (const id of DEVICES) {
      await fleet.publish('availability', id, { state: 'online' });
      await fleet.setState(id, id === 'dishwasher-kitchen' ? { state: 'armed.filling', valve: 'open', tubLevelL: 2.5 } : {});
      await fleet.heartbeat(id);
    }
    beat = setInterval(() => DEVICES.forEach((id) => void fleet.heartbeat(id)), 1000);
    // the monitor has seen every device before the page asks it
    await waitFor(() => monitor.tracker.reports().filter((r) => r.up).length === DEVICES.length, 10_000, 'the monitor sees every device');
    dashboard = await startDashboard({ port: 0, wsUrl: broker.wsUrl, monitorUrl: monitor.url, injections: dashboardButtons() });
    browser = await launchBrowser();
    page = await browser.newPage();
    page.on('response', (r) => answers.push({ url: new URL(r.url()).pathname, status: r.status() }));
    await page.goto(dashboard.url);
  });

  afterAll(async () => {
    clearInterval(beat);
    await browser?.close();
    await dashboard?.close();
    await fleet?.stop();
    await monitor?.stop();
    await broker?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const tile = (id: string) => page.locator(`.tile[data-device-id="${id}"]`);

  it('shows one tile per appliance with state, valve, drain pump, heartbeat age and 24 h availability from the monitor', async () => {
    await expect.poll(() => page.locator('.tile').count(), { timeout: 15_000 }).toBe(DEVICES.length);
    await expect.poll(() => tile('dishwasher-kitchen').locator('.valve').textContent()).toBe('open');
    expect(await tile('dishwasher-kitchen').locator('.state').textContent()).toBe('armed.filling');
    expect(await tile('washer-cellar').locator('.pump').textContent()).toBe('off');
    await expect.poll(() => tile('washer-cellar').getAttribute('data-status')).toBe('online');
    await expect.poll(() => tile('washer-cellar').locator('.age').textContent()).toMatch(/^\d+ s$/);
    // availability over 24 h from the monitor
    await expect.poll(() => tile('washer-cellar').locator('.availability').textContent(), { timeout: 10_000 }).toBe('100 % · 24 h');
    await screenshot(page, 'dashboard-fleet.png');
    expect(answers.filter((a) => a.status >= 400)).toEqual([]);
    // The icon the page names is served (headless Chromium fetches it only when asked to).
    const icon = await page.evaluate(async () => {
      const href = (document.querySelector('link[rel="icon"]') as HTMLLinkElement).href;
      const r = await fetch(href);
      return { path: new URL(href).pathname, status: r.status, type: r.headers.get('content-type') };
    });
    expect(icon).toEqual({ path: '/favicon.svg', status: 200, type: 'image/svg+xml' });
  });

  it('ticks the heartbeat age of a device that went quiet, then shows it has no heartbeat', async () => {
    // The page's clock is Playwright's: time is moved on, not waited for. A clock belongs to a
    // whole browser context, so this page gets a browser of its own.
    const own = await launchBrowser();
    const quiet = await own.newPage();
    await quiet.clock.install();
    await quiet.goto(dashboard.url);
    await expect.poll(() => quiet.locator('#conn').getAttribute('data-state'), { timeout: 10_000 }).toBe('connected');
    await fleet.setState('quiet-1', {});
    // The tile comes from the state message: the page's subscriptions are in place, so the
    // (never retained) heartbeat below cannot slip past them.
    await expect.poll(() => quiet.locator('.tile[data-device-id="quiet-1"]').count(), { timeout: 10_000 }).toBe(1);
    await fleet.heartbeat('quiet-1'); // one heartbeat, intervalS 5: no heartbeat after 5 x 1.5 + 1 = 8.5 s
    const age = quiet.locator('.tile[data-device-id="quiet-1"] .age');
    await expect.poll(() => age.textContent(), { timeout: 10_000 }).toBe('0 s');
    await quiet.clock.runFor(4000);
    await expect.poll(() => age.textContent()).toBe('4 s');
    await quiet.clock.runFor(2000);
    await expect.poll(() => age.textContent()).toBe('6 s');
    expect(await quiet.locator('.tile[data-device-id="quiet-1"] .avail').textContent()).toBe('online');
    await quiet.clock.runFor(3000);
    await expect.poll(() => quiet.locator('.tile[data-device-id="quiet-1"] .avail').textContent()).toBe('no heartbeat');
    await own.close();
  });

  it('turns a tile offline when its availability says offline, and back online', async () => {
    await fleet.publish('availability', 'ghost', { state: 'offline' });
    await expect.poll(() => tile('ghost').locator('.avail').textContent(), { timeout: 10_000 }).toBe('offline');
    await fleet.publish('availability', 'ghost', { state: 'online' });
    await expect.poll(() => tile('ghost').locator('.avail').textContent()).toBe('online');
  });

  it('shows ",30" and the anti-flood text on the tile of an appliance that leaks (injected from the page)', async () => {
    await page.goto(`${dashboard.url}#/device/dishwasher-leaky`);
    await expect.poll(() => page.locator('.dv-inject').isVisible(), { timeout: 10_000 }).toBe(true);
    await page.click('button[data-inject="leak"]');
    await expect.poll(() => tile('dishwasher-leaky').locator('.display').textContent(), { timeout: 10_000 }).toBe(',30');
    expect(await tile('dishwasher-leaky').locator('.fault-text').textContent()).toMatch(/pan|flood/i);
    expect(await tile('dishwasher-leaky').getAttribute('data-breaker')).toBe('latched');
    await expect.poll(() => page.locator('.timeline li[data-kind="fault"]').first().textContent()).toContain(',30');
    expect(await page.locator('#device-view .display').evaluate((e) => getComputedStyle(e).color)).toBe('rgb(255, 77, 77)');
  });

  it('filters the tiles by id or fault code', async () => {
    const visible = () => page.locator('.tile:visible').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.deviceId));
    await page.fill('#filter', 'i30');
    await expect.poll(visible).toEqual(['dishwasher-leaky']);
    await page.fill('#filter', 'KITCHEN');
    await expect.poll(visible).toEqual(['dishwasher-kitchen']);
    await page.fill('#filter', '');
    await expect.poll(async () => (await visible()).length).toBe(await page.locator('.tile').count());
  });

  it('sends each simulator injection button as its own inject command', async () => {
    await page.goto(`${dashboard.url}#/device/washer-cellar`);
    await expect.poll(() => page.locator('.dv-inject').isVisible(), { timeout: 10_000 }).toBe(true);
    const before = fleet.injected.length;
    for (const b of ['leak', 'burstHose', 'tapClosed', 'powerCut']) {
      await page.click(`button[data-inject="${b}"]`);
      await expect.poll(() => fleet.injected.length).toBe(before + 1 + ['leak', 'burstHose', 'tapClosed', 'powerCut'].indexOf(b));
    }
    expect(fleet.injected.slice(before)).toEqual(['leak', 'burstHose', 'tapClosed', 'powerCut'].map((inject) => ({ id: 'washer-cellar', inject })));
    await expect.poll(() => page.locator('.inject-result').textContent()).toBe('injected power cut: watch the breaker');
    // a device that refuses: the page says why
    fleet.refuseInjections.add('washer-cellar');
    await page.click('button[data-inject="leak"]');
    await expect.poll(() => page.locator('.inject-result').textContent()).toBe('injection refused: washer-cellar is not a simulated appliance: nothing to inject');
    expect(await page.locator('.inject-result').getAttribute('data-ok')).toBe('false');
  });

  it('shows the fault memory the device keeps (retained), newest first with its times, and says when a device has published none', async () => {
    // washer-cellar raised i30, i30, i10 in the injections above; a page opened now reads them from the broker.
    await page.goto(`${dashboard.url}#/device/washer-cellar`);
    await page.reload();
    const items = page.locator('.memory li');
    await expect.poll(() => items.evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.code)), { timeout: 10_000 }).toEqual(['i10', 'i30', 'i30']);
    expect(await items.first().locator('.code-display').textContent()).toBe(',10');
    expect(await items.first().textContent()).toMatch(/Cannot take in water.*\(stand-in i10\)$/);
    const when = await items.first().locator('time').getAttribute('datetime');
    expect(Date.now() - Date.parse(when!)).toBeLessThan(60_000);
    expect(await items.first().locator('time').textContent()).not.toBe('');
    expect(await page.locator('.memory-empty').textContent()).toBe('');
    await page.goto(`${dashboard.url}#/device/dishwasher-kitchen`);
    await expect.poll(() => page.locator('.memory-empty').textContent()).toMatch(/^not published by this device/);
    expect(await page.locator('.memory li').count()).toBe(0);
  });

  it("shows the monitor's figures and recorded history in the device view", async () => {
    await page.goto(`${dashboard.url}#/device/dishwasher-leaky`);
    await expect.poll(() => page.locator('.monitor-facts dd[data-key="monitor says"]').textContent(), { timeout: 10_000 }).toBe('UP');
    expect(await page.locator('.monitor-facts dd[data-key="availability"]').textContent()).toBe('100 % 1 h · 100 % 24 h · 100 % 30 d');
    expect(await page.locator('.monitor-facts dd[data-key="SLO 99.9 %"]').textContent()).toMatch(/^error budget left 100 % · burn rate 0\.0×$/);
    await expect.poll(() => page.locator('.timeline li[data-kind="up"]').count(), { timeout: 10_000 }).toBe(1);
    expect(await page.locator('.timeline li[data-kind="up"]').textContent()).toMatch(/monitor: UP \(heartbeat\)/);
  });

  it('shows clearly why a reset was refused', async () => {
    await page.click('button[data-command="reset"]');
    await page.locator('#login input[name=username]').fill(OPERATOR.username);
    await page.locator('#login input[name=password]').fill(OPERATOR.password);
    await page.click('#login button[type=submit]');
    await expect.poll(() => page.locator('.command-result').textContent(), { timeout: 10_000 }).toBe('Reset trip refused: the base pan is still wet (i30)');
    expect(await page.locator('.command-result').getAttribute('data-ok')).toBe('false');
    await expect.poll(() => page.locator('.timeline li[data-kind="refused"]').count()).toBe(1);
    expect(await page.locator('.timeline li[data-kind="refused"]').textContent()).toMatch(/command refused: the base pan is still wet \(i30\)$/);
    expect(fleet.states.get('dishwasher-leaky')?.breaker).toBe('latched');
    await screenshot(page, 'dashboard-reset-refused.png');
  });

  it('closes the valve with operator credentials, after refusing wrong ones', async () => {
    // A fresh page: no operator session yet.
    page = await browser.newPage();
    await page.goto(`${dashboard.url}#/device/dishwasher-kitchen`);
    await expect.poll(() => page.locator('.dv-facts dd[data-key="valve"]').textContent(), { timeout: 10_000 }).toBe('open');
    await page.click('button[data-command="closeValve"]');
    await page.locator('#login input[name=username]').fill(OPERATOR.username);
    await page.locator('#login input[name=password]').fill('wrong');
    await page.click('#login button[type=submit]');
    await expect.poll(() => page.locator('#login .login-error').textContent(), { timeout: 10_000 }).toMatch(/login refused/i);
    expect(fleet.states.get('dishwasher-kitchen')?.valve).toBe('open');
    await page.locator('#login input[name=password]').fill(OPERATOR.password);
    await page.click('#login button[type=submit]');
    await expect.poll(() => page.locator('.command-result').textContent(), { timeout: 10_000 }).toBe('Close valve: ok');
    await expect.poll(() => page.locator('.dv-facts dd[data-key="valve"]').textContent()).toBe('closed');
    await expect.poll(() => tile('dishwasher-kitchen').locator('.valve').textContent()).toBe('closed');
    expect(fleet.states.get('dishwasher-kitchen')?.valve).toBe('closed');
    await screenshot(page, 'dashboard-valve-closed.png');
  });
});
