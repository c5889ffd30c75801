/**
 * `aquastop emulate` as a process, the way socat runs it behind a pty (test/hardware/pty.ts):
 * the firmware answers on stdout what arrives on stdin, the process ends with exit 0 when stdin
 * closes, and a bad flag (or its variable) is one line and exit 2 before anything starts.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { buildFirmware } from '../../hardware/firmware/build.js';
import { aquastop, ROOT } from '../helpers/cli.js';
import { hasTools } from '../helpers/tools.js';

const T = 120_000;

describe('aquastop emulate', () => {
  it(
    'refuses a bad --float, or a bad AQUASTOP_FLOAT, with one line and exit 2',
    async () => {
      const flag = await aquastop(['emulate', '--float', 'soggy']);
      expect(flag.code).toBe(2);
      expect(flag.stderr).toBe('aquastop: --float must be dry, wet or open, not soggy\n');
      const env = await aquastop(['emulate'], { env: { AQUASTOP_FLOAT: 'soggy' } });
      expect(env.code).toBe(2);
      expect(env.stderr.trim().split('\n')).toHaveLength(1);
      expect(env.stderr).toMatch(/dry, wet or open, not soggy/);
    },
    T,
  );

  it(
    'refuses a --hex that does not exist with one line and exit 2',
    async () => {
      const r = await aquastop(['emulate', '--hex', '/nonexistent/aquastop.hex']);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe('aquastop: --hex /nonexistent/aquastop.hex does not exist (run "aquastop firmware build")\n');
    },
    T,
  );

  it.skipIf(!hasTools('avr-gcc', 'avr-g++', 'avr-objcopy', 'avr-ar'))(
    'answers a Firmata query on stdout and exits 0 when stdin closes',
    async () => {
      const { hexPath } = await buildFirmware();
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'emulate', '--hex', hexPath], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      const waiting = new Set<() => void>();
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString('latin1').replace(/[^\x20-\x7e]/g, '');
        for (const check of waiting) check();
      });
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      /** Resolves when stdout has said `pred`; fails after `ms` (a process at wall time, as under socat). */
      const until = (pred: () => boolean, ms: number, what: string) =>
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`${what}: not on stdout within ${ms} ms; got ${JSON.stringify(out)}, stderr ${err}`)), ms);
          const check = () => {
            if (!pred()) return;
            clearTimeout(timer);
            waiting.delete(check);
            resolve();
          };
          waiting.add(check);
          check();
        });
      const names = () => out.split('AquastopFirmata').length - 1;
      await until(() => out.includes('boot: reset cause'), 30_000, 'the boot note'); // it announces itself, then its boot note
      const before = names();
      child.stdin.write(Buffer.from([0xf0, 0x79, 0xf7])); // REPORT_FIRMWARE
      await until(() => names() > before, 10_000, 'the firmware name again');
      child.stdin.end();
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(killer);
      expect(code, err).toBe(0);
    },
    T,
  );
});
