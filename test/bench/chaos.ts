/**
 * Chaos bench (`npm run bench -- chaos`; `npx tsx test/bench/chaos.ts` runs it alone). Prints
 * JSON, asserts nothing. For a fixed seed (printed; CHAOS_SEED overrides) and a bounded wall
 * time (CHAOS_SECONDS, default 180), it runs:
 * - four devices, `aquastop sim` child processes at 4x real time, each on its own data dir and
 *   scenario (faults every 25-60 virtual seconds, USB link cuts among them; one on the emulated
 *   board, our firmware in the AVR emulator), each reaching a real mosquitto 2.x (the shipped
 *   configuration, with persistence) through its own in-process TCP proxy;
 * - `aquastop monitor` (a child process) watching the fleet, and a counting subscriber (a
 *   persistent session, so it hears what is published while it reconnects);
 * - chaos drawn from the seed (chaos/plan.ts): mosquitto SIGKILLed and restarted on its port,
 *   paths cut at the proxy (reset or blackhole) and restored, device processes SIGKILLed and
 *   restarted on the same data dir (some while cut off), one reboot behind a half-open
 *   connection (the broker sends the old connection's last will when its keepalive runs out,
 *   about 90 s later; from CHAOS_SECONDS 150 up), login floods (300 bad and 300 good
 *   CONNECTs); then everything is restored and the bench waits (10 to 30 s) for the outboxes
 *   to drain before it stops the devices and counts (chaos/tally.ts).
 *
 * CHAOS_BREAK=fresh-data-dir restarts every killed device on a new, empty data dir (its outbox
 * lost): `lost` must then go above 0, which shows the count can fail.
 *
 * Everything it starts is in its own process group, killed on any way out; its files are in
 * one temp dir (and mosquitto's), removed at the end.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { once } from 'node:events';
import mqtt, { type MqttClient } from 'mqtt';
import { ROOT, spawnAquastop } from '../helpers/cli.js';
import { account, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { DeviceProcess, killGroup } from './chaos/device-process.js';
import { flood, type FloodOutcome } from './chaos/login-flood.js';
import { makePlan, type ChaosEvent, type DeviceSpec } from './chaos/plan.js';
import { ChaosProxy } from './chaos/proxy.js';
import { tally, type DeviceRun, type Interval, type MonitorStatus, type WireFault, type WireHeartbeat } from './chaos/tally.js';

const SPEED = 4;
const HEARTBEAT_S = 10;
const DOWN_AFTER = 1.5;
const WARMUP_MS = 12_000;
const SETTLE_MS = 30_000;
const MIN_SETTLE_MS = 10_000;
const DEVICES: DeviceSpec[] = [
  { id: 'dishwasher-1', board: 'simulated', account: 'dishwasher-1' },
  { id: 'dishwasher-2', board: 'emulated', account: 'dishwasher-2' },
  { id: 'chaos-3', board: 'simulated', account: 'fleet' },
  { id: 'chaos-4', board: 'simulated', account: 'fleet' },
];

function envNumber(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
  return n;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** Numbers under keys that say "lag", for a device that reports its own loop lag. */
function lagFields(value: unknown, path = '', out: Record<string, number> = {}): Record<string, number> {
  if (value === null || typeof value !== 'object') return out;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const p = path ? `${path}.${k}` : k;
    if (typeof v === 'number' && /lag/i.test(p)) out[p] = Math.max(out[p] ?? 0, v);
    else if (typeof v === 'object') lagFields(v, p, out);
  }
  return out;
}

/** The largest lag a device reported under a "max" key (loopLagMaxMs: the worst tick of a heartbeat window), null when none. */
function worstLag(reported: Record<string, Record<string, number>>): number | null {
  const maxes = Object.values(reported).flatMap((fields) =>
    Object.entries(fields)
      .filter(([k]) => /max/i.test(k))
      .map(([, v]) => v),
  );
  return maxes.length > 0 ? Math.max(...maxes) : null;
}

