/**
 * `aquastop monitor` as a child process, resolved once it printed its URL (`monitor: http://...`);
 * rejected with what it printed if it exits or does not get there in time (then it is killed).
 */
import type { ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { spawnAquastop } from './cli.js';

export interface MonitorProcess {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  /** Its API's origin, e.g. http://127.0.0.1:41234. */
  readonly url: string;
  /** All it printed so far, stdout and stderr as they came. */
  out(): string;
  /** SIGKILL unless it has exited; resolves once it has. */
  kill(): Promise<void>;
}

export async function startMonitorProcess(args: readonly string[], timeoutMs = 30_000): Promise<MonitorProcess> {
  const child = spawnAquastop(['monitor', ...args]);
  let out = '';
  let ready = false;
  const kill = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  };
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`monitor process not ready within ${timeoutMs} ms: ${out}`)), timeoutMs);
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => done(new Error(`monitor exited ${code ?? signal}: ${out}`));
    const onData = (b: Buffer) => {
      out += b.toString();
      const m = ready ? null : /monitor: (http:\/\/\S+)\/api\/devices/.exec(out);
      if (m) done(null, m[1]);
    };
    function done(err: Error | null, found?: string) {
      ready = true;
      clearTimeout(timer);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(found!);
    }
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', onExit);
  }).catch(async (err: unknown) => {
    await kill();
    throw err;
  });
  return { child, url, out: () => out, kill };
}
