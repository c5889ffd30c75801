/**
 * `aquastop dashboard [--port N] [--host H] [--broker-ws URL] [--base TOPIC] [--monitor URL]`:
 * serves the web dashboard; the browser connects to the broker's websocket listener itself.
 * Runs until SIGINT/SIGTERM, then closes the server and exits 0.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { baseTopicRule, DEFAULT_BASE_TOPIC } from '../protocol/names.js';
import { issueLines, UsageError } from './errors.js';
import { loggerFor } from './service/service-command.js';

const flagsSchema = z.object({
  port: z.coerce.number({ error: '--port must be an integer' }).int('--port must be an integer').min(0).max(65535, '--port must be 0-65535'),
  host: z.string(),
  brokerWs: z.string().regex(/^wss?:\/\/\S+$/, '--broker-ws must be a ws:// or wss:// URL'),
  base: baseTopicRule('--base'),
  monitor: z
    .string()
    .regex(/^https?:\/\/\S+$/, '--monitor must be an http:// URL')
    .optional(),
});

export function parseDashboardFlags(raw: unknown): z.output<typeof flagsSchema> {
  const r = flagsSchema.safeParse(raw);
  if (!r.success) throw new UsageError(issueLines(r.error.issues));
  return r.data;
}

/** Resolves on the first SIGINT or SIGTERM. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

export function register(program: Command): void {
  program
    .command('dashboard')
    .description('serve the web dashboard (the page speaks MQTT over WebSocket to the broker)')
    .option('--port <n>', 'HTTP port (0 = any free port)', '8080')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--broker-ws <url>', "broker's websocket URL as the browser reaches it", 'ws://127.0.0.1:9001')
    .option('--base <topic>', 'base topic', DEFAULT_BASE_TOPIC)
    .option('--monitor <url>', "monitor's HTTP API (proxied under /api)")
    .action(async (raw: unknown, cmd: Command) => {
      const flags = parseDashboardFlags(raw);
      const log = loggerFor(cmd);
      const [{ startDashboard }, { dashboardButtons }] = await Promise.all([import('../dashboard/server.js'), import('../../sim/injections.js')]);
      let server;
      try {
        server = await startDashboard({
          host: flags.host,
          port: flags.port,
          wsUrl: flags.brokerWs,
          baseTopic: flags.base,
          monitorUrl: flags.monitor ?? null,
          injections: dashboardButtons(),
        });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE') throw new UsageError(`port ${flags.port} is already in use (try --port 0)`);
        if (code === 'EADDRNOTAVAIL') throw new UsageError(`cannot listen on ${flags.host}`);
        throw err;
      }
      process.stdout.write(`dashboard: ${server.url} (broker ${flags.brokerWs})\n`);
      log.info({ url: server.url, brokerWs: flags.brokerWs, monitor: flags.monitor ?? null }, `dashboard on ${server.url}`);
      const signal = await untilSignal();
      log.info({ signal }, `${signal}: stopping`);
      await server.close();
    });
}
