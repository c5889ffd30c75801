/**
 * `aquastop sim`: the controller on a simulated dishwasher.
 *
 * With --scenario: runs one scenario (by default as fast as possible), prints a timeline (or
 * JSON lines), checks its expectations and exits 0 (all held), 1 (one failed) or 2 (bad input).
 * A scenario run at a set speed stops cleanly on SIGINT/SIGTERM (telemetry publishes the device
 * and the bridge offline) and exits 130.
 * Without: programs back to back at real speed until stopped, with single-key fault
 * injection on a terminal.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { baseTopicRule, DEFAULT_BASE_TOPIC } from '../protocol/names.js';
import { loadClientTls, tlsFilesFrom, type TlsMaterial } from '../telemetry/tls.js';
import { issueLines, UsageError } from './errors.js';
import { loggerFor, optionLabel } from './service/service-command.js';
import type { Logger } from './service/log.js';
import { defaultDataDir } from './service/data-dir.js';
import { DEFAULT_HEARTBEAT } from '../telemetry/heartbeat-interval.js';
import { accountsFlag, allowRemoteResetFlag, brokerFlag, dataDirFlag, deviceIdFlag, heartbeatFlag, mqttPortFlag, passwordFlag, usernameFlag, wsPortFlag } from './flags.js';
import { formatLogLine, formatStopped, formatSummary, formatTime } from './sim-format.js';

/** The device id unless `--id` says otherwise. */
const DEFAULT_ID = 'dishwasher-1';

const flagsSchema = z.object({
  scenario: z.string().min(1, '--scenario needs a built-in scenario name or a file').optional(),
  seed: z
    .string()
    .regex(/^\d{1,9}$/, '--seed must be a whole number from 0 to 999999999')
    .transform(Number)
    .optional(),
  speed: z
    .string()
    .refine((s) => s === 'max' || (/^\d+(\.\d+)?$/.test(s) && Number(s) > 0 && Number(s) <= 1_000_000), {
      error: '--speed must be "max" or a number above 0 (virtual seconds per second, at most 1000000)',
    })
    .optional(),
  duration: z.string().optional(),
  json: z.boolean().default(false),
  board: z.enum(['simulated', 'emulated'], { error: '--board must be "simulated" or "emulated"' }).default('simulated'),
  mqtt: z.boolean().default(true),
  broker: brokerFlag,
  mqttPort: mqttPortFlag,
  wsPort: wsPortFlag,
  username: usernameFlag,
  password: passwordFlag,
  baseTopic: baseTopicRule('--base-topic').default(DEFAULT_BASE_TOPIC),
  dataDir: dataDirFlag('sim'),
  id: deviceIdFlag(DEFAULT_ID),
  allowRemoteReset: allowRemoteResetFlag,
  accounts: accountsFlag,
  /** The heartbeat interval in the simulation's time, ms (`--heartbeat 0.5s` ... `60s`). */
  heartbeat: heartbeatFlag,
});

export type SimFlags = z.output<typeof flagsSchema>;

export function parseSimFlags(raw: unknown): SimFlags {
  const parsed = flagsSchema.safeParse(raw);
  if (!parsed.success) throw new UsageError(issueLines(parsed.error.issues));
  return parsed.data;
}

