/**
 * The long-running commands' logs: pino records on stderr, `--log-format json` (one JSON object
 * per line, for journald, Loki, jq) or `pretty` (one readable line per record), by default
 * pretty on a terminal and JSON otherwise; `--log-level` (info) filters them.
 *
 * Contract:
 * - A record about a device carries `device` (its id) and, about a fault event, `event` (the
 *   device's fault event id); {@link deviceLogger} makes the child logger that adds them.
 * - Secrets never appear: the values of the keys in {@link REDACTED_KEYS}, at any of the first
 *   three levels of a record, are replaced by `[redacted]` (pino `redact`), and a password in a
 *   URL (`mqtt://user:pass@host`) becomes `***` in every field and message (telemetry/redact-url.ts).
 * - Pretty is formatted here from pino's own JSON (no pino-pretty dependency): time, level,
 *   device, message, then the other fields as key=value. Alerts (records with `alert`) beyond 10
 *   a second become one line counting them by kind (alert-summary.ts); JSON keeps every record.
 */
import { pino, type Level, type Logger } from 'pino';
import { z } from 'zod';
import { redactUrl } from '../../telemetry/redact-url.js';
import { wallClock, type Clock } from '../../clock/clock.js';
import { AlertSummary } from './alert-summary.js';

export const LOG_FORMATS = ['json', 'pretty'] as const;
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Keys whose values are secrets wherever they appear in a record. */
export const REDACTED_KEYS = ['password', 'passwd', 'secret', 'webhookSecret', 'token', 'authorization', 'key', 'privateKey', 'passphrase'] as const;

const REDACT_PATHS = REDACTED_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

export const logOptionsSchema = z.object({
  logFormat: z.enum(LOG_FORMATS, { error: '--log-format must be json or pretty' }).optional(),
  logLevel: z.enum(LOG_LEVELS, { error: `--log-level must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
});

export interface LogOptions {
  readonly format: LogFormat;
  readonly level: (typeof LOG_LEVELS)[number];
}

/** The two flags from a command's options; the format defaults by whether stderr is a terminal. */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-boolean-literal-compare -- isTTY is undefined, not false, off a terminal
export function parseLogOptions(raw: Record<string, unknown>, isTTY = process.stderr.isTTY === true): { ok: true; options: LogOptions } | { ok: false; errors: string[] } {
  const r = logOptionsSchema.safeParse({ logFormat: raw.logFormat, logLevel: raw.logLevel });
  if (!r.success) return { ok: false, errors: r.error.issues.map((i) => i.message) };
  return { ok: true, options: { format: r.data.logFormat ?? (isTTY ? 'pretty' : 'json'), level: r.data.logLevel } };
}

/** Strings with a password in a URL (mqtt://user:pass@host), hidden at any of the first three levels. */
function hideUrlPasswords(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.includes('://') ? redactUrl(value) : value;
  if (depth >= 3 || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((v) => hideUrlPasswords(v, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, hideUrlPasswords(v, depth + 1)]));
}

/** A logger for command `name` writing to `out` (default stderr); in pretty, alerts go through an {@link AlertSummary} on `clock`. */
export function createLogger(name: string, options: LogOptions, out: { write(text: string): unknown } = process.stderr, clock: Clock = wallClock): Logger {
  const base = {
    name,
    level: options.level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    formatters: { log: (record: Record<string, unknown>) => hideUrlPasswords(record) as Record<string, unknown> },
    // The message too: a line may name a URL.
    hooks: {
      logMethod(this: Logger, args: unknown[], method: (...a: unknown[]) => void) {
        method.apply(
          this,
          args.map((a) => (typeof a === 'string' && a.includes('://') ? redactUrl(a) : a)),
        );
      },
    },
  };
  if (options.format === 'json') return pino(base, out === process.stderr ? pino.destination({ fd: 2, sync: true }) : out);
  // On a terminal, many alerts at once become a few lines and a count.
  const alerts = new AlertSummary({ clock, write: (line) => void out.write(line.endsWith('\n') ? line : prettyLine(JSON.stringify({ level: 40, time: clock.now(), msg: line }))) });
  return pino(base, {
    write: (record: string) => {
      const kind = /"alert":\{"kind":"([a-z-]+)"/.exec(record)?.[1];
      if (kind) alerts.offer(kind, prettyLine(record));
      else out.write(prettyLine(record));
    },
  });
}

/** The child logger for records about one device (and its fault events: pass `event` per record). */
export function deviceLogger(logger: Logger, device: string): Logger {
  return logger.child({ device });
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const SKIP = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'device', 'v']);

/** One pino JSON record as `HH:MM:SS.mmm LEVEL [device] message key=value ...`. */
export function prettyLine(record: string): string {
  let r: Record<string, unknown>;
  try {
    r = JSON.parse(record) as Record<string, unknown>;
  } catch {
    return record.endsWith('\n') ? record : `${record}\n`;
  }
  const time = typeof r.time === 'number' ? new Date(r.time).toISOString().slice(11, 23) : '';
  const level = (LEVEL_NAMES[r.level as number] ?? String(r.level)).padEnd(5);
  const device = typeof r.device === 'string' ? ` [${r.device}]` : '';
  const rest = Object.entries(r)
    .filter(([k]) => !SKIP.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${time} ${level}${device} ${String(r.msg ?? '')}${rest ? `  ${rest}` : ''}\n`;
}

export type { Level, Logger };
