/**
 * `aquastop monitor` while its own broker goes away: /healthz answers 503 with the reason (the
 * monitor cannot tell whether devices are up), 200 again once the broker is back, and the log
 * has one line when the connection is lost and one when it is back, not one per reconnect
 * attempt. A real mosquitto, stopped for several of the monitor's one-second reconnect attempts
 * and started again on the same port; the monitor is the real command in a child process.
 */
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnAquastop } from '../helpers/cli.js';
import { hasTools } from '../helpers/tools.js';
import { MOSQUITTO, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { waitFor } from './helpers.js';

interface Health {
  status: number;
  body: { ok: boolean; broker: string; since?: string; reason?: string };
}

async function health(api: string): Promise<Health> {
  const res = await fetch(`${api}/healthz`);
  return { status: res.status, body: (await res.json()) as Health['body'] };
}

describe.skipIf(!hasTools(MOSQUITTO))('monitor /healthz and its log while the broker is away', () => {
  let broker: Mosquitto;
  beforeAll(async () => {
    broker = await startMosquitto({ config: 'open' });
  });
  afterAll(async () => {
    await broker?.close();
  });

  it('says 503 with the reason while the broker is down, 200 when it is back, and logs the outage once', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'aquastop-health-'));
    const child = spawnAquastop(['monitor', '--broker', broker.url, '--port', '0', '--data-dir', dataDir]);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    try {
      await waitFor(() => /\/metrics/.test(out), 30_000, 'monitor URL printed');
      const api = /^monitor: (\S+)\/api\/devices/.exec(out)![1]!;
      expect(await health(api)).toEqual({ status: 200, body: { ok: true, broker: 'connected' } });

      await broker.stop();
      let down: Health | null = null;
      const lostAt = Date.now();
      while (Date.now() - lostAt < 10_000) {
        const h = await health(api);
        if (h.status === 503) {
          down = h;
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(down?.body).toMatchObject({ ok: false, broker: 'disconnected', since: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
      expect(down?.body.reason).toMatch(new RegExp(`^no connection to the broker at ${broker.url.replace(/[.]/g, '\\.')} since \\S+: `));
      // The monitor retries every second: stay down through several attempts, /healthz saying so throughout.
      const downFrom = Date.now();
      while (Date.now() - downFrom < 3_500) {
        expect((await health(api)).status).toBe(503);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect((await health(api)).body.reason).toMatch(/ECONNREFUSED/);

      await broker.start();
      const backFrom = Date.now();
      while ((await health(api)).status !== 200) {
        if (Date.now() - backFrom > 15_000) throw new Error(`monitor not back within 15 s: ${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(await health(api)).toEqual({ status: 200, body: { ok: true, broker: 'connected' } });

      const records = err
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { level: number; msg: string });
      const about = records.filter((r) => /broker|mqtt/i.test(r.msg) && !/^monitor on /.test(r.msg));
      expect(about.map((r) => r.msg)).toEqual([
        expect.stringMatching(/^broker connection lost \(.+\); device status unknown/),
        expect.stringMatching(/^broker connection back after \d+ s$/),
      ]);
      expect(records.filter((r) => r.level >= 50)).toEqual([]);
    } finally {
      const exited = once(child, 'exit');
      child.kill('SIGINT');
      await exited;
    }
  }, 90_000);
});
