/**
 * `aquastop monitor [--broker URL] [--username U --password P] [--base-topic T] [--port N]
 * [--host H] [--data-dir DIR] [--webhook URL] [--down-after F] [--detector fixed|phi] [--phi-threshold 8]
 * [--slo 99.9] [--retention 720h]
 * [--max-devices N] [--flap-changes N] [--flap-window 10m] [--flap-quiet 15m] [--graphite tcp://host:2003
 * [--graphite-interval 10s] [--graphite-prefix aquastop]] [--history postgres://... [--lease 10s]]`: the uptime monitor
 * (src/monitor/README.md). Prints its URL, runs until SIGINT/SIGTERM, then stops cleanly (exit 0).
 * Bad flags, an unreachable broker or a busy port: one line on stderr, exit 2.
 */
import type { Command } from 'commander';
import { UsageError } from './errors.js';
import { defaultDataDir } from './service/data-dir.js';
import { loggerFor, optionLabel } from './service/service-command.js';
import { redactUrl } from '../telemetry/redact-url.js';
import { DEFAULT_BASE_TOPIC } from '../protocol/names.js';
import { untilSignal } from './dashboard.js';

/** File-system errors that mean the data directory is unusable, not that the monitor is broken. */
const FS_CODES = new Set(['EISDIR', 'ENOTDIR', 'EEXIST', 'EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'ENAMETOOLONG', 'ELOOP']);

export function register(program: Command): void {
  program
    .command('monitor')
    .description('uptime monitor: DOWN/UP per device, availability, SLO, alerts; /metrics and /api/devices')
    .option('--broker <url>', 'MQTT broker URL, or the nodes of one clustered broker: url,url,... (moves to the next when it loses one)', 'mqtt://127.0.0.1:1883')
    .option('--username <user>', 'broker user name')
    .option('--password <pass>', 'broker password')
    .option('--cafile <file>', 'CA certificate(s) to trust for an mqtts:// or wss:// broker')
    .option('--cert <file>', 'client certificate for a broker that checks them')
    .option('--key <file>', 'private key of --cert')
    .option('--base-topic <topic>', 'base topic', DEFAULT_BASE_TOPIC)
    .option('--host <addr>', 'address the HTTP API listens on', '127.0.0.1')
    .option('--port <n>', 'HTTP port for /metrics and /api (0 = any free port)', '9464')
    .option('--data-dir <dir>', 'where the event log (history) lives', defaultDataDir('monitor'))
    .option('--webhook <url>', 'POST each alert as JSON to this URL')
    .option('--webhook-secret <secret>', 'sign each POST with HMAC-SHA256 (see src/monitor/README.md)')
    .option('--webhook-timeout <s>', 'seconds to wait for the webhook to answer', '5')
    .option('--webhook-retries <n>', 'retries after a failed POST, with exponential back-off', '5')
    .option('--down-after <f>', "DOWN after this many heartbeat intervals without one (--detector fixed; phi's rule while it learns)", '1.5')
    .option(
      '--detector <kind>',
      'when a silent device is DOWN: fixed (--down-after intervals) or phi (phi accrual over its own heartbeat timing; see src/monitor/README.md)',
      'fixed',
    )
    .option('--phi-threshold <phi>', 'with --detector phi: DOWN once phi reaches this (1 to 20; 8 = a 1e-8 chance the heartbeat is only late)', '8')
    .option('--slo <percent>', 'availability SLO target in percent', '99.9')
    .option('--retention <duration>', 'keep events, and devices not heard from, this long (1h to 720h)', '720h')
    .option('--max-devices <n>', 'most devices tracked; a new id beyond it replaces the healthy device heard from longest ago', '10000')
    .option('--flap-changes <n>', 'UP/DOWN changes within --flap-window that make a device "flapping" (one alert)', '6')
    .option('--flap-window <duration>', 'window for --flap-changes (at most 24h)', '10m')
    .option('--flap-quiet <duration>', 'a flapping device is stable again after this long without a change (at most 24h)', '15m')
    .option('--graphite <url>', "also push the /metrics figures to Graphite: carbon's plaintext listener, tcp://host:port")
    .option('--graphite-interval <duration>', 'how often to push to --graphite (1s to 24h)', '10s')
    .option('--graphite-prefix <path>', 'first components of every Graphite path', 'aquastop')
    .option(
      '--history <url>',
      'keep the history in PostgreSQL (postgres://user:password@host:port/db) and share the fleet with the other monitors on it (see src/monitor/README.md); default: the file in --data-dir',
    )
    .option('--lease <duration>', "with --history: a shard lease lasts this long without renewal; a dead monitor's devices are taken over within 4/3 of it", '10s')
    .action(async (raw: Record<string, unknown>, cmd: Command) => {
      const { startMonitor, parseMonitorOptions } = await import('../monitor/index.js');
      const input = {
        brokerUrl: raw.broker,
        username: raw.username,
        password: raw.password,
        baseTopic: raw.baseTopic,
        host: raw.host,
        port: raw.port,
        dataDir: raw.dataDir,
        webhookUrl: raw.webhook ?? null,
        // AQUASTOP_WEBHOOK_SECRET keeps the secret out of `ps` and shell history.
        webhookSecret: raw.webhookSecret ?? null,
        webhookTimeoutS: raw.webhookTimeout,
        webhookRetries: raw.webhookRetries,
        downAfter: raw.downAfter,
        detector: raw.detector,
        phiThreshold: raw.phiThreshold,
        slo: raw.slo,
        retentionMs: raw.retention,
        maxDevices: raw.maxDevices,
        flapChanges: raw.flapChanges,
        flapWindowMs: raw.flapWindow,
        flapQuietMs: raw.flapQuiet,
        graphiteUrl: raw.graphite ?? null,
        graphiteIntervalMs: raw.graphiteInterval,
        graphitePrefix: raw.graphitePrefix,
        historyUrl: raw.history ?? null,
        leaseMs: raw.lease,
      };
      let options;
      try {
        options = parseMonitorOptions(input);
      } catch (err) {
        throw new UsageError(err instanceof Error ? err.message : String(err));
      }
      const { loadClientTls, tlsFilesFrom } = await import('../telemetry/tls.js');
      const tls = loadClientTls(
        tlsFilesFrom(raw, process.env, ['cafile', 'cert', 'key'], (flag) => optionLabel(cmd, flag)),
        options.brokerUrl,
      );
      if (tls) options = { ...options, tls };
      let monitor;
      try {
        monitor = await startMonitor({ ...options, logger: loggerFor(cmd) });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // The history cannot be kept: say where and why in one line, and start nothing.
        if (code && FS_CODES.has(code)) {
          const path = (err as NodeJS.ErrnoException).path ?? options.dataDir;
          throw new UsageError(`--data-dir ${options.dataDir} cannot hold the monitor's history: ${code} at ${path}`);
        }
        throw err;
      }
      process.stdout.write(`monitor: ${monitor.url}/api/devices  ${monitor.url}/metrics (broker ${redactUrl(options.brokerUrl)})\n`);
      await untilSignal();
      await monitor.stop();
    });
}
