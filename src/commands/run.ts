/**
 * `aquastop run --port PATH`: the controller on a real Arduino over USB (johnny-five), on wall
 * time, with its memory in a file and, unless --no-mqtt, telemetry over MQTT (as in #3).
 * Prints one line per runtime event (or JSON lines with --json) until SIGINT/SIGTERM, then
 * closes the valve and stops cleanly.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { loadClientTls, tlsFilesFrom, type TlsMaterial } from '../telemetry/tls.js';
import { issueLines, UsageError } from './errors.js';
import { loggerFor, optionLabel } from './service/service-command.js';
import { deviceLogger, type Logger } from './service/log.js';
import { logRuntimeEvent } from './service/runtime-log.js';
import { defaultDataDir, runDataDir } from './service/data-dir.js';
import { unlessStopped, watchStopSignals, type StopSignals } from './service/signals.js';
import { durationSchema } from '../clock/duration.js';
import { DEFAULT_HEARTBEAT } from '../telemetry/heartbeat-interval.js';
import { accountsFlag, allowRemoteResetFlag, brokerFlag, dataDirFlag, deviceIdFlag, heartbeatFlag, mqttPortFlag, passwordFlag, usernameFlag } from './flags.js';

/** The device id unless `--id` says otherwise. */
const DEFAULT_ID = 'uno-1';

const optionsSchema = z.object({
  port: z
    .string({ error: '--port is required: the serial port of the board, e.g. /dev/ttyACM0 (see "aquastop ports")' })
    .min(1, '--port needs a serial port path, e.g. /dev/ttyACM0'),
  id: deviceIdFlag(DEFAULT_ID),
  dataDir: dataDirFlag('run'),
  mqtt: z.boolean().default(true),
  broker: brokerFlag,
  mqttPort: mqttPortFlag,
  username: usernameFlag,
  password: passwordFlag,
  allowRemoteReset: allowRemoteResetFlag,
  json: z.boolean().default(false),
  accounts: accountsFlag,
  /** How long the board has to answer the Firmata handshake, ms. */
  handshakeTimeout: z.string().transform((text, ctx) => {
    const r = durationSchema.safeParse(/^\d+$/.test(text) ? Number(text) : text);
    if (r.success && r.data >= 1_000 && r.data <= 120_000) return r.data;
    ctx.addIssue({ code: 'custom', message: `--handshake-timeout must be a duration from 1s to 2m, like 10s (got "${text.slice(0, 40)}")` });
    return z.NEVER;
  }),
  /** The heartbeat interval, ms (`--heartbeat 0.5s` ... `60s`). */
  heartbeat: heartbeatFlag,
});

export type RunOptions = z.infer<typeof optionsSchema>;

export function parseRunOptions(raw: unknown): RunOptions {
  const parsed = optionsSchema.safeParse(raw);
  if (!parsed.success) throw new UsageError(issueLines(parsed.error.issues));
  return parsed.data;
}

export function register(program: Command): void {
  program
    .command('run')
    .description('run the controller on a real Arduino (our firmware, or StandardFirmata with a warning) over USB')
    .option('--port <path>', 'serial port of the board, e.g. /dev/ttyACM0 (see "aquastop ports")')
    .option('--id <deviceId>', 'device id (MQTT topic level)', DEFAULT_ID)
    .option('--data-dir <dir>', 'where the fault memory and latch are kept', defaultDataDir('run'))
    .option('--no-mqtt', 'no telemetry')
    .option('--broker <url>', 'external MQTT broker, or the nodes of a cluster as url,url,... (default: an embedded one on 127.0.0.1)')
    .option('--mqtt-port <port>', 'embedded broker TCP port', '1883')
    .option('--heartbeat <duration>', 'heartbeat interval on MQTT (0.5s to 60s)', DEFAULT_HEARTBEAT)
    .option('--username <user>', 'MQTT user name')
    .option('--password <password>', 'MQTT password (the variable keeps it out of ps and shell history)')
    .option('--cafile <file>', 'CA certificate(s) to trust for an mqtts:// or wss:// --broker')
    .option('--cert <file>', 'client certificate for a broker that checks them')
    .option('--key <file>', 'private key of --cert')
    .option('--allow-remote-reset', 'accept {"reset":"trip"}, {"resume":true} and {"exercise":true} over MQTT (never before the pan has been dry for 60 s)', false)
    .option('--json', 'print runtime events as JSON lines', false)
    .option('--handshake-timeout <duration>', 'how long the board has to answer (Firmata handshake), 1s to 2m', '10s')
    .option('--accounts <file>', 'embedded broker accounts (see src/telemetry/mosquitto/accounts.example.json)')
    .action(async (raw: Record<string, unknown>, cmd: Command) => {
      const log = deviceLogger(loggerFor(cmd), String(raw.id));
      const parsed = parseRunOptions(raw);
      // A latched trip kept under the older default must not be forgotten by an upgrade.
      const where = runDataDir(parsed.dataDir, cmd.getOptionValueSource('dataDir') === 'default', parsed.id);
      if (where.older)
        log.warn(
          { dataDir: where.dir },
          `using ${where.dir}/${parsed.id}, the older default data directory, which holds this device's memory: move it to ${parsed.dataDir}/${parsed.id} (or pass --data-dir ${where.dir})`,
        );
      const o = { ...parsed, dataDir: where.dir };
      // Checked before the board is opened: a bad certificate file is one line, exit 2.
      const tls = o.mqtt
        ? loadClientTls(
            tlsFilesFrom(raw, process.env, ['cafile', 'cert', 'key'], (flag) => optionLabel(cmd, flag)),
            o.broker,
          )
        : undefined;
      await run(o, tls, log);
    });
}

