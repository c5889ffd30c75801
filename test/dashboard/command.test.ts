import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';

const cli = ['--import', 'tsx', 'src/cli.ts', 'dashboard'];

describe('aquastop dashboard', () => {
  it('prints its URL, serves the page with the given broker URL, and exits 0 on SIGINT', async () => {
    const child = spawn(process.execPath, [...cli, '--port', '0', '--broker-ws', 'ws://127.0.0.1:18083/mqtt', '--base', 'lab'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL within 20 s: ${out}`)), 20_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /dashboard: (http:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
    });
    try {
      const config = await (await fetch(new URL('/config.json', url))).json();
      expect(config).toMatchObject({ wsUrl: 'ws://127.0.0.1:18083/mqtt', baseTopic: 'lab', monitorApi: null });
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
  });

  it('refuses a broker URL that is not a websocket URL: one line, exit 2', () => {
    const r = spawnSync(process.execPath, [...cli, '--broker-ws', 'mqtt://127.0.0.1:1883'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('aquastop: --broker-ws must be a ws:// or wss:// URL');
  });
});
