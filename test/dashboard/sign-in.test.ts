/**
 * The page against the embedded broker bound to 0.0.0.0, where every client needs an account
 * (reached here only through 127.0.0.1): the anonymous viewer is refused, so the page asks a
 * person to sign in, says so when the broker refuses the account, and shows the fleet once it
 * accepts one.
 */
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { hasTools } from '../helpers/tools.js';
import { startDashboard, type DashboardServer } from '../../src/dashboard/server.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../src/telemetry/broker.js';
import { ACCOUNTS } from '../helpers/mosquitto.js';
import { startFakeFleet, type FakeFleet } from './fake-fleet.js';
import { CHROMIUM, launchBrowser, screenshot, type TestBrowser } from './browser.js';

const DEVICES = ['secure-kitchen', 'secure-cellar'];
const account = (role: string) => ACCOUNTS.find((a) => a.role === role)!;
const loopback = (url: string) => url.replace('//0.0.0.0:', '//127.0.0.1:');

/**
 * Each sign-in and each operator command is a login on the embedded broker: one scrypt on its
 * hash threads at a low CPU priority (src/telemetry/hash-threads.ts), which wait behind
 * everything else when the rest of the suite keeps both cores busy. The full suite saw a
 * command's answer take over 10 s there; a bounded wait well inside the test's minute.
 */
const WAIT_MS = 25_000;

describe.skipIf(!hasTools(CHROMIUM))('the dashboard page on a broker that refuses anonymous clients', () => {
  let broker: EmbeddedBroker;
  const brokerLog: string[] = [];
  let fleet: FakeFleet;
  let dashboard: DashboardServer;
  let browser: TestBrowser;
  let page: Page;

  beforeAll(async () => {
    broker = await startEmbeddedBroker({ host: '0.0.0.0', port: 0, wsPort: 0, accounts: ACCOUNTS, base: 'aquastop', haPrefix: 'homeassistant', log: (l) => brokerLog.push(l) });
    fleet = await startFakeFleet(loopback(broker.url), 'aquastop', broker.internal);
    for (const id of DEVICES) {
      await fleet.publish('availability', id, { state: 'online' });
      await fleet.setState(id, id === 'secure-kitchen' ? { state: 'armed.filling', valve: 'open' } : {});
    }
    dashboard = await startDashboard({ port: 0, wsUrl: loopback(broker.wsUrl!) });
    browser = await launchBrowser();
    page = await browser.newPage();
    await page.goto(dashboard.url);
  });
  afterEach((ctx) => {
    // What the broker said, for a failure that does not happen alone.
    if (ctx.task.result?.state === 'fail') console.log(`broker log:\n${brokerLog.slice(-40).join('\n')}`);
  });
  afterAll(async () => {
    await browser?.close();
    await dashboard?.close();
    await fleet?.stop();
    await broker?.close();
  });

  const signIn = async (p: Page, who: { username: string; password: string }, opts: { operator?: boolean } = {}) => {
    await p.locator('#signin input[name=username]').fill(who.username);
    await p.locator('#signin input[name=password]').fill(who.password);
    if (opts.operator) await p.locator('#signin input[name=operator]').check();
    await p.click('#signin button[type=submit]');
  };
  const stored = (p: Page) => p.evaluate(() => ({ session: sessionStorage.length, local: localStorage.length }));

  it('shows the sign-in form when the broker refuses the anonymous viewer', async () => {
    await expect.poll(() => page.locator('#signin').isVisible(), { timeout: 15_000 }).toBe(true);
    expect(await page.locator('#conn').getAttribute('data-state')).toBe('sign-in');
    expect(await page.locator('#conn').textContent()).toBe('sign-in needed');
    expect(await page.locator('#signin').textContent()).toContain(`The broker ${loopback(broker.wsUrl!)} does not let anonymous clients in`);
    expect(await page.locator('#signin .signin-error').textContent()).toBe('');
    expect(brokerLog.some((l) => /^refused anonymous client aquastop-dashboard-/.test(l))).toBe(true);
    expect(await page.locator('.tile').count()).toBe(0);
    expect(await page.locator('#summary').textContent()).toBe('sign in to see the fleet');
    await screenshot(page, 'dashboard-sign-in.png');
  });

  it('says clearly that a wrong password was refused, and keeps nothing', async () => {
    await signIn(page, { username: 'viewer', password: 'wrong' });
    await expect.poll(() => page.locator('#signin .signin-error').textContent(), { timeout: WAIT_MS }).toBe('login refused for viewer: Bad username or password');
    expect(await page.locator('#signin').isVisible()).toBe(true);
    expect(await stored(page)).toEqual({ session: 0, local: 0 });
    expect(brokerLog).toContain('refused login "viewer": bad user name or password');
    await screenshot(page, 'dashboard-sign-in-refused.png');
  });

  it('shows the fleet once signed in with the viewer account, kept for this tab only', async () => {
    await signIn(page, account('viewer'));
    await expect.poll(() => page.locator('.tile').count(), { timeout: WAIT_MS }).toBe(DEVICES.length);
    expect(await page.locator('#signin').isVisible()).toBe(false);
    expect(await page.locator('#conn').textContent()).toBe('connected as viewer');
    expect(await page.locator('#signout').isVisible()).toBe(true);
    expect(await page.locator('.tile[data-device-id="secure-kitchen"] .valve').textContent()).toBe('open');
    expect(await stored(page)).toEqual({ session: 1, local: 0 });
    await screenshot(page, 'dashboard-signed-in.png');
    // A reload of this tab stays signed in; another tab asks again.
    await page.reload();
    await expect.poll(() => page.locator('#conn').textContent(), { timeout: WAIT_MS }).toBe('connected as viewer');
    await expect.poll(() => page.locator('.tile').count()).toBe(DEVICES.length);
    const other = await browser.newPage();
    await other.goto(dashboard.url);
    await expect.poll(() => other.locator('#signin').isVisible(), { timeout: WAIT_MS }).toBe(true);
    await other.close();
  });

  it('asks for operator credentials for a command as before, while viewing as viewer', async () => {
    await page.goto(`${dashboard.url}#/device/secure-kitchen`);
    await page.click('button[data-command="closeValve"]');
    await expect.poll(() => page.locator('#login').isVisible()).toBe(true);
    await page.locator('#login input[name=username]').fill('operator');
    await page.locator('#login input[name=password]').fill(account('operator').password);
    await page.click('#login button[type=submit]');
    await expect.poll(() => page.locator('.command-result').textContent(), { timeout: WAIT_MS }).toBe('Close valve: ok');
    expect(fleet.states.get('secure-kitchen')?.valve).toBe('closed');
  });

  it('signs out: the account is forgotten and the form is back', async () => {
    await page.click('#signout');
    await expect.poll(() => page.locator('#signin').isVisible(), { timeout: WAIT_MS }).toBe(true);
    expect(await stored(page)).toEqual({ session: 0, local: 0 });
    expect(await page.locator('#signout').isVisible()).toBe(false);
    // signing out ends the operator's session too
    await expect.poll(() => page.locator('.operator-line').textContent()).toBe('commands ask for operator credentials');
  });

  it('uses an operator account signed in for viewing for commands too, when asked to', async () => {
    await fleet.setState('secure-cellar', { valve: 'open' });
    await signIn(page, account('operator'), { operator: true });
    await expect.poll(() => page.locator('#conn').textContent(), { timeout: WAIT_MS }).toBe('connected as operator');
    await page.goto(`${dashboard.url}#/device/secure-cellar`);
    await expect.poll(() => page.locator('.operator-line').textContent(), { timeout: WAIT_MS }).toBe('operator: operator');
    await page.click('button[data-command="closeValve"]');
    await expect.poll(() => page.locator('.command-result').textContent(), { timeout: WAIT_MS }).toBe('Close valve: ok');
    expect(await page.locator('#login').isVisible()).toBe(false);
    expect(fleet.states.get('secure-cellar')?.valve).toBe('closed');
  });
});

