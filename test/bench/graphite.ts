/**
 * `npm run bench -- graphite`: the cost of one Graphite push for 1,000 and 10,000 devices
 * (22 figures each, as /metrics has for a device with one fault code), and the memory the
 * send buffer holds when full (500,000 lines, carbon away).
 */
import { formatGraphite, LineBuffer, type MetricFamily } from '../../src/monitor/graphite.js';

function families(devices: number): MetricFamily[] {
  const ids = Array.from({ length: devices }, (_, i) => `dishwasher-${String(i).padStart(5, '0')}`);
  const per = (name: string, type: string, labels: Array<Record<string, string>>, value: (i: number) => number): MetricFamily => ({
    name,
    type,
    values: ids.flatMap((device, i) => labels.map((l) => ({ labels: { device, ...l }, value: value(i) }))),
  });
  return [
    per('aquastop_device_up', 'gauge', [{}], (i) => (i % 10 ? 1 : 0)),
    per('aquastop_device_status', 'gauge', [{ status: 'up' }, { status: 'down' }, { status: 'unknown' }], () => 0),
    per('aquastop_device_slo_target_ratio', 'gauge', [{}], () => 0.999),
    per('aquastop_device_availability_ratio', 'gauge', [{ window: '1h' }, { window: '1d' }, { window: '30d' }], (i) => 1 - i / 1e6),
    per('aquastop_device_error_budget_remaining_ratio', 'gauge', [{}], () => 0.89),
    per('aquastop_device_heartbeats_received_total', 'counter', [{}], (i) => 272 + i),
    per('aquastop_device_heartbeats_lost_total', 'counter', [{}], (i) => i % 3),
    per('aquastop_device_restarts_total', 'counter', [{}], () => 1),
    per('aquastop_device_faults_raised_total', 'counter', [{ code: 'i30' }], () => 2),
    per(
      'aquastop_device_breaker_state',
      'gauge',
      ['booting', 'armed', 'tripped', 'probing', 'latched', 'service'].map((state) => ({ state })),
      () => 0,
    ),
    per('aquastop_device_last_seen_timestamp_seconds', 'gauge', [{}], () => 1_795_969_355.123),
    per('aquastop_device_flapping', 'gauge', [{}], () => 0),
  ];
}

export async function run(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const devices of [1_000, 10_000]) {
    const fam = families(devices);
    formatGraphite(fam, { prefix: 'aquastop', timestampS: 1 });
    const start = performance.now();
    const rounds = devices === 1_000 ? 20 : 5;
    let lines: string[] = [];
    for (let i = 0; i < rounds; i++) lines = formatGraphite(fam, { prefix: 'aquastop', timestampS: 1_795_969_355 + i });
    const bytes = lines.reduce((n, l) => n + l.length + 1, 0);
    out[`devices${devices}`] = { linesPerPush: lines.length, bytesPerPush: bytes, formatMs: Number(((performance.now() - start) / rounds).toFixed(1)) };
  }
  // The full buffer: pushes of 22,000 lines (1,000 devices) until 500,000 lines wait.
  const push = formatGraphite(families(1_000), { prefix: 'aquastop', timestampS: 1_795_969_355 });
  globalThis.gc?.();
  const before = process.memoryUsage();
  const buffer = new LineBuffer(500_000);
  let dropped = 0;
  for (let i = 0; i < 30; i++) dropped += buffer.add(push.map((l) => l.replace(/ \d+$/, ` ${1_795_969_355 + i}`)));
  globalThis.gc?.();
  const after = process.memoryUsage();
  out.fullBuffer = {
    lines: buffer.size,
    dropped,
    heapMB: Number(((after.heapUsed - before.heapUsed) / 1e6).toFixed(1)),
    rssMB: Number(((after.rss - before.rss) / 1e6).toFixed(1)),
    gc: typeof globalThis.gc === 'function',
  };
  return out;
}
