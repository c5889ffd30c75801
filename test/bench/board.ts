/**
 * Board benchmark (`npm run bench` calls `run()`; `npx tsx test/bench/board.ts` runs it alone).
 * Prints JSON, asserts nothing:
 * - emulatedMHz: our firmware idling (serial quiet) as the simulator runs it, emulated cycles per
 *   wall second; the firmware sleeps between interrupts and the emulator skips the sleep;
 * - emulatedSpeedX: the same as a multiple of real time (the Uno runs at 16 MHz): emulated
 *   seconds per wall second;
 * - emulatedMHzAwake: the same with SLEEP left a no-op, so every cycle is executed (avr8js's bare rate);
 * - idleSleepFraction: the share of emulated cycles the idle firmware spends asleep;
 * - firmwareBuildMs: a clean `buildFirmware` (fresh output dir, no cache) from start to .hex;
 * - johnnyFiveReadyMs: wall ms from creating the emulated board to `open()` resolved (handshake,
 *   safety version, ARM, first STATUS), plus the emulated ms it took;
 * - floatToValveUs / floatToValveUsMin: emulated µs from the moment the float's wet debounce
 *   expires to the valve pin going LOW, worst and best over eight phases of the float change
 *   against the firmware's 10 ms sampling (one phase alone says little);
 * - firmwareMutants: the kill rate of `npm run mutate:firmware` (test/firmware-mutants/run.ts)
 *   with its counts, from the last report if it was made from the current sources; with
 *   AQUASTOP_BENCH_MUTANTS=run the bench runs the mutation itself (about 10-30 min on 2 cores).
 *   `current: false` says the report is older than the firmware sources (or missing).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CYCLES_PER_MS, EmulatedUno, loadHexProgram } from '../../hardware/boards/avr/uno.js';
import { startEmulatedRig } from '../../hardware/boards/emulated-board.js';
import { buildFirmware } from '../../hardware/firmware/build.js';
import { floatVolts, levelVolts, pins } from '../../hardware/pins.js';
import { VirtualClock } from '../../src/clock/virtual-clock.js';
import { mutateFirmware, REPORT_PATH, sourceHash, type MutationReport } from '../firmware-mutants/run.js';
import { PlantDouble } from '../hardware/plant-double.js';

export interface FirmwareMutantsBench {
  readonly killRate: number | null;
  readonly killed: number;
  readonly survived: number;
  readonly equivalent: number;
  readonly invalid: number;
  readonly survivors: readonly string[];
  /** The report was made from the firmware sources as they are now. */
  readonly current: boolean;
  readonly date: string | null;
}

export interface BoardBenchResult {
  readonly emulatedMHz: number;
  readonly emulatedSpeedX: number;
  readonly emulatedMHzAwake: number;
  readonly idleSleepFraction: number;
  readonly firmwareBuildMs: number;
  readonly johnnyFiveReadyMs: number;
  readonly johnnyFiveReadyEmulatedMs: number;
  readonly floatToValveUs: number;
  readonly floatToValveUsMin: number;
  readonly firmwareMutants: FirmwareMutantsBench;
}

async function firmwareMutants(): Promise<FirmwareMutantsBench> {
  let report: MutationReport | null = null;
  if (process.env.AQUASTOP_BENCH_MUTANTS === 'run') {
    report = await mutateFirmware({ log: (l) => process.stderr.write(`${l}\n`) });
    mkdirSync(dirname(REPORT_PATH), { recursive: true });
    writeFileSync(REPORT_PATH, `${JSON.stringify(report, null, 2)}\n`);
  } else if (existsSync(REPORT_PATH)) {
    report = JSON.parse(readFileSync(REPORT_PATH, 'utf8')) as MutationReport;
  }
  if (!report) return { killRate: null, killed: 0, survived: 0, equivalent: 0, invalid: 0, survivors: [], current: false, date: null };
  return {
    killRate: report.killRate,
    killed: report.killed,
    survived: report.survived,
    equivalent: report.equivalent,
    invalid: report.invalid,
    survivors: report.results.filter((r) => r.status === 'survived').map((r) => r.name),
    current: report.sourceHash === sourceHash(),
    date: report.date,
  };
}

