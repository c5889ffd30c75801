/**
 * Every built-in scenario through the real command in a child process, with its exit code;
 * determinism; and bad input.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtinScenarioNames } from '../../sim/scenarios/index.js';
import { aquastop, jsonLines, ROOT } from '../helpers/cli.js';

const names = builtinScenarioNames();

describe('aquastop sim runs every built-in scenario', () => {
  it('has the scenarios the design asks for', () => {
    for (const name of [
      'normal-cycle',
      'dishwasher-story',
      'burst-hose',
      'tap-closed',
      'drain-blocked',
      'float-chatter',
      'level-wire-break',
      'valve-stuck-open',
      'power-cut-while-tripped',
    ]) {
      expect(names).toContain(name);
    }
  });

  it('passes each one with exit 0 and a summary line last', async () => {
    const results = await Promise.all(names.map((name) => aquastop(['sim', '--scenario', name, '--no-mqtt', '--json', '--speed', 'max'])));
    results.forEach((r, i) => {
      const lines = jsonLines(r.stdout);
      const summary = lines.at(-1)!;
      expect({ name: names[i], code: r.code, stderr: r.stderr }).toEqual({ name: names[i], code: 0, stderr: expect.any(String) });
      expect(summary).toMatchObject({ type: 'summary', scenario: names[i], passed: true });
      for (const line of lines) {
        expect(typeof line.t).toBe('number');
        expect(typeof line.type).toBe('string');
      }
    });
  });

  it('tells the dishwasher story: i11, resume, i30 latched, valve closed, drain pump on', async () => {
    const r = await aquastop(['sim', '--scenario', 'dishwasher-story', '--no-mqtt', '--json']);
    const lines = jsonLines(r.stdout);
    const faults = lines.filter((l) => l.type === 'fault');
    expect(faults.map((f) => [f.event, f.code, f.display])).toEqual([
      ['raised', 'i11', ',11'],
      ['raised', 'i30', ',30'],
    ]);
    expect(lines.at(-1)).toMatchObject({ faults: ['i11', 'i30'], valve: 'closed', breaker: 'latched', drainPump: 'on' });
  });

  it('prints a readable timeline without --json', async () => {
    const r = await aquastop(['sim', '--scenario', 'tap-closed', '--no-mqtt']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/01:30\.0 {2}FAULT i10 ",10"/);
    expect(r.stdout).toMatch(/result: PASSED/);
  });

  it('exits 1 when an expectation fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aquastop-test-'));
    const file = join(dir, 'wrong.json');
    writeFileSync(file, JSON.stringify({ name: 'wrong', description: 'expects a leak that never happens', duration: '2m', expect: [{ fault: 'i30' }] }));
    const r = await aquastop(['sim', '--scenario', file, '--no-mqtt', '--json']);
    expect(r.code).toBe(1);
    expect(jsonLines(r.stdout).at(-1)).toMatchObject({ passed: false, expectations: [{ passed: false, actual: 'not raised' }] });
  });
});

describe('aquastop sim output into a pipe that closes early', () => {
  it('ends quietly with exit 0 when the reader goes away (| head), no stack trace', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'sim', '--scenario', 'normal-cycle', '--no-mqtt', '--json'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // Read the first line, then close the pipe, as `head -1` does.
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});

describe('aquastop scenarios', () => {
  it('lists every built-in scenario, one line each: its name and its description', async () => {
    const r = await aquastop(['scenarios']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.map((l) => l.split(/\s+/)[0])).toEqual(names);
    for (const line of lines) expect(line).toMatch(/^[a-z-]+ {2,}\S.{20,}$/);
  });
});

describe('aquastop sim without --scenario (not on a terminal)', () => {
  it('runs programs at the given speed until the duration, then stops with exit 0', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'aquastop-interactive-'));
    const r = await aquastop(['sim', '--no-mqtt', '--speed', '1200', '--duration', '2m', '--data-dir', dataDir]);
    expect({ code: r.code, stderr: r.stderr.replace(/npm warn.*\n/g, '') }).toEqual({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/aquastop sim: interactive/);
    expect(r.stdout).toMatch(/00:00\.0 {2}program: prewash fill/);
    expect(r.stdout).toMatch(/stopped after 02:00\.0 virtual/);
    expect(r.stdout).not.toMatch(/keys:/);
  });

  it('keeps the device memory in --data-dir: a second run boots with boot 2', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'aquastop-interactive-'));
    const args = ['sim', '--no-mqtt', '--json', '--speed', '1200', '--duration', '10s', '--data-dir', dataDir];
    await aquastop(args);
    const r = await aquastop(args);
    const lines = jsonLines(r.stdout);
    expect(lines.find((l) => l.type === 'power')).toMatchObject({ event: 'on', boot: 2 });
    expect(lines.at(-1)).toMatchObject({ type: 'summary', scenario: 'interactive' });
  });
});

describe('determinism', () => {
  it('gives identical --json output for the same scenario and seed, and different output for another seed', async () => {
    const args = ['sim', '--scenario', 'normal-cycle', '--no-mqtt', '--json', '--speed', 'max'];
    const [a, b, c] = await Promise.all([aquastop([...args, '--seed', '7']), aquastop([...args, '--seed', '7']), aquastop([...args, '--seed', '8'])]);
    expect(a.code).toBe(0);
    expect(a.stdout.length).toBeGreaterThan(1000);
    expect(b.stdout).toBe(a.stdout);
    expect(c.stdout).not.toBe(a.stdout);
  });

  it('gives the same --json output at a wall-clock speed (--speed 600) as at --speed max', async () => {
    const args = ['sim', '--scenario', 'tap-closed', '--no-mqtt', '--json'];
    const [fast, paced] = await Promise.all([aquastop([...args, '--speed', 'max']), aquastop([...args, '--speed', '600'])]);
    expect(paced.code).toBe(0);
    expect(paced.stdout).toBe(fast.stdout);
  });
});

describe('bad input: exit 2, one line naming the problem, no stack trace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aquastop-bad-'));
  const malformed = join(dir, 'malformed.json');
  writeFileSync(malformed, '{ "name": "x", ');
  const schemaFail = join(dir, 'schema.json');
  writeFileSync(schemaFail, JSON.stringify({ name: 'x', description: 'd', duration: '1m', timeline: [{ at: 'soon', press: 'reset' }] }));
  const badExpect = join(dir, 'expect.json');
  writeFileSync(badExpect, JSON.stringify({ name: 'x', description: 'd', duration: '1m', expect: [{ fault: 'i99' }] }));
  const badNoise = join(dir, 'noise.json');
  writeFileSync(badNoise, JSON.stringify({ name: 'x', description: 'd', duration: '1m', timeline: [{ at: '5s', inject: 'levelNoise' }] }));
  const badSelfTest = join(dir, 'self-test.json');
  writeFileSync(badSelfTest, JSON.stringify({ name: 'x', description: 'd', duration: '1m', timeline: [{ at: '5s', inject: 'selfTestFail', test: '' }] }));

  const cases: [string, string[], RegExp][] = [
    ['an unknown scenario', ['--scenario', 'no-such-thing'], /unknown scenario "no-such-thing".*dishwasher-story/],
    ['a missing file', ['--scenario', join(dir, 'missing.json')], /not found/],
    ['a malformed scenario file', ['--scenario', malformed], /malformed\.json: not valid JSON/],
    ['a file that fails the schema (duration)', ['--scenario', schemaFail], /timeline\.0\.at: a duration like/],
    ['a file that fails the schema (fault code)', ['--scenario', badExpect], /expect\.0\.fault: Invalid option/],
    ['a step without its field (levelNoise amplitude)', ['--scenario', badNoise], /timeline\.0\.amplitude: /],
    ['a step with a field out of range (selfTestFail test)', ['--scenario', badSelfTest], /timeline\.0\.test: /],
    ['--speed fast', ['--scenario', 'normal-cycle', '--speed', 'fast'], /--speed must be "max" or a number/],
    ['--seed abc', ['--scenario', 'normal-cycle', '--seed', 'abc'], /--seed must be a whole number/],
    ['--board wood', ['--scenario', 'normal-cycle', '--board', 'wood'], /--board must be "simulated" or "emulated"/],
    ['--duration soon', ['--scenario', 'normal-cycle', '--duration', 'soon'], /--duration must be a duration/],
    ['an unknown flag', ['--scenario', 'normal-cycle', '--turbo'], /unknown option '--turbo'/],
    ['--mqtt-port 70000', ['--scenario', 'normal-cycle', '--mqtt-port', '70000'], /70000|65535/],
  ];

  it.each(cases)('%s', async (_name, args, message) => {
    const r = await aquastop(['sim', '--no-mqtt', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe('');
  });
});
