/**
 * `npm run bench -- fleet`: a fleet in which every appliance has its own MQTT connection and
 * last will (src/telemetry/fleet.ts), on a real mosquitto, at a 10 s heartbeat.
 *
 * For each size (FLEET_SIZES, default 1000,3000,10000) a fresh mosquitto and a fresh process
 * (node --expose-gc) runs, as `aquastop start --per-device-connections --broker` does, the
 * looping demo appliances (normal-cycle at real speed, spread over one heartbeat interval as
 * they come online); the monitor runs in a process of its own, as a fleet runs it, and answers
 * over IPC. Once every appliance is UP at the monitor it measures for FLEET_WINDOW_S (default
 * 60 s): CPU of the appliances' process, of the monitor's and of mosquitto (share of one core),
 * RSS, heap per appliance against a bare controller actor (createActor of src/machine's
 * controllerMachine), the monitor's heap per appliance, heartbeats published against heartbeats the monitor got,
 * the appliances that saw a retained message acknowledged late (3 s, src/telemetry/link.ts SLOW_ACK_MS) since the start (each
 * publishes it again, src/telemetry/link.ts), then cuts the connection of the appliance in the middle of the fleet and times the monitor's
 * DOWN (its will). FLEET_PROFILE=DIR writes a CPU profile of the largest size there. A size's
 * files (outboxes, the monitor's history, in /tmp/aquastop-bench-fleet-*) are removed however its
 * process ends.
 *
 * Beside it, in its own process, the monitor's ingest on one core: heartbeat messages (10,000
 * devices, real payloads) handed to the subscriber's message handler, which parses, checks
 * the schema and updates the tracker, as fast as it takes them. And what one more appliance
 * holds, part by part (fleet-heap.ts, FLEET_HEAP_N appliances, default 1,000): the simulated
 * appliance alone, with telemetry on the process's one connection, and on its own connection.
 */
import { execFile, fork } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { createActor } from 'xstate';
import { startMosquitto } from '../helpers/mosquitto.js';

const HEARTBEAT_MS = 10_000;
const self = fileURLToPath(import.meta.url);
const gc = () => (globalThis as { gc?: () => void }).gc?.();
const mb = (bytes: number) => Math.round(bytes / 1e5) / 10;

/** CPU seconds (user + system) of a process from /proc. */
function procCpuS(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function until(ok: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 200));
  }
  return true;
}

/** Heap of `n` bare controller actors, per actor. */
async function bareActorBytes(n: number): Promise<number> {
  const [{ controllerMachine }, { parseControllerConfig }] = await Promise.all([import('../../src/machine/machine.js'), import('../../src/machine/config.js')]);
  const config = parseControllerConfig();
  gc();
  const h0 = process.memoryUsage().heapUsed;
  const actors = Array.from({ length: n }, () => createActor(controllerMachine, { input: { latch: null, memoryFault: false, config } }).start());
  gc();
  const per = (process.memoryUsage().heapUsed - h0) / n;
  for (const a of actors) a.stop();
  return per;
}

/** The fleet's first log lines, and then a count: a broken run says why at once. */
let logged = 0;
/** Appliances that published a retained message again after a late acknowledgement (src/telemetry/link.ts SLOW_ACK_MS), by their log line. */
const lateAcks = new Set<string>();
function logSome(line: string, fields?: { readonly device?: string }): void {
  if (line.includes(' to acknowledge ')) lateAcks.add(fields?.device ?? line.split(':')[0]!);
  if (++logged <= 5) process.stderr.write(`fleet: ${line}\n`);
}

/** What the bench asks the monitor's process (monitorChild). */
type MonitorQuestion =
  { readonly q: 'up' } | { readonly q: 'received' } | { readonly q: 'status'; readonly id: string } | { readonly q: 'othersDown'; readonly id: string } | { readonly q: 'heap' };

/**
 * The monitor in a process of its own, as a fleet runs it: it answers the bench's questions over
 * IPC (how many UP, heartbeats received, one device's status, its heap after a GC).
 */
