import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'aquastop-mon-cli-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', cli, 'monitor', ...args], { encoding: 'utf8', timeout: 30_000 });

describe('aquastop monitor flags', () => {
  it.each([
    [['--port', 'abc'], '--port must be an integer'],
    [['--slo', '100'], '--slo must be below 100'],
    [['--down-after', '0.5'], '--down-after must be at least 1'],
    [['--base-topic', 'a/#'], '--base-topic must be'],
    [['--webhook', 'ftp://x'], '--webhook must be an http'],
    [['--broker', 'nonsense'], '--broker must be a URL'],
    [['--port', '0', '--broker', 'mqtt://127.0.0.1:1', '--data-dir', dataDir], 'cannot connect to the broker'],
  ])('rejects %j with one line and exit 2', (args, message) => {
    const r = run(...args);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n').filter((l) => !l.startsWith('npm warn'))).toEqual([expect.stringContaining(message)]);
  });
});
