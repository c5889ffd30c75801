/**
 * The heartbeat interval as a flag (`--heartbeat 0.5s` ... `60s`, in the project's duration
 * grammar): one schema for every command that runs devices, so the bounds and the message are
 * the same everywhere. Below 0.5 s the heartbeats of a large fleet are most of the broker's
 * traffic; above 60 s a dead device goes unnoticed for minutes.
 */
import { z } from 'zod';
import { durationSchema } from '../clock/duration.js';

export const HEARTBEAT_MIN_MS = 500;
export const HEARTBEAT_MAX_MS = 60_000;
export const DEFAULT_HEARTBEAT = '10s';

/** `--heartbeat` as ms, from a string (all digits: milliseconds) or a number of ms. */
export function heartbeatIntervalSchema(flag = '--heartbeat') {
  return z.union([z.number(), z.string()]).transform((value, ctx) => {
    const text = String(value).slice(0, 40);
    const r = durationSchema.safeParse(typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value);
    if (!r.success || r.data < HEARTBEAT_MIN_MS || r.data > HEARTBEAT_MAX_MS) {
      ctx.addIssue({ code: 'custom', message: `${flag} must be a duration from 0.5s to 60s, like "10s" or "500ms" (a bare number is milliseconds): got "${text}"` });
      return z.NEVER;
    }
    return r.data;
  });
}
