/**
 * `aquastop start` (what `npm start` runs): the whole demo in one process — the embedded broker
 * (telemetry, MQTT on --mqtt-port and MQTT-over-WebSocket on --ws-port), a demo fleet of
 * simulated appliances running looping scenarios at real speed (one of them leaks), the uptime
 * monitor (--monitor-port) and the dashboard (--http-port). Prints the dashboard URL.
 * The appliances come online spread over one heartbeat interval (--heartbeat, 10s) and start
 * their programs spread over the program's length (sim/fleet-start.ts), as a real fleet does.
 *
 * SIGINT/SIGTERM stops everything in reverse order: dashboard, monitor, fleet (valves closed),
 * telemetry (every device and the bridge published offline, broker closed); exit 0.
 * A second signal during shutdown exits 130 at once.
 *
 * Each running part is a {@link Piece}; a failure while starting stops the parts already started.
 */
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { issueLines, UsageError } from './errors.js';
import { defaultDataDir } from './service/data-dir.js';
import { loggerFor, optionLabel } from './service/service-command.js';
import type { Logger } from './service/log.js';
import { untilSignal } from './dashboard.js';
import type { InjectName, Telemetry, TelemetryOptions } from '../telemetry/index.js';
import type { CommandResult } from '../board/runtime-types.js';
import { loadServerTls, tlsFilesFrom } from '../telemetry/tls.js';
import { START_BRIDGE_ID } from '../protocol/topics.js';
import { DEFAULT_HEARTBEAT } from '../telemetry/heartbeat-interval.js';
import { accountsFlag, dataDirFlag, heartbeatFlag, mqttPortFlag, passwordFlag, portFlag, usernameFlag, wsPortFlag } from './flags.js';
import { monitorOptionsSchema } from '../monitor/options.js';
import { brokerUrlProblem } from '../protocol/broker-url.js';
import { redactUrl } from '../telemetry/redact-url.js';
import { MAX_BRIDGE_DEVICES, MAX_EMBEDDED_CONNECTIONS, MAX_FLEET_CONNECTIONS } from '../telemetry/fleet-size.js';

/** The embedded broker's certificate and key, and what the demo's own clients trust (tls.ts). */
export type DemoTls = ReturnType<typeof loadServerTls>;

const flagsSchema = z.object({
  host: z.string().min(1, '--host must not be empty'),
  mqttPort: mqttPortFlag,
  wsPort: wsPortFlag,
  httpPort: portFlag('--http-port'),
  monitorPort: portFlag('--monitor-port'),
  dataDir: dataDirFlag('start'),
  devices: z.coerce
    .number({ error: '--devices must be an integer' })
    .int('--devices must be an integer')
    .min(3, '--devices must be at least 3')
    .max(MAX_FLEET_CONNECTIONS, `--devices must be at most ${MAX_FLEET_CONNECTIONS}`),
  /** Every appliance on its own MQTT connection with its own last will (telemetry/fleet.ts), instead of the process's one bridge. */
  perDeviceConnections: z.boolean().default(false),
  /** With per-device connections: an external broker instead of the embedded one. */
  broker: z.string().min(1, '--broker needs a URL').optional(),
  username: usernameFlag,
  password: passwordFlag,
  accounts: accountsFlag,
  /** Every device's heartbeat interval, ms. */
  heartbeatMs: heartbeatFlag,
  detector: monitorOptionsSchema.shape.detector,
  phiThreshold: monitorOptionsSchema.shape.phiThreshold,
});

export type StartFlags = z.output<typeof flagsSchema>;