export function register(program: Command): void {
  program
    .command('sim')
    .description('run the controller on a simulated dishwasher (a scenario, or interactive at real speed)')
    .option('--scenario <name|file>', 'built-in scenario name (see "aquastop scenarios") or a scenario JSON file')
    .option('--seed <n>', "random seed (default: the scenario's)")
    .option('--speed <n|max>', 'virtual seconds per wall second, or "max" (default: max with --scenario, 1 without)')
    .option('--duration <d>', "virtual time to run, e.g. 90s, 20m, 2h (default: the scenario's)")
    .option('--json', 'one JSON object per line instead of the timeline')
    .option('--board <kind>', 'simulated, or emulated (our firmware in an AVR emulator)', 'simulated')
    .option('--id <id>', 'device id', DEFAULT_ID)
    .option('--no-mqtt', 'run offline, without MQTT')
    .option('--broker <url>', 'external MQTT broker instead of the embedded one (the nodes of a cluster: url,url,...)')
    .option('--mqtt-port <port>', 'embedded broker TCP port on 127.0.0.1', '1883')
    .option('--ws-port <port>', 'embedded broker MQTT-over-WebSocket port', '9001')
    .option('--heartbeat <duration>', "heartbeat interval on MQTT, in the simulation's time (0.5s to 60s)", DEFAULT_HEARTBEAT)
    .option('--username <user>', 'MQTT user name')
    .option('--password <password>', 'MQTT password (the variable keeps it out of ps and shell history)')
    .option('--cafile <file>', 'CA certificate(s) to trust for an mqtts:// or wss:// --broker')
    .option('--cert <file>', 'client certificate for a broker that checks them')
    .option('--key <file>', 'private key of --cert')
    .option('--base-topic <topic>', 'MQTT base topic', DEFAULT_BASE_TOPIC)
    .option('--data-dir <dir>', 'where telemetry keeps its outbox and an interactive device its memory', defaultDataDir('sim'))
    .option('--allow-remote-reset', 'accept {"reset":"trip"}, {"resume":true} and {"exercise":true} over MQTT (never before the pan has been dry for 60 s)')
    .option('--accounts <file>', 'embedded broker accounts (operators, viewers, devices): see src/telemetry/mosquitto/accounts.example.json')
    .action(async (raw: Record<string, unknown>, cmd: Command) => {
      const flags = parseSimFlags(raw);
      // Read and checked before anything runs: a bad file is one line, exit 2.
      const tls = flags.mqtt
        ? loadClientTls(
            tlsFilesFrom(raw, process.env, ['cafile', 'cert', 'key'], (flag) => optionLabel(cmd, flag)),
            flags.broker,
          )
        : undefined;
      return runSim(flags, tls, loggerFor(cmd));
    });
}

/**
 * Everything a run needs once a stop signal may come, loaded at its start: Ctrl-C reaches the
 * whole process group, tsx's esbuild helper with it, and a module tsx has not cached could then
 * not be compiled (the run would end in "internal error" instead of its summary).
 */
async function loadSimModules() {
  const [engine, scenario, builtin, interactive, realtime, expectations] = await Promise.all([
    import('../../sim/engine.js'),
    import('../../sim/scenario.js'),
    import('../../sim/scenarios/index.js'),
    import('../../sim/interactive.js'),
    import('../../sim/realtime.js'),
    import('../../sim/expectations.js'),
  ]);
  return { ...engine, ...scenario, ...builtin, ...interactive, ...realtime, ...expectations };
}
type SimModules = Awaited<ReturnType<typeof loadSimModules>>;
type Simulation = import('../../sim/engine.js').Simulation;

/** What to run, and how: the scenario (none given: the interactive one), its speed and virtual duration. */
interface RunPlan {
  readonly scenario: import('../../sim/scenario.js').Scenario;
  readonly interactive: boolean;
  readonly speed: number | 'max';
  /** Undefined: an interactive run until stopped. */
  readonly durationMs: number | undefined;
}

/** The run the flags ask for; a bad --duration or an unknown scenario is one line, exit 2. */
function planRun(flags: SimFlags, m: SimModules): RunPlan {
  const durationFlag = flags.duration === undefined ? undefined : m.parseDuration(flags.duration);
  if (durationFlag === null || durationFlag === 0) {
    throw new UsageError(`--duration must be a duration like 90s, 20m or 2h, at most 720h (got "${flags.duration}")`);
  }
  let scenario;
  if (flags.scenario === undefined) {
    scenario = m.interactiveScenario();
  } else {
    const looksLikeFile = /[/\\]|\.json$/.test(flags.scenario) || existsSync(flags.scenario);
    scenario = looksLikeFile ? m.loadScenarioFile(flags.scenario) : m.loadBuiltinScenario(flags.scenario);
    if (!scenario) {
      throw new UsageError(`unknown scenario "${flags.scenario}" (built-in: ${m.builtinScenarioNames().join(', ')}; or give a .json file)`);
    }
  }
  const interactive = flags.scenario === undefined;
  const speed = flags.speed === undefined ? (interactive ? 1 : 'max') : flags.speed === 'max' ? 'max' : Number(flags.speed);
  return { scenario, interactive, speed, durationMs: durationFlag ?? (interactive ? undefined : scenario.duration) };
}

