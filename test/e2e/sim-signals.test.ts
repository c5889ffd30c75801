/**
 * A scenario run stops cleanly on SIGINT/SIGTERM, at max speed as well as at a set speed: it
 * prints its summary, says why it stopped, and exits 130. (With MQTT, test/telemetry/cli.test.ts
 * checks the device is published offline.)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';

/**
 * `group`: the signal goes to the whole process group, as Ctrl-C in a terminal (or a service
 * manager) sends it, so tsx's esbuild helper process gets it too; with `TMPDIR` fresh, tsx has
 * no cache of compiled files and needs that helper for any module loaded after the signal.
 */
function runUntilFirstLine(args: string[], signal: NodeJS.Signals, group?: { tmpdir: string }): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'sim', ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(group ? { detached: true, env: { ...process.env, TMPDIR: group.tmpdir } } : {}),
    });
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (!sent && stdout.includes('\n')) {
        sent = true;
        if (group) process.kill(-child.pid!, signal);
        else child.kill(signal);
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('aquastop sim stopped by a signal', () => {
  it.each([
    ['max speed', 'SIGINT', ['--speed', 'max', '--duration', '300h']],
    ['a set speed', 'SIGTERM', ['--speed', '10']],
  ] as const)('stops a run at %s on %s with its summary and exit 130', async (_what, signal, speed) => {
    const r = await runUntilFirstLine(['--scenario', 'normal-cycle', '--no-mqtt', '--json', ...speed], signal);
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr.trim()).toBe(`aquastop sim: stopped by ${signal} before the scenario's end`);
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { type: string; t: number };
    expect(summary.type).toBe('summary');
    // It did stop early: 300 h (or 75 min at 10x) of virtual time would take far longer.
    expect(summary.t).toBeLessThan(speed[1] === 'max' ? 300 * 3_600_000 : 75 * 60_000);
  });

  it('stops cleanly when the signal reaches its whole process group and tsx has nothing cached (Ctrl-C on a first run)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aquastop-cold-tsx-'));
    try {
      const r = await runUntilFirstLine(['--scenario', 'normal-cycle', '--no-mqtt', '--json', '--speed', '10'], 'SIGINT', { tmpdir: dir });
      expect(r.stderr.trim()).toBe("aquastop sim: stopped by SIGINT before the scenario's end");
      expect(r.code).toBe(130);
      expect((JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { type: string }).type).toBe('summary');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