export function parseStartFlags(raw: unknown): StartFlags {
  // `--heartbeat` is read as milliseconds.
  const input = typeof raw === 'object' && raw !== null && 'heartbeat' in raw ? { ...raw, heartbeatMs: raw.heartbeat } : raw;
  const r = flagsSchema
    .superRefine((f, ctx) => {
      // One connection carries every appliance's QoS 1 messages on the bridge path; past 1,000 each appliance needs its own.
      if (!f.perDeviceConnections && f.devices > MAX_BRIDGE_DEVICES)
        ctx.addIssue({
          code: 'custom',
          path: ['devices'],
          message: `--devices must be at most ${MAX_BRIDGE_DEVICES} on the one bridge connection (up to ${MAX_FLEET_CONNECTIONS} with --per-device-connections)`,
        });
      if (f.perDeviceConnections && f.broker === undefined && f.devices > MAX_EMBEDDED_CONNECTIONS)
        ctx.addIssue({
          code: 'custom',
          path: ['devices'],
          message: `--devices must be at most ${MAX_EMBEDDED_CONNECTIONS} with --per-device-connections on the embedded broker (up to ${MAX_FLEET_CONNECTIONS} with --broker, e.g. mosquitto)`,
        });
      if (f.broker !== undefined && !f.perDeviceConnections)
        ctx.addIssue({ code: 'custom', path: ['broker'], message: "--broker needs --per-device-connections (the demo's bridge runs on its embedded broker)" });
      const problem = f.broker === undefined ? null : brokerUrlProblem(f.broker);
      if (problem !== null) ctx.addIssue({ code: 'custom', path: ['broker'], message: problem });
      if ((f.username === undefined) !== (f.password === undefined)) ctx.addIssue({ code: 'custom', path: ['username'], message: '--username and --password go together' });
      if (f.username !== undefined && f.broker === undefined)
        ctx.addIssue({ code: 'custom', path: ['username'], message: "--username is the fleet's login on --broker (the embedded broker has its own)" });
    })
    .safeParse(input);
  if (!r.success) throw new UsageError(issueLines(r.error.issues));
  return { ...r.data, dataDir: resolve(r.data.dataDir) };
}

/** One running part of the demo. */
export interface Piece {
  readonly name: string;
  /** One line for the banner (URL, what it runs). */
  readonly summary: string;
  stop(): Promise<void>;
}

