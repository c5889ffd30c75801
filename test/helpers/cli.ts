/**
 * Runs the `aquastop` command in a child process, as a user would.
 */
import { execFile, spawn, type ChildProcess, type ChildProcessByStdio, type SpawnOptions } from 'node:child_process';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function aquastop(args: readonly string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', ...args],
      { cwd: ROOT, timeout: options.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...options.env } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 99) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** `aquastop ...args` as a child process from the repository, stdout and stderr piped, for a test that talks to it while it runs. */
export function spawnAquastop(args: readonly string[], options: Omit<SpawnOptions, 'stdio'> = {}): ChildProcessByStdio<null, Readable, Readable> {
  return spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: ROOT, ...options, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** JSON lines of a `--json` run. */
export function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** One line a `--json` command printed: a JSON object, or `{ type: 'text', text }` for any other line. */
export interface CliLine {
  type: string;
  [k: string]: unknown;
}

/** Collects a child's stdout as parsed lines and its stderr as text, as they come. */
export function followJsonLines(child: ChildProcess): { readonly lines: CliLine[]; stderr(): string } {
  const lines: CliLine[] = [];
  let buf = '';
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const text = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        lines.push(JSON.parse(text) as CliLine);
      } catch {
        lines.push({ type: 'text', text });
      }
    }
  });
  return { lines, stderr: () => stderr };
}