/** The appliance on the --board; an interactive one keeps its memory under --data-dir like a real one. */
async function createSimulation(flags: SimFlags, plan: RunPlan, m: SimModules, scratch: string): Promise<Simulation> {
  const { simBoardFactory } = await import('./sim-boards.js');
  const createBoard = await simBoardFactory(flags.board, { eepromPath: join(scratch, 'eeprom.bin') });
  const { FileStore } = await import('../board/file-store.js');
  return new m.Simulation({
    scenario: plan.scenario,
    deviceId: flags.id,
    ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
    ...(createBoard ? { createBoard } : {}),
    // Scenario runs start fresh to stay repeatable.
    ...(plan.interactive ? { store: new FileStore(join(flags.dataDir, flags.id, 'memory.json')) } : {}),
    keepLog: !plan.interactive,
  });
}

/**
 * Prints the run as it happens, a timeline (after a header) or JSON lines; returns the fault
 * codes raised, in order, counted as they come because an interactive run keeps no log.
 */
function printRun(sim: Simulation, plan: RunPlan, flags: SimFlags, out: (line: string) => void): string[] {
  const faults: string[] = [];
  sim.onLog((entry) => {
    if (entry.type === 'fault' && entry.event === 'raised' && !faults.includes(entry.code as string)) faults.push(entry.code as string);
    out(flags.json ? JSON.stringify(entry) : formatLogLine(entry));
  });
  if (!flags.json) {
    out(`aquastop sim: ${plan.scenario.name} (seed ${sim.seed}, ${flags.board} board, ${plan.speed === 'max' ? 'max speed' : `speed ${plan.speed}x`})`);
    out(`  ${plan.scenario.description}`);
  }
  return faults;
}

/**
 * SIGINT/SIGTERM end a scenario run cleanly (device and bridge published offline), exit 130.
 * `listen()` from before the device goes online, so no signal can kill it with a stale "online"
 * retained. (An interactive run has its own keys and signals.)
 */
class Interruption {
  signal: NodeJS.Signals | null = null;
  /** Stops the running part once it runs; a signal before that is seen by `signal`. */
  stopRun = (): void => undefined;
  private readonly onSignal = (sig: NodeJS.Signals) => {
    this.signal = sig;
    this.stopRun();
  };
  listen(): void {
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
  }
  off(): void {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }
}

/** Runs the started simulation to its end: interactive keys, max speed with progress, or real time; a signal stops it early. */
async function runToEnd(sim: Simulation, plan: RunPlan, m: SimModules, out: (line: string) => void, interruption: Interruption): Promise<void> {
  const { speed, durationMs } = plan;
  if (plan.interactive) {
    await m.runInteractive(sim, { speed: speed === 'max' ? 1 : speed, durationMs, out });
  } else if (interruption.signal) {
    // Stopped before it started: nothing to run.
  } else if (speed === 'max') {
    await runWithProgress(sim, durationMs!, () => interruption.signal === null);
  } else {
    const run = m.runRealtime([sim], { speed, durationMs: durationMs! });
    interruption.stopRun = () => run.stop();
    // A signal may have come while the simulation started.
    if (interruption.signal) run.stop();
    await run.done;
  }
}

/** The last line: where the appliance ended and the scenario's expectations, judged on its log. */
function summarize(sim: Simulation, plan: RunPlan, flags: SimFlags, faults: readonly string[], m: SimModules) {
  const status = sim.runtime?.status() ?? null;
  const expectations = m.evaluate(plan.scenario.expect, sim.log, { status, programCompleted: sim.cyclesCompleted > 0 });
  return {
    t: sim.clock.now(),
    type: 'summary',
    scenario: plan.scenario.name,
    seed: sim.seed,
    board: flags.board,
    passed: expectations.every((e) => e.passed),
    faults,
    valve: status?.valve ?? 'closed',
    drainPump: status?.drainPump ?? 'off',
    breaker: status?.breaker ?? 'no power',
    fault: status?.fault ?? null,
    programCycles: sim.cyclesCompleted,
    expectations,
  };
}

