/**
 * A device's state message (`<base>/<id>`) as the device publishes it: armed and idle, the valve
 * closed, the base pan dry, no fault. `patch` changes what a test is about.
 */
import type { PayloadOf } from '../../src/protocol/topics.js';

export type DeviceState = PayloadOf<'state'>;

export function deviceState(patch: Partial<DeviceState> = {}): DeviceState {
  return {
    state: 'armed.idle',
    breaker: 'armed',
    valve: 'closed',
    drainPump: 'off',
    leak: false,
    fault: null,
    tripCount: 0,
    uptimeS: 0,
    tubLevelL: 0,
    fw: 'sim-0.1.0',
    board: 'simulated',
    last_seen: '2026-01-01T00:00:00.000Z',
    ...patch,
  };
}
