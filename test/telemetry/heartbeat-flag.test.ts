import { describe, expect, it } from 'vitest';
import { parseRunOptions } from '../../src/commands/run.js';
import { parseStartFlags } from '../../src/commands/start.js';
import { heartbeatIntervalSchema } from '../../src/telemetry/heartbeat-interval.js';
import { aquastop } from '../helpers/cli.js';

const parse = (v: unknown) => heartbeatIntervalSchema().safeParse(v);

describe('--heartbeat', () => {
  it('takes 0.5s to 60s in the duration grammar, as milliseconds', () => {
    expect(['0.5s', '500ms', '10s', '1m', '60s', '60000', 500].map((v) => parse(v).data)).toEqual([500, 500, 10_000, 60_000, 60_000, 60_000, 500]);
  });

  it.each(['499ms', '0.4s', '61s', '2m', '10', 'fast', '', '-1s'])('refuses %j with one line naming the flag and the bounds', (v) => {
    const r = parse(v);
    expect(r.success).toBe(false);
    expect(r.error!.issues).toHaveLength(1);
    expect(r.error!.issues[0]!.message).toBe(`--heartbeat must be a duration from 0.5s to 60s, like "10s" or "500ms" (a bare number is milliseconds): got "${v}"`);
  });

  it('is read by run and start (10 s when not given)', () => {
    const run = { port: '/dev/ttyACM0', id: 'uno-1', dataDir: '/tmp/x', mqtt: true, mqttPort: '1883', allowRemoteReset: false, json: false, handshakeTimeout: '10s' };
    expect(parseRunOptions({ ...run, heartbeat: '2.5s' }).heartbeat).toBe(2_500);
    expect(parseRunOptions(run).heartbeat).toBe(10_000);
    const start = { host: '127.0.0.1', mqttPort: '0', wsPort: '0', httpPort: '0', monitorPort: '0', dataDir: '/tmp/x', devices: '3' };
    expect(parseStartFlags({ ...start, heartbeat: '0.5s' }).heartbeatMs).toBe(500);
    expect(parseStartFlags(start).heartbeatMs).toBe(10_000);
  });

  it('a bad value from the flag or from AQUASTOP_HEARTBEAT stops the command with one line, exit 2', async () => {
    const [flag, env] = await Promise.all([
      aquastop(['run', '--port', '/dev/null', '--heartbeat', '100ms']),
      aquastop(['run', '--port', '/dev/null'], { env: { AQUASTOP_HEARTBEAT: '90s' } }),
    ]);
    expect(flag.code).toBe(2);
    expect(flag.stderr.trim().split('\n')).toEqual([expect.stringContaining('--heartbeat must be a duration from 0.5s to 60s')]);
    expect(env.code).toBe(2);
    expect(env.stderr.trim().split('\n')).toEqual([expect.stringContaining('AQUASTOP_HEARTBEAT must be a duration from 0.5s to 60s')]);
  });
});
