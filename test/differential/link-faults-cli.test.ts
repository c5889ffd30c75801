/**
 * The chaos steps at the command line: `aquastop sim --board emulated` runs a usbUnplug scenario
 * to its end; a step the board cannot perform, or a misspelt one, is one line on stderr and exit 2.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aquastop, jsonLines } from '../helpers/cli.js';
import { hasTools } from '../helpers/tools.js';

function scenarioFile(timeline: unknown[], expect: unknown[] = []): string {
  const path = join(mkdtempSync(join(tmpdir(), 'aquastop-chaos-')), 'chaos.json');
  writeFileSync(path, JSON.stringify({ name: 'chaos', description: 'link chaos', duration: '30s', timeline, expect }));
  return path;
}

describe('link chaos steps through aquastop sim', () => {
  it('refuses a misspelt step with one line naming where it is, exit 2', async () => {
    const r = await aquastop(['sim', '--scenario', scenarioFile([{ at: '5s', inject: 'usbunplug' }]), '--no-mqtt']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/timeline\.0\.inject/);
  });

  it.skipIf(!hasTools('avr-gcc', 'avr-g++', 'avr-objcopy'))(
    'refuses a step the emulated board cannot perform before the run starts: one line naming the step and the board, exit 2',
    async () => {
      // The flash CRC is checked only while the chip boots: a running board cannot be made to fail it.
      const r = await aquastop(['sim', '--scenario', scenarioFile([{ at: '5s', inject: 'selfTestFail', test: 'flash' }]), '--board', 'emulated', '--no-mqtt', '--json']);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toEqual([
        'aquastop: timeline.0: the emulated board cannot perform "inject: selfTestFail" with test "flash": ' +
          '"flash" is a start-up self-test, which a running board does not repeat: put the step between a power cut and its restore; ' +
          'it can fail stack, adc, clock while running and ram, watchdog, flash at its next boot (staged while the power is off)',
      ]);
      expect(
        jsonLines(r.stdout).some((l) => l.type === 'inject'),
        'no step ran',
      ).toBe(false);
    },
    120_000,
  );

  it.skipIf(!hasTools('avr-gcc', 'avr-g++', 'avr-objcopy'))(
    'runs usbUnplug on the emulated board: iC0 raised at the unplug, cleared after the plug is back, exit 0',
    async () => {
      const file = scenarioFile(
        [
          { at: '5s', inject: 'usbUnplug' },
          { at: '15s', clear: 'usbUnplug' },
        ],
        [
          { fault: 'iC0', within: '6s' },
          { breaker: 'armed', at: 'end' },
        ],
      );
      const r = await aquastop(['sim', '--scenario', file, '--board', 'emulated', '--no-mqtt', '--json']);
      const lines = jsonLines(r.stdout);
      const iC0 = lines.filter((l) => l.type === 'fault' && l.code === 'iC0').map((l) => [l.event, l.t]);
      expect(iC0).toHaveLength(2);
      expect(iC0[0]![0]).toBe('raised');
      expect(iC0[0]![1] as number).toBeLessThanOrEqual(5_200);
      expect(iC0[1]![0]).toBe('cleared');
      expect(iC0[1]![1] as number).toBeGreaterThanOrEqual(15_000);
      expect(lines.at(-1)).toMatchObject({ type: 'summary', board: 'emulated', passed: true });
      expect(r.code).toBe(0);
    },
    180_000,
  );
});
