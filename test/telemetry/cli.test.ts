/**
 * Telemetry as a user meets it: `aquastop sim` in a child process, watched by mosquitto's own
 * command-line client, and the one-line errors for a busy port or a refused login.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aquastop } from '../helpers/cli.js';
import { asDevice, spawnSim } from '../helpers/sim-process.js';
import { hasTools } from '../helpers/tools.js';
import { freePort } from '../e2e/start-process.js';
import { account, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { Watcher } from './rig.js';

describe.skipIf(!hasTools('mosquitto', 'mosquitto_sub', 'stdbuf'))('aquastop sim seen by mosquitto_sub', () => {
  let broker: Mosquitto;
  const dataDir = mkdtempSync(join(tmpdir(), 'aquastop-cli-'));
  beforeAll(async () => {
    broker = await startMosquitto();
  });
  afterAll(async () => {
    await broker?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('sees the retained state and availability, and its own bridge offline (last will) after SIGKILL', async () => {
    const viewer = account('viewer');
    const sim = spawnSim([...asDevice(broker.url, 'dishwasher-1'), '--data-dir', dataDir]);
    try {
      await sim.logged(/connected to mqtt:/);
      // Wait until the device has announced itself, so that there is something retained to see.
      const w = await Watcher.connect(broker.url, ['aquastop/dishwasher-1/availability', 'aquastop/dishwasher-1'], viewer);
      await w.waitFor('aquastop/dishwasher-1/availability', (a) => a.state === 'online', 20_000);
      await w.waitFor('aquastop/dishwasher-1', () => true, 20_000);
      await w.end();
      // mosquitto_sub block-buffers a pipe: let it exit by itself (-C count) so that what it printed is flushed.
      const mosquittoSub = (args: string[]) => {
        const p = spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(broker.port), '-u', viewer.username, '-P', viewer.password, '-v', '-W', '30', ...args], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        p.stdout.on('data', (d: Buffer) => (out += d.toString()));
        const exited = new Promise<string>((resolve) => p.once('exit', () => resolve(out)));
        return { p, exited };
      };
      // What a late subscriber gets at once is what the broker retained.
      const retained = await mosquittoSub(['--retained-only', '-C', '2', '-t', 'aquastop/dishwasher-1', '-t', 'aquastop/dishwasher-1/availability']).exited;
      expect(retained).toMatch(/^aquastop\/dishwasher-1\/availability \{"state":"online","bridge":"dishwasher-1"\}$/m);
      expect(retained).toMatch(/^aquastop\/dishwasher-1 \{"state":"armed\.[a-zA-Z.]+","breaker":"armed","valve":"(open|closed)"/m);

      // Line-buffered: the retained "online" shows the subscription is in place; the next message is the will.
      const will = spawn(
        'stdbuf',
        [
          '-oL',
          'mosquitto_sub',
          '-h',
          '127.0.0.1',
          '-p',
          String(broker.port),
          '-u',
          viewer.username,
          '-P',
          viewer.password,
          '-v',
          '-W',
          '30',
          '-C',
          '2',
          '-t',
          'aquastop/bridge/dishwasher-1/state',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let seen = '';
      will.stdout.on('data', (d: Buffer) => (seen += d.toString()));
      const willExit = new Promise<void>((resolve) => will.once('exit', () => resolve()));
      try {
        await expect.poll(() => seen, { timeout: 10_000 }).toBe('aquastop/bridge/dishwasher-1/state {"state":"online"}\n');
        sim.kill();
        expect(await sim.exited).toEqual([null, 'SIGKILL']);
        await willExit;
        expect(seen).toBe('aquastop/bridge/dishwasher-1/state {"state":"online"}\naquastop/bridge/dishwasher-1/state {"state":"offline"}\n');
      } finally {
        will.kill();
      }
    } finally {
      sim.kill();
    }
  });

  it('publishes the device offline itself when a real-speed scenario run gets SIGTERM, and exits 130', async () => {
    const sim = spawnSim([...asDevice(broker.url, 'dishwasher-2'), '--data-dir', dataDir]);
    const w = await Watcher.connect(broker.url, ['aquastop/dishwasher-2/availability'], account('viewer'));
    try {
      await w.waitFor('aquastop/dishwasher-2/availability', (a) => a.state === 'online', 20_000);
      sim.child.kill('SIGTERM');
      expect(await sim.exited).toEqual([130, null]);
      await w.waitFor('aquastop/dishwasher-2/availability', (a) => a.state === 'offline');
    } finally {
      sim.kill();
      await w.end();
    }
  });

  it('refuses a wrong password with one line and exit 2', async () => {
    const r = await aquastop(['sim', '--scenario', 'normal-cycle', '--broker', broker.url, '--username', 'operator', '--password', 'wrong', '--data-dir', dataDir]);
    expect(r.code).toBe(2);
    expect(
      r.stderr
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('aquastop:')),
    ).toEqual([expect.stringMatching(/^aquastop: broker mqtt:\/\/127\.0\.0\.1:\d+ refused the connection: .*(Not authorized|Bad username or password)/i)]);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('aquastop sim with the embedded broker', () => {
  it('says which port is in use, with one line and exit 2', async () => {
    const busy = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => busy.listen(port, '127.0.0.1', resolve));
    try {
      const r = await aquastop(['sim', '--scenario', 'normal-cycle', '--mqtt-port', String(port), '--ws-port', '0', '--data-dir', join(tmpdir(), `aquastop-busy-${process.pid}`)]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim()).toBe(`aquastop: embedded broker: port ${port} on 127.0.0.1 is already in use (choose another port, or --broker URL for a running broker)`);
    } finally {
      busy.close();
    }
  });

  it('refuses a malformed --broker URL with one line and exit 2 instead of connecting somewhere else', async () => {
    for (const url of ['mqtt://127.0.0.1:notaport', 'mqtt://broker host', 'http://127.0.0.1:1883', 'mqtt://127.0.0.1:99999']) {
      const r = await aquastop(['sim', '--scenario', 'normal-cycle', '--broker', url, '--data-dir', join(tmpdir(), `aquastop-url-${process.pid}`)]);
      expect([r.code, r.stderr.trim()], url).toEqual([2, expect.stringMatching(/^aquastop: --broker must be a URL like mqtt:\/\/host:1883/)]);
    }
  });

  it('refuses an accounts file that fails its schema, naming the problem', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aquastop-accounts-'));
    try {
      const file = join(dir, 'accounts.json');
      writeFileSync(file, JSON.stringify({ accounts: [{ username: 'root', password: 'x', role: 'admin' }] }));
      const r = await aquastop(['sim', '--scenario', 'normal-cycle', '--accounts', file]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim()).toMatch(/^aquastop: accounts file .*accounts\.json: accounts\.0\.role: Invalid option: expected one of "viewer"\|"operator"\|"device"\|"fleet"$/);
      writeFileSync(file, '{"accounts": [');
      const broken = await aquastop(['sim', '--scenario', 'normal-cycle', '--accounts', file]);
      expect([broken.code, broken.stderr.trim()]).toEqual([2, `aquastop: accounts file ${file} is not valid JSON`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