/** Stops pieces in reverse start order; a failing stop is reported and the rest still stop. */
export async function stopAll(pieces: Piece[], log: (line: string) => void): Promise<boolean> {
  let clean = true;
  for (const piece of [...pieces].reverse()) {
    try {
      await piece.stop();
      log(`stopped ${piece.name}`);
    } catch (err) {
      clean = false;
      log(`could not stop ${piece.name} cleanly: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return clean;
}

function portError(err: unknown, what: string, flag: string, value: number): never {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === 'EADDRINUSE') throw new UsageError(`${what}: port ${value} is already in use (choose another with ${flag}, or 0 for any free port)`);
  throw err;
}

interface BrokerPiece {
  readonly piece: Piece;
  readonly telemetry: Telemetry;
}

/** The embedded broker (MQTT + WebSocket) with telemetry publishing for the fleet's devices. */
/** The demo's operator login when no --accounts file is given (printed in the banner). */
export const DEMO_OPERATOR = { username: 'operator', password: 'demo', role: 'operator' } as const;

/**
 * What the broker's telemetry and the per-appliance connections share: the outbox under
 * --data-dir, wall time, the --heartbeat, remote reset, and their lines as `mqtt: ...`.
 */
async function demoTelemetryOptions(flags: StartFlags, log: DemoLog): Promise<Pick<TelemetryOptions, 'dataDir' | 'clock' | 'heartbeatS' | 'allowRemoteReset' | 'log'>> {
  const { wallClock } = await import('../clock/clock.js');
  return {
    dataDir: join(flags.dataDir, 'telemetry'),
    clock: wallClock,
    heartbeatS: flags.heartbeatMs / 1000,
    // The demo lets the dashboard reset a trip; the controller still refuses while the pan is wet.
    allowRemoteReset: true,
    log: (line, fields) => log(`mqtt: ${line}`, fields),
  };
}

/** A running telemetry as a piece of the demo: stopping it stops the telemetry. */
function telemetryPiece(name: string, telemetry: Telemetry, summary: string): BrokerPiece {
  return { telemetry, piece: { name, summary, stop: () => telemetry.stop() } };
}

async function startBrokerPiece(flags: StartFlags, log: DemoLog, tls: DemoTls): Promise<BrokerPiece> {
  const [{ startTelemetry }, { readAccounts }] = await Promise.all([import('../telemetry/index.js'), import('./accounts.js')]);
  const accounts = flags.accounts ? readAccounts(flags.accounts) : [DEMO_OPERATOR];
  const telemetry = await startTelemetry({
    // A bridge id no device account can own (src/protocol/topics.ts): a device named "start" cannot mark this fleet down.
    bridgeId: START_BRIDGE_ID,
    broker: {
      kind: 'embedded',
      host: flags.host,
      port: flags.mqttPort,
      wsPort: flags.wsPort,
      ...(tls ? { tls } : {}),
      // One connection per appliance, all from this process's address, beside the usual clients.
      ...(flags.perDeviceConnections
        ? { connections: { maxConnections: flags.devices + 1_000, maxPerAddress: flags.devices + 64, maxPending: 512, maxPendingPerAddress: 512 } }
        : {}),
    },
    accounts,
    ...(await demoTelemetryOptions(flags, log)),
  });
  const login = flags.accounts ? `accounts from ${flags.accounts}` : `operator login ${DEMO_OPERATOR.username} / ${DEMO_OPERATOR.password}`;
  return telemetryPiece('broker', telemetry, `broker     ${telemetry.brokerUrl}  websocket ${telemetry.wsUrl ?? '(none)'}  ${login}`);
}

/**
 * Every appliance on its own MQTT connection with its own last will (telemetry/fleet.ts): on the
 * embedded broker with its in-process fleet login, or on --broker with --username/--password (a
 * `fleet` account: any device's topics, src/telemetry/access.ts). Reconnects back off with
 * jitter from max(1 s, 0.5 ms x devices), at most 10 s: 10,000 appliances come back over 2.5-5 s
 * after a broker restart, about 3,000 connects a second at most.
 */
async function startConnectionsPiece(flags: StartFlags, embedded: Telemetry | null, log: DemoLog): Promise<BrokerPiece> {
  const { startFleetTelemetry } = await import('../telemetry/fleet.js');
  const login = embedded ? embedded.fleetLogin : flags.username !== undefined && flags.password !== undefined ? { username: flags.username, password: flags.password } : null;
  const url = embedded?.brokerUrl ?? flags.broker!;
  const firstMs = Math.min(10_000, Math.max(1_000, Math.round(flags.devices * 0.5)));
  const telemetry = await startFleetTelemetry({
    url,
    ...(login ? { credentials: () => login } : {}),
    ...(embedded?.clientTls ? { tls: embedded.clientTls } : {}),
    reconnect: { firstMs, maxMs: Math.max(30_000, 2 * firstMs) },
    maxDevices: flags.devices,
    simulated: true,
    ...(await demoTelemetryOptions(flags, log)),
  });
  const owner = login && !embedded ? ` (login ${login.username})` : '';
  return telemetryPiece('connections', telemetry, `devices    one MQTT connection per appliance to ${redactUrl(url)}, each with its own last will${owner}`);
}

/** Seed of the moments the demo's appliances are plugged in and start their programs (sim/fleet-start.ts). */
const FLEET_START_SEED = 1;

/** How often the leaking demo appliance leaks again (its scenario loops by repeating this period). */
const LEAK_PERIOD_MS = 6 * 60_000;
const LOOP_HOURS = 24;

/**
 * The leaking appliance's scenario: 20 s after each period starts, water reaches the base pan
 * (i30, latched, drain pump on); at 2 min someone mops the pan; at 3.5 min (dry for longer than
 * the controller's dry time) someone presses reset; the program loops meanwhile.
 */
function leakLoopTimeline(): Record<string, unknown>[] {
  const steps: Record<string, unknown>[] = [];
  for (let t = 0; t < LOOP_HOURS * 3_600_000; t += LEAK_PERIOD_MS) {
    steps.push({ at: t + 20_000, inject: 'leak', ml: 300 }, { at: t + 120_000, dryPan: true }, { at: t + 210_000, press: 'reset' });
  }
  return steps;
}

export interface DemoAppliance {
  readonly id: string;
  readonly leaks: boolean;
  readonly seed: number;
}

/** Appliance ids and roles for `--devices n`: every third one (starting with the third) leaks. */
export function demoAppliances(n: number): DemoAppliance[] {
  const names = ['dishwasher-kitchen', 'dishwasher-office', 'dishwasher-leaky'];
  return Array.from({ length: n }, (_, i) => ({
    id: i < names.length ? names[i]! : `dishwasher-${String(i + 1).padStart(3, '0')}${i % 3 === 2 ? '-leaky' : ''}`,
    leaks: i % 3 === 2,
    seed: i + 1,
  }));
}

/** How the demo's lines are logged: a line, and the device it is about. */
export type DemoLog = (line: string, fields?: { readonly device?: string }) => void;

/** Ids shown in the banner, of each list: a fleet of 1,000 is counted, not listed. */
const BANNER_IDS = 5;

function someIds(ids: readonly string[]): string {
  return ids.length <= BANNER_IDS ? ids.join(', ') : `${ids.slice(0, BANNER_IDS).join(', ')}, … (${ids.length - BANNER_IDS} more)`;
}

/** `3 appliances: a, b, c; 1 leaks: c`, with at most five ids of each. */
export function fleetSummary(ids: readonly string[], leaky: readonly string[]): string {
  return `${ids.length} appliance${ids.length === 1 ? '' : 's'}: ${someIds(ids)}; ${leaky.length} leak${leaky.length === 1 ? 's' : ''}: ${someIds(leaky)}`;
}

/** The demo fleet: simulated appliances on looping scenarios at real speed; every third one leaks. */
export async function startFleetPiece(flags: StartFlags, telemetry: Telemetry, log: DemoLog): Promise<Piece> {
  const [{ Simulation }, { runRealtime }, { loadBuiltinScenario }, { parseScenario }, { fleetStartPlan, PROGRAM_WAITS_MS }, { injectFromDashboard }] = await Promise.all([
    import('../../sim/engine.js'),
    import('../../sim/realtime.js'),
    import('../../sim/scenarios/index.js'),
    import('../../sim/scenario.js'),
    import('../../sim/fleet-start.js'),
    import('../../sim/interactive.js'),
  ]);
  const normal = loadBuiltinScenario('normal-cycle');
  if (!normal) throw new Error('built-in scenario normal-cycle is missing');
  const looping = { ...normal, program: { start: true, loop: true } };
  const leaky = parseScenario(
    {
      name: 'demo-leak-loop',
      description: 'A dishwasher program on a loop whose base pan takes water every few minutes (i30), is mopped, and reset.',
      seed: 3,
      duration: `${LOOP_HOURS}h`,
      program: { start: true, loop: true },
      timeline: leakLoopTimeline(),
    },
    'aquastop start',
  );
  const FW = 'sim-demo';
  // Like a real fleet: plugged in over one heartbeat interval, programs started over the program's length.
  const plan = fleetStartPlan(flags.devices, { seed: FLEET_START_SEED, onlineSpreadMs: flags.heartbeatMs, programSpreadMs: PROGRAM_WAITS_MS });
  const sims = demoAppliances(flags.devices).map((a, i) => new Simulation({ scenario: a.leaks ? leaky : looping, seed: a.seed, deviceId: a.id, keepLog: false, ...plan[i]! }));
  for (const sim of sims) {
    // The dashboard's buttons: each injection as its entry in sim/injections.ts gives it.
    const inject = (fault: InjectName): CommandResult => {
      const result = injectFromDashboard(sim, fault, (err: unknown) => log(`${sim.deviceId}: injection failed: ${String(err)}`, { device: sim.deviceId }));
      if (result.ok) log(`${sim.deviceId}: injected ${fault}`, { device: sim.deviceId });
      return result;
    };
    sim.onRuntime((runtime) => {
      if (runtime) telemetry.addDevice({ runtime, fw: FW, inject });
      else telemetry.removeDevice(sim.deviceId);
    });
  }
  for (const sim of sims) await sim.start();
  const run = runRealtime(sims, { speed: 1 });
  return {
    name: 'fleet',
    summary: `fleet      ${fleetSummary(
      sims.map((s) => s.deviceId),
      sims.filter((_, i) => i % 3 === 2).map((s) => s.deviceId),
    )} (looping at real speed; online within ${flags.heartbeatMs / 1000} s, programs starting over ${PROGRAM_WAITS_MS / 60_000} min)`,
    stop: async () => {
      run.stop();
      await run.done;
      for (const sim of sims) {
        sim.press('closeValve');
        await sim.stop();
      }
    },
  };
}

interface MonitorPiece {
  readonly piece: Piece;
  readonly url: string;
}

/** The uptime monitor on the same broker, with its HTTP API (/api/devices, /metrics); its log lines go to stderr. */
async function startMonitorPiece(flags: StartFlags, telemetry: Telemetry, log: DemoLog, parent?: Logger): Promise<MonitorPiece> {
  const [{ startMonitor }, { pino }] = await Promise.all([import('../monitor/index.js'), import('pino')]);
  // The command's logger (its alerts summarised on a terminal), or plain lines through `log`.
  const logger =
    parent?.child({ component: 'monitor' }) ??
    pino({ name: 'aquastop-monitor' }, { write: (record: string) => log(`monitor: ${(JSON.parse(record) as { msg?: string }).msg ?? record.trim()}`) });
  // Its own read-only login: on a non-loopback bind the broker lets no anonymous client in.
  const login = telemetry.watcherLogin ?? {};
  const tls = telemetry.clientTls ? { tls: telemetry.clientTls } : {};
  const monitor = await startMonitor({
    brokerUrl: telemetry.brokerUrl,
    ...login,
    ...tls,
    host: flags.host,
    port: flags.monitorPort,
    dataDir: join(flags.dataDir, 'monitor'),
    detector: flags.detector,
    phiThreshold: flags.phiThreshold,
    logger,
  });
  return { url: monitor.url, piece: { name: 'monitor', summary: `monitor    ${monitor.url}/api/devices  ${monitor.url}/metrics`, stop: () => monitor.stop() } };
}

export async function startDemo(flags: StartFlags, log: DemoLog, tls?: DemoTls, logger?: Logger): Promise<Piece[]> {
  const pieces: Piece[] = [];
  try {
    // With --broker (per-device connections only) the fleet and the monitor use that broker and nothing is embedded.
    const broker =
      flags.broker === undefined ? await startBrokerPiece(flags, log, tls).catch((err: unknown) => portError(err, 'broker', '--mqtt-port/--ws-port', flags.mqttPort)) : null;
    if (broker) pieces.push(broker.piece);
    const perDevice = flags.perDeviceConnections ? await startConnectionsPiece(flags, broker?.telemetry ?? null, log) : null;
    if (perDevice) pieces.push(perDevice.piece);
    const publishing = perDevice?.telemetry ?? broker!.telemetry;
    pieces.push(await startFleetPiece(flags, publishing, log));
    const monitor = await startMonitorPiece(flags, broker?.telemetry ?? publishing, log, logger);
    pieces.push(monitor.piece);
    if (!broker) return pieces;

    const [{ startDashboard }, { dashboardButtons }] = await Promise.all([import('../dashboard/server.js'), import('../../sim/injections.js')]);
    const wsUrl = broker.telemetry.wsUrl;
    if (!wsUrl) throw new UsageError('the embedded broker has no websocket listener; the dashboard needs one');
    const dashboard = await startDashboard({ host: flags.host, port: flags.httpPort, wsUrl, monitorUrl: monitor.url, injections: dashboardButtons() }).catch((err: unknown) =>
      portError(err, 'dashboard', '--http-port', flags.httpPort),
    );
    pieces.push({ name: 'dashboard', summary: `dashboard  ${dashboard.url}`, stop: () => dashboard.close() });
    return pieces;
  } catch (err) {
    await stopAll(pieces, log);
    throw err;
  }
}

export function register(program: Command): void {
  program
    .command('start')
    .description('the demo: embedded broker, a simulated fleet (one leaks), the monitor and the dashboard, in one process')
    .option('--host <addr>', 'address every listener binds to', '127.0.0.1')
    .option('--mqtt-port <n>', 'embedded broker MQTT port (0 = any free port)', '1883')
    .option('--ws-port <n>', 'embedded broker MQTT-over-WebSocket port', '9001')
    .option('--http-port <n>', 'dashboard HTTP port', '8080')
    .option('--monitor-port <n>', 'monitor HTTP API port (/api/devices, /metrics)', '9464')
    .option('--data-dir <dir>', 'where device memory, telemetry outbox and monitor history live', defaultDataDir('start'))
    .option('--devices <n>', 'number of simulated appliances (every third one leaks)', '3')
    .option('--heartbeat <duration>', "every appliance's heartbeat interval (0.5s to 60s)", DEFAULT_HEARTBEAT)
    .option('--detector <kind>', "the monitor's failure detector: fixed (1.5 heartbeat intervals) or phi (phi accrual; see src/monitor/README.md)", 'fixed')
    .option('--phi-threshold <phi>', 'with --detector phi: DOWN once phi reaches this (1 to 20)', '8')
    .option(
      '--per-device-connections',
      `every appliance on its own MQTT connection with its own last will, as a real fleet (up to ${MAX_FLEET_CONNECTIONS} appliances; default: one bridge connection, up to ${MAX_BRIDGE_DEVICES})`,
    )
    .option('--broker <url>', 'with --per-device-connections: an external broker (e.g. mosquitto) instead of the embedded one; no dashboard then')
    .option('--username <user>', "with --broker: the appliances' login (a fleet account)")
    .option('--password <password>', 'with --broker: its password (the variable keeps it out of ps and shell history)')
    .option('--accounts <file>', 'broker accounts instead of the demo operator (see src/telemetry/mosquitto/accounts.example.json)')
    .option('--tls-cert <file>', 'the broker speaks TLS only (mqtts://, wss://) with this certificate, naming --host')
    .option('--tls-key <file>', 'private key of --tls-cert')
    .option('--cafile <file>', "CA that signed --tls-cert, for the demo's own clients (default: --tls-cert itself, self-signed)")
    .action(async (raw: Record<string, unknown>, cmd: Command) => {
      const flags = parseStartFlags(raw);
      // Read and checked before anything starts: a bad file is one line, exit 2.
      const tls = loadServerTls(tlsFilesFrom(raw, process.env, ['tlsCert', 'tlsKey', 'cafile'], (flag) => optionLabel(cmd, flag)));
      const logger = loggerFor(cmd);
      const log: DemoLog = (line, fields) => logger.info(fields ?? {}, line);
      const pieces = await startDemo(flags, log, tls, logger);
      const dashboard = pieces.find((p) => p.name === 'dashboard');
      process.stdout.write(`${pieces.map((p) => p.summary).join('\n')}\n`);
      process.stdout.write(dashboard ? `Open ${dashboard.summary.replace(/^dashboard\s+/, '')} in a browser. Ctrl-C stops everything.\n` : 'Ctrl-C stops everything.\n');
      const sig = await untilSignal();
      log(`${sig}: stopping`);
      const forced = () => {
        logger.warn('second signal: exiting now');
        process.exit(130);
      };
      process.once('SIGINT', forced);
      process.once('SIGTERM', forced);
      const clean = await stopAll(pieces, log);
      process.off('SIGINT', forced);
      process.off('SIGTERM', forced);
      return clean ? 0 : 1;
    });
}
