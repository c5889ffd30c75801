/**
 * The CLI's `main()` in this process (src/program.ts), as the bin runs it: its exit code and
 * what it wrote to stderr. Quicker than a child process where a test needs no real process.
 */
import { vi } from 'vitest';
import { main } from '../../src/program.js';

export async function mainInProcess(args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  try {
    return { code: await main(args), stderr };
  } finally {
    spy.mockRestore();
  }
}