async function monitorChild(url: string, dataDir: string): Promise<void> {
  const { startMonitor } = await import('../../src/monitor/index.js');
  const monitor = await startMonitor({ brokerUrl: url, host: '127.0.0.1', port: 0, dataDir, logger: pino({ level: 'warn' }, pino.destination(2)) });
  let received = 0;
  const tracker = monitor.tracker as { onHeartbeat: (...a: never[]) => void };
  const onHeartbeat = tracker.onHeartbeat.bind(tracker);
  tracker.onHeartbeat = (...a: never[]) => {
    received++;
    onHeartbeat(...a);
  };
  const answer = (m: MonitorQuestion): unknown => {
    if (m.q === 'up') return monitor.tracker.reports().filter((r) => r.status === 'up').length;
    if (m.q === 'received') return received;
    if (m.q === 'status') return monitor.tracker.report(m.id)?.status ?? null;
    if (m.q === 'othersDown') return monitor.tracker.reports().filter((r) => r.status === 'down' && r.id !== m.id).length;
    gc();
    return { heapUsed: process.memoryUsage().heapUsed, rss: process.memoryUsage().rss };
  };
  process.on('message', (m: { id: number; question: MonitorQuestion }) => process.send!({ id: m.id, answer: answer(m.question) }));
  process.on('disconnect', () => void monitor.stop().then(() => process.exit(0)));
  process.send!({ ready: true });
}

