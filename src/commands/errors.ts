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

/** A schema's issues as one line each, the first per option (zod may find two things wrong with one value). */
export function issueLines(issues: readonly { readonly path: readonly PropertyKey[]; readonly message: string }[], fallback = 'bad options'): string {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const issue of issues) {
    const at = issue.path.map(String).join('.');
    if (seen.has(at)) continue;
    seen.add(at);
    lines.push(issue.message);
  }
  return lines.length > 0 ? lines.join('\n') : fallback;
}
