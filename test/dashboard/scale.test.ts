/**
 * 10,000 appliances on one page. Their retained state and availability are published straight
 * to a real mosquitto (no simulated appliances: a fleet this size is what the page must carry,
 * not what this test runs; the in-process test broker would spend most of the time handing the
 * 20,000 retained messages over), then the page loads them, scrolls the tiles and the list while
 * heartbeats keep arriving, filters by a summary figure, sorts and filters by text.
 *
 * Prints the frame times (requestAnimationFrame deltas while scrolling: p50, p95, max) as JSON
 * and saves screenshots in test-artifacts/; asserts only behaviour, never timings: the DOM holds
 * only the rows in view, and the right devices appear after scrolling, filtering and sorting.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import type { Page } from 'playwright-core';
import { hasTools } from '../helpers/tools.js';
import { startDashboard, type DashboardServer } from '../../src/dashboard/server.js';
import { TOPICS, topicFor, type PayloadOf } from '../../src/protocol/topics.js';
import { MOSQUITTO, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { baseState } from './fake-fleet.js';
import { CHROMIUM, launchBrowser, screenshot, type TestBrowser } from './browser.js';
import { countPublishes, probeOrder } from './page-probe.js';

const N = 10_000;
/** The longest id a device may have (64 characters): the list shows it in full. */
const LONG_ID = 'kitchen-dishwasher-building-7-floor-3-apartment-12-unit-b-000042';
const ids = [...Array.from({ length: N - 1 }, (_, i) => `dev-${String(i).padStart(5, '0')}`), LONG_ID];

/** The fleet's mix: 100 leaking (i30, critical), 200 with the tap closed (i10), 40 with a noisy level (i42), 250 down. */
function kind(i: number): { patch: Partial<PayloadOf<'state'>>; online: boolean } {
  const online = i % 40 !== 21;
  if (i % 100 === 7) return { online, patch: { fault: 'i30', breaker: 'latched', state: 'latched', leak: true, drainPump: 'on', tripCount: 1 } };
  if (i % 50 === 13) return { online, patch: { fault: 'i10', breaker: 'tripped', state: 'tripped', tripCount: 1 } };
  if (i % 250 === 31) return { online, patch: { fault: 'i42', breaker: 'latched', state: 'latched', tripCount: 1 } };
  return { online, patch: i % 3 === 0 ? { state: 'armed.filling', valve: 'open', tubLevelL: 1.2 } : {} };
}
const count = (f: (i: number) => boolean) => ids.filter((_, i) => f(i)).length;
const EXPECTED = {
  i30: count((i) => i % 100 === 7),
  i10: count((i) => i % 100 !== 7 && i % 50 === 13),
  down: count((i) => i % 40 === 21),
};

/** Publishes every device's retained state and availability, then waits for the broker to have them all. */
async function publishFleet(client: MqttClient): Promise<void> {
  const base = 'aquastop';
  const state = baseState();
  ids.forEach((id, i) => {
    const k = kind(i);
    const s = TOPICS.state.schema.parse({ ...state, ...k.patch });
    const a = TOPICS.availability.schema.parse({ state: k.online ? 'online' : 'offline', bridge: '_scale' });
    client.publish(topicFor('state', { base, id }), JSON.stringify(s), { qos: 0, retain: true });
    client.publish(topicFor('availability', { base, id }), JSON.stringify(a), { qos: 0, retain: true });
  });
  // One connection keeps its order: once this is acknowledged, the broker has taken every message before it.
  await client.publishAsync(`${base}/bridge/_scale/state`, JSON.stringify({ state: 'online' }), { qos: 1, retain: true });
}

/**
 * Scrolls `selector` by `step` px a frame for `frames` frames (from the top), recording the
 * time between animation frames and the most rows in the DOM at once.
 */
function scrollRun(page: Page, selector: string, frames: number, step: number) {
  return page.evaluate(
    ({ selector, frames, step }) =>
      new Promise<{ frames: number; p50: number; p95: number; max: number; mostNodes: number; scrolledPx: number }>((resolve) => {
        const scroller = document.querySelector(selector) as HTMLElement;
        const canvas = scroller.querySelector('.canvas') as HTMLElement;
        scroller.scrollTop = 0;
        const deltas: number[] = [];
        let last: number | null = null;
        let mostNodes = 0;
        let n = 0;
        const frame = (t: number) => {
          if (last !== null) deltas.push(t - last);
          last = t;
          mostNodes = Math.max(mostNodes, canvas.childElementCount);
          if (n++ < frames) {
            scroller.scrollTop += step;
            requestAnimationFrame(frame);
            return;
          }
          deltas.sort((a, b) => a - b);
          const q = (p: number) => Math.round(deltas[Math.min(deltas.length - 1, Math.floor(p * deltas.length))]! * 10) / 10;
          resolve({ frames: deltas.length, p50: q(0.5), p95: q(0.95), max: q(1), mostNodes, scrolledPx: scroller.scrollTop });
        };
        requestAnimationFrame(frame);
      }),
    { selector, frames, step },
  );
}

