/**
 * The real thing: `aquastop start` (embedded broker, simulated demo fleet, monitor, dashboard)
 * in a child process, watched and operated from Chromium.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { hasTools } from '../helpers/tools.js';
import { CHROMIUM, launchBrowser, screenshot, type TestBrowser } from '../dashboard/browser.js';
import { startDemoProcess, type StartedDemo } from './start-process.js';

describe.skipIf(!hasTools(CHROMIUM))('the dashboard of `aquastop start` in Chromium', () => {
  let demo: StartedDemo | undefined;
  let browser: TestBrowser | undefined;
  let page: Page;

  beforeAll(async () => {
    demo = await startDemoProcess();
    browser = await launchBrowser();
    page = await browser.newPage();
    await page.goto(demo.dashboardUrl);
  });
  afterAll(async () => {
    await browser?.close();
    if (demo) {
      const code = await demo.interrupt().catch(() => null);
      await demo.cleanup();
      expect(code).toBe(0);
    }
  });

  it('shows the demo fleet: at least three appliances, online, with heartbeats', async () => {
    await expect.poll(() => page.locator('.tile').count(), { timeout: 20_000 }).toBeGreaterThanOrEqual(3);
    await expect.poll(() => page.locator('.tile[data-status="online"]').count(), { timeout: 30_000 }).toBeGreaterThanOrEqual(3);
    await expect.poll(() => page.locator('.tile .age').first().textContent(), { timeout: 30_000 }).toMatch(/^\d+ s$/);
  });

  it('turns the leaking appliance\'s tile to ",30"', async () => {
    const leaking = page.locator('.tile[data-fault="i30"]');
    await expect.poll(() => leaking.count(), { timeout: 90_000, interval: 500 }).toBeGreaterThanOrEqual(1);
    expect(await leaking.first().locator('.display').textContent()).toBe(',30');
    expect(await leaking.first().locator('.valve').textContent()).toBe('closed');
    await screenshot(page, 'start-fleet-leak.png');
  });

  it('closes a valve with operator credentials from the device view', async () => {
    const id = await page.locator('.tile').first().getAttribute('data-device-id');
    await page.goto(`${demo!.dashboardUrl}#/device/${id}`);
    await page.click('button[data-command="closeValve"]');
    await page.locator('#login input[name=username]').fill('operator');
    await page.locator('#login input[name=password]').fill('demo');
    await page.click('#login button[type=submit]');
    await expect.poll(() => page.locator('.command-result').textContent(), { timeout: 15_000 }).toBe('Close valve: ok');
    await expect.poll(() => page.locator('.dv-facts dd[data-key="valve"]').textContent(), { timeout: 10_000 }).toBe('closed');
    await screenshot(page, 'start-device-view.png');
  });
});
