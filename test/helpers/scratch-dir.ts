/**
 * vitest globalSetup: every temporary file of a test run (tests, the commands they start, the
 * brokers and browsers) goes under one directory, removed when the run ends, so `npm test`
 * leaves nothing behind in /tmp even when a test or a killed child process does not clean up.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const previous = process.env.TMPDIR;
  const dir = mkdtempSync(join(tmpdir(), 'aquastop-test-run-'));
  // mosquitto, started as root, drops to its own user and must reach the files made under here.
  chmodSync(dir, 0o755);
  process.env.TMPDIR = dir;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    rmSync(dir, { recursive: true, force: true });
  };
}
