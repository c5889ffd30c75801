/**
 * The Alertmanager example (src/monitor/ops/alertmanager) with Debian's prometheus-alertmanager:
 * `amtool check-config` passes, every alert of the shipped rules is routed by its severity
 * (`amtool config routes test`), and a real Alertmanager running the example inhibits a DOWN
 * device's fault alerts, and only those, while the DOWN alert is active.
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { FAULT_CODES, faultDefinition } from '../../src/machine/catalogue.js';
import { findTool, hasTools } from '../helpers/tools.js';
import { startDaemon, type Daemon } from './ops-daemons.js';

const run = promisify(execFile);
const EXAMPLE = join(process.cwd(), 'src', 'monitor', 'ops', 'alertmanager', 'alertmanager.example.yml');
const RULES = join(process.cwd(), 'src', 'monitor', 'ops', 'prometheus', 'aquastop-alerts.yml');
const ALERTMANAGER = 'prometheus-alertmanager';

interface Rule {
  alert?: string;
  labels?: Record<string, string>;
}
const alerts = (parse(readFileSync(RULES, 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules).filter((r) => r.alert);

/** Calls `read` every 50 ms until `done` holds of its answer, at most `ms`; returns the last answer. */
async function poll<T>(read: () => Promise<T>, done: (t: T) => boolean, ms = 5_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const t = await read();
    if (done(t) || Date.now() - started > ms) return t;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function amtool(args: string[]): Promise<string> {
  const { stdout } = await run(findTool('amtool')!, args, { encoding: 'utf8' });
  return stdout.trim();
}

describe.skipIf(!hasTools('amtool'))('Alertmanager example (amtool)', () => {
  it('passes amtool check-config', async () => {
    const out = await amtool(['check-config', EXAMPLE]);
    expect(out).toContain('SUCCESS');
    expect(out).toContain('1 inhibit rules');
  });

  it('pages critical alerts and files the others as tickets, for every alert of the shipped rules', async () => {
    const receiverFor = (labels: Record<string, string>) =>
      amtool(['config', 'routes', 'test', `--config.file=${EXAMPLE}`, ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)]);
    const expected = (severity: string) => (severity === 'critical' ? 'aquastop-pager' : 'aquastop-tickets');
    for (const rule of alerts) {
      // AquastopFaultActive takes its severity from the fault catalogue, through the metric.
      const severities = rule.labels?.severity ? [rule.labels.severity] : [...new Set(FAULT_CODES.map((c) => faultDefinition(c).severity))];
      expect(severities.length, `${rule.alert} has a severity`).toBeGreaterThan(0);
      for (const severity of severities) {
        expect(['critical', 'error', 'warning'], `${rule.alert}: a severity the example routes`).toContain(severity);
        expect(await receiverFor({ alertname: rule.alert!, device: 'dw-1', severity }), `${rule.alert} ${severity}`).toBe(expected(severity));
      }
    }
    // Both routes are there because they differ; an alert without a severity gets the default.
    expect(await receiverFor({ alertname: 'Other' })).toBe('aquastop-tickets');
  });
});

describe.skipIf(!hasTools(ALERTMANAGER))('Alertmanager example in a real Alertmanager', () => {
  let am: Daemon | null = null;
  const hook = createServer((_req, res) => res.end());
  afterAll(async () => {
    await am?.stop();
    hook.close();
  });

  it("inhibits a DOWN device's fault and latched alerts while its DOWN alert is active, and nobody else's", async () => {
    hook.listen(0, '127.0.0.1');
    await once(hook, 'listening');
    const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}`;
    am = await startDaemon(findTool(ALERTMANAGER)!, (dir, listen) => {
      // The example as shipped, with its receivers pointed at a local endpoint.
      writeFileSync(join(dir, 'alertmanager.yml'), readFileSync(EXAMPLE, 'utf8').replaceAll('http://127.0.0.1:9095', hookUrl));
      return [`--config.file=${join(dir, 'alertmanager.yml')}`, `--storage.path=${join(dir, 'data')}`, `--web.listen-address=${listen}`, '--cluster.listen-address='];
    });
    const post = async (list: Array<{ labels: Record<string, string>; endsAt?: string }>) => {
      const res = await fetch(`${am!.url}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(list) });
      expect(res.status).toBe(200);
    };
    interface Got {
      labels: Record<string, string>;
      fingerprint: string;
      status: { state: string; inhibitedBy: string[] };
    }
    const get = async () => (await (await fetch(`${am!.url}/api/v2/alerts`)).json()) as Got[];
    const find = (got: Got[], alertname: string, device: string) => got.find((a) => a.labels.alertname === alertname && a.labels.device === device);

    const down = { labels: { alertname: 'AquastopDeviceDown', device: 'dw-1', severity: 'critical', status: 'down' } };
    const fault1 = { labels: { alertname: 'AquastopFaultActive', device: 'dw-1', code: 'i30', severity: 'critical' } };
    const latched1 = { labels: { alertname: 'AquastopDeviceLatched', device: 'dw-1', state: 'latched', severity: 'error' } };
    const fault2 = { labels: { alertname: 'AquastopFaultActive', device: 'dw-2', code: 'i30', severity: 'critical' } };
    const loss1 = { labels: { alertname: 'AquastopHeartbeatLoss', device: 'dw-1', severity: 'warning' } };
    await post([down, fault1, latched1, fault2, loss1]);
    let got = await poll(get, (g) => g.length === 5);
    const downFp = find(got, 'AquastopDeviceDown', 'dw-1')!.fingerprint;
    expect(find(got, 'AquastopDeviceDown', 'dw-1')!.status).toMatchObject({ state: 'active', inhibitedBy: [] });
    expect(find(got, 'AquastopFaultActive', 'dw-1')!.status).toMatchObject({ state: 'suppressed', inhibitedBy: [downFp] });
    expect(find(got, 'AquastopDeviceLatched', 'dw-1')!.status).toMatchObject({ state: 'suppressed', inhibitedBy: [downFp] });
    // another device's fault, and another kind of alert of the DOWN device, still go out
    expect(find(got, 'AquastopFaultActive', 'dw-2')!.status).toMatchObject({ state: 'active', inhibitedBy: [] });
    expect(find(got, 'AquastopHeartbeatLoss', 'dw-1')!.status).toMatchObject({ state: 'active', inhibitedBy: [] });

    // The device is back: its DOWN alert resolves and its fault alert goes out again.
    await post([{ ...down, endsAt: new Date(Date.now() - 1000).toISOString() }]);
    got = await poll(get, (g) => find(g, 'AquastopFaultActive', 'dw-1')?.status.state === 'active');
    expect(find(got, 'AquastopFaultActive', 'dw-1')!.status).toMatchObject({ state: 'active', inhibitedBy: [] });
  });
});
