import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { hasTools } from '../helpers/tools.js';
import { startDashboard, type DashboardServer } from '../../src/dashboard/server.js';
import { startTestBroker, OPERATOR, type TestBroker } from './test-broker.js';
import { startFakeFleet, type FakeFleet } from './fake-fleet.js';
import { CHROMIUM, launchBrowser, screenshot, type TestBrowser } from './browser.js';

const DEVICES = ['dishwasher-kitchen', 'washer-cellar', 'dishwasher-leaky'];

describe.skipIf(!hasTools(CHROMIUM))('the dashboard page in Chromium (in-process broker, stand-in devices)', () => {
  let broker: TestBroker;
  let fleet: FakeFleet;
  let dashboard: DashboardServer;
  let browser: TestBrowser;
  let page: Page;
  let beat: NodeJS.Timeout;

  beforeAll(async () => {
    broker = await startTestBroker();
    fleet = await startFakeFleet(broker.mqttUrl);
    for (const id of DEVICES) {
      await fleet.publish('availability', id, { state: 'online' });
      await fleet.setState(id, id === 'dishwasher-kitchen' ? { state: 'armed.filling', valve: 'open', tubLevelL: 2.5 } : {});
      await fleet.heartbeat(id);
    }
    beat = setInterval(() => DEVICES.forEach((id) => void fleet.heartbeat(id)), 1000);
    dashboard = await startDashboard({ port: 0, wsUrl: broker.wsUrl });
    browser = await launchBrowser();
    page = await browser.newPage();
    await page.goto(dashboard.url);
  });

  afterAll(async () => {
    clearInterval(beat);
    await browser?.close();
    await dashboard?.close();
    await fleet?.stop();
    await broker?.close();
  });

  const tile = (id: string) => page.locator(`.tile[data-device-id="${id}"]`);

  it('shows one tile per appliance with state, valve, drain pump and a ticking heartbeat age', async () => {
    await expect.poll(() => page.locator('.tile').count(), { timeout: 15_000 }).toBe(DEVICES.length);
    await expect.poll(() => tile('dishwasher-kitchen').locator('.valve').textContent()).toBe('open');
    expect(await tile('dishwasher-kitchen').locator('.state').textContent()).toBe('armed.filling');
    expect(await tile('washer-cellar').locator('.pump').textContent()).toBe('off');
    await expect.poll(() => tile('washer-cellar').getAttribute('data-status')).toBe('online');
    await expect.poll(() => tile('washer-cellar').locator('.age').textContent()).toMatch(/^\d+ s$/);
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
  });

  it('shows clearly why a reset was refused', async () => {
    await page.click('button[data-command="reset"]');
    await page.locator('#login input[name=username]').fill(OPERATOR.username);
    await page.locator('#login input[name=password]').fill(OPERATOR.password);
    await page.click('#login button[type=submit]');
    await expect.poll(() => page.locator('.command-result').textContent(), { timeout: 10_000 }).toMatch(/refused: reset refused: the base pan is still wet/);
    expect(await page.locator('.command-result').getAttribute('data-ok')).toBe('false');
    await expect.poll(() => page.locator('.timeline li[data-kind="refused"]').count()).toBe(1);
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
