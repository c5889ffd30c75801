/**
 * The page against a real mosquitto 2.x (websocket listener on loopback, started here): the
 * dashboard speaks plain MQTT over WebSocket, so it must work with any such broker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { hasTools } from '../helpers/tools.js';
import { startDashboard, type DashboardServer } from '../../src/dashboard/server.js';
import { MOSQUITTO, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { startFakeFleet, type FakeFleet } from './fake-fleet.js';
import { CHROMIUM, launchBrowser, screenshot, type TestBrowser } from './browser.js';

describe.skipIf(!hasTools(CHROMIUM, MOSQUITTO))('the dashboard page on mosquitto', () => {
  let broker: Mosquitto;
  let fleet: FakeFleet;
  let dashboard: DashboardServer;
  let browser: TestBrowser;
  let page: Page;

  beforeAll(async () => {
    broker = await startMosquitto({ config: 'open' });
    fleet = await startFakeFleet(broker.url);
    for (const id of ['mq-kitchen', 'mq-leaky']) {
      await fleet.publish('availability', id, { state: 'online' });
      await fleet.setState(id, id === 'mq-kitchen' ? { state: 'armed.filling', valve: 'open' } : {});
    }
    dashboard = await startDashboard({ port: 0, wsUrl: broker.wsUrl });
    browser = await launchBrowser();
    page = await browser.newPage();
    await page.goto(dashboard.url);
  });
  afterAll(async () => {
    await browser?.close();
    await dashboard?.close();
    await fleet?.stop();
    await broker?.close();
  });

  const tile = (id: string) => page.locator(`.tile[data-device-id="${id}"]`);

  it('shows the retained fleet, live heartbeats and a leak as ",30"', async () => {
    await expect.poll(() => page.locator('#conn').getAttribute('data-state'), { timeout: 15_000 }).toBe('connected');
    await expect.poll(() => page.locator('.tile').count(), { timeout: 10_000 }).toBe(2);
    expect(await tile('mq-kitchen').locator('.valve').textContent()).toBe('open');
    await fleet.heartbeat('mq-leaky');
    await expect.poll(() => tile('mq-leaky').locator('.age').textContent()).toBe('0 s');
    await fleet.raise('mq-leaky', 'i30');
    await expect.poll(() => tile('mq-leaky').locator('.display').textContent()).toBe(',30');
  });

  it('closes a valve with operator credentials through the broker', async () => {
    await page.goto(`${dashboard.url}#/device/mq-kitchen`);
    await page.click('button[data-command="closeValve"]');
    await page.locator('#login input[name=username]').fill('operator');
    await page.locator('#login input[name=password]').fill('any');
    await page.click('#login button[type=submit]');
    await expect.poll(() => page.locator('.command-result').textContent(), { timeout: 10_000 }).toBe('Close valve: ok');
    await expect.poll(() => tile('mq-kitchen').locator('.valve').textContent()).toBe('closed');
    await screenshot(page, 'dashboard-mosquitto.png');
  });
});
