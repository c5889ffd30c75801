/**
 * Errors a user can cause (bad flags, files, ports in use). The CLI prints their message as
 * one line on stderr and exits with `exitCode` (2 = bad input), never a stack trace.
 */
export class UsageError extends Error {
  readonly usageError = true;
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export function isUsageError(err: unknown): err is UsageError {
  return typeof err === 'object' && err !== null && (err as { usageError?: unknown }).usageError === true;
}