/** Runs the command; returns the exit code. `log`: where telemetry's lines go (the command's pino logger); default plain `mqtt: ` lines on stderr. */
export async function runSim(flags: SimFlags, tls?: TlsMaterial, log?: Logger): Promise<number> {
  const m = await loadSimModules();
  const plan = planRun(flags, m);
  const scratch = mkdtempSync(join(tmpdir(), 'aquastop-sim-'));
  try {
    const sim = await createSimulation(flags, plan, m, scratch);
    const out = (line: string) => process.stdout.write(`${line}\n`);
    const faults = printRun(sim, plan, flags, out);
    const interruption = new Interruption();
    const telemetry = flags.mqtt ? await startSimTelemetry(flags, sim, tls, log) : null;
    if (!plan.interactive) interruption.listen();
    try {
      await sim.start();
      await runToEnd(sim, plan, m, out, interruption);
      await sim.settle();
      const summary = summarize(sim, plan, flags, faults, m);
      out(flags.json ? JSON.stringify(summary) : plan.interactive ? formatStopped(summary) : formatSummary(summary));
      await sim.stop();
      if (interruption.signal) process.stderr.write(`aquastop sim: stopped by ${interruption.signal} before the scenario's end\n`);
      return plan.interactive ? 0 : interruption.signal ? 130 : summary.passed ? 0 : 1;
    } finally {
      interruption.off();
      if (telemetry) {
        await telemetry.flush().catch(() => undefined);
        await telemetry.stop().catch(() => undefined);
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Runs at max speed with a progress line on a terminal after the first second; stops early when `goOn()` turns false. */
async function runWithProgress(sim: import('../../sim/engine.js').Simulation, durationMs: number, goOn: () => boolean): Promise<void> {
  const started = performance.now();
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-boolean-literal-compare -- isTTY is undefined, not false, off a terminal
  const tty = process.stderr.isTTY === true;
  let shown = false;
  await sim.runFor(durationMs, (fraction) => {
    if (!goOn()) return false;
    if (!tty || performance.now() - started < 1_000) return true;
    shown = true;
    const width = 30;
    const done = Math.round(fraction * width);
    process.stderr.write(`\r[${'#'.repeat(done)}${' '.repeat(width - done)}] ${Math.round(fraction * 100)}%  ${formatTime(sim.clock.now())} virtual`);
    return true;
  });
  if (shown) process.stderr.write('\r\x1b[K');
}

async function startSimTelemetry(flags: SimFlags, sim: import('../../sim/engine.js').Simulation, tls: TlsMaterial | undefined, log: Logger | undefined) {
  const [{ startTelemetry }, { readAccounts }] = await Promise.all([import('../telemetry/index.js'), import('./accounts.js')]);
  const telemetry = await startTelemetry({
    // One appliance per process: its bridge is named after it (a device account may publish only that one).
    bridgeId: flags.id,
    accounts: readAccounts(flags.accounts),
    broker: flags.broker
      ? {
          kind: 'external',
          url: flags.broker,
          ...(flags.username ? { username: flags.username } : {}),
          ...(flags.password ? { password: flags.password } : {}),
          ...(tls ? { tls } : {}),
        }
      : { kind: 'embedded', host: '127.0.0.1', port: flags.mqttPort, wsPort: flags.wsPort },
    baseTopic: flags.baseTopic,
    dataDir: flags.dataDir,
    clock: sim.clock,
    heartbeatS: flags.heartbeat / 1000,
    allowRemoteReset: flags.allowRemoteReset,
    log: (line, fields) => (log ? log.info(fields ?? {}, `mqtt: ${line}`) : process.stderr.write(`mqtt: ${line}\n`)),
  });
  const { injectFromDashboard } = await import('../../sim/interactive.js');
  sim.onRuntime((runtime) => {
    if (runtime) telemetry.addDevice({ runtime, fw: `aquastop-sim/${sim.boardKind}`, inject: (fault) => injectFromDashboard(sim, fault) });
    else telemetry.removeDevice(sim.deviceId);
  });
  return telemetry;
}
