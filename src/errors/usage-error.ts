/**
 * The one base of every error a user can cause (a bad flag, file or scenario step, a port in
 * use, a board that cannot stage a fault). The CLI (src/cli.ts) prints its message as one line
 * on stderr, `aquastop: <message>`, and exits with `exitCode` (2 = bad input), never a stack
 * trace. It sits below every layer (nothing here imports anything), so the machine's neighbours,
 * the simulator, the boards, telemetry and the monitor all throw it.
 */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export function isUsageError(err: unknown): err is UsageError {
  return err instanceof UsageError;
}
