/**
 * What the Chromium tests measure on the dashboard page, taken from the outside: the shipped page
 * carries no test hooks (test/dashboard/shipped-page.test.ts).
 *
 * - {@link countPublishes}: MQTT PUBLISH packets the page received, read off its WebSocket frames
 *   (every one the viewer's client handed to the page).
 * - {@link probeOrder}: how many devices the fleet view shows (after facet and text filters). A
 *   test-only module, served by the test through `page.route`, is imported ahead of the page's
 *   own app.js; it wraps FleetOrder's methods (order.js, the same module instance the page uses)
 *   to find the page's FleetOrder and reads its `ids`.
 */
import type { Page } from 'playwright-core';

/** Counts MQTT PUBLISH packets in a byte stream cut into frames anywhere (MQTT 3.1.1/5 fixed header). */
export class PublishCounter {
  publishes = 0;
  private buf: Buffer = Buffer.alloc(0);

  feed(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    for (;;) {
      // Fixed header: type in the first byte's high nibble, then the remaining length (1-4 bytes, 7 bits each).
      let length = 0;
      let at = 1;
      let byte: number;
      do {
        if (at >= this.buf.length || at > 4) return;
        byte = this.buf[at++]!;
        length += (byte & 0x7f) * 128 ** (at - 2);
      } while (byte & 0x80);
      if (this.buf.length < at + length) return;
      if (this.buf[0]! >> 4 === 3) this.publishes++;
      this.buf = this.buf.subarray(at + length);
    }
  }
}

/** Counts what every WebSocket of the page to `wsUrl` receives; call before `page.goto`. */
export function countPublishes(page: Page, wsUrl: string): { readonly count: () => number } {
  const counters: PublishCounter[] = [];
  page.on('websocket', (ws) => {
    if (!ws.url().startsWith(wsUrl)) return;
    const counter = new PublishCounter();
    counters.push(counter);
    ws.on('framereceived', ({ payload }) => counter.feed(typeof payload === 'string' ? Buffer.from(payload) : payload));
  });
  return { count: () => counters.reduce((n, c) => n + c.publishes, 0) };
}

const PROBE_PATH = '/__test__/order-probe.js';
const PROBE = `
import { FleetOrder } from '/order.js';
const seen = [];
for (const name of Object.getOwnPropertyNames(FleetOrder.prototype)) {
  const d = Object.getOwnPropertyDescriptor(FleetOrder.prototype, name);
  if (name === 'constructor' || typeof d.value !== 'function') continue;
  const method = d.value;
  FleetOrder.prototype[name] = function (...args) {
    if (!seen.includes(this)) seen.push(this);
    return method.apply(this, args);
  };
}
window.__orderProbe = { shown: () => (seen.length === 1 ? seen[0].ids.length : -seen.length) };
`;

/** Loads the order probe with the page; call before `page.goto`. `shown()` is -n while n orders (not one) were seen. */
export async function probeOrder(page: Page): Promise<{ readonly shown: () => Promise<number> }> {
  await page.route(
    (url) => url.pathname === PROBE_PATH,
    (route) => route.fulfill({ status: 200, contentType: 'text/javascript; charset=utf-8', body: PROBE }),
  );
  await page.route(
    (url) => url.pathname === '/app.js',
    async (route) => {
      const response = await route.fetch();
      await route.fulfill({ response, body: `import '${PROBE_PATH}';\n${await response.text()}` });
    },
  );
  return { shown: () => page.evaluate(() => (window as unknown as { __orderProbe?: { shown(): number } }).__orderProbe?.shown() ?? 0) };
}
