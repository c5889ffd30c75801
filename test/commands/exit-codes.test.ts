/**
 * Commands return their exit code to main(), which the process entries (the bin and src/cli.ts)
 * call: no command writes process.exitCode, and no entry guesses from process.argv[1] whether
 * it is one.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../../src/program.js';
import { ROOT } from '../helpers/cli.js';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.(ts|js)$/.test(name) ? [path] : [];
  });
}

/** A ten-second scenario whose one expectation holds (`aquastop sim` exits 0) or fails (1). */
function scenarioFile(holds: boolean): string {
  const file = join(mkdtempSync(join(tmpdir(), 'aquastop-exit-')), 'ten-seconds.json');
  writeFileSync(file, JSON.stringify({ name: 'ten-seconds', description: 'ten quiet seconds', duration: '10s', expect: [holds ? { noFault: true } : { fault: 'i30' }] }));
  return file;
}
const failingScenario = () => scenarioFile(false);

describe('exit codes', () => {
  it('are returned by the commands: none of them writes process.exitCode', () => {
    const writers = sources(join(ROOT, 'src/commands'))
      .concat(join(ROOT, 'src/program.ts'))
      .filter((file) => /process\.exitCode\s*=(?!=)/.test(readFileSync(file, 'utf8')))
      .map((file) => relative(ROOT, file));
    expect(writers).toEqual([]);
  });

  it("reach main()'s result from the action, with process.exitCode untouched", async () => {
    const scenario = failingScenario();
    const before = process.exitCode;
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      expect(await main(['sim', '--scenario', scenario, '--no-mqtt', '--json'])).toBe(1);
      expect(await main(['sim', '--scenario', scenarioFile(true), '--no-mqtt', '--json'])).toBe(0);
    } finally {
      write.mockRestore();
    }
    expect(process.exitCode).toBe(before);
  });

  it("are the process's: the bin runs main() whatever name it is started by", () => {
    for (const entry of ['src/bin/aquastop.js', 'src/cli.ts']) {
      expect(readFileSync(join(ROOT, entry), 'utf8'), entry).not.toMatch(/process\.argv\[1\]/);
    }
    // npm links the bin under its own name; a copy or a link with another name runs it all the same.
    const link = join(mkdtempSync(join(tmpdir(), 'aquastop-bin-')), 'aq');
    symlinkSync(join(ROOT, 'src/bin/aquastop.js'), link);
    const r = spawnSync(process.execPath, [link, 'sim', '--scenario', failingScenario(), '--no-mqtt', '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/"type":"summary".*"passed":false/);
  });
});
