/**
 * The shipped Prometheus rules (src/monitor/ops/prometheus) with the real promtool: they pass
 * `promtool check rules` and `check config`, and their unit tests (`promtool test rules`, the
 * YAML files in test/monitor/prometheus) pass; every alert has cases where it must fire and
 * where it must not; and the unit tests go red when a rule is broken. That the rules' metrics
 * exist is checked against a running monitor in grafana-dashboard.test.ts.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { findTool, hasTools } from '../helpers/tools.js';

const run = promisify(execFile);
const OPS = join(process.cwd(), 'src', 'monitor', 'ops', 'prometheus');
const RULES = join(OPS, 'aquastop-alerts.yml');
const DEVICE_TESTS = join(process.cwd(), 'test', 'monitor', 'prometheus', 'aquastop-alerts.test.yml');
const SLO_TESTS = join(process.cwd(), 'test', 'monitor', 'prometheus', 'aquastop-slo.test.yml');
const UNIT_TESTS = [DEVICE_TESTS, SLO_TESTS];

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
}
interface UnitTestFile {
  rule_files: string[];
  tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts?: unknown[] }> }>;
}

const rules = (parse(readFileSync(RULES, 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules);

/** Runs promtool; resolves with its exit code and output (it reports failures on stdout). */
async function promtool(args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(findTool('promtool')!, args, { encoding: 'utf8' });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

const scratch: string[] = [];
afterAll(() => {
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
});

/** A unit test file run against a copy of the rules with `from` (found exactly once) replaced by `to`. */
async function unitTestsWithRulesChanged(unitTests: string, from: string, to: string): Promise<{ code: number; out: string }> {
  const text = readFileSync(RULES, 'utf8');
  expect(text.split(from).length - 1, `"${from}" occurs once in the rules`).toBe(1);
  const dir = mkdtempSync(join(tmpdir(), 'aquastop-rules-'));
  scratch.push(dir);
  writeFileSync(join(dir, 'rules.yml'), text.replace(from, to));
  const copy = join(dir, 'unit.test.yml');
  writeFileSync(copy, readFileSync(unitTests, 'utf8').replace('../../../src/monitor/ops/prometheus/aquastop-alerts.yml', join(dir, 'rules.yml')));
  return promtool(['test', 'rules', copy]);
}

describe.skipIf(!hasTools('promtool'))('shipped Prometheus rules (promtool)', () => {
  it('pass promtool check rules, and the example prometheus.yml that loads them passes check config', async () => {
    const checked = await promtool(['check', 'rules', RULES]);
    expect(checked.out).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(checked.code).toBe(0);
    const config = await promtool(['check', 'config', join(OPS, 'prometheus.example.yml')]);
    expect(config.out).toContain('SUCCESS: 1 rule files found');
    expect(config.code).toBe(0);
  });

  it('pass their unit tests (promtool test rules)', async () => {
    const { code, out } = await promtool(['test', 'rules', ...UNIT_TESTS]);
    expect(out).not.toContain('FAILED');
    expect(out.match(/SUCCESS/g)).toHaveLength(UNIT_TESTS.length);
    expect(code).toBe(0);
  });

  it('have, for every alert, a unit test where it fires and one where it must not; every recording rule feeds an alert', () => {
    const files = UNIT_TESTS.map((f) => parse(readFileSync(f, 'utf8')) as UnitTestFile);
    for (const f of files) expect(f.rule_files).toEqual(['../../../src/monitor/ops/prometheus/aquastop-alerts.yml']);
    const cases = files.flatMap((f) => f.tests.flatMap((t) => t.alert_rule_test ?? []));
    const alerts = rules.flatMap((r) => (r.alert ? [r.alert] : []));
    expect(alerts.length).toBeGreaterThanOrEqual(10);
    for (const name of alerts) {
      const mine = cases.filter((c) => c.alertname === name);
      expect(
        mine.some((c) => (c.exp_alerts ?? []).length > 0),
        `${name} fires in some case`,
      ).toBe(true);
      expect(
        mine.some((c) => (c.exp_alerts ?? []).length === 0),
        `${name} stays quiet in some case`,
      ).toBe(true);
    }
    for (const name of cases.map((c) => c.alertname)) expect(alerts, `unit tests name a real alert`).toContain(name);
    const alertExprs = rules.filter((r) => r.alert).map((r) => r.expr);
    for (const r of rules.filter((x) => x.record)) {
      expect(
        alertExprs.some((e) => e.includes(r.record!)),
        `${r.record} is used`,
      ).toBe(true);
    }
  });

  // One break per kind of rule; by hand, every threshold, window and `for` was moved both ways
  // and each made these tests fail.
  it.each([
    ['AquastopDeviceDown', 'for: 1m', 'for: 0m', DEVICE_TESTS],
    ['AquastopFaultActive', 'expr: aquastop_device_fault_active == 1', 'expr: aquastop_device_fault_active{severity="critical"} == 1', DEVICE_TESTS],
    ['AquastopHeartbeatLoss', '            > 0.05', '            > 0.03', DEVICE_TESTS],
    ['AquastopErrorBudgetBurnFast', 'aquastop:device_burn_rate:1h > 14.4', 'aquastop:device_burn_rate:1h > 12', SLO_TESTS],
    ['AquastopErrorBudgetBurnFast', 'aquastop:device_burn_rate:5m > 14.4', 'aquastop:device_burn_rate:5m > 17', SLO_TESTS],
    ['AquastopErrorBudgetBurnSlow', 'aquastop:device_burn_rate:3d > 1', 'aquastop:device_burn_rate:3d > 0.9', SLO_TESTS],
  ])('fail their unit tests for %s when "%s" becomes "%s"', async (alert, from, to, unitTests) => {
    const { code, out } = await unitTestsWithRulesChanged(unitTests, from, to);
    expect(code).not.toBe(0);
    expect(out).toContain(`alertname: ${alert}`);
  });

  it('fail their unit tests when unknown time counts as UP in the burn rate', async () => {
    const { code, out } = await unitTestsWithRulesChanged(
      SLO_TESTS,
      'avg_over_time(aquastop_device_status{status=~"up|down"}[1h])',
      'avg_over_time(aquastop_device_status{status=~"up|down|unknown"}[1h])',
    );
    expect(code).not.toBe(0);
    expect(out).toContain('exp: {device="dw-cut-off"} 1E+03');
  });
});
