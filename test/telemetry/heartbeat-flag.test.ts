import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { parseRunOptions } from '../../src/commands/run.js';
import { parseSimFlags } from '../../src/commands/sim.js';
import { parseStartFlags } from '../../src/commands/start.js';
import { heartbeatIntervalSchema } from '../../src/telemetry/heartbeat-interval.js';
import { aquastop } from '../helpers/cli.js';
import { spawnSim } from '../helpers/sim-process.js';
import { freePort } from '../e2e/start-process.js';

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

  it('is read by run, sim and start (10 s when not given)', () => {
    expect(parseSimFlags({ scenario: 'normal-cycle', heartbeat: '750ms' }).heartbeat).toBe(750);
    expect(parseSimFlags({ scenario: 'normal-cycle' }).heartbeat).toBe(10_000);
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

  it('sets the interval of the heartbeats a device sends (aquastop sim --heartbeat 0.5s, its embedded broker)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'aquastop-hb-'));
    const port = await freePort();
    const sim = spawnSim(['--heartbeat', '0.5s', '--mqtt-port', String(port), '--ws-port', '0', '--data-dir', dataDir]);
    const beats: Array<{ intervalS: number; at: number }> = [];
    let client: mqtt.MqttClient | undefined;
    try {
      await sim.logged();
      client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 5000 });
      client.on('message', (_t, payload) => beats.push({ intervalS: (JSON.parse(payload.toString()) as { intervalS: number }).intervalS, at: performance.now() }));
      await client.subscribeAsync('aquastop/+/heartbeat');
      await expect.poll(() => beats.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(4);
      expect(new Set(beats.map((b) => b.intervalS))).toEqual(new Set([0.5]));
      const span = (beats[3]!.at - beats[0]!.at) / 3;
      // 0.5 s apart, far from the default's 10 s; wide bounds, as a busy machine delays a beat now and then.
      expect(span).toBeGreaterThan(300);
      expect(span).toBeLessThan(1_500);
    } finally {
      await client?.endAsync(true);
      sim.kill();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
