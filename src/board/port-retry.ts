/**
 * How the host reopens a serial port that closed under it (a USB cable pulled, a board that
 * reset its USB chip): in the background, first soon, then less and less often, but never
 * more than `maxDelayMs` apart, for as long as the board is not closed. Retrying an absent
 * port costs one failed open(); the valve meanwhile is held closed by the board's own watchdog.
 * The johnny-five driver follows it, and the simulated board models the same host.
 */
export interface RetryPolicy {
  /** Clock ms from the port closing to the first attempt. */
  readonly firstDelayMs: number;
  /** The longest wait between two attempts. */
  readonly maxDelayMs: number;
}

export const PORT_RETRY: RetryPolicy = { firstDelayMs: 250, maxDelayMs: 2_000 };

/** The wait before the next attempt: the first delay, then twice the last, capped. */
export function nextRetryDelay(policy: RetryPolicy, lastDelayMs: number | null): number {
  return lastDelayMs === null ? policy.firstDelayMs : Math.min(policy.maxDelayMs, lastDelayMs * 2);
}
