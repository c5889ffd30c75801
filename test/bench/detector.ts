/**
 * Failure-detector bench (`npm run bench -- detector`): the monitor's real Tracker on the
 * virtual clock, a fleet of heartbeat senders (test/helpers/heartbeat-fleet.ts: online within
 * the first interval, each dying once in the middle half of the run and back 10 min later as a
 * new boot), for both detectors on three links:
 * - steady: every heartbeat delivered on time;
 * - jitter: each delayed 0-60 % of an interval (30 % ± 30 %), in order;
 * - stalls: on time, but one in a thousand held 30 % of an interval (Wi-Fi retries, a pause).
 * Prints DOWN latency in heartbeat intervals since the last heartbeat delivered (p50/p95/max)
 * and false DOWNs per device-hour (those while phi learns a device's first 20 gaps, when it is
 * never earlier than the fixed rule, counted apart). Seeded (DETECTOR_SEED); DETECTOR_DEVICES (1000)
 * and DETECTOR_HOURS (24) size it.
 */
import { percentiles, runHeartbeatFleet, type DelayModel } from '../helpers/heartbeat-fleet.js';

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  const n = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a whole number of at least 1 (got "${raw}")`);
  return n;
}

const LINKS: Record<string, DelayModel> = {
  steady: { kind: 'none' },
  jitter: { kind: 'uniform', spread: 0.6 },
  stalls: { kind: 'stalls', p: 0.001, pause: 0.3 },
};

export async function run(): Promise<Record<string, unknown>> {
  const seed = envNumber('DETECTOR_SEED', 20261129);
  const devices = envNumber('DETECTOR_DEVICES', 1000);
  const hours = envNumber('DETECTOR_HOURS', 24);
  const intervalS = 10;
  process.stderr.write(`bench detector: seed ${seed} (DETECTOR_SEED), ${devices} devices x ${hours} h at ${intervalS} s\n`);
  const out: Record<string, unknown> = {
    seed,
    devices,
    hours,
    heartbeatS: intervalS,
    detectors: { fixed: 'down-after 1.5', phi: 'threshold 8, window 100, min samples 20, least deviation 0.02 interval, pause 0.05 interval' },
  };
  for (const [link, delay] of Object.entries(LINKS)) {
    const row: Record<string, unknown> = {};
    for (const kind of ['fixed', 'phi'] as const) {
      const t0 = performance.now();
      const r = runHeartbeatFleet({ devices, hours, intervalS, delay, detector: { kind }, seed, outages: true });
      row[kind] = {
        downLatencyIntervals: percentiles(r.latencies),
        outagesDetected: `${r.latencies.length}/${devices}`,
        falseDownsPerDeviceHour: round(r.falseDowns / r.deviceHours),
        ...(kind === 'phi' ? { falseDownsWhileLearning: r.falseDownsWhileLearning, falseDownsByPhi: r.falseDowns - r.falseDownsWhileLearning } : { falseDowns: r.falseDowns }),
        heartbeats: r.heartbeats,
        seconds: round((performance.now() - t0) / 1000, 1),
      };
    }
    out[link] = row;
  }
  return out;
}

function round(x: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await run(), null, 2));
