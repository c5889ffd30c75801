/**
 * `aquastop start --per-device-connections`: the fleet's size bounds and the flags that go with
 * it, each refused in one line naming the flag before anything starts.
 */
import { describe, expect, it } from 'vitest';
import { parseStartFlags } from '../../src/commands/start.js';

const base = { host: '127.0.0.1', mqttPort: '0', wsPort: '0', httpPort: '0', monitorPort: '0', dataDir: '/tmp/x', heartbeat: '10s', detector: 'fixed', phiThreshold: '8' };
const problem = (extra: Record<string, unknown>) => {
  try {
    parseStartFlags({ ...base, ...extra });
    return null;
  } catch (err) {
    return (err as Error).message;
  }
};

describe('start with one connection per appliance', () => {
  it('keeps the bridge path at 1,000 appliances and says how to go past it', () => {
    expect(problem({ devices: '1000' })).toBeNull();
    expect(problem({ devices: '1001' })).toBe('--devices must be at most 1000 on the one bridge connection (up to 10000 with --per-device-connections)');
  });

  it('takes up to 10,000 appliances on an external broker, 500 on the embedded one', () => {
    expect(problem({ devices: '10000', perDeviceConnections: true, broker: 'mqtt://127.0.0.1:1883' })).toBeNull();
    expect(problem({ devices: '10001', perDeviceConnections: true, broker: 'mqtt://127.0.0.1:1883' })).toBe('--devices must be at most 10000');
    expect(problem({ devices: '500', perDeviceConnections: true })).toBeNull();
    expect(problem({ devices: '501', perDeviceConnections: true })).toMatch(/^--devices must be at most 500 with --per-device-connections on the embedded broker/);
  });

  it('refuses --broker without per-device connections, a bad URL, and a login half given or without --broker', () => {
    expect(problem({ devices: '3', broker: 'mqtt://127.0.0.1:1883' })).toMatch(/^--broker needs --per-device-connections/);
    expect(problem({ devices: '3', perDeviceConnections: true, broker: 'ftp://x' })).toMatch(/^--broker must be a URL/);
    expect(problem({ devices: '3', perDeviceConnections: true, broker: 'mqtt://127.0.0.1:1883', username: 'fleet' })).toBe('--username and --password go together');
    expect(problem({ devices: '3', perDeviceConnections: true, username: 'fleet', password: 'x' })).toMatch(/^--username is the fleet's login on --broker/);
  });
});
