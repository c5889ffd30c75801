/**
 * Monitor options, validated once at the edge (CLI flags and in-process callers alike).
 * Bad values throw {@link MonitorError} with one line naming the flag.
 */
import { z } from 'zod';
import { isBrokerUrl } from '../telemetry/broker-url.js';

export const monitorOptionsSchema = z.object({
  brokerUrl: z
    .string()
    // The commands' one broker-URL check (a bad port or host used to slip through); tcp:// is mqtt.js's alias of mqtt://.
    .refine((url) => isBrokerUrl(url.replace(/^tcp:/, 'mqtt:')), '--broker must be a URL such as mqtt://127.0.0.1:1883')
    .default('mqtt://127.0.0.1:1883'),
  username: z.string().min(1, '--username must not be empty').optional(),
  password: z.string().optional(),
  baseTopic: z
    .string()
    .regex(/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/, '--base-topic must be topic levels of letters, digits, "_" or "-" (no wildcards)')
    .default('aquastop'),
  host: z.string().min(1).default('127.0.0.1'),
  port: z.coerce.number({ error: '--port must be an integer' }).int('--port must be an integer').min(0, '--port must be 0-65535').max(65535, '--port must be 0-65535').default(9464),
  dataDir: z.string().min(1, '--data-dir must not be empty'),
  webhookUrl: z.string().regex(/^https?:\/\/\S+$/, '--webhook must be an http:// or https:// URL').nullable().default(null),
  downAfter: z.coerce.number({ error: '--down-after must be a number' }).min(1, '--down-after must be at least 1 (intervals)').max(100, '--down-after must be at most 100').default(1.5),
  /** SLO target in percent (99.9). */
  slo: z.coerce.number({ error: '--slo must be a number' }).gt(0, '--slo must be a percentage above 0').lt(100, '--slo must be below 100 (percent)').default(99.9),
  /** Counter snapshot period, ms. */
  snapshotMs: z.number().int().nonnegative().default(1000),
});

export type MonitorConfig = z.output<typeof monitorOptionsSchema>;
export type MonitorConfigInput = z.input<typeof monitorOptionsSchema>;

/** A user-caused problem (bad option, unreachable broker, port in use): one line, exit 2. */
export class MonitorError extends Error {
  readonly usageError = true;
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = 'MonitorError';
  }
}

export function parseMonitorOptions(raw: unknown): MonitorConfig {
  const r = monitorOptionsSchema.safeParse(raw);
  if (!r.success) throw new MonitorError(r.error.issues[0]?.message ?? 'bad monitor options');
  if (r.data.password !== undefined && r.data.username === undefined) throw new MonitorError('--password needs --username');
  return r.data;
}
