/**
 * The gauges the shipped alert rules (src/monitor/ops/prometheus) are written against: the
 * device status with "unknown" apart from DOWN, the active fault with its catalogue severity,
 * and the SLO target. On the virtual clock; the exposition also passes `promtool check metrics`.
 */
import { execFileSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock/virtual-clock.js';
import { MemoryEventLog } from '../../src/monitor/event-log.js';
import { createMetrics } from '../../src/monitor/metrics.js';
import { Tracker } from '../../src/monitor/tracker.js';
import { faultDefinition } from '../../src/machine/catalogue.js';
import type { FaultCode } from '../../src/machine/catalogue.js';
import { findTool, hasTools } from '../helpers/tools.js';

function setup() {
  const clock = new VirtualClock(0);
  const tracker = new Tracker({ clock, log: new MemoryEventLog(), alerts: { send: () => undefined }, snapshotMs: 0, sloTarget: 0.995 });
  tracker.start();
  const seqs = new Map<string, number>();
  const faults = new Map<string, FaultCode>();
  // Like a device, every heartbeat repeats the fault it has now.
  const beat = (id: string) => {
    const seq = (seqs.get(id) ?? 0) + 1;
    seqs.set(id, seq);
    tracker.onHeartbeat(id, { seq, boot: 1, uptimeS: seq, intervalS: 10, state: 'idle', fault: faults.get(id) ?? null, ts: '' });
  };
  const fault = (id: string, event: 'raised' | 'cleared', code: FaultCode) => {
    const def = faultDefinition(code);
    if (event === 'raised') faults.set(id, code);
    else faults.delete(id);
    tracker.onFault(id, { id: `1-${code}`, event, code, display: def.display, text: def.text, severity: def.severity, reset: def.reset, ts: new Date(clock.now()).toISOString() });
  };
  // A fresh registry per read: one registry reuses its reports for 200 ms of real time.
  const scrape = () => createMetrics(tracker, null).metrics();
  return { clock, tracker, beat, fault, scrape };
}

it('exports each device status with DOWN and unknown apart, the active fault with its severity, and the SLO target', async () => {
  const { clock, tracker, beat, fault, scrape } = setup();
  beat('dev-ok');
  beat('dev-down');
  beat('dev-leak');
  fault('dev-leak', 'raised', 'i30');
  clock.advance(10_000);
  beat('dev-ok');
  beat('dev-leak');
  clock.advance(5_000); // dev-down: 15 s (1.5 intervals) without a heartbeat
  let text = await scrape();
  expect(text).toMatch(/^aquastop_device_status\{device="dev-ok",status="up"\} 1$/m);
  expect(text).toMatch(/^aquastop_device_status\{device="dev-ok",status="down"\} 0$/m);
  expect(text).toMatch(/^aquastop_device_status\{device="dev-down",status="down"\} 1$/m);
  expect(text).toMatch(/^aquastop_device_status\{device="dev-down",status="up"\} 0$/m);
  expect(text).toMatch(/^aquastop_device_status\{device="dev-down",status="unknown"\} 0$/m);
  expect(text).toMatch(/^aquastop_device_fault_active\{device="dev-leak",code="i30",severity="critical"\} 1$/m);
  expect(text.match(/^aquastop_device_fault_active\{/gm)).toHaveLength(1);
  expect(text).toMatch(/^aquastop_device_slo_target_ratio\{device="dev-ok"\} 0\.995$/m);
  if (hasTools('promtool')) {
    const out = execFileSync(findTool('promtool')!, ['check', 'metrics'], { input: text, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
    expect(out.trim()).toBe('');
  }

  // A new fault replaces the series (with its own severity); a cleared one removes it.
  fault('dev-leak', 'raised', 'i11');
  text = await scrape();
  expect(text).toMatch(/^aquastop_device_fault_active\{device="dev-leak",code="i11",severity="error"\} 1$/m);
  expect(text).not.toMatch(/^aquastop_device_fault_active\{.*code="i30"/m);
  fault('dev-leak', 'cleared', 'i11');
  expect(await scrape()).not.toMatch(/^aquastop_device_fault_active\{/m);

  // The monitor cut off from the broker: every device unknown, none DOWN.
  tracker.onConnection(false);
  text = await scrape();
  for (const id of ['dev-ok', 'dev-down', 'dev-leak']) {
    expect(text).toMatch(new RegExp(`^aquastop_device_status\\{device="${id}",status="unknown"\\} 1$`, 'm'));
    expect(text).toMatch(new RegExp(`^aquastop_device_status\\{device="${id}",status="down"\\} 0$`, 'm'));
  }
});
