/**
 * What the runtime shows of a controller: its status snapshot (retained state) and its
 * fault events, both derived from the machine and the fault catalogue, nothing else.
 */
import { FAULTS, type FaultCode } from '../machine/catalogue.js';
import type { ControllerMachine } from '../machine/machine.js';
import type { SnapshotFrom } from 'xstate';
import type { DeviceStatus, FaultEvent } from './runtime-types.js';

export interface StatusExtras {
  /** After an internal failure the valve is held closed, whatever the controller wants. */
  readonly failed: boolean;
  readonly uptimeMs: number;
  readonly tubLevelL: number | null;
}

export function deviceStatus(snapshot: SnapshotFrom<ControllerMachine>, extras: StatusExtras): DeviceStatus {
  const value = snapshot.value as Record<string, unknown>;
  const breakerValue = value.breaker;
  const breaker = (typeof breakerValue === 'string' ? breakerValue : Object.keys(breakerValue as object)[0]) as DeviceStatus['breaker'];
  return {
    state: statePath(breakerValue),
    breaker,
    valve: value.valve === 'open' && !extras.failed ? 'open' : 'closed',
    drainPump: value.pump === 'on' ? 'on' : 'off',
    leak: snapshot.hasTag('leak'),
    fault: snapshot.context.fault,
    tripCount: snapshot.context.tripCount,
    uptimeS: Math.round(extras.uptimeMs / 100) / 10,
    tubLevelL: extras.tubLevelL,
  };
}

/** A fault event with the catalogue's display, text, severity and reset policy. */
export function faultEvent(event: FaultEvent['event'], code: FaultCode, ts: number, id: string, detail?: string): FaultEvent {
  const def = FAULTS[code];
  return {
    event,
    code,
    display: def.display,
    text: def.text,
    severity: def.severity,
    reset: def.reset,
    ...(detail ? { detail } : {}),
    ts,
    id,
  };
}

/** "armed.filling" from the breaker region's state value. */
export function statePath(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const [key, child] = Object.entries(value)[0] ?? [];
    if (key === undefined) return '';
    const rest = statePath(child);
    return rest ? `${key}.${rest}` : key;
  }
  return '';
}
