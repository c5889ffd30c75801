/**
 * Monitor options, validated once at the edge (CLI flags and in-process callers alike).
 * Bad values throw {@link MonitorError} with one line naming the flag.
 */
import { z } from 'zod';
import { UsageError } from '../errors/usage-error.js';
import { MAX_FLAP_CHANGES } from './types.js';
import { DEFAULT_DETECTOR, DETECTOR_KINDS } from './detector.js';
import { durationSchema } from '../clock/duration.js';
import { brokerUrlProblem, isBrokerUrl } from '../protocol/broker-url.js';
import { baseTopicRule, DEFAULT_BASE_TOPIC } from '../protocol/names.js';
import type { TlsMaterial } from '../telemetry/tls.js';
import { GRAPHITE_PREFIX_PATTERN, parseGraphiteUrl } from './graphite.js';
import { describeHistoryUrl, isHistoryUrl } from './history-url.js';
import type { TrackerOptions } from './tracker.js';

const HOUR_MS = 3_600_000;

export const monitorOptionsSchema = z.object({
  /** One URL, or the nodes of one clustered broker separated by commas (src/protocol/broker-url.ts): the monitor moves to the next node when it loses one. */
  brokerUrl: z
    .string()
    // The commands' one broker-URL check (a bad port or host used to slip through); tcp:// is mqtt.js's alias of mqtt://.
    .superRefine((url, ctx) => {
      const problem = url.includes(',') ? brokerUrlProblem(url) : isBrokerUrl(url.replace(/^tcp:/, 'mqtt:')) ? null : '--broker must be a URL such as mqtt://127.0.0.1:1883';
      if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
    })
    .default('mqtt://127.0.0.1:1883'),
  username: z.string().min(1, '--username must not be empty').optional(),
  password: z.string().optional(),
  /** CA, client certificate and key for mqtts:// and wss:// (read and checked by telemetry/tls.ts). */
  tls: z.custom<TlsMaterial>((v) => typeof v === 'object' && v !== null, 'tls must be the loaded certificate files').optional(),
  baseTopic: baseTopicRule('--base-topic').default(DEFAULT_BASE_TOPIC),
  host: z.string().min(1, '--host must not be empty').default('127.0.0.1'),
  port: z.coerce
    .number({ error: '--port must be an integer' })
    .int('--port must be an integer')
    .min(0, '--port must be 0-65535')
    .max(65535, '--port must be 0-65535')
    .default(9464),
  dataDir: z.string().min(1, '--data-dir must not be empty'),
  webhookUrl: z
    .string()
    .regex(/^https?:\/\/\S+$/, '--webhook must be an http:// or https:// URL')
    .nullable()
    .default(null),
  /** HMAC-SHA256 key for the webhook's signature header (src/monitor/README.md "Webhooks"). */
  webhookSecret: z.string().min(16, '--webhook-secret must be at least 16 characters').max(1024, '--webhook-secret must be at most 1024 characters').nullable().default(null),
  webhookTimeoutS: z.coerce
    .number({ error: '--webhook-timeout must be a number of seconds' })
    .min(0.1, '--webhook-timeout must be at least 0.1 s')
    .max(120, '--webhook-timeout must be at most 120 s')
    .default(5),
  webhookRetries: z.coerce
    .number({ error: '--webhook-retries must be an integer' })
    .int('--webhook-retries must be an integer')
    .min(0, '--webhook-retries must be 0-20')
    .max(20, '--webhook-retries must be 0-20')
    .default(5),
  downAfter: z.coerce
    .number({ error: '--down-after must be a number' })
    .min(1, '--down-after must be at least 1 (intervals)')
    .max(100, '--down-after must be at most 100')
    .default(1.5),
  /** The failure detector (detector.ts): the fixed multiple `downAfter`, or phi accrual over each device's inter-arrival times. */
  detector: z.enum(DETECTOR_KINDS, { error: `--detector must be ${DETECTOR_KINDS.join(' or ')}` }).default(DEFAULT_DETECTOR.kind),
  phiThreshold: z.coerce
    .number({ error: '--phi-threshold must be a number' })
    .min(1, '--phi-threshold must be at least 1')
    .max(20, '--phi-threshold must be at most 20')
    .default(DEFAULT_DETECTOR.threshold),
  /** SLO target in percent (99.9). */
  slo: z.coerce.number({ error: '--slo must be a number' }).gt(0, '--slo must be a percentage above 0').lt(100, '--slo must be below 100 (percent)').default(99.9),
  /** Counter snapshot period, ms. */
  snapshotMs: z.number().int().nonnegative().default(1000),
  /** How long events and silent devices are kept, ms: 1 h to 30 days (the longest duration anywhere). */
  retentionMs: flagDuration('--retention', HOUR_MS, '1h').default(720 * HOUR_MS),
  maxDevices: z.coerce
    .number({ error: '--max-devices must be an integer' })
    .int('--max-devices must be an integer')
    .min(1, '--max-devices must be at least 1')
    .max(1_000_000, '--max-devices must be at most 1000000')
    .default(10_000),
  flapChanges: z.coerce
    .number({ error: '--flap-changes must be an integer' })
    .int('--flap-changes must be an integer')
    .min(2, '--flap-changes must be at least 2')
    .max(MAX_FLAP_CHANGES, `--flap-changes must be at most ${MAX_FLAP_CHANGES}`)
    .default(6),
  /** Flap window and quiet period: a timer is armed for the quiet period, so at most 24 h. */
  flapWindowMs: flagDuration('--flap-window', 1_000, '1s', 24 * HOUR_MS).default(10 * 60_000),
  flapQuietMs: flagDuration('--flap-quiet', 1_000, '1s', 24 * HOUR_MS).default(15 * 60_000),
  /** Carbon's plaintext listener to push the /metrics figures to (src/monitor/graphite.ts); null: no push. */
  graphiteUrl: z
    .string()
    .nullable()
    .default(null)
    .superRefine((url, ctx) => {
      if (url !== null && !parseGraphiteUrl(url))
        ctx.addIssue({ code: 'custom', message: `--graphite must be tcp://host:port, carbon's plaintext listener (e.g. tcp://127.0.0.1:2003): got "${url.slice(0, 80)}"` });
    }),
  graphiteIntervalMs: flagDuration('--graphite-interval', 1_000, '1s', 24 * HOUR_MS).default(10_000),
  graphitePrefix: z
    .string()
    .regex(GRAPHITE_PREFIX_PATTERN, '--graphite-prefix must be words of letters, digits, "_" or "-" joined by dots (e.g. aquastop or site1.aquastop)')
    .default('aquastop'),
  /** PostgreSQL holding the history and the shard leases of monitors that share a fleet (shared-monitor.ts); null: the file in dataDir. */
  historyUrl: z
    .string()
    .nullable()
    .default(null)
    .superRefine((url, ctx) => {
      // The value is never echoed whole: it may hold a password.
      if (url !== null && !isHistoryUrl(url))
        ctx.addIssue({
          code: 'custom',
          message: `--history must be postgres://user:password@host:port/database (PostgreSQL; leave it out for the file in --data-dir): got "${describeHistoryUrl(url)}"`,
        });
    }),
  /** With historyUrl: how long a shard lease lasts without renewal (renewed every third of it). */
  leaseMs: flagDuration('--lease', 1_000, '1s', 24 * HOUR_MS).default(10_000),
});