function emulatedMHz(hexPath: string, modelSleep: boolean): { mhz: number; sleepFraction: number } {
  const uno = new EmulatedUno({ program: loadHexProgram(hexPath), modelSleep });
  uno.setDigitalInput(pins.pins.hoseFuse.pin, false); // the hose-fuse contact closed (or the jumper to GND)
  uno.setAnalogVolts(pins.pins.float.analogChannel, floatVolts('dry'));
  uno.setAnalogVolts(pins.pins.tubLevel.analogChannel, levelVolts(2));
  uno.runMs(300); // boot, and let the JIT settle
  const cycles = 2000 * CYCLES_PER_MS;
  const slept = uno.sleptCycles;
  const t0 = performance.now();
  uno.run(cycles);
  const s = (performance.now() - t0) / 1000;
  return { mhz: cycles / s / 1e6, sleepFraction: (uno.sleptCycles - slept) / cycles };
}

async function johnnyFiveReady(hexPath: string): Promise<{ wallMs: number; emulatedMs: number }> {
  const t0 = performance.now();
  const rig = await startEmulatedRig({ plant: new PlantDouble(), clock: new VirtualClock(), hexPath });
  await rig.board.open();
  const wallMs = performance.now() - t0;
  const emulatedMs = rig.uno.cycles / CYCLES_PER_MS;
  await rig.board.close();
  return { wallMs, emulatedMs };
}

/** Pin level, no host driver: armed, valve requested, keepalives every 500 ms, then the float goes wet. */
function floatToValveUs(hexPath: string, phaseUs: number): number {
  const { valve, float, tubLevel } = pins.pins;
  const uno = new EmulatedUno({ program: loadHexProgram(hexPath) });
  uno.setDigitalInput(pins.pins.hoseFuse.pin, false); // the hose-fuse contact closed (or the jumper to GND)
  uno.setAnalogVolts(float.analogChannel, floatVolts('dry'));
  uno.setAnalogVolts(tubLevel.analogChannel, levelVolts(2));
  uno.runMs(150); // start-up self-tests included
  uno.sendSerial([0xf0, 0x02, 0xf7, 0xf4, valve.pin, 0x01, 0xf5, valve.pin, 0x01]);
  uno.runUntil(() => uno.outputHigh(valve.pin), 100 * CYCLES_PER_MS, 'valve open');
  uno.run(Math.round((phaseUs * CYCLES_PER_MS) / 1000));
  let closedAt: number | null = null;
  uno.onPortsChange(() => {
    if (closedAt === null && !uno.outputHigh(valve.pin)) closedAt = uno.cycles;
  });
  const wetAt = uno.cycles;
  uno.setAnalogVolts(float.analogChannel, floatVolts('wet'));
  const limit = wetAt + (pins.safety.wetDebounceMs + 1_000) * CYCLES_PER_MS;
  while (closedAt === null) {
    if (uno.cycles > limit) throw new Error('the valve did not close within the debounce + 1 s');
    uno.sendSerial([0xf0, 0x01, 0xf7]);
    const until = Math.min(limit + 1, uno.cycles + 500 * CYCLES_PER_MS);
    uno.runUntil(() => closedAt !== null || uno.cycles >= until, until - uno.cycles + 1, 'valve closed', 160);
  }
  const afterDebounceCycles = (closedAt as number) - wetAt - pins.safety.wetDebounceMs * CYCLES_PER_MS;
  return (afterDebounceCycles / CYCLES_PER_MS) * 1000;
}

export async function run(): Promise<BoardBenchResult> {
  const outDir = mkdtempSync(join(tmpdir(), 'aquastop-bench-fw-'));
  try {
    const build = await buildFirmware({ outDir, force: true });
    const ready = await johnnyFiveReady(build.hexPath);
    const idle = emulatedMHz(build.hexPath, true);
    const latencies = Array.from({ length: 8 }, (_, i) => floatToValveUs(build.hexPath, i * 1_250));
    const result: BoardBenchResult = {
      emulatedMHz: Number(idle.mhz.toFixed(1)),
      emulatedSpeedX: Number((idle.mhz / 16).toFixed(1)),
      emulatedMHzAwake: Number(emulatedMHz(build.hexPath, false).mhz.toFixed(1)),
      idleSleepFraction: Number(idle.sleepFraction.toFixed(3)),
      firmwareBuildMs: Math.round(build.ms),
      johnnyFiveReadyMs: Math.round(ready.wallMs),
      johnnyFiveReadyEmulatedMs: Number(ready.emulatedMs.toFixed(1)),
      floatToValveUs: Math.round(Math.max(...latencies)),
      floatToValveUsMin: Math.round(Math.min(...latencies)),
      firmwareMutants: await firmwareMutants(),
    };
    return result;
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) console.log(JSON.stringify(await run()));
