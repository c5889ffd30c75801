/**
 * One data-directory convention: `.aquastop/<command>` in the working directory for every
 * long-running command that keeps files; `run`, which used `aquastop-data`, keeps using it for a
 * device whose memory (its latched trip) is only there, and says how to move it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/program.js';
import { ROOT } from '../helpers/cli.js';

const BIN = join(ROOT, 'src', 'bin', 'aquastop.js');

/** `aquastop run` in `cwd` on /dev/null (which opens and fails at once): exit code and its log records. */
function runIn(cwd: string, ...args: string[]): { code: number | null; records: Array<{ level: number; msg: string }> } {
  const r = spawnSync(process.execPath, [BIN, 'run', '--port', '/dev/null', '--no-mqtt', ...args], { cwd, encoding: 'utf8', timeout: 60_000 });
  return {
    code: r.status,
    records: r.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; msg: string }),
  };
}

describe('data directories', () => {
  it('defaults to .aquastop/<command> for run, sim, monitor and start', () => {
    for (const name of ['run', 'sim', 'monitor', 'start']) {
      const cmd = buildProgram().commands.find((c) => c.name() === name)!;
      expect(cmd.getOptionValue('dataDir'), name).toBe(join('.aquastop', name));
    }
  });

  it('run keeps using the older aquastop-data for a device whose memory is only there, with a warning', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'aquastop-datadir-'));
    mkdirSync(join(cwd, 'aquastop-data', 'uno-1'), { recursive: true });
    writeFileSync(join(cwd, 'aquastop-data', 'uno-1', 'memory.json'), '{}');
    const older = runIn(cwd);
    expect(older.code).toBe(1);
    expect(older.records.filter((r) => r.level === 40).map((r) => r.msg)).toEqual([
      `using aquastop-data/uno-1, the older default data directory, which holds this device's memory: move it to ${join('.aquastop', 'run')}/uno-1 (or pass --data-dir aquastop-data)`,
    ]);
    // Another device, or a --data-dir given, is not affected.
    expect(runIn(cwd, '--id', 'uno-2').records.filter((r) => r.level === 40)).toEqual([]);
    expect(runIn(cwd, '--data-dir', 'elsewhere').records.filter((r) => r.level === 40)).toEqual([]);
    mkdirSync(join(cwd, '.aquastop', 'run', 'uno-1'), { recursive: true });
    expect(runIn(cwd).records.filter((r) => r.level === 40)).toEqual([]);
    expect(existsSync(join(cwd, 'elsewhere'))).toBe(false);
  }, 120_000);
});
