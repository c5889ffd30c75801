/**
 * Durations as people write them, one grammar and one bound for every command and file:
 * "90s", "2m", "1.5h", "250ms", compound ones written largest unit first ("3m30s", "1h15m",
 * "1h0m30s500ms"), or a whole number of milliseconds; at most 30 days ("720h")
 * in either form, so no typo ("8760h", "999...9h") can make anything wait or run for ever.
 * Used by scenario files and `--duration` (sim) and by the monitor's `--retention` and flap flags.
 */
import { z } from 'zod';

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** The longest duration anywhere in a scenario or on the command line: 30 days. */
export const MAX_DURATION_MS = 30 * 24 * 3_600_000;

const DURATION_MESSAGE = 'a duration like "90s", "2m", "1.5h", "3m30s" or "250ms", or a number of milliseconds';

/** Units from the largest: a compound duration names each at most once, in this order. */
const ORDER = ['h', 'm', 's', 'ms'];

/** "3m30s" -> 210000; null unless each part is a number and a unit, largest unit first, each once. */
function parseText(text: string): number | null {
  const part = /(\d+(?:\.\d+)?)(ms|h|m|s)/y;
  let ms = 0;
  let last = -1;
  let at = 0;
  while (at < text.length) {
    part.lastIndex = at;
    const m = part.exec(text);
    if (!m) return null;
    const rank = ORDER.indexOf(m[2]!);
    if (rank <= last) return null;
    last = rank;
    ms += Number(m[1]) * UNITS[m[2]!]!;
    at = part.lastIndex;
  }
  return at === 0 ? null : Math.round(ms);
}

/** "90s", "2m", "1.5h", "3m30s", "250ms" or a number of milliseconds, at most 30 days ("720h") in either form. */
export const durationSchema = z.union([z.number(), z.string()]).transform((value, ctx) => {
  let ms: number | null = null;
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= 0) ms = value;
  } else {
    ms = parseText(value);
  }
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: DURATION_MESSAGE });
    return z.NEVER;
  }
  if (!(ms <= MAX_DURATION_MS)) {
    ctx.addIssue({ code: 'custom', message: `at most 30 days ("720h"): got ${String(value).slice(0, 40)}` });
    return z.NEVER;
  }
  return ms;
});

/** A command-line duration (all digits = milliseconds); null when it is not one or is too long. */
export function parseDuration(text: string): number | null {
  const parsed = durationSchema.safeParse(/^\d+$/.test(text) ? Number(text) : text);
  return parsed.success ? parsed.data : null;
}