/** Starts monitorChild and returns how to ask it, and to stop it. */
async function startMonitorProcess(url: string, dataDir: string): Promise<{ ask: <T>(question: MonitorQuestion) => Promise<T>; pid: number; stop: () => Promise<void> }> {
  const proc = fork(self, ['--monitor-child', url, dataDir], { execArgv: ['--expose-gc', '--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const waiting = new Map<number, (answer: unknown) => void>();
  let next = 0;
  await new Promise<void>((resolve, reject) => {
    proc.once('error', reject);
    proc.once('exit', (code) => reject(new Error(`the monitor's process exited with ${code}`)));
    proc.on('message', (m: { ready?: boolean; id?: number; answer?: unknown }) => {
      if (m.ready) resolve();
      else if (m.id !== undefined) {
        waiting.get(m.id)?.(m.answer);
        waiting.delete(m.id);
      }
    });
  });
  return {
    pid: proc.pid!,
    ask: <T>(question: MonitorQuestion) =>
      new Promise<T>((resolve) => {
        const id = ++next;
        waiting.set(id, resolve as (answer: unknown) => void);
        proc.send({ id, question });
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        proc.once('exit', () => resolve());
        proc.disconnect();
      }),
  };
}

/** One size, in this process; its files (outboxes, the monitor's history) in `dir`, which the parent made and removes. */
async function child(n: number, url: string, mosquittoPid: number, windowS: number, dir: string): Promise<Record<string, unknown>> {
  const [{ Simulation }, { runRealtime }, { loadBuiltinScenario }, { fleetStartPlan }, { startFleetTelemetry }, { wallClock }] = await Promise.all([
    import('../../sim/engine.js'),
    import('../../sim/realtime.js'),
    import('../../sim/scenarios/index.js'),
    import('../../sim/fleet-start.js'),
    import('../../src/telemetry/fleet.js'),
    import('../../src/clock/clock.js'),
  ]);
  const actorBytes = await bareActorBytes(Math.min(n, 2000));
  gc();
  const heap0 = process.memoryUsage().heapUsed;
  const monitor = await startMonitorProcess(url, join(dir, 'monitor'));
  const monitorHeap0 = await monitor.ask<{ heapUsed: number }>({ q: 'heap' });
  const firstMs = Math.min(10_000, Math.max(1_000, Math.round(n * 0.5)));
  const fleet = await startFleetTelemetry({
    url,
    reconnect: { firstMs, maxMs: 30_000 },
    heartbeatS: HEARTBEAT_MS / 1000,
    haPrefix: null,
    dataDir: join(dir, 'telemetry'),
    clock: wallClock,
    maxDevices: n,
    simulated: process.env.FLEET_FSYNC !== '1',
    log: logSome,
  });
  const normal = loadBuiltinScenario('normal-cycle')!;
  const looping = { ...normal, program: { start: true, loop: true } };
  const plan = fleetStartPlan(n, { seed: 1, onlineSpreadMs: HEARTBEAT_MS, programSpreadMs: 64 * 60_000 });
  const ids = Array.from({ length: n }, (_, i) => `bench-${String(i + 1).padStart(5, '0')}`);
  let published = 0;
  const sims = ids.map((id, i) => new Simulation({ scenario: looping, seed: i + 1, deviceId: id, keepLog: false, ...plan[i]! }));
  for (const sim of sims) {
    sim.onRuntime((runtime) => {
      if (!runtime) return fleet.removeDevice(sim.deviceId);
      fleet.addDevice({ runtime, fw: 'bench' });
      const c = fleet.connectionOf(sim.deviceId)!;
      if ((c as { counted?: boolean }).counted) return;
      (c as { counted?: boolean }).counted = true;
      const send = c.send.bind(c);
      c.send = (name, params, payload) => {
        if (name === 'heartbeat' && c.connected) published++;
        send(name, params, payload);
      };
    });
  }
  const tStart = performance.now();
  for (const sim of sims) await sim.start();
  const run = runRealtime(sims, { speed: 1 });
  let lastSay = 0;
  const allUp = await until(async () => {
    const connected = fleet.connectedCount();
    const up = await monitor.ask<number>({ q: 'up' });
    if (performance.now() - lastSay > 10_000) {
      lastSay = performance.now();
      process.stderr.write(`bench fleet ${n}: ${connected} connected, ${up} UP, ${published} heartbeats published\n`);
    }
    return connected === n && up === n;
  }, 120_000);
  const upAfterS = Math.round((performance.now() - tStart) / 100) / 10;

  // The measured window.
  gc();
  const heapFleet = process.memoryUsage().heapUsed - heap0;
  const monitorMemory = await monitor.ask<{ heapUsed: number; rss: number }>({ q: 'heap' });
  const monitorCpu0 = procCpuS(monitor.pid);
  const cpu0 = process.cpuUsage();
  const mq0 = procCpuS(mosquittoPid);
  const w0 = performance.now();
  const pub0 = published;
  const rec0 = await monitor.ask<number>({ q: 'received' });
  let rssMax = 0;
  const sampler = setInterval(() => (rssMax = Math.max(rssMax, process.memoryUsage().rss)), 1000);
  await new Promise((r) => setTimeout(r, windowS * 1000));
  clearInterval(sampler);
  const wallS = (performance.now() - w0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const mqCpu = procCpuS(mosquittoPid) - mq0;
  const monitorCpuS = procCpuS(monitor.pid) - monitorCpu0;
  // Let the heartbeats in flight at the window's end arrive before counting.
  const pubN = published - pub0;
  await new Promise((r) => setTimeout(r, 1000));
  const recN = (await monitor.ask<number>({ q: 'received' })) - rec0;

  // The appliance in the middle loses its connection (no DISCONNECT, as a crash): its will.
  const victim = ids[Math.floor(n / 2)]!;
  const k0 = performance.now();
  fleet.connectionOf(victim)!.crash();
  const seenDown = await until(async () => (await monitor.ask<string | null>({ q: 'status', id: victim })) === 'down', 30_000);
  const downMs = Math.round(performance.now() - k0);
  const othersDown = await monitor.ask<number>({ q: 'othersDown', id: victim });

  run.stop();
  await run.done;
  await Promise.all(sims.map((s) => s.stop()));
  await fleet.stop();
  await monitor.stop();
  const cpuS = (cpu.user + cpu.system) / 1e6;
  return {
    devices: n,
    connections: n,
    heartbeatS: HEARTBEAT_MS / 1000,
    allUp,
    upAfterS,
    windowS: Math.round(wallS),
    processCpuCores: Math.round((cpuS / wallS) * 1000) / 1000,
    mosquittoCpuCores: Math.round((mqCpu / wallS) * 1000) / 1000,
    rssMB: mb(rssMax),
    heapPerDeviceKB: Math.round(heapFleet / n / 100) / 10,
    bareActorKB: Math.round(actorBytes / 100) / 10,
    heapPerDeviceVsActor: Math.round((heapFleet / n / actorBytes) * 10) / 10,
    monitor: {
      cpuCores: Math.round((monitorCpuS / wallS) * 1000) / 1000,
      rssMB: mb(monitorMemory.rss),
      heapPerDeviceKB: Math.round((monitorMemory.heapUsed - monitorHeap0.heapUsed) / n / 100) / 10,
    },
    heartbeatsPublished: pubN,
    heartbeatsReceived: recN,
    heartbeatsPerS: Math.round(pubN / wallS),
    appliancesWithLateAcks: lateAcks.size,
    downLatencyMs: seenDown ? downMs : null,
    othersDown,
  };
}

/** The monitor's ingest on one core: heartbeats through the subscriber's handler into the tracker. */
async function ingestChild(url: string, seconds: number): Promise<Record<string, unknown>> {
  const [{ startSubscriber }, { Tracker }, { wallClock }] = await Promise.all([
    import('../../src/monitor/subscriber.js'),
    import('../../src/monitor/tracker.js'),
    import('../../src/clock/clock.js'),
  ]);
  const devices = 10_000;
  const nothing = { skipped: 0, replay: () => [], append: () => undefined, rewrite: () => undefined };
  const tracker = new Tracker({ clock: wallClock, log: nothing, snapshotMs: 0, housekeepingMs: 0, maxDevices: devices });
  tracker.start();
  const sub = await startSubscriber({ brokerUrl: url, baseTopic: 'aquastop', tracker, logger: pino({ level: 'silent' }) });
  const topics = Array.from({ length: devices }, (_, i) => `aquastop/ingest-${i}/heartbeat`);
  const seqs = new Array<number>(devices).fill(0);
  const packet = { retain: false };
  const ts = new Date().toISOString();
  const payloadOf = (i: number) =>
    Buffer.from(JSON.stringify({ seq: ++seqs[i]!, boot: 1, uptimeS: seqs[i]! * 10, intervalS: 10, state: 'armed.idle', fault: null, ts, loopLagMs: 1.2, loopLagMaxMs: 3.4 }));
  let n = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  while (performance.now() < end) {
    for (let k = 0; k < 1000; k++, n++) {
      const i = n % devices;
      sub.client.emit('message', topics[i]!, payloadOf(i), packet as never);
    }
  }
  const s = (performance.now() - t0) / 1000;
  await sub.stop();
  tracker.stop();
  return { devices, heartbeats: n, seconds: Math.round(s * 10) / 10, heartbeatsPerS: Math.round(n / s), accepted: sub.stats.accepted };
}

/**
 * Runs this file in a fresh process. Asynchronously: this process reads mosquitto's log pipe
 * (test/helpers/mosquitto.ts), and a blocked parent would let it fill and stall the broker.
 */
async function inChild(args: string[], profileDir?: string, file = self): Promise<Record<string, unknown>> {
  const flags = ['--expose-gc', '--max-old-space-size=4096', ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), '--import', 'tsx', file, ...args];
  const child = promisify(execFile)(process.execPath, flags, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  child.child.stderr?.pipe(process.stderr);
  const { stdout } = await child;
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

export async function run(): Promise<Record<string, unknown>> {
  const sizes = (process.env.FLEET_SIZES ?? '1000,3000,10000').split(',').map(Number);
  const windowS = Number(process.env.FLEET_WINDOW_S ?? 60);
  const profileDir = process.env.FLEET_PROFILE;
  const runs: Record<string, unknown>[] = [];
  for (const n of sizes) {
    // Retained messages a big subscriber has not read yet count against max_queued_messages
    // too: the value shipped for fleets (mosquitto.conf).
    const broker = await startMosquitto({ config: 'open', extra: ['max_queued_messages 100000', 'max_queued_bytes 67108864', 'max_connections -1'] });
    // Made and removed here, so a child that fails or is killed leaves nothing behind either.
    const dir = mkdtempSync(join(tmpdir(), 'aquastop-bench-fleet-'));
    try {
      process.stderr.write(`bench fleet: ${n} appliances...\n`);
      runs.push(await inChild(['--child', String(n), broker.url, String(broker.pid()), String(windowS), dir], profileDir && n === Math.max(...sizes) ? profileDir : undefined));
    } catch (err) {
      runs.push({ devices: n, error: err instanceof Error ? err.message.split('\n')[0] : String(err) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await broker.close();
    }
  }
  const broker = await startMosquitto({ config: 'open' });
  let ingest: Record<string, unknown>;
  try {
    ingest = await inChild(['--ingest', broker.url, '5']);
  } finally {
    await broker.close();
  }
  // What one more appliance holds, part by part (fleet-heap.ts), each in a fresh process.
  const heapN = process.env.FLEET_HEAP_N ?? '1000';
  const heapPerAppliance: Record<string, unknown> = { devices: Number(heapN) };
  for (const mode of ['sim', 'shared', 'own']) {
    try {
      const r = await inChild([heapN, mode], undefined, fileURLToPath(new URL('./fleet-heap.ts', import.meta.url)));
      heapPerAppliance.bareActorKB ??= r.bareActorKB;
      heapPerAppliance[mode === 'sim' ? 'simulatedApplianceKB' : mode === 'shared' ? 'onSharedConnectionKB' : 'onOwnConnectionKB'] = r.perDeviceKB;
    } catch (err) {
      heapPerAppliance[mode] = { error: err instanceof Error ? err.message.split('\n')[0] : String(err) };
    }
  }
  return { runs, monitorIngest: ingest, heapPerAppliance };
}

const k = process.argv.indexOf('--monitor-child');
if (k > 0) await monitorChild(process.argv[k + 1]!, process.argv[k + 2]!);
const i = process.argv.indexOf('--child');
if (i > 0) {
  const [n, url, pid, windowS, dir] = process.argv.slice(i + 1);
  console.log(JSON.stringify(await child(Number(n), url!, Number(pid), Number(windowS), dir!)));
  process.exit(0);
}
const j = process.argv.indexOf('--ingest');
if (j > 0) {
  console.log(JSON.stringify(await ingestChild(process.argv[j + 1]!, Number(process.argv[j + 2]))));
  process.exit(0);
}
