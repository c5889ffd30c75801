/**
 * `aquastop run --port` with MQTT: the controller on the emulated Uno behind a pty (as on USB),
 * publishing to a real mosquitto with the shipped config under its own device account, and
 * taking an operator's command from it.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultFirmwareHex } from '../../hardware/boards/emulated-board.js';
import { deviceStateSchema, heartbeatSchema } from '../../src/protocol/topics.js';
import { account, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { hasTools } from '../helpers/tools.js';
import { sendCommand, Watcher } from '../telemetry/rig.js';
import { startPtyUno, type PtyUno } from './pty.js';

describe.skipIf(!hasTools('socat', 'avr-gcc', 'avr-g++', 'avr-objcopy', 'mosquitto'))('aquastop run with MQTT', () => {
  let broker: Mosquitto;
  let uno: PtyUno;
  beforeAll(async () => {
    const hex = await defaultFirmwareHex();
    broker = await startMosquitto();
    uno = await startPtyUno({ hex });
  }, 60_000);
  afterAll(async () => {
    await uno?.stop();
    await broker?.close();
  });

  it("publishes the board's state and heartbeats under its device account, obeys an operator's close, and goes offline on SIGINT", async () => {
    const id = 'dishwasher-2';
    const device = account(id);
    const watcher = await Watcher.connect(broker.url, [`aquastop/${id}`, `aquastop/${id}/availability`, `aquastop/${id}/heartbeat`], account('viewer'));
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'run', '--port', uno.path, '--id', id, '--broker', broker.url, '--data-dir', `${uno.dir}/data`], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, AQUASTOP_MQTT_USERNAME: device.username, AQUASTOP_MQTT_PASSWORD: device.password },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const state = deviceStateSchema.parse(await watcher.waitFor(`aquastop/${id}`, () => true, 30_000));
      expect(state).toMatchObject({ board: 'usb', fw: 'AquastopFirmata', valve: 'closed', breaker: 'armed' });
      await watcher.waitFor(`aquastop/${id}/availability`, (a) => a.state === 'online');
      const beat = heartbeatSchema.parse(await watcher.waitFor(`aquastop/${id}/heartbeat`));
      expect(beat.seq).toBe(1);

      expect(await sendCommand(broker.url, id, '{"valve":"CLOSE","id":"t1"}', account('operator'))).toEqual({ ok: true, command: 'valve', id: 't1' });
      expect(await sendCommand(broker.url, id, '{"reset":"trip"}', account('operator'))).toMatchObject({ ok: false, error: expect.stringMatching(/remote reset is disabled/) });

      child.kill('SIGINT');
      expect(await exited, stderr).toBe(0);
      await watcher.waitFor(`aquastop/${id}/availability`, (a) => a.state === 'offline');
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await watcher.end();
    }
  }, 90_000);
});
