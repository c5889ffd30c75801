/**
 * The Grafana dashboard and the Prometheus rules (src/monitor/ops) against the real thing:
 * Debian's Prometheus, started from the example prometheus.yml with a 1 s scrape and
 * evaluation interval, scrapes a running monitor watching real device processes (one UP, one
 * with a leak: i30, latched; one with i11, a fault that resets itself; one gone DOWN) and
 * evaluates the shipped rules. Grafana cannot be installed here, so the dashboard is checked
 * the way Grafana uses it: every query of every panel, its variables filled in, must answer
 * with data through Prometheus's HTTP API. Every rule must evaluate, on metrics the monitor
 * really exports. Waits are bounded polls on the real processes.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { startMonitor, type Monitor } from '../../src/monitor/index.js';
import { topicFor } from '../../src/protocol/topics.js';
import { findTool, hasTools } from '../helpers/tools.js';
import { killDevice, silentLogger, spawnDevice, startBroker, waitFor, type FixtureDevice, type TestBroker } from './helpers.js';
import { startDaemon, type Daemon } from './ops-daemons.js';

const OPS = join(process.cwd(), 'src', 'monitor', 'ops');
const RULES = join(OPS, 'prometheus', 'aquastop-alerts.yml');
const DASHBOARD = join(OPS, 'grafana', 'dashboards', 'aquastop-fleet.json');
const DEVICES = ['dw-ok', 'dw-leak', 'dw-tap', 'dw-gone'] as const;
const SCRAPE_S = 1;

interface Target {
  expr: string;
  refId: string;
  instant?: boolean;
  datasource?: { type: string; uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: Target[];
  panels?: Panel[];
  fieldConfig?: { defaults: { mappings?: Array<{ type: string; options: Record<string, { text: string }> }> } };
}
interface Variable {
  name: string;
  type: string;
  definition: string;
  query: { query: string };
  allValue?: string;
  includeAll?: boolean;
  datasource: { type: string; uid: string };
}
interface Dashboard {
  uid: string;
  panels: Panel[];
  templating: { list: Variable[] };
}
interface PromAnswer<T> {
  status: 'success' | 'error';
  error?: string;
  data: T;
}
interface Series {
  metric: Record<string, string>;
  value?: [number, string];
  values?: Array<[number, string]>;
}
interface QueryResult {
  resultType: string;
  result: Series[];
}
interface RuleGroup {
  name: string;
  rules: Array<{
    type: 'alerting' | 'recording';
    name: string;
    query: string;
    health: string;
    lastError?: string;
    state?: string;
    alerts?: Array<{ labels: Record<string, string>; state: string }>;
  }>;
}

const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
const flatten = (ps: Panel[]): Panel[] => ps.flatMap((p) => [p, ...flatten(p.panels ?? [])]);
const panels = flatten(dashboard.panels);
const provisionedSource = (
  parse(readFileSync(join(OPS, 'grafana', 'provisioning', 'datasources', 'aquastop.yml'), 'utf8')) as {
    datasources: Array<{ uid: string; type: string }>;
  }
).datasources[0]!;

let broker: TestBroker | null = null;
let monitor: Monitor | null = null;
let prometheus: Daemon | null = null;
let dataDir: string | null = null;
const devices = new Map<string, FixtureDevice>();

async function api<T>(path: string, params: Record<string, string> = {}): Promise<PromAnswer<T>> {
  const res = await fetch(`${prometheus!.url}/api/v1/${path}?${new URLSearchParams(params)}`);
  return (await res.json()) as PromAnswer<T>;
}
const instant = (query: string) => api<QueryResult>('query', { query });
const has = async (query: string) => ((await instant(query)).data?.result.length ?? 0) > 0;

/** Polls `check` every 200 ms until it holds, at most `ms`. */
async function until(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > ms) throw new Error(`timed out after ${ms} ms waiting for: ${what}\nprometheus log:\n${prometheus?.log().split('\n').slice(-5).join('\n')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * A panel query as Grafana sends it: the dashboard variable and Grafana's interval variables
 * filled in ($__rate_interval is max(4 x scrape interval, step + scrape interval)).
 */
function substitute(expr: string, device: string, stepS: number, rangeS: number): string {
  const out = expr
    .replaceAll('$__rate_interval', `${Math.max(4 * SCRAPE_S, stepS + SCRAPE_S)}s`)
    .replaceAll('$__interval', `${stepS}s`)
    .replaceAll('$__range', `${rangeS}s`)
    .replace(/\$\{device(?::\w+)?\}|\[\[device\]\]|\$device\b/g, device);
  expect(out, `every variable of "${expr}" is known`).not.toMatch(/\$/);
  return out;
}

describe.skipIf(!hasTools('prometheus'))('a real Prometheus scraping a running monitor', () => {
  beforeAll(async () => {
    broker = await startBroker();
    dataDir = mkdtempSync(join(tmpdir(), 'aquastop-grafana-'));
    const m = (monitor = await startMonitor({ brokerUrl: broker.url, port: 0, dataDir, logger: silentLogger() }));
    // The example prometheus.yml, with a 1 s scrape and evaluation, the shipped rules, and the monitor as its target.
    const example = parse(readFileSync(join(OPS, 'prometheus', 'prometheus.example.yml'), 'utf8')) as {
      rule_files: string[];
      scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
      alerting?: unknown;
    };
    expect(example.rule_files).toEqual(['aquastop-alerts.yml']);
    const config = {
      global: { scrape_interval: `${SCRAPE_S}s`, evaluation_interval: `${SCRAPE_S}s` },
      rule_files: [RULES],
      scrape_configs: [{ ...example.scrape_configs[0]!, static_configs: [{ targets: [new URL(m.url).host] }] }],
    };
    const [started] = await Promise.all([
      startDaemon(findTool('prometheus')!, (dir, listen) => {
        writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
        return [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=${listen}`];
      }),
      ...DEVICES.map(async (id) => devices.set(id, await spawnDevice({ BROKER_URL: broker!.url, DEVICE_ID: id, INTERVAL_S: '1', LOOP_LAG_MS: '4' }))),
    ]);
    prometheus = started;
    await devices.get('dw-leak')!.command('fault i30');
    await devices.get('dw-tap')!.command('fault i11');
    await devices.get('dw-gone')!.command('stop');
    // One payload that fails the schema, so the monitor's invalid-message counter has a series.
    const c = await mqtt.connectAsync(broker.url);
    await c.publishAsync(topicFor('heartbeat', { base: 'aquastop', id: 'dw-bad' }), 'not json');
    await c.endAsync();
    await waitFor(
      () => m.tracker.report('dw-gone')?.status === 'down' && m.tracker.report('dw-leak')?.activeFault === 'i30',
      10_000,
      'dw-gone DOWN and dw-leak at fault in the monitor',
    );
    // Scraped: the DOWN device and the fault, and 6 s of samples for the rate windows.
    await until(() => has('aquastop_device_status{device="dw-gone",status="down"} == 1'), 15_000, 'dw-gone DOWN in Prometheus');
    await until(() => has('aquastop_device_fault_active{device="dw-leak",code="i30"}'), 15_000, 'the i30 in Prometheus');
    await until(() => has('count_over_time(aquastop_device_up{device="dw-ok"}[1m]) >= 6'), 15_000, '6 scrapes');
  }, 60_000);

  afterAll(async () => {
    for (const d of devices.values()) await killDevice(d);
    devices.clear();
    await monitor?.stop();
    await broker?.close();
    await prometheus?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('evaluates every shipped rule without error, on metrics the monitor exports, and fires on the faulted and DOWN devices', async () => {
    const groups = async () => (await api<{ groups: RuleGroup[] }>('rules')).data.groups;
    const shipped = (parse(readFileSync(RULES, 'utf8')) as { groups: Array<{ rules: Array<{ alert?: string; record?: string; expr: string }> }> }).groups.flatMap((g) => g.rules);
    // Every rule loaded and evaluated at least once since the devices settled.
    await until(async () => (await groups()).flatMap((g) => g.rules).filter((r) => r.health === 'ok').length === shipped.length, 10_000, 'every rule evaluated ok');
    for (const r of (await groups()).flatMap((g) => g.rules)) expect(r.lastError ?? '', `${r.name}: ${r.query}`).toBe('');

    const exported = new Set((await api<string[]>('label/__name__/values')).data);
    for (const rule of shipped) {
      const name = rule.alert ?? rule.record!;
      const metrics = [...new Set(rule.expr.match(/\baquastop_[a-z0-9_]+/g) ?? [])];
      for (const metric of metrics) expect(exported.has(metric), `${name} reads ${metric}, which the monitor must export`).toBe(true);
      const answer = await instant(rule.expr);
      expect(answer.error ?? '', `${name}: ${rule.expr}`).toBe('');
      expect(answer.status).toBe('success');
      if (rule.record) expect(exported.has(rule.record), `${rule.record} is recorded`).toBe(true);
    }
    // The DOWN device has burnt budget in the last 5 minutes; the others have not.
    const burn = (await instant('aquastop:device_burn_rate:5m')).data.result;
    expect(Object.fromEntries(burn.map((s) => [s.metric.device, Number(s.value![1]) > 0]))).toMatchObject({ 'dw-gone': true, 'dw-ok': false, 'dw-leak': false, 'dw-tap': false });

    const alerts = (await api<{ alerts: Array<{ labels: Record<string, string>; state: string }> }>('alerts')).data.alerts;
    const of = (alertname: string) =>
      alerts
        .filter((a) => a.labels.alertname === alertname)
        .map((a) => `${a.labels.device} ${a.labels.code ?? ''} ${a.labels.severity} ${a.state}`.replace('  ', ' '))
        .sort();
    expect(of('AquastopFaultActive')).toEqual(['dw-leak i30 critical firing', 'dw-tap i11 error firing']);
    expect(of('AquastopDeviceLatched')).toEqual(['dw-leak error firing']);
    // DOWN waits a minute (`for: 1m`): pending now
    expect(of('AquastopDeviceDown')).toEqual(['dw-gone critical pending']);
    expect(of('AquastopErrorBudgetBurnFast')).toEqual(['dw-gone critical firing']);
  });

  it('answers every query of the Grafana dashboard with data, for all devices and for one', async () => {
    // Structure Grafana relies on: one data source (the provisioned one), unique ids, a 24-column grid.
    expect(provisionedSource.type).toBe('prometheus');
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    for (const p of panels) {
      expect(p.gridPos.x + p.gridPos.w, `${p.title} fits the grid`).toBeLessThanOrEqual(24);
      if (p.type === 'row') continue;
      expect(p.datasource?.uid, p.title).toBe(provisionedSource.uid);
      expect(p.targets?.length, `${p.title} has a query`).toBeGreaterThan(0);
      for (const t of p.targets!) expect(t.datasource?.uid, `${p.title} ${t.refId}`).toBe(provisionedSource.uid);
    }

    // The device variable: label_values(metric, label), as Grafana asks for it.
    const [variable] = dashboard.templating.list;
    expect(variable).toMatchObject({ name: 'device', type: 'query', includeAll: true, allValue: '.*', datasource: { uid: provisionedSource.uid } });
    expect(variable!.query.query).toBe(variable!.definition);
    const [, metric, label] = /^label_values\((\w+),\s*(\w+)\)$/.exec(variable!.definition)!;
    const values = (await api<string[]>(`label/${label}/values`, { 'match[]': metric! })).data;
    expect(values).toEqual([...DEVICES].sort());

    const end = Date.now() / 1000;
    const start = end - 30;
    const step = 1;
    const failures: string[] = [];
    let queries = 0;
    for (const device of [variable!.allValue!, 'dw-leak']) {
      for (const p of panels) {
        for (const t of p.targets ?? []) {
          const query = substitute(t.expr, device, step, end - start);
          const answer = t.instant
            ? await api<QueryResult>('query', { query, time: String(end) })
            : await api<QueryResult>('query_range', { query, start: String(start), end: String(end), step: String(step) });
          queries++;
          const where = `panel "${p.title}" ${t.refId} (device=${device}): ${query}`;
          if (answer.status !== 'success') failures.push(`${where}: ${answer.error}`);
          else if (answer.data.result.length === 0 || answer.data.result.every((s) => (s.values ?? [s.value]).length === 0)) failures.push(`${where}: no data`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(queries).toBe(2 * panels.reduce((n, p) => n + (p.targets?.length ?? 0), 0));
  });

  it("names each device's status and breaker right in the timelines (the queries' numbers through the panels' value mappings)", async () => {
    const shown = async (title: string) => {
      const p = panels.find((x) => x.title === title)!;
      const mapping = p.fieldConfig!.defaults.mappings![0]!.options;
      const answer = await instant(substitute(p.targets![0]!.expr, '.*', 1, 30));
      return Object.fromEntries(answer.data.result.map((s) => [s.metric.device, mapping[String(Number(s.value![1]))]?.text ?? `unmapped ${s.value![1]}`]));
    };
    expect(await shown('Status')).toEqual({ 'dw-ok': 'UP', 'dw-leak': 'UP', 'dw-tap': 'UP', 'dw-gone': 'DOWN' });
    expect(await shown('Breaker')).toEqual({ 'dw-ok': 'armed', 'dw-leak': 'latched', 'dw-tap': 'tripped', 'dw-gone': 'armed' });
  });
});
