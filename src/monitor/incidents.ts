/**
 * What a status or fault change means for the record and for alerts: the log entries to write
 * and the alerts to send, decided from what was last alerted for the device. Pure: the tracker
 * writes the entries (alerts included, so deduplication survives restarts) and then sends.
 *
 * One incident, one alert: DOWN is alerted when the last alert about the device was not DOWN
 * (a DOWN device timing out again, or its retained "offline" seen again after a monitor
 * restart, is the same incident); UP only after an alerted DOWN; a fault when it differs from
 * the last alerted fault, its clearing only when that fault was alerted.
 *
 * Flapping (hysteresis, as Nagios flap detection or an Alertmanager `for:` would damp it): the
 * change that makes `changes` UP/DOWN changes within `windowMs` puts the device in the
 * flapping state with one "flapping" alert instead of its UP or DOWN alert. While flapping, UP
 * and DOWN are recorded (availability stays exact) but not alerted. After `quietMs` without a
 * change it leaves the state: one "flapping-ended" alert, then the UP or DOWN alert the device's
 * status calls for, decided as above (a device that stopped flapping by dying is paged DOWN).
 * Fault alerts are never damped.
 */
import type { DeviceRecord } from './device.js';
import type { Alert, AlertKind, FaultCode, LogEntry } from './types.js';

export interface Decision {
  readonly entries: LogEntry[];
  readonly alerts: Alert[];
}

export interface FlapPolicy {
  /** UP/DOWN changes within `windowMs` that make a device flapping. */
  readonly changes: number;
  readonly windowMs: number;
  /** Time without a change after which a flapping device is stable again. */
  readonly quietMs: number;
}

export const DEFAULT_FLAP_POLICY: FlapPolicy = { changes: 6, windowMs: 10 * 60_000, quietMs: 15 * 60_000 };

function alertOf(d: DeviceRecord, kind: AlertKind, code: FaultCode | null, reason: string, t: number): Decision {
  return {
    entries: [{ type: 'alert', t, id: d.id, kind, code, reason }],
    alerts: [{ kind, device: d.id, code, reason, at: new Date(t).toISOString() }],
  };
}

function merge(...parts: Decision[]): Decision {
  return { entries: parts.flatMap((p) => p.entries), alerts: parts.flatMap((p) => p.alerts) };
}

/** The UP or DOWN alert a device's status calls for, given what was last alerted (none if it is already said). */
function statusAlert(d: DeviceRecord, status: 'up' | 'down' | 'unknown', reason: string, t: number): Decision {
  const kind = status === 'down' && d.alertedStatus !== 'down' ? 'down' : status === 'up' && d.alertedStatus === 'down' ? 'up' : null;
  return kind ? alertOf(d, kind, null, reason, t) : { entries: [], alerts: [] };
}

/** UP/DOWN changes of `d` within the window ending at `t`, counting a change to `status` now. */
export function recentChanges(d: DeviceRecord, status: 'up' | 'down' | 'unknown', t: number, windowMs: number): number {
  const isChange = status !== 'unknown' && d.lastKnown !== null && d.lastKnown !== status;
  let n = isChange ? 1 : 0;
  for (let i = d.changes.length - 1; i >= 0 && d.changes[i]! > t - windowMs; i--) n++;
  return n;
}

export function statusChange(d: DeviceRecord, status: 'up' | 'down' | 'unknown', reason: string, t: number, flap: FlapPolicy = DEFAULT_FLAP_POLICY): Decision {
  const recorded: Decision = { entries: [{ type: 'status', t, id: d.id, status, reason }], alerts: [] };
  if (d.flapping) return recorded;
  const n = recentChanges(d, status, t, flap.windowMs);
  if (status !== 'unknown' && n >= flap.changes) {
    const why = `changed UP/DOWN ${n} times in ${flap.windowMs / 60_000} min (now ${status.toUpperCase()}: ${reason})`;
    return merge(recorded, { entries: [{ type: 'flap', t, id: d.id, event: 'start' }], alerts: [] }, alertOf(d, 'flapping', null, why, t));
  }
  return merge(recorded, statusAlert(d, status, reason, t));
}

/** A flapping device has been quiet for the quiet period: it leaves the state, and its status is alerted if it needs to be. */
export function flapEnd(d: DeviceRecord, t: number, flap: FlapPolicy = DEFAULT_FLAP_POLICY): Decision {
  const status = d.timeline.status;
  const quiet = `no UP/DOWN change for ${flap.quietMs / 60_000} min`;
  return merge(
    { entries: [{ type: 'flap', t, id: d.id, event: 'end' }], alerts: [] },
    alertOf(d, 'flapping-ended', null, `${quiet}, now ${status.toUpperCase()}`, t),
    statusAlert(d, status, `${status === 'down' ? 'still DOWN' : 'UP'} after flapping`, t),
  );
}

/** `eventId` (the device's fault event behind the change, when the message named one) goes with the alert it causes. */
export function faultChange(d: DeviceRecord, code: FaultCode | null, t: number, eventId?: string): Decision {
  const event = eventId === undefined ? {} : { event: eventId };
  const previous = d.activeFault;
  const entries: LogEntry[] = [];
  const alerts: Alert[] = [];
  const at = new Date(t).toISOString();
  if (previous !== null) {
    entries.push({ type: 'fault', t, id: d.id, event: 'cleared', code: previous });
    if (d.alertedFault === previous) {
      entries.push({ type: 'alert', t, id: d.id, kind: 'fault-cleared', code: previous, reason: 'fault cleared' });
      alerts.push({ kind: 'fault-cleared', device: d.id, code: previous, reason: 'fault cleared', at, ...(code === null ? event : {}) });
    }
  }
  if (code !== null) {
    entries.push({ type: 'fault', t, id: d.id, event: 'raised', code });
    if (d.alertedFault !== code) {
      entries.push({ type: 'alert', t, id: d.id, kind: 'fault-raised', code, reason: 'fault raised' });
      alerts.push({ kind: 'fault-raised', device: d.id, code, reason: 'fault raised', at, ...event });
    }
  }
  return { entries, alerts };
}