/** Counts what reaches the broker: a persistent session (clean: false), so a reconnect loses nothing queued for it. */
async function startCounter(url: string, faults: WireFault[], heartbeats: WireHeartbeat[], reportedLag: Record<string, Record<string, number>>): Promise<MqttClient> {
  const viewer = account('viewer');
  const client = await mqtt.connectAsync(url, { ...viewer, clientId: `aquastop-chaos-counter-${process.pid}`, clean: false, reconnectPeriod: 250, connectTimeout: 5_000 });
  const MAX = 500_000;
  client.on('message', (topic, payload) => {
    const parts = topic.split('/');
    const device = parts[1] ?? '';
    if (parts[0] !== 'aquastop' || device === 'bridge') return;
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(payload.toString()) as Record<string, unknown>;
    } catch {
      return;
    }
    const at = Date.now();
    const tail = parts.slice(2).join('/');
    if (tail === 'fault' && faults.length < MAX) {
      faults.push({ device, id: String(body['id']), event: String(body['event']), code: String(body['code']), ts: String(body['ts']), at });
    } else if (tail === 'heartbeat' && heartbeats.length < MAX) {
      heartbeats.push({ device, boot: Number(body['boot']), ts: String(body['ts']), at });
    }
    if (tail === 'heartbeat' || tail === '') {
      const lags = lagFields(body);
      if (Object.keys(lags).length > 0) {
        const mine = (reportedLag[device] ??= {});
        for (const [k, v] of Object.entries(lags)) mine[k] = Math.max(mine[k] ?? 0, v);
      }
    }
  });
  await client.subscribeAsync({ 'aquastop/+/fault': { qos: 1 }, 'aquastop/+/heartbeat': { qos: 0 }, 'aquastop/+': { qos: 0 } });
  return client;
}

interface MonitorProcess {
  readonly pid: number;
  readonly dataDir: string;
  stop(): Promise<void>;
  stderr(): string;
}

