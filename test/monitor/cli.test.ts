import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { startBroker, waitFor } from './helpers.js';

const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'aquastop-mon-cli-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
// Unusable data directories: a directory where the event log should be, and a file where the directory should be.
const logIsADirectory = join(dataDir, 'log-is-a-directory');
mkdirSync(join(logIsADirectory, 'monitor-events.jsonl'), { recursive: true });
const dataDirIsAFile = join(dataDir, 'a-file');
writeFileSync(dataDirIsAFile, 'not a directory');
const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', cli, 'monitor', ...args], { encoding: 'utf8', timeout: 30_000 });

describe('aquastop monitor flags', () => {
  it.each([
    [['--port', 'abc'], '--port must be an integer'],
    [['--slo', '100'], '--slo must be below 100'],
    [['--down-after', '0.5'], '--down-after must be at least 1'],
    [['--base-topic', 'a/#'], '--base-topic must be'],
    [['--webhook', 'ftp://x'], '--webhook must be an http'],
    [['--webhook', 'http://127.0.0.1:9/hook', '--webhook-secret', 'too-short'], '--webhook-secret must be at least 16 characters'],
    [['--webhook-secret', 'a-long-enough-secret'], '--webhook-secret needs --webhook'],
    [['--broker', 'nonsense'], '--broker must be a URL'],
    [['--broker', 'mqtt://127.0.0.1:notaport'], '--broker must be a URL'],
    [['--retention', 'forever'], '--retention must be a duration like "90s"'],
    [['--retention', '8760h'], '--retention must be at most 30 days ("720h"): got 8760h'],
    [['--max-devices', '0'], '--max-devices must be at least 1'],
    [['--detector', 'accrual'], '--detector must be fixed or phi'],
    [['--detector', 'phi', '--phi-threshold', '0.5'], '--phi-threshold must be at least 1'],
    [['--port', '0', '--broker', 'mqtt://127.0.0.1:1', '--data-dir', dataDir], 'cannot connect to the broker'],
    [['--port', '0', '--broker', 'mqtt://127.0.0.1:1', '--data-dir', logIsADirectory], "cannot hold the monitor's history: EISDIR"],
    [['--port', '0', '--broker', 'mqtt://127.0.0.1:1', '--data-dir', dataDirIsAFile], "cannot hold the monitor's history: EEXIST"],
  ])('rejects %j with one line and exit 2', (args, message) => {
    const r = run(...args);
    expect(r.status).toBe(2);
    expect(
      r.stderr
        .trim()
        .split('\n')
        .filter((l) => !l.startsWith('npm warn')),
    ).toEqual([expect.stringContaining(message)]);
  });
});

describe('aquastop monitor', () => {
  it('prints its URLs, serves /api/devices, and on SIGINT records its stop and exits 0', async () => {
    const broker = await startBroker();
    const dir = mkdtempSync(join(tmpdir(), 'aquastop-mon-cli-run-'));
    const child = spawn(process.execPath, ['--import', 'tsx', cli, 'monitor', '--broker', broker.url, '--port', '0', '--data-dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      await waitFor(() => / \(broker mqtt:/.test(out), 20_000, 'monitor URL printed');
      expect(out).toMatch(/^monitor: (http:\/\/127\.0\.0\.1:\d+)\/api\/devices {2}\1\/metrics \(broker mqtt:\/\/127\.0\.0\.1:\d+\)\n$/);
      const api = /^monitor: (\S+)\/api\/devices/.exec(out)![1]!;
      expect(await (await fetch(`${api}/api/devices`)).json()).toEqual([]);
      const exited = once(child, 'exit');
      child.kill('SIGINT');
      expect((await exited)[0]).toBe(0);
      const lines = readFileSync(join(dir, 'monitor-events.jsonl'), 'utf8').trim().split('\n');
      expect(JSON.parse(lines.at(-1)!)).toMatchObject({ type: 'stop' });
    } finally {
      child.kill('SIGKILL');
      await broker.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
