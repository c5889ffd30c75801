/**
 * What a status or fault change means for the record and for alerts: the log entries to write
 * and the alerts to send, decided from what was last alerted for the device. Pure: the tracker
 * writes the entries (alerts included, so deduplication survives restarts) and then sends.
 *
 * One incident, one alert: DOWN is alerted when the last alert about the device was not DOWN
 * (a DOWN device timing out again, or its retained "offline" seen again after a monitor
 * restart, is the same incident); UP only after an alerted DOWN; a fault when it differs from
 * the last alerted fault, its clearing only when that fault was alerted.
 */
import type { DeviceRecord } from './device.js';
import type { Alert, FaultCode, LogEntry } from './types.js';

export interface Decision {
  readonly entries: LogEntry[];
  readonly alerts: Alert[];
}

export function statusChange(d: DeviceRecord, status: 'up' | 'down' | 'unknown', reason: string, t: number): Decision {
  const entries: LogEntry[] = [{ type: 'status', t, id: d.id, status, reason }];
  const kind = status === 'down' && d.alertedStatus !== 'down' ? 'down' : status === 'up' && d.alertedStatus === 'down' ? 'up' : null;
  if (!kind) return { entries, alerts: [] };
  entries.push({ type: 'alert', t, id: d.id, kind, code: null, reason });
  return { entries, alerts: [{ kind, device: d.id, code: null, reason, at: new Date(t).toISOString() }] };
}

export function faultChange(d: DeviceRecord, code: FaultCode | null, t: number): Decision {
  const previous = d.activeFault;
  const entries: LogEntry[] = [];
  const alerts: Alert[] = [];
  const at = new Date(t).toISOString();
  if (previous !== null) {
    entries.push({ type: 'fault', t, id: d.id, event: 'cleared', code: previous });
    if (d.alertedFault === previous) {
      entries.push({ type: 'alert', t, id: d.id, kind: 'fault-cleared', code: previous, reason: 'fault cleared' });
      alerts.push({ kind: 'fault-cleared', device: d.id, code: previous, reason: 'fault cleared', at });
    }
  }
  if (code !== null) {
    entries.push({ type: 'fault', t, id: d.id, event: 'raised', code });
    if (d.alertedFault !== code) {
      entries.push({ type: 'alert', t, id: d.id, kind: 'fault-raised', code, reason: 'fault raised' });
      alerts.push({ kind: 'fault-raised', device: d.id, code, reason: 'fault raised', at });
    }
  }
  return { entries, alerts };
}
