/**
 * The monitor's vocabulary: what it records in its event log, what it tells the alerter, and
 * what it reports per device (GET /api/devices). Logic lives in the other files.
 *
 * Times are clock milliseconds (the injected Clock), ISO strings only at the HTTP edge.
 */
import { z } from 'zod';
import { FAULT_CODES } from '../machine/catalogue.js';

export type DeviceStatus = 'up' | 'down' | 'unknown';

const faultCode = z.enum(FAULT_CODES);
const t = z.number().finite();

/**
 * One line of the append-only event log (JSON lines). Written BEFORE the monitor acts on it,
 * replayed on start; so every transition, fault and alert survives a restart.
 * - start/stop: the monitor's own lifetime (time between a stop, or the last line of a crashed
 *   run, and the next start is "unknown" for every device, neither up nor down);
 * - status: a device went up or down (reason: heartbeat, timeout, availability, bridge), or
 *   unknown (the monitor lost the broker);
 * - fault: a device's active fault changed (raised / cleared);
 * - restart: a device's boot counter changed;
 * - alert: an alert was decided (deduplication survives restarts);
 * - counters: periodic snapshot of heartbeat counters and last-seen facts (and at stop).
 */
export const logEntrySchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('start'), t }),
  z.object({ type: z.literal('stop'), t }),
  z.object({ type: z.literal('status'), t, id: z.string(), status: z.enum(['up', 'down', 'unknown']), reason: z.string() }),
  z.object({ type: z.literal('fault'), t, id: z.string(), event: z.enum(['raised', 'cleared']), code: faultCode }),
  z.object({ type: z.literal('restart'), t, id: z.string(), boot: z.number().int() }),
  z.object({
    type: z.literal('alert'),
    t,
    id: z.string(),
    kind: z.enum(['down', 'up', 'fault-raised', 'fault-cleared']),
    code: faultCode.nullable(),
    reason: z.string(),
  }),
  z.object({
    type: z.literal('counters'),
    t,
    id: z.string(),
    received: z.number().int().nonnegative(),
    lost: z.number().int().nonnegative(),
    lastSeen: t.nullable(),
    intervalS: z.number().positive().nullable(),
    boot: z.number().int().nullable(),
    breaker: z.string().nullable(),
    state: z.string().nullable(),
  }),
]);

export type LogEntry = z.output<typeof logEntrySchema>;
export type AlertKind = Extract<LogEntry, { type: 'alert' }>['kind'];
export type FaultCode = (typeof FAULT_CODES)[number];

/** An alert as sent to the webhook (JSON body) and logged. */
export interface Alert {
  readonly kind: AlertKind;
  readonly device: string;
  /** Fault code for fault alerts, null otherwise. */
  readonly code: FaultCode | null;
  readonly reason: string;
  /** ISO-8601 clock time of the transition. */
  readonly at: string;
}

/** What GET /api/devices returns per device. Ratios are 0..1; durations seconds; null = not known yet. */
export interface DeviceReport {
  readonly id: string;
  readonly up: boolean;
  readonly status: DeviceStatus;
  /** ISO time of the last heartbeat, or null. */
  readonly lastSeen: string | null;
  readonly intervalS: number | null;
  readonly availability: { readonly h1: number | null; readonly d1: number | null; readonly d30: number | null };
  readonly mtbfS: number | null;
  readonly mttrS: number | null;
  /** SLO target as a ratio (0.999 for 99.9 %). */
  readonly sloTarget: number;
  /** Fraction of the 30-day error budget left (1 = untouched, below 0 = overspent). */
  readonly errorBudgetLeft: number;
  /** Unavailability over the last hour divided by the allowed unavailability (1 - SLO). */
  readonly burnRate: number | null;
  readonly heartbeatsReceived: number;
  readonly heartbeatsLost: number;
  readonly restarts: number;
  readonly activeFault: FaultCode | null;
  readonly breaker: string | null;
  readonly state: string | null;
}

/** One item of GET /api/devices/:id/history. */
export interface HistoryItem {
  readonly at: string;
  readonly type: 'status' | 'fault' | 'restart' | 'alert';
  readonly [key: string]: unknown;
}