/** A duration flag in the project's grammar (src/clock/duration.ts) with its own bounds; the message names the flag. */
function flagDuration(flag: string, minMs: number, minText: string, maxMs?: number) {
  return z.union([z.number(), z.string()]).transform((value, ctx) => {
    const text = String(value).slice(0, 40);
    const r = durationSchema.safeParse(typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value);
    if (!r.success) {
      const why = r.error.issues[0]?.message ?? 'a duration';
      ctx.addIssue({ code: 'custom', message: `${flag} must be ${why}${why.includes('got') ? '' : ` (got "${text}")`}` });
      return z.NEVER;
    }
    if (r.data < minMs) {
      ctx.addIssue({ code: 'custom', message: `${flag} must be at least ${minText} (got "${text}")` });
      return z.NEVER;
    }
    if (maxMs !== undefined && r.data > maxMs) {
      ctx.addIssue({ code: 'custom', message: `${flag} must be at most 24h (got "${text}")` });
      return z.NEVER;
    }
    return r.data;
  });
}

export type MonitorConfig = z.output<typeof monitorOptionsSchema>;

/** The tracker's settings from the options (every tracker of a monitor has the same). */
export function trackerSettings(config: MonitorConfig): Omit<TrackerOptions, 'clock' | 'log' | 'alerts'> {
  return {
    downAfter: config.downAfter,
    detector: { kind: config.detector, threshold: config.phiThreshold },
    sloTarget: Number((config.slo / 100).toPrecision(12)),
    snapshotMs: config.snapshotMs,
    retentionMs: config.retentionMs,
    maxDevices: config.maxDevices,
    flap: { changes: config.flapChanges, windowMs: config.flapWindowMs, quietMs: config.flapQuietMs },
  };
}
export type MonitorConfigInput = z.input<typeof monitorOptionsSchema>;

/** A user-caused problem (bad option, unreachable broker, port in use): one line, exit 2. */
export class MonitorError extends UsageError {}

export function parseMonitorOptions(raw: unknown): MonitorConfig {
  const r = monitorOptionsSchema.safeParse(raw);
  if (!r.success) {
    // One line per option at fault (a config file can get several wrong at once).
    const seen = new Set<string>();
    const lines = r.error.issues.filter((i) => !seen.has(i.path.join('.')) && seen.add(i.path.join('.'))).map((i) => i.message);
    throw new MonitorError(lines.join('\n') || 'bad monitor options');
  }
  if (r.data.password !== undefined && r.data.username === undefined) throw new MonitorError('--password needs --username');
  if (r.data.webhookSecret !== null && r.data.webhookUrl === null) throw new MonitorError('--webhook-secret needs --webhook');
  return r.data;
}
