/**
 * Replaying the event log into device records: one reading of the log for the tracker at
 * start and for compaction (which replays what it folds into baselines), so both agree.
 *
 * - A "stop", and the last line of a run that crashed (a "start" while a run is still open),
 *   make every device "unknown" from then on: time the monitor did not watch counts neither
 *   as up nor as down.
 * - A "forget" drops the device: what came before it about that id no longer exists.
 * - A "cap" entry tells whether the device cap was reached (one alert per episode).
 */
import { DeviceRecord } from './device.js';
import type { LogEntry } from './types.js';

export interface ReplayState {
  readonly devices: Map<string, DeviceRecord>;
  /** The last counters line per tracked device (forgotten devices have none). */
  readonly lastCounters: Map<string, LogEntry>;
  /** A run is open (its "start" seen, no "stop" yet). */
  open: boolean;
  /** Latest time in the log so far. */
  lastT: number | null;
  capReached: boolean;
}

export function emptyReplay(devices = new Map<string, DeviceRecord>()): ReplayState {
  return { devices, lastCounters: new Map(), open: false, lastT: null, capReached: false };
}

/** Applies `entries`, in order, to `state`. */
export function replayInto(state: ReplayState, entries: readonly LogEntry[]): ReplayState {
  const allUnknown = (t: number) => {
    for (const d of state.devices.values()) d.timeline.record(t, 'unknown');
  };
  for (const e of entries) {
    switch (e.type) {
      case 'start':
      case 'stop':
        // A run that ended without "stop" (crash) ended at its last line.
        if (e.type === 'start' && state.open && state.lastT !== null) allUnknown(state.lastT);
        if (e.type === 'stop') allUnknown(e.t);
        state.open = e.type === 'start';
        break;
      case 'cap':
        state.capReached = e.event === 'reached';
        break;
      case 'forget':
        state.devices.delete(e.id);
        state.lastCounters.delete(e.id);
        break;
      default: {
        let d = state.devices.get(e.id);
        if (!d) {
          d = new DeviceRecord(e.id);
          state.devices.set(e.id, d);
        }
        d.apply(e);
        if (e.type === 'counters') state.lastCounters.set(e.id, e);
      }
    }
    state.lastT = state.lastT === null ? e.t : Math.max(state.lastT, e.t);
  }
  return state;
}
