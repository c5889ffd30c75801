/**
 * The controllers' tick lag in `aquastop start` (embedded broker, three simulated appliances at
 * real speed, monitor, dashboard: one process, started with start.ts's own `startDemo`) at rest
 * and during a login flood of 300 bad and 300 good logins (real MQTT clients over TCP on
 * loopback, in a child process at nice 19, standing for machines elsewhere: test/helpers/login-flood.ts).
 *
 * Tick lag: every controller tick ends with a keepalive to its board; at speed 1 each tick is
 * due at (start + virtual time). Its lag is how much later than that it ran, against the run's
 * best tick. The longest wall gap between two keepalives of one board is what a real board's
 * watchdog would see: above hardware/pins.json safety.linkTimeoutMs it would have closed the
 * valve (iC0). Also the event-loop delay (perf_hooks) over each phase. Target: p99 < 50 ms
 * under the flood, no watchdog.
 */
import { spawn } from 'node:child_process';
import { loadavg, setPriority } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pins } from '../../hardware/pins.js';
import { SimulatedBoard } from '../../sim/board.js';
import { DEMO_OPERATOR, parseStartFlags, startDemo, stopAll } from '../../src/commands/start.js';
import { LoopLagMonitor } from '../../src/telemetry/loop-lag.js';
import type { FloodResult } from '../helpers/login-flood.js';

const REST_MS = 10_000;
const WARMUP_MS = 3_000;
/** The flood's client process runs at this nice level (see runFlood). */
const FLOOD_NICE = 19;

interface Tick {
  readonly wall: number;
  readonly virtual: number;
}

/** Keepalives per board, as they happen. Measurement only: the board's behaviour is unchanged. */
const ticks = new Map<SimulatedBoard, Tick[]>();
let measuredFrom = Infinity;
const original = SimulatedBoard.prototype.keepalive;

function instrument(): void {
  SimulatedBoard.prototype.keepalive = function (this: SimulatedBoard) {
    const clock = (this as unknown as { watchdog?: { clock: { now(): number } } }).watchdog?.clock;
    if (clock) {
      let list = ticks.get(this);
      if (!list) ticks.set(this, (list = []));
      list.push({ wall: performance.now(), virtual: clock.now() });
    }
    original.call(this);
  };
}

const pct = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : null);
const round = (n: number | null) => (n === null ? null : Math.round(n * 10) / 10);

/** Tick lag and keepalive gaps of the ticks in [from, to) of wall time. */
function tickStats(from: number, to: number) {
  const lags: number[] = [];
  let maxGap = 0;
  for (const list of ticks.values()) {
    // Each board's virtual time runs at wall speed from some offset; its least-late tick of the measured run sets it.
    const best = Math.min(...list.filter((t) => t.wall >= measuredFrom).map((t) => t.wall - t.virtual));
    let prev: number | null = null;
    for (const t of list) {
      if (t.wall >= from && t.wall < to) {
        lags.push(t.wall - t.virtual - best);
        if (prev !== null) maxGap = Math.max(maxGap, t.wall - prev);
      }
      prev = t.wall;
    }
  }
  lags.sort((a, b) => a - b);
  return {
    ticks: lags.length,
    tickLagMs: { p50: round(pct(lags, 50)), p99: round(pct(lags, 99)), max: round(lags.at(-1) ?? null) },
    maxKeepaliveGapMs: round(maxGap),
    watchdogWouldFire: maxGap > pins.safety.linkTimeoutMs,
  };
}

function runFlood(port: number): Promise<FloodResult> {
  const plan = { port, bad: 300, good: 300, username: DEMO_OPERATOR.username, password: DEMO_OPERATOR.password };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/login-flood.ts', JSON.stringify(plan)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.on('error', reject);
    // The clients stand for machines elsewhere: on this host they must not take the CPU the broker's process is measured on.
    if (child.pid !== undefined) setPriority(child.pid, FLOOD_NICE);
    child.on('close', (code) => {
      try {
        resolve(JSON.parse(out) as FloodResult);
      } catch {
        reject(new Error(`login flood exited ${code} without a result`));
      }
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function run(): Promise<Record<string, unknown>> {
  instrument();
  const dataDir = mkdtempSync(join(tmpdir(), 'aquastop-bench-lag-'));
  const log: string[] = [];
  const flags = parseStartFlags({ host: '127.0.0.1', mqttPort: '0', wsPort: '0', httpPort: '0', monitorPort: '0', dataDir, devices: '3' });
  const pieces = await startDemo(flags, (line) => log.push(line));
  try {
    const port = Number(/mqtt:\/\/127\.0\.0\.1:(\d+)/.exec(pieces.find((p) => p.name === 'broker')!.summary)![1]);
    await sleep(WARMUP_MS);
    const loop = new LoopLagMonitor();
    loop.take();
    const restFrom = performance.now();
    measuredFrom = restFrom;
    await sleep(REST_MS);
    const restTo = performance.now();
    const restLoop = loop.take();
    const flood = await runFlood(port);
    const floodTo = performance.now();
    const floodLoop = loop.take();
    loop.stop();
    return {
      devices: ticks.size,
      linkTimeoutMs: pins.safety.linkTimeoutMs,
      rest: { seconds: Math.round((restTo - restFrom) / 1000), ...tickStats(restFrom, restTo), loopDelayMs: restLoop },
      flood: { seconds: Math.round((floodTo - restTo) / 1000), ...tickStats(restTo, floodTo), loopDelayMs: floodLoop, logins: flood },
      floodClientsNice: FLOOD_NICE,
      loadAverage: loadavg().map((n) => Math.round(n * 10) / 10),
      target: 'flood tickLagMs.p99 < 50 and watchdogWouldFire false',
      brokerLogLines: log.filter((l) => l.includes('broker:')).length,
    };
  } finally {
    await stopAll(pieces, () => undefined);
    SimulatedBoard.prototype.keepalive = original;
    rmSync(dataDir, { recursive: true, force: true });
  }
}