async function run(o: RunOptions, tls: TlsMaterial | undefined, log: Logger): Promise<void> {
  // Listening from the first moment: a signal while loading, connecting or starting still ends
  // in a clean stop (board closed, device offline) at once, never a wait for a timeout.
  const signals = watchStopSignals();
  try {
    await runUntilStopped(o, tls, signals, log);
  } finally {
    signals.dispose();
  }
}

async function runUntilStopped(o: RunOptions, tls: TlsMaterial | undefined, signals: StopSignals, log: Logger): Promise<void> {
  const { existsSync } = await import('node:fs');
  if (!existsSync(o.port)) throw new UsageError(`port ${o.port} does not exist (is the board plugged in? try "aquastop ports")`);
  const [{ JohnnyFiveBoard }, { startRuntime }, { FileStore }, { wallClock }] = await Promise.all([
    import('../../hardware/boards/johnny-five-board.js'),
    import('../board/runtime.js'),
    import('../board/file-store.js'),
    import('../clock/clock.js'),
  ]);
  const stoppedWhile = (what: string) => log.info({ signal: signals.received }, `stopped by ${signals.received} while ${what}`);
  if (signals.received) return stoppedWhile('starting');
  const board = new JohnnyFiveBoard({ port: o.port, kind: 'usb', readyTimeoutMs: o.handshakeTimeout });
  const print = (line: string) => process.stdout.write(`${line}\n`);
  log.info({ port: o.port }, `connecting to the board on ${o.port} (handshake within ${o.handshakeTimeout / 1000} s)`);

  let runtime;
  try {
    // The board first: a port that never answers must not count a boot or create the data dir.
    if (
      (await unlessStopped(
        board.open().then(() => true),
        signals,
      )) === null
    ) {
      await board.close();
      return stoppedWhile('connecting to the board');
    }
    const store = new FileStore(join(o.dataDir, o.id, 'memory.json'));
    runtime = await startRuntime({ deviceId: o.id, board, clock: wallClock, store, fw: board.firmwareName || undefined });
  } catch (err) {
    await board.close().catch(() => undefined);
    if (typeof err === 'object' && err !== null && (err as { boardError?: unknown }).boardError === true) throw new UsageError(`board on ${o.port}: ${(err as Error).message}`, 1);
    throw err;
  }
  const warnings: string[] = [];
  board.onReport((r) => {
    if (r.type === 'warning') warnings.push(r.message);
  });
  // Every event is a log record (the device id on each, a fault's event id on it); --json also
  // prints the events themselves on stdout, one JSON object per line, for programs.
  runtime.onAny((event) => {
    if (o.json) print(JSON.stringify(event));
    logRuntimeEvent(log, event);
  });
  const protection = board.protection === 'firmware' ? 'firmware interlock + host' : 'host only';
  if (o.json) print(JSON.stringify({ type: 'started', deviceId: o.id, port: o.port, firmware: board.firmwareName, protection: board.protection, warnings }));
  log.info({ port: o.port, firmware: board.firmwareName || 'Firmata', protection: board.protection }, `${board.firmwareName || 'Firmata'} on ${o.port}, protection: ${protection}`);
  const first = { type: 'status' as const, status: runtime.status(), ts: wallClock.now() };
  if (o.json) print(JSON.stringify(first));
  log.info(
    { state: first.status.state, breaker: first.status.breaker, valve: first.status.valve, fault: first.status.fault },
    `state ${first.status.state}, breaker ${first.status.breaker}, valve ${first.status.valve}`,
  );

  let telemetry: { stop(): Promise<void> } | null = null;
  if (o.mqtt && !signals.received) {
    const [{ startTelemetry }, { readAccounts }] = await Promise.all([import('../telemetry/index.js'), import('./accounts.js')]);
    try {
      const t = await startTelemetry({
        // One device per process: its bridge is named after it (a device account may publish only that one).
        bridgeId: o.id,
        accounts: readAccounts(o.accounts),
        broker: o.broker
          ? { kind: 'external', url: o.broker, username: o.username, password: o.password, ...(tls ? { tls } : {}) }
          : { kind: 'embedded', host: '127.0.0.1', port: o.mqttPort, wsPort: null },
        dataDir: o.dataDir,
        clock: wallClock,
        heartbeatS: o.heartbeat / 1000,
        allowRemoteReset: o.allowRemoteReset,
        log: (line) => log.info(`mqtt: ${line}`),
      });
      t.addDevice({ runtime, fw: board.firmwareName || 'firmata' });
      telemetry = t;
    } catch (err) {
      await runtime.stop();
      throw err;
    }
  }

  const signal = await signals.stopped;
  log.info({ signal }, `${signal}: stopping (valve closed, device offline)`);
  await telemetry?.stop();
  await runtime.stop();
}
