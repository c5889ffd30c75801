/**
 * `aquastop ports` and `aquastop run` at their edges: listing and marking ports, the one-line
 * message when the system cannot list them, and bad flags (one line, exit 2).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { arduinoGuess, formatPorts, listPorts, listingProblem } from '../../src/commands/ports.js';
import { UsageError } from '../../src/errors/usage-error.js';

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  return cliWithEnv(process.env, ...args);
}

function cliWithEnv(env: NodeJS.ProcessEnv, ...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { encoding: 'utf8', timeout: 60_000, env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('aquastop ports', () => {
  it('marks Arduinos, CH340 and FTDI adapters as likely Arduinos and leaves other ports unmarked', () => {
    const text = formatPorts([
      { path: '/dev/ttyACM0', vendorId: '2341', productId: '0043', manufacturer: 'Arduino (www.arduino.cc)' },
      { path: '/dev/ttyUSB0', vendorId: '1A86', productId: '7523', manufacturer: 'QinHeng' },
      { path: '/dev/ttyUSB1', vendorId: '0403', productId: '6001' },
      { path: '/dev/ttyS0' },
    ]);
    const lines = text.trim().split('\n');
    expect(lines[0]).toMatch(/^\* \/dev\/ttyACM0 .*likely Arduino \(Arduino\)/);
    expect(lines[1]).toMatch(/^\* \/dev\/ttyUSB0 .*CH340/);
    expect(lines[2]).toMatch(/^\* \/dev\/ttyUSB1 .*FTDI/);
    expect(lines[3]).toMatch(/^ {2}\/dev\/ttyS0/);
    expect(lines[3]).not.toMatch(/likely/);
    expect(arduinoGuess({ path: '/dev/x', vendorId: '046d' })).toBeNull();
  });

  it('says that udev is missing when serialport cannot spawn udevadm', async () => {
    const enoent = Object.assign(new Error('spawn udevadm ENOENT'), { code: 'ENOENT' });
    expect(listingProblem(enoent)).toBe('cannot list serial ports: udevadm is missing (install udev: sudo apt-get install udev)');
    const refused = await listPorts(() => Promise.reject(enoent)).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(UsageError);
    expect(refused).toMatchObject({ exitCode: 1, message: expect.stringMatching(/install udev/) });
  });

  it('says in one line that udev is missing when the real lister cannot find udevadm', () => {
    const emptyDir = mkdtempSync(join(tmpdir(), 'aquastop-no-udev-'));
    const r = cliWithEnv({ ...process.env, PATH: emptyDir }, 'ports');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('aquastop: cannot list serial ports: udevadm is missing (install udev: sudo apt-get install udev)\n');
  }, 60_000);

  it('lists the ports of this machine, or says in one line why it cannot', () => {
    const r = cli('ports');
    if (r.code === 0) expect(r.stdout.length).toBeGreaterThan(0);
    else {
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/cannot list serial ports/);
    }
  }, 60_000);
});

describe('aquastop run: bad input', () => {
  it('refuses a missing --port with one line and exit 2', () => {
    const r = cli('run', '--no-mqtt');
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--port/);
  }, 60_000);

  it('refuses a port that does not exist with one line and exit 2', () => {
    const r = cli('run', '--port', '/dev/aquastop-no-such-port', '--no-mqtt');
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('aquastop: port /dev/aquastop-no-such-port does not exist (is the board plugged in? try "aquastop ports")');
  }, 60_000);

  it('says in one line why a port that exists cannot be used, and leaves no data behind', () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'aquastop-run-')), 'data');
    const r = cli('run', '--port', '/dev/null', '--no-mqtt', '--data-dir', dataDir);
    expect(r.code).toBe(1);
    // Besides its log records (JSON: stderr is not a terminal), one line: why.
    expect(
      r.stderr
        .trim()
        .split('\n')
        .filter((l) => !l.startsWith('{')),
    ).toHaveLength(1);
    expect(r.stderr).toMatch(/^aquastop: board on \/dev\/null: cannot open \/dev\/null: /m);
    expect(existsSync(dataDir)).toBe(false);
  }, 60_000);

  it('refuses a device id that is not one MQTT topic level', () => {
    const r = cli('run', '--port', '/dev/null', '--id', 'a/b', '--no-mqtt');
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--id/);
  }, 60_000);

  it('refuses the device id "bridge", which names the bridge topics (run and sim)', () => {
    for (const r of [cli('run', '--port', '/dev/null', '--id', 'bridge', '--no-mqtt'), cli('sim', '--scenario', 'normal-cycle', '--id', 'bridge', '--no-mqtt')]) {
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toEqual(['aquastop: --id "bridge" is reserved for the bridge topics']);
    }
  }, 60_000);
});
