/**
 * The acceptance scenarios with the real firmware in the loop: `aquastop sim --board emulated`
 * runs the controller against our .hex in avr8js, whose pins the simulator's physics drive.
 * Each scenario is a child process; the verdict is its exit code and its summary line.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultFirmwareHex } from '../../hardware/boards/emulated-board.js';
import { hasTools } from '../helpers/tools.js';

const simReady = existsSync('sim/physics.ts') && existsSync('sim/board.ts');
if (!simReady) console.warn('SKIP: sim --board emulated e2e: the simulator (sim/physics.ts, sim/board.ts) is not in the tree yet');

interface Summary {
  type: 'summary';
  passed: boolean;
  faults: string[];
  valve: string;
  expectations: unknown[];
}

function simulate(scenario: string, maxMs: number): Promise<{ code: number | null; summary: Summary | null; stderr: string; wallMs: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'sim', '--scenario', scenario, '--board', 'emulated', '--no-mqtt', '--json', '--speed', 'max'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), maxMs);
  return new Promise((resolve) => {
    child.once('exit', (code) => {
      clearTimeout(timer);
      const last = out
        .trim()
        .split('\n')
        .reverse()
        .find((l) => l.includes('"summary"'));
      let summary: Summary | null;
      try {
        summary = last ? (JSON.parse(last) as Summary) : null;
      } catch {
        summary = null;
      }
      resolve({ code, summary, stderr, wallMs: Date.now() - started });
    });
  });
}

describe.skipIf(!simReady || !hasTools('avr-gcc', 'avr-g++', 'avr-objcopy'))('acceptance scenarios on the emulated board', () => {
  beforeAll(async () => {
    await defaultFirmwareHex(); // build once here, not in each child
  }, 120_000);

  // The README's example through the command. Every other built-in scenario (burst-hose, and the
  // firmware's EEPROM latch across a power cycle in power-cut-while-tripped) runs on the emulated
  // board in test/differential, in-process, with the same board factory as the command.
  for (const scenario of ['dishwasher-story']) {
    it(`${scenario} passes with the real firmware in the loop`, async () => {
      const r = await simulate(scenario, 600_000);
      expect(r.stderr, r.stderr).not.toMatch(/internal error/);
      expect(r.summary, `no summary line; stderr: ${r.stderr.slice(0, 400)}`).not.toBeNull();
      expect(r.summary!.expectations).not.toHaveLength(0);
      expect(r.summary, JSON.stringify(r.summary)).toMatchObject({ passed: true });
      expect(r.code).toBe(0);
    }, 620_000);
  }
});
