/**
 * `aquastop sim` without --scenario on a real terminal (a pty from util-linux `script`):
 * the key footer, single keys acting on the running simulation, and q to quit. The run is
 * paced at 600x, so the 10 s leak debounce takes ~17 ms of wall time; the test waits for
 * output lines, never for a fixed time.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { hasTools } from '../helpers/tools.js';

describe.skipIf(!hasTools('script'))('aquastop sim on a terminal', () => {
  it('shows the keys, injects a leak on l, cuts and restores the power on p, and quits on q', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'aquastop-tty-'));
    const command = `${process.execPath} --import tsx src/cli.ts sim --no-mqtt --speed 600 --data-dir ${dataDir}`;
    const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    const waiters: { pattern: RegExp; resolve: () => void }[] = [];
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      for (const w of waiters.splice(0)) {
        if (w.pattern.test(output)) w.resolve();
        else waiters.push(w);
      }
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const waitFor = (pattern: RegExp) =>
      new Promise<void>((resolve, reject) => {
        if (pattern.test(output)) return resolve();
        const timer = setTimeout(() => reject(new Error(`no ${pattern} in:\n${output}`)), 20_000);
        waiters.push({ pattern, resolve: () => (clearTimeout(timer), resolve()) });
      });

    try {
      await waitFor(/keys: l=leak .* p=power cut\/restore {2}q=quit/);
      await waitFor(/program: prewash fill/);
      child.stdin.write('l');
      await waitFor(/FAULT i30 ",30"/);
      child.stdin.write('p');
      await waitFor(/\d {2}power cut\r?\n/);
      child.stdin.write('p');
      await waitFor(/power on \(boot 2\)[\s\S]*FAULT i30 ",30".*restored after a restart/);
      // Two keys in one read (typed fast, or pasted): both act.
      child.stdin.write('xq');
      await waitFor(/reset: refused, the base pan is wet/);
      expect(await exited).toBe(0);
      expect(output).toMatch(/stopped after .* virtual/);
      expect(output).toMatch(/faults raised: i30; breaker latched/);
    } finally {
      child.kill();
    }
  });
});

describe.skipIf(!hasTools('script'))('aquastop sim --scenario on a terminal', () => {
  const onTerminal = (args: string) =>
    new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn('script', ['-qfec', `${process.execPath} --import tsx src/cli.ts sim --no-mqtt ${args}`, '/dev/null'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      child.on('exit', (code) => resolve({ code, output }));
    });

  it('shows a progress line on a run that takes longer than a second, and none on a short one', async () => {
    // 60 virtual hours at max speed take a few seconds of wall time.
    const long = await onTerminal('--scenario normal-cycle --duration 60h');
    expect(long.code).toBe(0);
    expect(long.output).toMatch(/\r\[#+ *\] \d{1,3}% {2}\d+:\d{2}:\d{2}\.\d virtual/);
    // Two virtual minutes: milliseconds of wall time, far from the one-second mark even on a busy machine.
    const short = await onTerminal('--scenario level-wire-break');
    expect(short.code).toBe(0);
    expect(short.output).not.toMatch(/virtual\r|\] \d{1,3}%/);
  });
});
