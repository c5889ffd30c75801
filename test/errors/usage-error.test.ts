/**
 * One base for every error a user can cause (src/errors/usage-error.ts): each layer's own
 * error extends it, no class marks itself a usage error by hand, and the CLI turns any of them
 * into one line and its exit code.
 */
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError, isUsageError } from '../../src/errors/usage-error.js';
import { ScenarioError } from '../../sim/scenario.js';
import { UnsupportedLinkFaultError } from '../../src/board/link-faults.js';
import { TlsConfigError } from '../../src/telemetry/tls.js';
import { TelemetryError } from '../../src/telemetry/index.js';
import { MonitorError } from '../../src/monitor/options.js';
import { FirmwareMissingError } from '../../hardware/boards/emulated-board.js';
import { UsageError as CommandUsageError } from '../../src/commands/errors.js';
import { mainInProcess } from '../helpers/main-in-process.js';

const ROOT = join(import.meta.dirname, '../..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : sources(path);
    return /\.(ts|js)$/.test(name) ? [path] : [];
  });
}

describe('usage errors', () => {
  it("have one base: every layer's user error extends it, exit 2 by default, named after its class", () => {
    const errors = [
      new ScenarioError('s'),
      new UnsupportedLinkFaultError('linkLost', 'real'),
      new TlsConfigError('t'),
      new TelemetryError('t'),
      new MonitorError('m'),
      new FirmwareMissingError('f'),
      new CommandUsageError('u'),
    ];
    for (const err of errors) {
      expect(err, err.name).toBeInstanceOf(UsageError);
      expect(isUsageError(err)).toBe(true);
      expect(err.exitCode).toBe(2);
      expect(err.name).toBe(err.constructor.name);
    }
    expect(CommandUsageError).toBe(UsageError);
    expect(new MonitorError('m', 3).exitCode).toBe(3);
    expect(isUsageError(Object.assign(new Error('x'), { usageError: true, exitCode: 2 }))).toBe(false);
    // `aquastop run` still names the port with an emulated board's missing compiler.
    expect(new FirmwareMissingError('f').boardError).toBe(true);
  });

  it('are marked by their base only: no error class in src, sim or hardware sets its own exit code or flag', () => {
    const offenders: string[] = [];
    for (const file of ['src', 'sim', 'hardware'].flatMap((d) => sources(join(ROOT, d)))) {
      const text = readFileSync(file, 'utf8');
      if (/usageError/.test(text)) offenders.push(`${relative(ROOT, file)}: usageError`);
      for (const m of text.matchAll(/class (\w+) extends (\w*Error)\b[^{]*\{([\s\S]*?)\n\}/g)) {
        if (/\bexitCode\b/.test(m[3]!) && m[1] !== 'UsageError') offenders.push(`${relative(ROOT, file)}: ${m[1]} sets exitCode`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('reach the user as one line and their exit code, from the simulator, telemetry and the monitor alike', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aquastop-usage-'));
    const scenario = join(dir, 'bad.json');
    writeFileSync(scenario, JSON.stringify({ name: 'x', description: 'd', duration: '1m', timeline: [{ at: '1s', inject: 'leak', ml: 'lots' }] }));
    const cases: [string[], RegExp][] = [
      [['sim', '--scenario', scenario, '--no-mqtt'], /^aquastop: .*bad\.json: timeline\.0\.ml: /],
      [['sim', '--scenario', 'normal-cycle', '--broker', 'mqtts://127.0.0.1:1', '--cafile', join(dir, 'missing.pem')], /^aquastop: .*missing\.pem/],
      [['monitor', '--detector', 'oracle', '--port', '0'], /^aquastop: .*detector/],
    ];
    for (const [args, line] of cases) {
      const r = await mainInProcess(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(line);
      expect(r.stderr.trimEnd().split('\n'), args.join(' ')).toHaveLength(1);
    }
  });
});