describe.skipIf(!hasTools(CHROMIUM, MOSQUITTO))('the dashboard with 10,000 appliances', () => {
  let broker: Mosquitto;
  let publisher: MqttClient;
  let dashboard: DashboardServer;
  let browser: TestBrowser;
  let page: Page;
  let beats: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    // mosquitto holds at most max_queued_messages (default 1,000) for a client that has not read
    // them yet, QoS 0 included: the page subscribing to 20,000 retained messages would get ~1,000.
    broker = await startMosquitto({ config: 'open', extra: ['max_queued_messages 0'] });
    publisher = await mqtt.connectAsync(broker.url, { clientId: `scale-${process.pid}` });
    dashboard = await startDashboard({ port: 0, wsUrl: broker.wsUrl });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    clearInterval(beats);
    await browser?.close();
    await dashboard?.close();
    await publisher?.endAsync();
    await broker?.close();
  });

  it('loads, scrolls, filters and sorts 10,000 devices with only the rows in view in the DOM', { timeout: 120_000 }, async () => {
    const t0 = Date.now();
    await publishFleet(publisher);
    const publishedMs = Date.now() - t0;

    page = await browser.newPage();
    // Measured from the outside: the page's WebSocket frames, and its FleetOrder through a probe the test serves.
    const received = countPublishes(page, broker.wsUrl);
    const order = await probeOrder(page);
    const shown = () => order.shown();
    const t1 = Date.now();
    await page.goto(dashboard.url);
    // Every retained message (a state and an availability per device, and the bridge's state) is in.
    await expect.poll(() => received.count(), { timeout: 60_000, interval: 100 }).toBe(2 * N + 1);
    await expect.poll(shown).toBe(N);
    const loadedMs = Date.now() - t1;

    // The summary bar counts the fleet; faults first, most severe first: a leaking appliance leads.
    const chip = (facet: string) => page.locator(`#facets button[data-facet="${facet}"]`);
    await expect.poll(() => chip('fault:i30').getAttribute('data-count')).toBe(String(EXPECTED.i30));
    expect(await chip('fault:i10').getAttribute('data-count')).toBe(String(EXPECTED.i10));
    expect(await chip('status:down').getAttribute('data-count')).toBe(String(EXPECTED.down));
    expect(await page.locator('#facets button').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.facet))).toEqual([
      'status:down',
      'breaker:latched',
      'breaker:tripped',
      'fault:i30',
      'fault:i10',
      'fault:i42',
    ]);
    const tileAt = (slot: number) => page.locator(`#tiles .tile[data-slot="${slot}"]`);
    await expect.poll(() => tileAt(0).getAttribute('data-device-id')).toBe('dev-00007');
    expect(await tileAt(0).getAttribute('data-fault')).toBe('i30');
    const tiles = await page.locator('.tile').count();
    expect(tiles).toBeGreaterThan(10);
    expect(tiles).toBeLessThan(100);
    await screenshot(page, 'dashboard-10000-tiles.png');

    // Heartbeats keep arriving while the views scroll: 1,000 a second, spread over the fleet.
    let beat = 0;
    beats = setInterval(() => {
      for (let k = 0; k < 100; k++, beat++) {
        const id = ids[(beat * 7919) % N]!;
        publisher.publish(
          topicFor('heartbeat', { base: 'aquastop', id }),
          JSON.stringify({ seq: beat + 1, boot: 1, uptimeS: beat, intervalS: 60, state: 'armed.idle', fault: null, ts: new Date().toISOString() }),
          { qos: 0 },
        );
      }
    }, 100);

    // Frames with nothing scrolling first: what the machine gives the page (a busy machine shows here).
    const idle = await scrollRun(page, '#tiles', 60, 0);
    const tilesBrisk = await scrollRun(page, '#tiles', 180, 120);
    const tilesFling = await scrollRun(page, '#tiles', 45, 4000);
    // Scrolled to the end: the last device in the order is there, the first one gone.
    await page.evaluate(() => {
      const s = document.querySelector('#tiles') as HTMLElement;
      s.scrollTop = s.scrollHeight;
    });
    await expect.poll(() => page.locator(`.tile[data-device-id="${LONG_ID}"]`).count()).toBe(1);
    expect(await page.locator('.tile[data-device-id="dev-00007"]').count()).toBe(0);
    expect(await page.locator('.tile').count()).toBeLessThan(100);

    // A summary figure shows only its devices, in the tiles and in the list; pressed again, all.
    await chip('status:down').click();
    await expect.poll(shown).toBe(EXPECTED.down);
    await expect.poll(() => tileAt(0).getAttribute('data-status')).toBe('offline');
    expect(new Set(await page.locator('.tile').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.status)))).toEqual(new Set(['offline']));
    await screenshot(page, 'dashboard-10000-filtered.png');
    await chip('status:down').click();
    await chip('fault:i30').click();
    await expect.poll(shown).toBe(EXPECTED.i30);
    expect(await chip('fault:i30').getAttribute('aria-pressed')).toBe('true');
    expect(new Set(await page.locator('.tile').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.fault)))).toEqual(new Set(['i30']));
    await page.locator('.modes button[data-mode="list"]').click();
    await expect.poll(() => page.locator('#list .row').count()).toBeGreaterThan(10);
    expect(new Set(await page.locator('#list .row').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.fault)))).toEqual(new Set(['i30']));
    await chip('fault:i30').click();
    await expect.poll(shown).toBe(N);
    expect(await chip('fault:i30').getAttribute('aria-pressed')).toBe('false');

    // The list: faults first too, rows bounded, full ids.
    const rowAt = (slot: number) => page.locator(`#list .row[data-slot="${slot}"]`);
    await expect.poll(() => rowAt(0).getAttribute('data-device-id')).toBe('dev-00007');
    await screenshot(page, 'dashboard-10000-list.png');
    const listBrisk = await scrollRun(page, '#list', 180, 60);
    const listFling = await scrollRun(page, '#list', 45, 3000);
    await page.evaluate(() => {
      const s = document.querySelector('#list') as HTMLElement;
      s.scrollTop = s.scrollHeight;
    });
    const longRow = page.locator(`#list .row[data-device-id="${LONG_ID}"] .c-id`);
    await expect.poll(() => longRow.count()).toBe(1);
    expect(await longRow.textContent()).toBe(LONG_ID);
    // shown in full: nothing of it is cut off
    expect(await longRow.evaluate((e) => e.scrollWidth <= e.clientWidth)).toBe(true);
    const rows = await page.locator('#list .row').count();
    expect(rows).toBeLessThan(100);

    // Sorting by a column header, then the same header again in reverse.
    await page.locator('#list .list-head button[data-sort="id"]').click();
    await page.evaluate(() => ((document.querySelector('#list') as HTMLElement).scrollTop = 0));
    await expect.poll(() => rowAt(0).getAttribute('data-device-id')).toBe('dev-00000');
    expect(await page.locator('#list .list-head [aria-sort="ascending"] button').getAttribute('data-sort')).toBe('id');
    await page.locator('#list .list-head button[data-sort="id"]').click();
    await expect.poll(() => rowAt(0).getAttribute('data-device-id')).toBe(LONG_ID);
    await expect.poll(() => rowAt(1).getAttribute('data-device-id')).toBe('dev-09998');

    // The text filter finds one device among 10,000.
    await page.fill('#filter', 'dev-04321');
    await expect.poll(shown).toBe(1);
    await expect.poll(() => page.locator('#list .row').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.deviceId))).toEqual(['dev-04321']);
    clearInterval(beats);
    const messages = received.count();

    console.log(
      JSON.stringify({
        bench: 'dashboard-10000-devices',
        devices: N,
        retainedMessages: 2 * N,
        publishedMs,
        loadedMs,
        heartbeatsPerSecondWhileScrolling: 1000,
        pageMessages: messages,
        domRows: { tiles, list: rows },
        frameMs: {
          idle,
          tiles: { brisk: { pxPerFrame: 120, ...tilesBrisk }, fling: { pxPerFrame: 4000, ...tilesFling } },
          list: { brisk: { pxPerFrame: 60, ...listBrisk }, fling: { pxPerFrame: 3000, ...listFling } },
        },
      }),
    );
    for (const r of [tilesBrisk, tilesFling, listBrisk, listFling]) expect(r.mostNodes).toBeLessThan(100);
  });
});