async function startMonitorProcess(root: string, brokerUrl: string, groups: Set<number>): Promise<MonitorProcess> {
  const dataDir = join(root, 'monitor');
  const viewer = account('viewer');
  const child = spawnAquastop(
    ['monitor', '--broker', brokerUrl, '--username', viewer.username, '--password', viewer.password, '--port', '0', '--data-dir', dataDir, '--down-after', String(DOWN_AFTER)],
    { detached: true, env: { ...process.env, TMPDIR: join(root, 'tmp'), FORCE_COLOR: '0' } },
  );
  groups.add(child.pid!);
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-8_192)));
  child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-8_192)));
  const exited = once(child, 'exit').then(() => groups.delete(child.pid!));
  for (let i = 0; !/monitor: http/.test(out); i++) {
    if (child.exitCode !== null || i > 600) throw new Error(`aquastop monitor did not start: ${err.trim() || out.trim()}`);
    await sleep(50);
  }
  return {
    pid: child.pid!,
    dataDir,
    stderr: () => err,
    stop: async () => {
      killGroup(child.pid!, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child.pid!, 'SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * How well a device kept to its speed: virtual time reached over wall time x speed, from its
 * first line to its last, the slowest run of at least 20 s (1: on time; 0.5: at half speed,
 * so its events come later than the plan says).
 */
function pace(runs: readonly DeviceRun[]): number | null {
  let worst: number | null = null;
  for (const r of runs) {
    const timed = r.lines.filter((l) => typeof l['t'] === 'number' && l['type'] !== 'summary');
    const first = timed[0];
    const last = timed.at(-1);
    if (!first || !last) continue;
    const wall = Number(last['_at']) - Number(first['_at']);
    if (wall < 20_000) continue;
    const p = (Number(last['t']) - Number(first['t'])) / (wall * SPEED);
    worst = worst === null ? p : Math.min(worst, p);
  }
  return worst === null ? null : Math.round(worst * 100) / 100;
}

function monitorStatuses(dataDir: string): MonitorStatus[] {
  let text: string;
  try {
    text = readFileSync(join(dataDir, 'monitor-events.jsonl'), 'utf8');
  } catch {
    return [];
  }
  const out: MonitorStatus[] = [];
  for (const line of text.split('\n')) {
    try {
      const e = JSON.parse(line) as Record<string, unknown>;
      if (e['type'] === 'status') out.push({ device: String(e['id']), status: String(e['status']), reason: String(e['reason']), at: Number(e['t']) });
    } catch {
      // a torn last line
    }
  }
  return out;
}

export async function run(): Promise<Record<string, unknown>> {
  const seed = envNumber('CHAOS_SEED', 20261201, 0, 999_999_999);
  const seconds = envNumber('CHAOS_SECONDS', 180, 60, 3_600);
  const breakMode = process.env.CHAOS_BREAK ?? '';
  if (breakMode !== '' && breakMode !== 'fresh-data-dir') throw new Error(`CHAOS_BREAK must be "fresh-data-dir" or empty (got "${breakMode}")`);
  const chaosEndMs = seconds * 1000 - SETTLE_MS;
  const plan = makePlan({ seed, devices: DEVICES, chaosStartMs: WARMUP_MS, chaosEndMs, virtualMs: seconds * 1000 * SPEED });
  process.stderr.write(`chaos: seed ${seed}, ${seconds} s, ${plan.events.length} chaos events${breakMode ? `, CHAOS_BREAK=${breakMode}` : ''}\n`);

  const root = mkdtempSync(join(tmpdir(), 'aquastop-chaos-'));
  mkdirSync(join(root, 'tmp'));
  const groups = new Set<number>();
  let mosquitto: Mosquitto | null = null;
  // Last resort: whatever happens to this process, its children go with it.
  const killAll = () => {
    for (const pid of groups) killGroup(pid, 'SIGKILL');
    const m = mosquitto?.pid();
    if (m) killGroup(m, 'SIGKILL');
    rmSync(root, { recursive: true, force: true });
  };
  process.once('exit', killAll);
  const proxies: ChaosProxy[] = [];
  const devices: DeviceProcess[] = [];
  let counter: MqttClient | null = null;
  let monitor: MonitorProcess | null = null;

  const faults: WireFault[] = [];
  const heartbeats: WireHeartbeat[] = [];
  const reportedLag: Record<string, Record<string, number>> = {};
  const brokerDown: Interval[] = [];
  const pathDown = new Map<string, Interval[]>(DEVICES.map((d) => [d.id, []]));
  const done = { brokerKills: 0, netCuts: { reset: 0, blackhole: 0 }, deviceKills: 0, killedWhileCutOff: 0, rebootsHalfOpen: 0, loginFloods: 0 };
  const floods: { bad: FloodOutcome; good: FloodOutcome; ms: number }[] = [];
  const errors: string[] = [];
  const t0 = Date.now();

  try {
    mosquitto = await startMosquitto({ persistence: true, autosaveS: 1 });
    const m = mosquitto;
    counter = await startCounter(m.url, faults, heartbeats, reportedLag);
    monitor = await startMonitorProcess(root, m.url, groups);

    for (const spec of DEVICES) {
      const proxy = new ChaosProxy(m.port);
      await proxy.listen();
      proxies.push(proxy);
      const scenarioPath = join(root, `${spec.id}.json`);
      const scenario = {
        name: `chaos-${spec.id}`,
        description: `chaos bench device ${spec.id} (seed ${seed})`,
        seed: seed % 1_000_000,
        duration: `${seconds * SPEED + 600}s`,
        program: { start: true, loop: true },
        timeline: plan.timelines[spec.id],
      };
      writeFileSync(scenarioPath, JSON.stringify(scenario, null, 2));
      let generation = 0;
      const dp = new DeviceProcess({
        spec,
        root,
        cwd: ROOT,
        scenarioPath,
        brokerUrl: () => `mqtt://127.0.0.1:${proxy.port}`,
        password: account(spec.account).password,
        speed: SPEED,
        // Broken on purpose: every restart forgets the outbox (and the boot count).
        dataDir: () => join(root, 'data', breakMode === 'fresh-data-dir' ? `${spec.id}-${generation++}` : spec.id),
        groups,
      });
      devices.push(dp);
      dp.start();
    }
    const deviceOf = (id: string) => devices.find((d) => d.id === id)!;
    const proxyOf = (id: string) => proxies[DEVICES.findIndex((d) => d.id === id)]!;

    // Outages are stamped from before they begin to after they end, so a consequence is never counted outside its cause.
    const cutPath = (id: string, mode: 'reset' | 'blackhole') => {
      pathDown.get(id)!.push({ from: Date.now(), to: null });
      proxyOf(id).cutOff(mode);
    };
    const restorePath = (id: string) => {
      proxyOf(id).restore();
      const open = pathDown.get(id)!.at(-1);
      if (open && open.to === null) open.to = Date.now();
    };

    const act = async (e: ChaosEvent): Promise<void> => {
      switch (e.kind) {
        case 'brokerKill': {
          const down: Interval = { from: Date.now(), to: null };
          brokerDown.push(down);
          await m.kill();
          done.brokerKills++;
          await sleep(e.downMs);
          await m.start();
          down.to = Date.now();
          return;
        }
        case 'netCut':
          cutPath(e.device, e.mode);
          done.netCuts[e.mode]++;
          await sleep(e.downMs);
          restorePath(e.device);
          return;
        case 'deviceKill': {
          const d = deviceOf(e.device);
          await d.kill();
          done.deviceKills++;
          await sleep(e.downMs);
          d.start();
          return;
        }
        case 'cutThenKill': {
          const d = deviceOf(e.device);
          cutPath(e.device, 'reset');
          done.netCuts.reset++;
          await sleep(e.killAfterMs);
          await d.kill();
          done.deviceKills++;
          done.killedWhileCutOff++;
          restorePath(e.device);
          await sleep(e.downMs);
          d.start();
          return;
        }
        case 'rebootHalfOpen': {
          const d = deviceOf(e.device);
          void proxyOf(e.device).strand();
          await d.kill();
          done.deviceKills++;
          done.rebootsHalfOpen++;
          await sleep(e.downMs);
          d.start();
          return;
        }
        case 'loginFlood': {
          const started = performance.now();
          const good = account('operator');
          const [bad, ok] = await Promise.all([flood(m.port, e.bad, 'operator', 'wrong-password'), flood(m.port, e.good, good.username, good.password)]);
          floods.push({ bad, good: ok, ms: Math.round(performance.now() - started) });
          done.loginFloods++;
          return;
        }
      }
    };

    // Each event runs at its time, concurrently with the others (the plan keeps each target to one at a time).
    const running: Promise<void>[] = [];
    for (const e of plan.events) {
      await sleep(t0 + e.at - Date.now());
      running.push(
        act(e).catch((err: unknown) => {
          errors.push(`${e.kind} at ${e.at} ms: ${err instanceof Error ? err.message : String(err)}`);
        }),
      );
    }
    await Promise.all(running);

    // Everything back: broker up, paths up, every device running; then wait for the outboxes to drain.
    for (const spec of DEVICES) {
      restorePath(spec.id);
      deviceOf(spec.id).start();
    }
    const chaosOverAt = Date.now();
    const input = () => ({
      runs: devices.flatMap((d) => d.runs).sort((a, b) => a.startedAt - b.startedAt),
      faults,
      heartbeats,
      statuses: [] as MonitorStatus[],
      brokerDown,
      pathDown,
      speed: SPEED,
      downWindowMs: DOWN_AFTER * HEARTBEAT_S * 1000,
      graceMs: 6_000,
      end: Date.now(),
    });
    // At least MIN_SETTLE_MS, so a device restarted by the last event reconnects and resends its outbox.
    while (Date.now() - chaosOverAt < SETTLE_MS && (Date.now() - chaosOverAt < MIN_SETTLE_MS || tally(input()).lost > 0)) await sleep(1_000);
    const settledMs = Date.now() - chaosOverAt;
    const end = Date.now();

    await monitor.stop();
    await Promise.all(devices.map((d) => d.stop()));
    const statuses = monitorStatuses(monitor.dataDir).filter((s) => s.at <= end);
    const result = tally({ ...input(), statuses, end });

    const runsOf = (id: string) => devices.find((d) => d.id === id)!.runs;
    // For a device a failure was counted on: what happened to it, in seconds from the start.
    const rel = (ms: number | null) => (ms === null ? null : Math.round((ms - t0) / 100) / 10);
    const involved = new Set([...result.examples.falseDowns, ...result.examples.lost, ...result.examples.unmatched].map((e) => e.device));
    const stories = Object.fromEntries(
      [...involved].map((id) => [
        id,
        {
          runs: runsOf(id).map((r) => ({ started: rel(r.startedAt), ready: rel(r.readyAt), ended: rel(r.endedAt), killed: r.killed, bootBefore: r.bootBefore })),
          pathCut: pathDown.get(id)!.map((i) => [rel(i.from), rel(i.to)]),
          brokerDown: brokerDown.map((i) => [rel(i.from), rel(i.to)]),
          monitor: statuses
            .filter((st) => st.device === id)
            .slice(0, 40)
            .map((st) => [rel(st.at), st.status, st.reason]),
          // Fault events as printed ([run, id, event, code, virtual s, printed at]) and as received ([id, event, code, ts, received at]).
          printed: runsOf(id)
            .flatMap((r, i) => r.lines.filter((l) => l['type'] === 'fault').map((l) => [i, l['id'], l['event'], l['code'], Number(l['t']) / 1000, rel(Number(l['_at']))]))
            .slice(0, 60),
          received: faults
            .filter((f) => f.device === id)
            .slice(0, 60)
            .map((f) => [f.id, f.event, f.code, f.ts, rel(f.at)]),
        },
      ]),
    );
    return {
      seed,
      seconds,
      startedAt: new Date(t0).toISOString(),
      wallSeconds: Math.round((Date.now() - t0) / 1000),
      ...(breakMode ? { breakMode } : {}),
      speed: SPEED,
      devices: DEVICES.map((d) => ({ ...d, runs: runsOf(d.id).length, linesPrinted: runsOf(d.id).reduce((n, r) => n + r.lines.length, 0), pace: pace(runsOf(d.id)) })),
      chaos: {
        ...done,
        planned: plan.events.length,
        usbCutsScheduled: Object.fromEntries(DEVICES.map((d) => [d.id, plan.timelines[d.id]!.filter((s) => s['inject'] === 'linkLost' || s['inject'] === 'usbUnplug').length])),
        usbCutsSeen: Object.fromEntries(
          DEVICES.map((d) => [
            d.id,
            runsOf(d.id).reduce((n, r) => n + r.lines.filter((l) => l['type'] === 'inject' && (l['fault'] === 'linkLost' || l['fault'] === 'usbUnplug')).length, 0),
          ]),
        ),
        proxies: Object.fromEntries(DEVICES.map((d, i) => [d.id, proxies[i]!.stats])),
      },
      faultEvents: result.faultEvents,
      delivered: result.delivered,
      lost: result.lost,
      duplicatesNewId: result.duplicatesNewId,
      unmatched: result.unmatched,
      redeliveredSameId: result.redeliveredSameId,
      settledAfterMs: settledMs,
      unsafeValveStates: result.unsafeValveStates,
      monitor: { downs: result.downs, falseDowns: result.falseDowns, downsByReason: result.downsByReason },
      tickLagMs: {
        worstReported: worstLag(reportedLag),
        reported: Object.keys(reportedLag).length > 0 ? reportedLag : 'not reported by the devices (no field named *lag* in their heartbeat or state)',
        heartbeatArrival: result.heartbeatLagMs,
        measuredAs:
          'heartbeat lateness at the counting subscriber: within one device boot, arrival minus virtual ts / speed, from the earliest; leaves out heartbeats while (or 6 s after) the device, its path or the broker was down. It holds the device loop lag plus the 20 ms realtime step, the proxy and the broker',
      },
      loginFloods: floods,
      examples: { ...result.examples, lost: result.examples.lost.map(({ printedAt, ...e }) => ({ ...e, printedAtS: rel(typeof printedAt === 'number' ? printedAt : null) })) },
      ...(errors.length > 0 ? { errors } : {}),
      ...(involved.size > 0 ? { stories } : {}),
      ...(result.lost > 0 || result.falseDowns > 0 ? { stderrTails: Object.fromEntries(devices.map((d) => [d.id, d.stderrTail.split('\n').slice(-8)])) } : {}),
      plan: plan.events.map((e) => ({ ...e, at: `${(e.at / 1000).toFixed(1)}s` })),
    };
  } finally {
    await Promise.all(devices.map((d) => d.stop(5_000).catch(() => undefined)));
    await monitor?.stop().catch(() => undefined);
    await counter?.endAsync(true).catch(() => undefined);
    for (const p of proxies) await p.close().catch(() => undefined);
    await mosquitto?.close().catch(() => undefined);
    killAll();
    process.off('exit', killAll);
    rmSync(root, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  // Ctrl-C: the exit hook kills every child and removes the temp dir (mosquitto's own temp dir
  // is left: its helper removes it only on a normal end).
  process.once('SIGINT', () => process.exit(130));
  console.log(JSON.stringify(await run(), null, 2));
  process.exit(0);
}
