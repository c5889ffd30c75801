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
const t = z.number(); // finite: zod 4 refuses Infinity and NaN by default
const status = z.enum(['up', 'down', 'unknown']);
/** Alert kinds; `device-cap` names the new id that met the cap. */
export const ALERT_KINDS = ['down', 'up', 'fault-raised', 'fault-cleared', 'flapping', 'flapping-ended', 'device-cap'] as const;
/** Most recent UP/DOWN change times kept per device (the largest `--flap-changes`). */
export const MAX_FLAP_CHANGES = 100;

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
 * - counters: periodic snapshot of heartbeat counters and last-seen facts (and at stop);
 *   `heard` is the last time anything came from the device (retention forgets by it);
 * - flap: the device entered (start) or left (end) the flapping state (alerts.md in README);
 * - forget: the device was dropped (not heard for the retention time, or evicted at the device
 *   cap): replay drops what came before it about that id;
 * - baseline: what compaction keeps of a device's history older than the retention: its state
 *   at the cut-off (status, fault, alert and flapping state, totals), never an event itself;
 * - cap: the device cap was reached / room came back (one alert per episode, across restarts).
 */
export const logEntrySchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('start'), t }),
  z.object({ type: z.literal('stop'), t }),
  z.object({ type: z.literal('status'), t, id: z.string(), status, reason: z.string() }),
  z.object({ type: z.literal('fault'), t, id: z.string(), event: z.enum(['raised', 'cleared']), code: faultCode }),
  z.object({ type: z.literal('restart'), t, id: z.string(), boot: z.number().int() }),
  z.object({
    type: z.literal('alert'),
    t,
    id: z.string(),
    kind: z.enum(ALERT_KINDS),
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
    /** Optional: logs written before retention existed lack it (lastSeen stands in). */
    heard: t.optional(),
  }),
  z.object({ type: z.literal('flap'), t, id: z.string(), event: z.enum(['start', 'end']) }),
  z.object({ type: z.literal('forget'), t, id: z.string(), reason: z.string() }),
  z.object({
    type: z.literal('baseline'),
    t,
    id: z.string(),
    status,
    lastKnown: z.enum(['up', 'down']).nullable(),
    activeFault: faultCode.nullable(),
    alertedStatus: z.enum(['up', 'down']).nullable(),
    alertedFault: faultCode.nullable(),
    flapping: z.boolean(),
    changes: z.array(t).max(MAX_FLAP_CHANGES),
    restarts: z.number().int().nonnegative(),
    faults: z.partialRecord(faultCode, z.number().int().nonnegative()),
    heard: t,
  }),
  z.object({ type: z.literal('cap'), t, event: z.enum(['reached', 'cleared']) }),
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
  /**
   * Fault alerts: the device's fault event id (`<boot>-<n>`) behind the change, whether the fault
   * event, the state or a heartbeat told it (`faultEvent` there): the raise of a raised fault, the
   * clearing of a cleared one. Absent when the device did not name it (a device older than
   * `faultEvent`), and on the cleared half of a change from one fault straight to another.
   */
  readonly event?: string;
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
  /** Changed UP/DOWN often enough to be "flapping": its UP/DOWN alerts wait for a quiet period. */
  readonly flapping: boolean;
  readonly breaker: string | null;
  readonly state: string | null;
  /** The device process's event-loop lag from its last heartbeat (the highest p99 and max of its 10 s windows of the last minute, ms); null when not reported. */
  readonly loopLag: { readonly p99Ms: number; readonly maxMs: number } | null;
}

/** One item of GET /api/devices/:id/history. */
export interface HistoryItem {
  readonly at: string;
  readonly type: 'status' | 'fault' | 'restart' | 'alert' | 'flap';
  readonly [key: string]: unknown;
}
