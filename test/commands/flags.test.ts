/**
 * The flags `run`, `sim` and `start` share are read by one fragment each (src/commands/flags.ts):
 * the same value gives the same result or the same one-line message in every command, and the
 * data directory defaults to `.aquastop/<command>`.
 */
import { describe, expect, it } from 'vitest';
import { parseRunOptions } from '../../src/commands/run.js';
import { parseSimFlags } from '../../src/commands/sim.js';
import { parseStartFlags } from '../../src/commands/start.js';

/** Each command with only what it needs besides the flag under test. */
const COMMANDS = {
  run: (flags: Record<string, unknown>) => parseRunOptions({ port: '/dev/ttyACM0', handshakeTimeout: '10s', ...flags }),
  sim: (flags: Record<string, unknown>) => parseSimFlags(flags),
  start: (flags: Record<string, unknown>) => parseStartFlags({ host: '127.0.0.1', mqttPort: '0', wsPort: '0', httpPort: '0', monitorPort: '0', devices: '3', ...flags }),
};

/** The command's result, or its one-line message. */
function read(command: keyof typeof COMMANDS, flags: Record<string, unknown>): unknown {
  try {
    return COMMANDS[command](flags);
  } catch (err) {
    return (err as Error).message;
  }
}

describe('the flags the commands share', () => {
  it.each([
    ['mqttPort', '70000', '--mqtt-port must be 0-65535'],
    ['mqttPort', 'x', '--mqtt-port must be an integer'],
    ['username', '', '--username must not be empty'],
    ['password', '', '--password must not be empty'],
    ['accounts', '', '--accounts needs a file name'],
    ['dataDir', '', '--data-dir must not be empty'],
    ['heartbeat', '61s', /^--heartbeat must be a duration from 0.5s to 60s/],
  ] as const)('%s %j is refused alike by run, sim and start', (flag, value, message) => {
    for (const command of ['run', 'sim', 'start'] as const) expect(read(command, { [flag]: value }), command).toMatch(message);
  });

  it.each([
    ['broker', 'mqtt://a:1883,mqtts://b:8883', /entry 2 of 2 .* is mqtts:\/\/ but entry 1 is mqtt:\/\//],
    ['broker', 'nonsense', /^--broker must be a URL/],
    ['id', 'bridge', '--id "bridge" is reserved for the bridge topics'],
    ['id', 'a/b', '--id must be 1 to 64 letters, digits, "_" or "-"'],
  ] as const)('%s %j is refused alike by run and sim', (flag, value, message) => {
    for (const command of ['run', 'sim'] as const) expect(read(command, { [flag]: value }), command).toMatch(message);
  });

  it('take the same values and defaults in each command', () => {
    const given = { mqttPort: '1884', username: 'u', password: 'p', accounts: 'a.json', heartbeat: '2s' };
    expect(read('run', given)).toMatchObject({ mqttPort: 1884, username: 'u', password: 'p', accounts: 'a.json', heartbeat: 2_000 });
    expect(read('sim', given)).toMatchObject({ mqttPort: 1884, username: 'u', password: 'p', accounts: 'a.json', heartbeat: 2_000 });
    for (const command of ['run', 'sim'] as const) expect(read(command, {}), command).toMatchObject({ mqttPort: 1883, heartbeat: 10_000, allowRemoteReset: false });
    expect(read('run', {})).toMatchObject({ id: 'uno-1', mqtt: true, json: false });
    expect(read('sim', {})).toMatchObject({ id: 'dishwasher-1', mqtt: true, json: false, wsPort: 9001 });
  });

  it('keep the data directory in .aquastop/<command> unless told otherwise', () => {
    expect(read('run', {})).toMatchObject({ dataDir: '.aquastop/run' });
    expect(read('sim', {})).toMatchObject({ dataDir: '.aquastop/sim' });
    expect((read('start', {}) as { dataDir: string }).dataDir).toMatch(/\/\.aquastop\/start$/);
  });
});
