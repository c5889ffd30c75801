/**
 * What a fleet appliance holds in heap: `node --expose-gc --import tsx test/bench/fleet-heap.ts N MODE [SNAPSHOT]`.
 *
 * Builds N looping demo appliances as the fleet bench does (test/bench/fleet.ts), powers them
 * on over 10 s and runs 3 minutes of their virtual time, and prints, as JSON, the heap each
 * holds after a full GC. MODE says what else each has:
 * - `sim`: nothing (simulation, physics, program, board, virtual clock, runtime, controller actor);
 * - `shared`: telemetry on the process's one MQTT connection (the bridge; `aquastop start`);
 * - `own`: telemetry on its own MQTT connection (`--per-device-connections`, the fleet bench).
 * `shared` and `own` start a fresh mosquitto. Modules, compiled code and caches are paid by a
 * first tenth of the appliances, which is not counted: the figure is what one more appliance
 * costs. Beside it, the heap of as many bare controller actors (the bench's yardstick).
 * SNAPSHOT writes a V8 heap snapshot at the end (compare retained sizes by constructor).
 * Not a benchmark module: it exports no `run` and does nothing when imported.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeHeapSnapshot } from 'node:v8';
import { createActor } from 'xstate';

const gc = () => {
  const g = (globalThis as { gc?: () => void }).gc;
  if (!g) throw new Error('run with node --expose-gc');
  g();
  g();
};
const heap = () => (gc(), process.memoryUsage().heapUsed);
const kb = (bytes: number, n: number) => Math.round(bytes / n / 10) / 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(n: number, mode: string, snapshot: string | undefined): Promise<Record<string, unknown>> {
  if (!['sim', 'shared', 'own'].includes(mode)) throw new Error(`mode: sim, shared or own (got ${mode})`);
  const [{ Simulation }, { loadBuiltinScenario }, { fleetStartPlan }, { controllerMachine }, { parseControllerConfig }, { wallClock }] = await Promise.all([
    import('../../sim/engine.js'),
    import('../../sim/scenarios/index.js'),
    import('../../sim/fleet-start.js'),
    import('../../src/machine/machine.js'),
    import('../../src/machine/config.js'),
    import('../../src/clock/clock.js'),
  ]);
  const out: Record<string, unknown> = { devices: n, mode };
  const config = parseControllerConfig();
  const bare = () => createActor(controllerMachine, { input: { latch: null, memoryFault: false, config } }).start();
  const warmActors = Array.from({ length: 100 }, bare);
  let h = heap();
  const actors = Array.from({ length: n }, bare);
  out.bareActorKB = kb(heap() - h, n);
  for (const a of [...warmActors, ...actors]) a.stop();
  actors.length = 0;

  const dir = mkdtempSync(join(tmpdir(), 'aquastop-bench-fleet-heap-'));
  const cleanups: (() => Promise<void>)[] = [];
  try {
    let add: (runtime: import('../../src/board/runtime-types.js').Runtime) => void = () => undefined;
    let remove: (id: string) => void = () => undefined;
    let connected = () => n;
    let settled = () => Promise.resolve();
    if (mode !== 'sim') {
      const { startMosquitto } = await import('../helpers/mosquitto.js');
      const broker = await startMosquitto({ config: 'open', extra: ['max_queued_messages 100000', 'max_queued_bytes 67108864', 'max_connections -1'] });
      cleanups.push(() => broker.close());
      const common = { heartbeatS: 10, haPrefix: null, dataDir: join(dir, 'telemetry'), clock: wallClock };
      if (mode === 'own') {
        const { startFleetTelemetry } = await import('../../src/telemetry/fleet.js');
        const fleet = await startFleetTelemetry({ ...common, url: broker.url, reconnect: { firstMs: 1_000, maxMs: 30_000 }, maxDevices: n, simulated: true });
        cleanups.unshift(() => fleet.stop());
        add = (runtime) => fleet.addDevice({ runtime, fw: 'bench' });
        remove = (id) => fleet.removeDevice(id);
        connected = () => fleet.connectedCount();
        settled = () => fleet.flush();
      } else {
        const { startTelemetry } = await import('../../src/telemetry/index.js');
        const telemetry = await startTelemetry({ ...common, broker: { kind: 'external', url: broker.url }, bridgeId: 'bench' });
        cleanups.unshift(() => telemetry.stop());
        add = (runtime) => telemetry.addDevice({ runtime, fw: 'bench' });
        remove = (id) => telemetry.removeDevice(id);
        settled = () => telemetry.flush();
      }
    }
    const normal = loadBuiltinScenario('normal-cycle')!;
    const looping = { ...normal, program: { start: true, loop: true } };
    const plan = fleetStartPlan(n, { seed: 1, onlineSpreadMs: 10_000, programSpreadMs: 64 * 60_000 });
    const sims: InstanceType<typeof Simulation>[] = [];
    const run = async (from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const sim = new Simulation({ scenario: looping, seed: i + 1, deviceId: `bench-${String(i + 1).padStart(5, '0')}`, keepLog: false, ...plan[i]! });
        sim.onRuntime((runtime) => (runtime ? add(runtime) : remove(sim.deviceId)));
        sims.push(sim);
        await sim.start();
        // Powered on (within 10 s), and into its program: 3 minutes of virtual time.
        for (let t = 0; t < 180_000; t += sim.tickMs) {
          sim.tick();
          await sim.settle();
        }
      }
      const end = Date.now() + 120_000;
      while (connected() < to && Date.now() < end) await sleep(200);
      // The connects' QoS 1 messages acknowledged (on a busy machine that took more than the 3 s once waited here).
      await settled();
    };
    const warm = Math.max(20, Math.floor(n / 10));
    await run(0, warm);
    h = heap();
    await run(warm, n);
    out.connected = mode === 'sim' ? null : connected();
    out.perDeviceKB = kb(heap() - h, n - warm);
    out.vsBareActor = Math.round(((out.perDeviceKB as number) / (out.bareActorKB as number)) * 10) / 10;
    if (snapshot) out.snapshot = writeHeapSnapshot(snapshot);
    for (const sim of sims) await sim.stop();
  } finally {
    for (const c of cleanups) await c().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [n = '1000', mode = 'sim', snapshot] = process.argv.slice(2);
  console.log(JSON.stringify(await main(Number(n), mode, snapshot)));
  process.exit(0);
}
