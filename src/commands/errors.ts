/**
 * Errors a user can cause (bad flags, files, ports in use): the one base class lives in
 * src/errors/usage-error.ts, below every layer; the commands throw it as it is.
 */
export { isUsageError, UsageError } from '../errors/usage-error.js';

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