describe.skipIf(!hasTools(CHROMIUM))('the dashboard page on brokers that close the connection, or are not there', () => {
  let closer: WebSocketServer;
  let dashboard: DashboardServer;
  let browser: TestBrowser;
  const url = (ws: string) => `${dashboard.url}?ws=${encodeURIComponent(ws)}`;

  beforeAll(async () => {
    // Takes the websocket, reads the CONNECT, and hangs up without a CONNACK (as some brokers refuse).
    closer = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: () => 'mqtt' });
    closer.on('connection', (socket) => socket.once('message', () => socket.close()));
    await new Promise((r) => closer.once('listening', r));
    dashboard = await startDashboard({ port: 0, wsUrl: 'ws://127.0.0.1:1' });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await dashboard?.close();
    await new Promise((r) => closer?.close(r));
  });

  it('asks for an account when the broker closes the connection right after it opened', async () => {
    const page = await browser.newPage();
    await page.goto(url(`ws://127.0.0.1:${(closer.address() as AddressInfo).port}`));
    await expect.poll(() => page.locator('#signin').isVisible(), { timeout: WAIT_MS }).toBe(true);
    expect(await page.locator('#conn').textContent()).toBe('sign-in needed');
    await page.close();
  });

  it('keeps reconnecting, without a sign-in form, when nothing listens at the broker URL', async () => {
    const free = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((r) => free.once('listening', r));
    const port = (free.address() as AddressInfo).port;
    await new Promise((r) => free.close(r));
    const page = await browser.newPage();
    await page.goto(url(`ws://127.0.0.1:${port}`));
    await expect.poll(() => page.locator('#conn').getAttribute('data-state'), { timeout: WAIT_MS }).toBe('reconnecting');
    expect(await page.locator('#signin').isVisible()).toBe(false);
    // The page says what it tried and what to check, not only "reconnecting…".
    const problem = page.locator('#broker-problem');
    await expect.poll(() => problem.isVisible()).toBe(true);
    expect(await problem.locator('h2').textContent()).toBe(`Cannot reach the broker at ws://127.0.0.1:${port}`);
    expect(await problem.locator('.problem-detail').textContent()).toMatch(/^\d+ attempts? failed since .+; retrying every 2 s\.$/);
    expect(await problem.locator('li').allTextContents()).toEqual(
      expect.arrayContaining([expect.stringMatching(/^Is the broker running, with a WebSocket listener/), expect.stringMatching(/^Is the URL right\?/)]),
    );
    await screenshot(page, 'dashboard-broker-unreachable.png');
    await page.close();
  });
});
